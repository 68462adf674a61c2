package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
)

// BenchmarkHelloStart times a whole run of the hello guest under runnc-spt
// (start, check, exec the loader, map, run, exit) against a static C hello
// started the same way: the floor any process start pays. A static Go hello
// is timed too, since a Go tender cannot start faster than the Go runtime.
func BenchmarkHelloStart(b *testing.B) {
	root, err := testnet.ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	spt := filepath.Join(root, "build", "bin", "runnc-spt")
	hello := filepath.Join(root, "build", "unikernels", "tests", "hello.spt")
	for _, f := range []string{spt, hello} {
		if _, err := os.Stat(f); err != nil {
			b.Skipf("%s not built: run make", f)
		}
	}
	floor := filepath.Join(b.TempDir(), "hello_static")
	if out, err := exec.Command("gcc", "-O2", "-static", "-o", floor, "testdata/hello_static.c").CombinedOutput(); err != nil {
		b.Fatalf("build the floor: %v\n%s", err, out)
	}
	goFloor := filepath.Join(b.TempDir(), "hello_go")
	gobuild := exec.Command("go", "build", "-o", goFloor, "./testdata/hello_go")
	gobuild.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := gobuild.CombinedOutput(); err != nil {
		b.Fatalf("build the Go floor: %v\n%s", err, out)
	}
	const runs = 101
	var tSpt, tFloor, tGo []time.Duration
	run := func(name string, args ...string) time.Duration {
		t0 := time.Now()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", name, err, out)
		}
		return time.Since(t0)
	}
	for i := 0; i < runs; i++ { // interleaved, so drift hits both alike
		tSpt = append(tSpt, run(spt, hello, "bench"))
		tFloor = append(tFloor, run(floor))
		tGo = append(tGo, run(goFloor))
	}
	ms, mf, mg := median(tSpt), median(tFloor), median(tGo)
	fmt.Printf("\nhello start-to-exit, median of %d runs each:\n", runs)
	fmt.Printf("  %-28s %10s\n", "runnc-spt hello.spt", ms)
	fmt.Printf("  %-28s %10s\n", "static C hello (floor)", mf)
	fmt.Printf("  %-28s %10s\n", "static Go hello (Go floor)", mg)
	fmt.Printf("  %-28s %10.2fx\n", "ratio to the C floor", float64(ms)/float64(mf))
	fmt.Printf("  %-28s %10.2fx\n", "ratio to the Go floor", float64(ms)/float64(mg))
	b.ReportMetric(float64(ms.Microseconds()), "spt-us")
	b.ReportMetric(float64(mf.Microseconds()), "floor-us")
	b.ReportMetric(float64(mg.Microseconds()), "gofloor-us")
	b.ReportMetric(float64(ms)/float64(mf), "ratio")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
