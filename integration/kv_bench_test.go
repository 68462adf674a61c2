package integration

import (
	"bytes"
	"fmt"
	"math"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/netns"
)

// kvBenchRounds is how many times each server gets the redis-benchmark
// run; the median counts, so one scheduling hiccup on a shared machine
// does not decide a ratio.
const kvBenchRounds = 3

// BenchmarkKV loads the kv guest and Debian's redis-server with the same
// redis-benchmark run (kvBenchArgs), from the same client netns over the
// same bridge, alternating kvBenchRounds times, and prints the median
// requests per second of each test and the ratio guest/native.
// redis-server runs natively in the server netns on the bridge address,
// without persistence, as one process like the guest.
func BenchmarkKV(b *testing.B) {
	e := startKV(b)
	redis := startRedisServer(b, e.net)

	b.ResetTimer()
	var guestRuns, nativeRuns []map[string]float64
	for i := 0; i < kvBenchRounds; i++ {
		guestRuns = append(guestRuns, runRedisBenchmark(b, e.net, e.net.GuestIP, kvBenchArgs))
		nativeRuns = append(nativeRuns, runRedisBenchmark(b, e.net, e.net.HostIP, kvBenchArgs))
	}
	b.StopTimer()
	guest, native := kvMedians(guestRuns), kvMedians(nativeRuns)

	if e.guest.Exited() {
		b.Fatalf("guest exited during the benchmark:\n%s", e.guest.Output())
	}
	var t strings.Builder
	fmt.Fprintf(&t, "redis-benchmark %s from the client netns, median of %d runs each;\n"+
		"guest: kv.spt under runnc-spt; native: %s on the bridge address\n",
		strings.Join(kvBenchArgs, " "), kvBenchRounds, redis.version)
	fmt.Fprintf(&t, "%-36s %12s %12s %7s\n", "test", "guest ops/s", "native ops/s", "ratio")
	logSum, n := 0.0, 0
	for _, name := range kvBenchTests {
		g, nat := guest[name], native[name]
		ratio := 0.0
		if nat > 0 {
			ratio = g / nat
		}
		fmt.Fprintf(&t, "%-36s %12.0f %12.0f %7.2f\n", name, g, nat, ratio)
		key := kvMetricName(name)
		b.ReportMetric(g, key+"-guest-ops/s")
		b.ReportMetric(nat, key+"-native-ops/s")
		b.ReportMetric(ratio, key+"-ratio")
		if ratio > 0 {
			logSum += math.Log(ratio)
			n++
		}
	}
	if n > 0 {
		gm := math.Exp(logSum / float64(n))
		fmt.Fprintf(&t, "%-36s %12s %12s %7.2f\n", "geometric mean", "", "", gm)
		b.ReportMetric(gm, "geomean-ratio")
	}
	// Printed, not logged: the testing package cuts benchmark logs to ten
	// lines.
	fmt.Print(t.String())
}

// kvMedians returns the median rate of each of kvBenchTests over the runs.
func kvMedians(runs []map[string]float64) map[string]float64 {
	return kvMediansOf(runs, kvBenchTests)
}

// kvMediansOf returns the median rate of each of tests over the runs.
func kvMediansOf(runs []map[string]float64, tests []string) map[string]float64 {
	med := map[string]float64{}
	for _, name := range tests {
		var v []float64
		for _, r := range runs {
			v = append(v, r[name])
		}
		sort.Float64s(v)
		med[name] = v[len(v)/2]
	}
	return med
}

// kvMetricName makes a metric name of a redis-benchmark test name:
// "LRANGE_100 (first 100 elements)" becomes "lrange_100".
func kvMetricName(test string) string {
	if test == "LPUSH (needed to benchmark LRANGE)" {
		return "lpush_for_lrange"
	}
	name, _, _ := strings.Cut(test, " ")
	return strings.ToLower(name)
}

// redisServer is a redis-server process started by startRedisServer.
type redisServer struct {
	cmd     *netns.Cmd
	out     *bytes.Buffer
	version string
}

// startRedisServer runs redis-server in the server netns on HostIP:6379,
// with no persistence, protected mode off (clients come from another
// netns) and its working directory in a temporary directory,
// and stops it (by its pid) when the test ends.
func startRedisServer(tb testing.TB, n *testnet.Net) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redis-server: %v (install redis-server: scripts/deps.sh)", err)
	}
	version, _ := exec.Command(bin, "--version").Output()
	r := &redisServer{out: &bytes.Buffer{}, version: strings.TrimSpace(string(version))}
	if v, _, ok := strings.Cut(r.version, " sha="); ok {
		r.version = v
	}
	r.cmd = n.InServer(bin, "--port", "6379", "--bind", n.HostIP, "--save", "",
		"--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
		"--dir", tb.TempDir(), "--logfile", "")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() {
		r.cmd.Wait()
		close(done)
	}()
	tb.Cleanup(func() {
		// Our child, not reaped until Wait returns: the pid is still ours.
		r.cmd.Process.Kill()
		<-done
		if tb.Failed() {
			tb.Logf("redis-server output:\n%s", r.out)
		}
	})
	if err := n.WaitTCP(n.HostIP, 6379, 20*time.Second); err != nil {
		tb.Fatalf("redis-server: %v", err)
	}
	return r
}
