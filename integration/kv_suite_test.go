package integration

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A 1M-key `redis-cli --pipe` against the guest (issue 11: "the full
// default redis-benchmark suite and redis-cli --pipe of 1M keys still
// pass"; the suite, minutes long, is in kv_suite_long_test.go).

// TestKVPipeMillion feeds 1M SETs through `redis-cli --pipe` (the RESP
// stream generated here): redis-cli must report no error and a million
// replies, and DBSIZE must then be 1000000.
func TestKVPipeMillion(t *testing.T) {
	e := startKV(t)
	const keys = 1000000
	var b strings.Builder
	b.Grow(keys * 48)
	for i := 0; i < keys; i++ {
		k, v := fmt.Sprintf("key:%07d", i), fmt.Sprintf("value:%d", i)
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	start := time.Now()
	out := string(e.cli(t, []byte(b.String()), "--pipe"))
	t.Logf("redis-cli --pipe of %d SETs: %v", keys, time.Since(start).Round(time.Millisecond))
	if m := regexp.MustCompile(`errors: (\d+), replies: (\d+)`).FindStringSubmatch(out); m == nil ||
		m[1] != "0" || m[2] != fmt.Sprint(keys) {
		t.Errorf("redis-cli --pipe: %q, want errors: 0, replies: %d", out, keys)
	}
	if got := strings.TrimSpace(string(e.cli(t, nil, "DBSIZE"))); got != fmt.Sprint(keys) {
		t.Errorf("DBSIZE after the pipe: %q, want %d", got, keys)
	}
	if got := strings.TrimSpace(string(e.cli(t, nil, "GET", "key:0999999"))); got != "value:999999" {
		t.Errorf("GET key:0999999: %q", got)
	}
}
