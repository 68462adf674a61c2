//go:build engines

package engines

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/hostkit"
)

// benchRuns is how many times each side runs, interleaved, in one
// invocation, so both see the same machine.
const benchRuns = 21

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration{}, d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// timed runs cmd and returns its wall time, failing the benchmark on error.
func timed(b *testing.B, cmd *exec.Cmd) time.Duration {
	b.Helper()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return d
}

func report(b *testing.B, what string, runnc, runc []time.Duration) {
	mr, mc := median(runnc), median(runc)
	b.ReportMetric(float64(mr.Microseconds())/1000, "runnc-ms")
	b.ReportMetric(float64(mc.Microseconds())/1000, "runc-ms")
	b.ReportMetric(float64(mr)/float64(mc), "ratio")
	fmt.Printf("%s: runnc median %v, runc median %v, ratio %.2f (%d runs each, interleaved)\n",
		what, mr.Round(time.Millisecond), mc.Round(time.Millisecond), float64(mr)/float64(mc), len(runnc))
}

// BenchmarkDockerRun: `docker run --rm` of hello under runnc against
// busybox echo under runc, start to exit as docker's caller sees it.
func BenchmarkDockerRun(b *testing.B) {
	if setupErr != nil {
		b.Fatal(setupErr)
	}
	var runnc, runc []time.Duration
	for i := 0; i < benchRuns; i++ {
		runnc = append(runnc, timed(b, dockerCmd("run", "--rm", "--runtime=runnc", "runnc/hello")))
		runc = append(runc, timed(b, dockerCmd("run", "--rm", "--runtime=runc", "runnc/busybox", "echo", "hello")))
	}
	report(b, "docker run --rm: hello under runnc vs busybox echo under runc", runnc, runc)
}

// BenchmarkDockerStop: `docker stop` of a running kv under runnc against a
// running redis-server under runc, both answering on their port first.
func BenchmarkDockerStop(b *testing.B) {
	if setupErr != nil {
		b.Fatal(setupErr)
	}
	stop := func(runtime, img string) time.Duration {
		out, err := dockerCmd("run", "-d", "--runtime="+runtime, img).Output()
		if err != nil {
			b.Fatalf("docker run %s: %v", img, err)
		}
		id := strings.TrimSpace(string(out))
		defer dockerCmd("rm", "-f", id).Run()
		ip, err := dockerCmd("inspect", "-f", "{{.NetworkSettings.IPAddress}}", id).Output()
		if err != nil {
			b.Fatal(err)
		}
		if err := hostkit.WaitTCP(strings.TrimSpace(string(ip))+":6379", 30*time.Second); err != nil {
			b.Fatal(err)
		}
		return timed(b, dockerCmd("stop", id))
	}
	var runnc, runc []time.Duration
	for i := 0; i < benchRuns; i++ {
		runnc = append(runnc, stop("runnc", "runnc/kv"))
		runc = append(runc, stop("runc", "runnc/redis"))
	}
	report(b, "docker stop: kv under runnc vs redis-server under runc", runnc, runc)
}
