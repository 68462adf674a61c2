package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
)

// Hostile and careless clients (issue 11): every case runs against the
// guest and against the native server on the same test network (nginx,
// redis-server), so a difference is the guest's. The long runs (thousands
// of connections) are in hostile_long_test.go, behind `make hostile-test`.

// churnPorts narrows the client netns's ephemeral ports to n, so that a
// loop of connections reuses each client port every n connections: the
// server still holds the port's last connection in TIME_WAIT (it closed
// first) when the next SYN from it arrives.
func churnPorts(tb testing.TB, n *testnet.Net, ports int) {
	tb.Helper()
	lo := 40000
	rng := fmt.Sprintf("%d %d", lo, lo+ports-1)
	if out, err := n.InClient("sysctl", "-q", "-w", "net.ipv4.ip_local_port_range="+rng).CombinedOutput(); err != nil {
		tb.Fatalf("sysctl ip_local_port_range=%q: %v: %s", rng, err, out)
	}
}

// churnRaw opens count connections to addr one after the other, each
// sending req and reading to the server's close; it returns how many did
// not get a reply starting with want, and stops early after 10.
func churnRaw(tb testing.TB, n *testnet.Net, addr, req, want string, count int) (failed int, first string) {
	tb.Helper()
	for i := 0; i < count && failed < 10; i++ {
		err := func() error {
			c, err := n.Dial("tcp", addr, 3*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, req); err != nil {
				return err
			}
			got, err := io.ReadAll(c)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(string(got), want) {
				return fmt.Errorf("got %.80q, want %q...", got, want)
			}
			return nil
		}()
		if err != nil {
			if failed == 0 {
				first = fmt.Sprintf("connection %d: %v", i, err)
			}
			failed++
		}
	}
	return failed, first
}

// The guest closes each connection first (Connection: close, QUIT), so it
// holds each in TIME_WAIT; with 200 client ports, every connection after
// the 200th is a SYN from a port whose last connection the server still
// holds. Linux accepts it (its sequence number is above the old
// connection's); so must the guest, with no failed connect.
func TestHostileChurn(t *testing.T) {
	const ports, count = 200, 1500
	t.Run("httpd", func(t *testing.T) {
		e := startHTTPD(t)
		startNginx(t, e.net, e.site.dir)
		churnPorts(t, e.net, ports)
		req := "GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		for _, s := range []struct{ name, addr string }{
			{"nginx", net.JoinHostPort(e.net.HostIP, "80")},
			{"guest", net.JoinHostPort(e.net.GuestIP, "80")},
		} {
			start := time.Now()
			failed, first := churnRaw(t, e.net, s.addr, req, "HTTP/1.1 200 OK\r\n", count)
			t.Logf("%s: %d GET with Connection: close from %d ports: %d failed (%v)", s.name, count, ports, failed, time.Since(start).Round(time.Millisecond))
			if failed > 0 {
				t.Errorf("%s: %d of %d requests failed (stopped at 10); first: %s", s.name, failed, count, first)
			}
		}
		// Still serving a normal client.
		e.get(t, "/index.html")
	})
	t.Run("kv", func(t *testing.T) {
		e := startKV(t)
		startRedisServer(t, e.net)
		churnPorts(t, e.net, ports)
		for _, s := range []struct{ name, addr string }{
			{"redis-server", net.JoinHostPort(e.net.HostIP, "6379")},
			{"guest", e.addr},
		} {
			start := time.Now()
			failed, first := churnRaw(t, e.net, s.addr, "PING\r\nQUIT\r\n", "+PONG\r\n+OK\r\n", count)
			t.Logf("%s: %d PING+QUIT connections from %d ports: %d failed (%v)", s.name, count, ports, failed, time.Since(start).Round(time.Millisecond))
			if failed > 0 {
				t.Errorf("%s: %d of %d connections failed (stopped at 10); first: %s", s.name, failed, count, first)
			}
		}
		if got := e.cli(t, nil, "PING"); !bytes.Equal(got, []byte("PONG\n")) {
			t.Errorf("PING after the churn: %q", got)
		}
	})
}
