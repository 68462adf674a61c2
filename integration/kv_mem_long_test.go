//go:build hostile

package integration

import (
	"fmt"
	"io"
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
	kvMemEach(t, e, "448mb", 20000000, func(t *testing.T, m *kvMemPeer, first int) {
		t.Logf("%s: %d small keys fit", m.name, first)

		got := kvSendBig(t, m.p, "huge", 400<<20)
		t.Logf("%s: SET of 400 MB: %q", m.name, got)
		if got != "+OK\r\n" && got != kvOOM {
			t.Errorf("SET of 400 MB: %q", got)
		}
		if m.name == "guest" && got != kvOOM {
			t.Errorf("guest: SET of 400 MB: %q, want %q (it cannot hold it twice)", got, kvOOM)
		}
		if got := kvAnswer(t, m.p, "PING\r\n"); got != "+PONG\r\n" {
			t.Errorf("PING after the 400 MB SET: %q", got)
		}
		m.same("a 400 MB SET", first)

		kvSetUntilOOM(t, m.p, 100<<20, func(key string) string {
			return kvSendBig(t, m.p, key, 100<<20)
		})
		m.same("100 MB values", first)
	})
}
