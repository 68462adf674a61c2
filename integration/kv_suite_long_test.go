//go:build hostile

package integration

import (
	"sort"
	"strings"
	"testing"
	"time"
)

// The whole default redis-benchmark suite against the guest (issue 11),
// about three minutes: `make hostile-test` runs it.

// TestHostileKVBenchmarkDefault runs redis-benchmark with its defaults (every
// test, 100000 requests each, 50 clients) against the guest: each test
// redis-benchmark runs against redis-server must report a rate, with no
// error. The tests expected are those of redis-server's run (-n 1000), so
// the check follows the installed redis-benchmark.
func TestHostileKVBenchmarkDefault(t *testing.T) {
	e := startKV(t)
	startRedisServer(t, e.net)
	want := kvBenchNames(runRedisBenchmarkTests(t, e.net, e.net.HostIP, []string{"-q", "-n", "1000"}, nil))
	if len(want) < 20 || !strings.Contains(strings.Join(want, ","), "LRANGE_600") {
		t.Fatalf("redis-benchmark against redis-server ran %d tests (%v), want the default suite", len(want), want)
	}
	start := time.Now()
	got := runRedisBenchmarkTests(t, e.net, e.net.GuestIP, []string{"-q"}, want)
	t.Logf("default suite against the guest: %d tests in %v", len(got), time.Since(start).Round(time.Second))
	for _, n := range want {
		t.Logf("%s: %.0f requests per second", n, got[n])
	}
	if len(got) != len(want) {
		t.Errorf("the guest's run reported %v, redis-server's %v", kvBenchNames(got), want)
	}
}

func kvBenchNames(rates map[string]float64) []string {
	var names []string
	for n := range rates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
