package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkKVLarge loads the kv guest and redis-server with large values:
// SET and MSET (10 keys) of 1 KiB, 64 KiB and 1 MiB values, ten clients
// each (-c 10, no pipelining: "SET -d 1048576" is the row of ten clients
// each sending 1 MB SETs). The guest runs twice, plain and with
// --net-offload (on a second network of the same shape, as in
// BenchmarkHTTPD); guest, offload guest and native alternate, like
// BenchmarkKV. The ratios are guest/native and offload/native.
func BenchmarkKVLarge(b *testing.B) {
	e := startKV(b)
	eo := startKV(b, "--net-offload:service0")
	redis := startRedisServer(b, e.net)

	type row struct {
		size     int
		requests int
		tests    []string // redis-benchmark -t
		names    []string // ... and its names for them
	}
	rows := []row{
		{1 << 10, 20000, []string{"set", "mset"}, []string{"SET", "MSET (10 keys)"}},
		{64 << 10, 2000, []string{"set", "mset"}, []string{"SET", "MSET (10 keys)"}},
		{1 << 20, 200, []string{"set"}, []string{"SET"}},
		// Ten 1 MiB values a request: fewer requests for the same time.
		{1 << 20, 20, []string{"mset"}, []string{"MSET (10 keys)"}},
	}
	var t strings.Builder
	fmt.Fprintf(&t, "redis-benchmark -q -c 10 -d SIZE -n N -t TESTS from the client netns, median of %d runs each;\n"+
		"guest: kv.spt under runnc-spt (offload: with --net-offload); native: %s on the bridge address\n",
		kvBenchRounds, redis.version)
	fmt.Fprintf(&t, "%-24s %12s %12s %12s %7s %7s\n", "test", "guest ops/s", "offload ops/s", "native ops/s", "ratio", "ratio-o")
	b.ResetTimer()
	for _, r := range rows {
		load := []string{"-q", "-c", "10", "-d", strconv.Itoa(r.size), "-n", strconv.Itoa(r.requests),
			"-t", strings.Join(r.tests, ",")}
		var guestRuns, offloadRuns, nativeRuns []map[string]float64
		for i := 0; i < kvBenchRounds; i++ {
			guestRuns = append(guestRuns, runRedisBenchmarkTests(b, e.net, e.net.GuestIP, load, r.names))
			offloadRuns = append(offloadRuns, runRedisBenchmarkTests(b, eo.net, eo.net.GuestIP, load, r.names))
			nativeRuns = append(nativeRuns, runRedisBenchmarkTests(b, e.net, e.net.HostIP, load, r.names))
		}
		guest, offload, native := kvMediansOf(guestRuns, r.names), kvMediansOf(offloadRuns, r.names), kvMediansOf(nativeRuns, r.names)
		for _, name := range r.names {
			g, o, nat := guest[name], offload[name], native[name]
			ratio, ratioO := 0.0, 0.0
			if nat > 0 {
				ratio, ratioO = g/nat, o/nat
			}
			label := fmt.Sprintf("%s -d %d", name, r.size)
			fmt.Fprintf(&t, "%-24s %12.1f %12.1f %12.1f %7.2f %7.2f\n", label, g, o, nat, ratio, ratioO)
			key := fmt.Sprintf("%s-%d", kvMetricName(name), r.size)
			b.ReportMetric(g, key+"-guest-ops/s")
			b.ReportMetric(o, key+"-offload-ops/s")
			b.ReportMetric(nat, key+"-native-ops/s")
			b.ReportMetric(ratio, key+"-ratio")
			b.ReportMetric(ratioO, key+"-ratio-offload")
		}
	}
	b.StopTimer()
	for _, g := range []*kvEnv{e, eo} {
		if g.guest.Exited() {
			b.Fatalf("guest exited during the benchmark:\n%s", g.guest.Output())
		}
	}
	fmt.Print(t.String())
}
