//go:build hostile

package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
)

// The long hostile-client runs (issue 11), a minute and more each: `make
// hostile-test` runs them (go test -tags hostile -run Hostile).

// churnCurl runs count `curl -H 'Connection: close'` of url one after the
// other in the client netns and returns how many did not get a 200; it
// stops early after 10 failures (each costs the connect timeout).
func churnCurl(tb testing.TB, n *testnet.Net, url string, count int) (failed int, first string) {
	tb.Helper()
	script := `fail=0; i=0
while [ $i -lt "$1" ] && [ $fail -lt 10 ]; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --connect-timeout 3 --max-time 10 -H 'Connection: close' "$2")
	[ "$code" = 200 ] || { fail=$((fail+1)); echo "request $i: $code"; }
	i=$((i+1))
done
echo "failed $fail"`
	out, err := n.InClient("sh", "-c", script, "churn", strconv.Itoa(count), url).CombinedOutput()
	if err != nil {
		tb.Fatalf("curl loop: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := lines[len(lines)-1]
	if _, err := fmt.Sscanf(last, "failed %d", &failed); err != nil {
		tb.Fatalf("curl loop: %q", out)
	}
	if failed > 0 {
		first = lines[0]
	}
	return failed, first
}

// TestHostileChurn with the real client: 1500 curl processes, each a
// new connection the server closes, from 200 client ports.
func TestHostileChurnCurl(t *testing.T) {
	const ports, count = 200, 1500
	e := startHTTPD(t)
	startNginx(t, e.net, e.site.dir)
	churnPorts(t, e.net, ports)
	for _, s := range []struct{ name, url string }{
		{"nginx", "http://" + e.net.HostIP + "/index.html"},
		{"guest", e.base + "/index.html"},
	} {
		start := time.Now()
		failed, first := churnCurl(t, e.net, s.url, count)
		t.Logf("%s: %d curl -H 'Connection: close' from %d ports: %d failed (%v)", s.name, count, ports, failed, time.Since(start).Round(time.Millisecond))
		if failed > 0 {
			t.Errorf("%s: %d of %d requests failed (stopped at 10); first: %s", s.name, failed, count, first)
		}
	}
	e.get(t, "/index.html")
}

// connTally is what happened to the connections of holdConns.
type connTally struct {
	served, refused int
	hung            []string // what a connect or reply that never came waited for
}

// holdConns opens count connections to addr (64 at a time) and keeps
// every one open until all are done: each sends req and must get a reply
// starting with want (served), or be refused cleanly: a reset or refused
// connect, a close, or a reply starting with refusal. A connect or reply
// that does not come within 10 s is a hang.
func holdConns(tb testing.TB, n *testnet.Net, addr, req, want, refusal string, count int) connTally {
	tb.Helper()
	var (
		mu    sync.Mutex
		t     connTally
		conns []net.Conn
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, 64)
	for i := 0; i < count; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			served, hung := false, ""
			c, err := n.Dial("tcp", addr, 10*time.Second)
			switch {
			case err == nil:
				c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, len(want))
				if _, err = io.WriteString(c, req); err == nil {
					_, err = io.ReadFull(c, buf)
				}
				var ne net.Error
				switch {
				case err == nil && string(buf) == want:
					served = true
				case err == nil && refusal != "" && strings.HasPrefix(refusal, string(buf[:min(len(buf), len(refusal))])):
				case err == nil:
					hung = fmt.Sprintf("connection %d: reply %q", i, buf)
				case errors.As(err, &ne) && ne.Timeout():
					hung = fmt.Sprintf("connection %d: no reply: %v", i, err)
				}
			case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
			default:
				hung = fmt.Sprintf("connection %d: connect: %v", i, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if c != nil {
				conns = append(conns, c)
			}
			switch {
			case hung != "":
				t.hung = append(t.hung, hung)
			case served:
				t.served++
			default:
				t.refused++
			}
		}(i)
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	return t
}

// Thousands of connections held open at once: each is served or refused
// at once, none waits in connect. At --mem=32 the guest takes about 1900
// (net_max_conns) and resets the rest; the native servers take all.
func TestHostileConnLimit(t *testing.T) {
	check := func(t *testing.T, name string, tally connTally, count int, mustServe bool) {
		t.Helper()
		t.Logf("%s: %d connections: %d served, %d refused, %d hung", name, count, tally.served, tally.refused, len(tally.hung))
		if len(tally.hung) > 0 {
			t.Errorf("%s: %d of %d connections hung; first: %s", name, len(tally.hung), count, tally.hung[0])
		}
		if mustServe && tally.served != count {
			t.Errorf("%s: served %d of %d", name, tally.served, count)
		}
		if tally.served == 0 {
			t.Errorf("%s: served none", name)
		}
	}
	t.Run("kv", func(t *testing.T) {
		const count = 2500
		for _, mem := range []string{"--mem=32", "--mem=512"} {
			e := startKV(t, mem)
			if mem == "--mem=512" {
				startRedisServer(t, e.net)
				r := holdConns(t, e.net, net.JoinHostPort(e.net.HostIP, "6379"), "PING\r\n", "+PONG\r\n", "-ERR max number of clients reached", count)
				check(t, "redis-server", r, count, true)
			}
			tally := holdConns(t, e.net, e.addr, "PING\r\n", "+PONG\r\n", "-ERR max number of clients reached", count)
			check(t, "guest "+mem, tally, count, mem == "--mem=512")
			if got := e.cli(t, nil, "PING"); !bytes.Equal(got, []byte("PONG\n")) {
				t.Errorf("PING after %d connections: %q", count, got)
			}
		}
	})
	t.Run("httpd", func(t *testing.T) {
		const count = 5000
		req := "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
		for _, mem := range []string{"--mem=32", "--mem=512"} {
			e := startHTTPD(t, mem)
			if mem == "--mem=512" {
				startNginx(t, e.net, e.site.dir, count+100)
				r := holdConns(t, e.net, net.JoinHostPort(e.net.HostIP, "80"), req, "HTTP/1.1 200 OK\r\n", "", count)
				check(t, "nginx", r, count, true)
			}
			tally := holdConns(t, e.net, net.JoinHostPort(e.net.GuestIP, "80"), req, "HTTP/1.1 200 OK\r\n", "", count)
			check(t, "guest "+mem, tally, count, mem == "--mem=512")
			e.get(t, "/index.html")
		}
	})
}
