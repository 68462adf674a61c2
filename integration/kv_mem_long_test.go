//go:build hostile

package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// kvSendBig sends SET key <n bytes of b> in pieces (the value is never
// whole in the test's memory) and returns the reply.
func kvSendBig(tb testing.TB, p *kvPeer, key string, n int) string {
	tb.Helper()
	p.c.SetDeadline(time.Now().Add(5 * time.Minute))
	head := fmt.Sprintf("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, n)
	if _, err := io.WriteString(p.c, head); err != nil {
		tb.Fatalf("%s: SET %s: %v", p.name, key, err)
	}
	piece := []byte(strings.Repeat("b", 1<<20))
	for left := n; left > 0; left -= len(piece) {
		if left < len(piece) {
			piece = piece[:left]
		}
		if _, err := p.c.Write(piece); err != nil {
			tb.Fatalf("%s: SET %s of %d bytes: %v (the connection dropped)", p.name, key, n, err)
		}
	}
	io.WriteString(p.c, "\r\n")
	return kvAnswer(tb, p, "")
}

// Big values at the default memory (512 MiB), next to redis-server with
// maxmemory 448mb (the guest's default limit, the heap less an eighth): a
// single 400 MB SET and 100 MB values until full get +OK or -OOM, never
// a close; after each the server answers PING and as many small keys fit
// as before.
func TestHostileKVBigValues(t *testing.T) {
	e := startKV(t)
	startRedisServer(t, e.net)
	const oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
	for _, s := range []struct{ name, addr string }{
		{"redis-server", net.JoinHostPort(e.net.HostIP, "6379")},
		{"guest", e.addr},
	} {
		t.Run(s.name, func(t *testing.T) {
			var p *kvPeer
			dial := func() {
				if p != nil {
					p.c.Close()
				}
				c := dialFor(t, e.net, s.addr, 10*time.Minute)
				p = &kvPeer{name: s.name, c: c, r: bufio.NewReader(c)}
			}
			dial()
			if s.name == "redis-server" {
				p.do(t, "CONFIG", "SET", "maxmemory", "448mb")
			}
			capacity := func(what string) int {
				dial()
				p.do(t, "FLUSHALL")
				n, refusal := kvFill(t, p.c, "small", 20000000)
				if refusal != oom {
					t.Fatalf("%s: small keys: %d, then %q", what, n, refusal)
				}
				dial()
				p.do(t, "FLUSHALL")
				if got := kvAnswer(t, p, "PING\r\n"); got != "+PONG\r\n" {
					t.Fatalf("%s: PING: %q", what, got)
				}
				return n
			}
			first := capacity("before")
			t.Logf("%s: %d small keys fit", s.name, first)
			same := func(what string) {
				if n := capacity("after " + what); n < first*99/100 || n > first*101/100 {
					t.Errorf("after %s: %d small keys fit, before %d", what, n, first)
				}
			}

			got := kvSendBig(t, p, "huge", 400<<20)
			t.Logf("%s: SET of 400 MB: %q", s.name, got)
			if got != "+OK\r\n" && got != oom {
				t.Errorf("SET of 400 MB: %q", got)
			}
			if s.name == "guest" && got != oom {
				t.Errorf("guest: SET of 400 MB: %q, want %q (it cannot hold it twice)", got, oom)
			}
			if got := kvAnswer(t, p, "PING\r\n"); got != "+PONG\r\n" {
				t.Errorf("PING after the 400 MB SET: %q", got)
			}
			same("a 400 MB SET")

			stored := 0
			for i := 0; ; i++ {
				got := kvSendBig(t, p, fmt.Sprintf("big:%d", i), 100<<20)
				if got == oom {
					break
				}
				if got != "+OK\r\n" || i > 10 {
					t.Fatalf("SET of 100 MB value %d: %q", i, got)
				}
				stored++
			}
			t.Logf("%s: %d values of 100 MB, then -OOM", s.name, stored)
			if stored == 0 {
				t.Errorf("no 100 MB value stored")
			}
			if got := kvAnswer(t, p, kvBulk("STRLEN", "big:0")); got != fmt.Sprintf(":%d\r\n", 100<<20) {
				t.Errorf("STRLEN big:0 when full: %q", got)
			}
			same("100 MB values")
		})
	}
}
