package integration

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkRunncRun times `runnc run` of the hello unikernel against
// Debian's `runc run` of a static busybox echo, in bundles of the same
// shape (makeBundle: namespaces, mounts, masked paths, capabilities), 25
// runs each, interleaved, from create to the container's exit and delete.
func BenchmarkRunncRun(b *testing.B) {
	r := newRT(b)
	runc, err := exec.LookPath("runc")
	if err != nil {
		b.Skip("runc not installed (scripts/deps.sh installs it)")
	}
	busybox := "/bin/busybox"
	if _, err := exec.LookPath(busybox); err != nil {
		b.Skip("busybox-static not installed (scripts/deps.sh installs it)")
	}
	uni := makeBundle(b, bundleSpec{guest: "build/unikernels/tests/hello.spt"})
	peer := makeBundle(b, bundleSpec{argv0: "/bin/busybox", args: []string{"echo", "hello"},
		files: map[string]string{"bin/busybox": busybox}})
	runcRoot := b.TempDir()
	const runs = 25
	var tu, tp []time.Duration
	timed := func(c *exec.Cmd) time.Duration {
		t0 := time.Now()
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", c.Args, err, out)
		}
		return time.Since(t0)
	}
	for i := 0; i < runs; i++ { // interleaved, so drift hits both alike
		tu = append(tu, timed(r.cmd("run", "--bundle", uni, ctrID("bench"))))
		tp = append(tp, timed(exec.Command(runc, "--root", runcRoot, "run", "--bundle", peer, ctrID("bench-runc"))))
	}
	mu, mp := median(tu), median(tp)
	fmt.Printf("\ncontainer run to exit, median of %d runs each:\n", runs)
	fmt.Printf("  %-34s %10s\n", "runnc run (hello unikernel)", mu)
	fmt.Printf("  %-34s %10s\n", "runc run (busybox echo, Debian)", mp)
	fmt.Printf("  %-34s %10.2fx\n", "ratio runnc/runc", float64(mu)/float64(mp))
	b.ReportMetric(float64(mu)/float64(mp), "runnc/runc")
}
