package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
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

// httpdExchange sends req on a fresh connection to addr and returns what
// came back until the server closed or wait passed, and whether it closed.
func httpdExchange(tb testing.TB, n *testnet.Net, addr string, req []byte, wait time.Duration) (reply []byte, closed bool) {
	tb.Helper()
	c, err := n.Dial("tcp", addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(req); err != nil {
		tb.Fatal(err)
	}
	reply, err = io.ReadAll(c)
	return reply, err == nil || !isTimeout(err)
}

// dialFor connects from the client netns with a deadline of limit, closed
// when the test ends.
func dialFor(t *testing.T, n *testnet.Net, addr string, limit time.Duration) net.Conn {
	t.Helper()
	c, err := n.Dial("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(limit))
	return c
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// httpd against careless and hostile clients, next to nginx: binary
// garbage, HTTP/1.0 keep-alive (ab -k), and, on the guest started with
// short timeouts, half-sent headers, a slow drip and idle connections.
func TestHostileHTTPD(t *testing.T) {
	testnet.NeedRoot(t)
	spt := testnet.BuildOutput(t, "build/unikernels/httpd/httpd.spt")
	testnet.BuildOutput(t, "build/bin/runnc-spt")
	site := makeHTTPDSite(t)
	n, err := testnet.New("rh11")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	const headerTimeout, idleTimeout = 2 * time.Second, 3 * time.Second
	g, err := n.StartGuest(spt, site.image, "--header-timeout=2", "--idle-timeout=3")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := g.Stop(); t.Failed() || err != nil {
			t.Logf("guest console (stop: %v):\n%s", err, out)
		}
	})
	if err := n.WaitTCP(n.GuestIP, 80, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	startNginx(t, n, site.dir)
	servers := []struct{ name, addr string }{
		{"nginx", net.JoinHostPort(n.HostIP, "80")},
		{"guest", net.JoinHostPort(n.GuestIP, "80")},
	}

	t.Run("garbage", func(t *testing.T) {
		junk := make([]byte, 1024)
		rand.New(rand.NewSource(11)).Read(junk)
		junk[0] = 0x16 // as a TLS ClientHello starts
		for _, s := range servers {
			reply, closed := httpdExchange(t, n, s.addr, junk, 5*time.Second)
			t.Logf("%s: %.40q closed=%v", s.name, reply, closed)
			if !bytes.HasPrefix(reply, []byte("HTTP/1.1 400 ")) || !closed {
				t.Errorf("%s: 1 KB of binary: %.60q, closed %v; want a 400 and a close", s.name, reply, closed)
			}
		}
	})

	t.Run("http1.0-keepalive", func(t *testing.T) {
		for _, s := range servers {
			c, err := n.Dial("tcp", s.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			for i := 0; i < 3; i++ {
				io.WriteString(c, "GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("%s: request %d: %v", s.name, i, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got := resp.Header.Get("Connection"); !strings.EqualFold(got, "keep-alive") || resp.StatusCode != 200 {
					t.Errorf("%s: request %d: %d, Connection: %q; want 200 and keep-alive", s.name, i, resp.StatusCode, got)
				}
			}
			c.Close()
			// ab -k speaks HTTP/1.0 with keep-alive and waits for each
			// response's end by its length.
			out, err := n.InClient("ab", "-k", "-q", "-n", "2000", "-c", "10", "-s", "10", "http://"+s.addr+"/index.html").CombinedOutput()
			m := regexp.MustCompile(`Complete requests:\s+(\d+)[\s\S]*Failed requests:\s+(\d+)[\s\S]*Keep-Alive requests:\s+(\d+)`).FindSubmatch(out)
			if err != nil || m == nil {
				t.Fatalf("%s: ab -k: %v\n%s", s.name, err, out)
			}
			t.Logf("%s: ab -k -n 2000 -c 10: complete %s, failed %s, keep-alive %s", s.name, m[1], m[2], m[3])
			if string(m[1]) != "2000" || string(m[2]) != "0" || string(m[3]) != "2000" {
				t.Errorf("%s: ab -k: complete %s, failed %s, keep-alive %s of 2000", s.name, m[1], m[2], m[3])
			}
		}
	})

	guest := servers[1].addr
	t.Run("half-sent-header", func(t *testing.T) {
		start := time.Now()
		reply, closed := httpdExchange(t, n, guest, []byte("GET /index.html HTTP/1.1\r\nHost: x\r\n"), headerTimeout+5*time.Second)
		took := time.Since(start)
		if !closed || len(reply) != 0 || took < headerTimeout {
			t.Errorf("half a header: %q, closed %v after %v; want a silent close after %v", reply, closed, took, headerTimeout)
		}
	})

	t.Run("drip", func(t *testing.T) {
		// One byte every 300 ms never finishes in time: the header
		// timeout counts from the request's first byte.
		c, err := n.Dial("tcp", guest, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		req := "GET /index.html HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200)
		closedAt := time.Duration(0)
		for i := 0; i < len(req) && closedAt == 0; i++ {
			if _, err := c.Write([]byte{req[i]}); err != nil {
				closedAt = time.Since(start)
				break
			}
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			var b [1]byte
			if _, err := c.Read(b[:]); err != nil && !isTimeout(err) {
				closedAt = time.Since(start)
			}
		}
		if closedAt == 0 || closedAt > headerTimeout+3*time.Second {
			t.Errorf("a header sent a byte at a time: closed after %v; want about %v", closedAt, headerTimeout)
		}
	})

	t.Run("idle", func(t *testing.T) {
		c, err := n.Dial("tcp", guest, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(idleTimeout + 5*time.Second))
		io.WriteString(c, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		start := time.Now()
		rest, err := io.ReadAll(br)
		took := time.Since(start)
		if err != nil || len(rest) != 0 || took < idleTimeout-time.Second {
			t.Errorf("idle keep-alive connection: %q, %v after %v; want a close after %v", rest, err, took, idleTimeout)
		}
	})

	// Still serving a normal client.
	out, err := n.InClient("curl", "-sS", "--max-time", "10", "http://"+guest+"/index.html").CombinedOutput()
	if err != nil || string(out) != httpdTextFiles["/index.html"] {
		t.Errorf("curl after the hostile clients: %v: %q", err, out)
	}
}

// kv's connection settings next to redis-server's: CONFIG SET maxclients
// refuses the next client with redis-server's error, CONFIG SET timeout
// closes idle clients, settings kv does not have are refused rather than
// accepted and ignored, and INFO and CONFIG GET tell the real values.
func TestHostileKVConfig(t *testing.T) {
	e := startKV(t)
	startRedisServer(t, e.net)
	servers := []struct{ name, addr string }{
		{"redis-server", net.JoinHostPort(e.net.HostIP, "6379")},
		{"guest", e.addr},
	}
	dial := func(t *testing.T, addr string) net.Conn { return dialFor(t, e.net, addr, 30*time.Second) }
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			admin := dial(t, s.addr)
			kvExchange(t, admin, kvBulk("CONFIG", "SET", "maxclients", "3"), "+OK\r\n")
			kvExchange(t, admin, kvBulk("CONFIG", "GET", "maxclients"), "*2\r\n$10\r\nmaxclients\r\n$1\r\n3\r\n")
			kvExchange(t, admin, kvBulk("CONFIG", "SET", "maxclients", "x"),
				"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n")
			kvExchange(t, admin, kvBulk("CONFIG", "SET", "no-such-option", "1"),
				"-ERR Unknown option or number of arguments for CONFIG SET - 'no-such-option'\r\n")
			for i := 0; i < 2; i++ {
				kvExchange(t, dial(t, s.addr), "PING\r\n", "+PONG\r\n")
			}
			// The refusal comes unasked, then the close.
			refused := dial(t, s.addr)
			refused.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, err := io.ReadAll(refused)
			if string(got) != "-ERR max number of clients reached\r\n" || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
				t.Errorf("client past maxclients: %q, %v; want the error and a close", got, err)
			}
			kvExchange(t, admin, kvBulk("CONFIG", "SET", "maxclients", "100"), "+OK\r\n")
			kvExchange(t, dial(t, s.addr), "PING\r\n", "+PONG\r\n")

			// timeout: an idle client is closed, silently; one that keeps
			// talking is not.
			kvExchange(t, admin, kvBulk("CONFIG", "SET", "timeout", "1"), "+OK\r\n")
			kvExchange(t, admin, kvBulk("CONFIG", "GET", "timeout"), "*2\r\n$7\r\ntimeout\r\n$1\r\n1\r\n")
			idle := dial(t, s.addr)
			kvExchange(t, idle, "PING\r\n", "+PONG\r\n")
			for i := 0; i < 8; i++ {
				time.Sleep(400 * time.Millisecond)
				kvExchange(t, admin, "PING\r\n", "+PONG\r\n")
			}
			idle.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, err := io.ReadAll(idle); err != nil || len(got) != 0 {
				t.Errorf("idle client with timeout 1: %q, %v; want a silent close", got, err)
			}
			kvExchange(t, admin, kvBulk("CONFIG", "SET", "timeout", "0"), "+OK\r\n")
			if s.name == "guest" {
				// Accepted and ignored would be a lie: refused.
				kvExchange(t, admin, kvBulk("CONFIG", "SET", "appendonly", "yes"),
					"-ERR CONFIG SET failed (possibly related to argument 'appendonly') - not supported by kv\r\n")
				kvExchange(t, admin, kvBulk("CONFIG", "SET", "maxclients", "100000"),
					"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with 8192\r\n")
				info := e.cli(t, nil, "INFO", "clients")
				if !bytes.Contains(info, []byte("maxclients:100\r")) {
					t.Errorf("INFO clients after CONFIG SET maxclients 100: %q", info)
				}
			}
		})
	}
}

// The answers clients and caches rely on, next to nginx serving the same
// files: Range (206, 416, Accept-Ranges; curl -C - resumes), validators
// and conditional requests (ETag, Last-Modified, 304), and the requests
// that once got a wrong answer (a file named as a directory, a segment
// longer than any name).
func TestHostileHTTPDAnswers(t *testing.T) {
	e := startHTTPD(t)
	startNginx(t, e.net, e.site.dir)
	servers := []struct{ name, base string }{
		{"nginx", "http://" + e.net.HostIP},
		{"guest", e.base},
	}
	long := "/" + strings.Repeat("a", 300)
	for _, path := range []string{"/1k.bin", "/16m.bin"} {
		size := e.site.sizes[path]
		data, err := os.ReadFile(filepath.Join(e.site.dir, path))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range servers {
			url := s.base + path
			full := e.curl(t, url)
			etag, lastmod := full.header.Get("ETag"), full.header.Get("Last-Modified")
			if full.header.Get("Accept-Ranges") != "bytes" || etag == "" || lastmod == "" || full.header.Get("Date") == "" || full.header.Get("Server") == "" {
				t.Errorf("%s %s: headers %v; want Accept-Ranges, ETag, Last-Modified, Date, Server", s.name, path, full.header)
			}
			for _, c := range []struct {
				rng    string
				status int
				first  int
				last   int
				cr     string
			}{
				{"bytes=0-99", 206, 0, 99, fmt.Sprintf("bytes 0-99/%d", size)},
				{"bytes=100-", 206, 100, size - 1, fmt.Sprintf("bytes 100-%d/%d", size-1, size)},
				{"bytes=-10", 206, size - 10, size - 1, fmt.Sprintf("bytes %d-%d/%d", size-10, size-1, size)},
				{"bytes=0-999999999", 206, 0, size - 1, fmt.Sprintf("bytes 0-%d/%d", size-1, size)},
				{fmt.Sprintf("bytes=%d-", size), 416, 0, -1, fmt.Sprintf("bytes */%d", size)},
			} {
				r := e.curl(t, url, "-H", "Range: "+c.rng)
				if r.status != c.status || r.header.Get("Content-Range") != c.cr {
					t.Errorf("%s %s Range %s: %d, Content-Range %q; want %d, %q", s.name, path, c.rng, r.status, r.header.Get("Content-Range"), c.status, c.cr)
				} else if c.status == 206 && !bytes.Equal(r.body, data[c.first:c.last+1]) {
					t.Errorf("%s %s Range %s: %d bytes, not the range's", s.name, path, c.rng, len(r.body))
				}
			}
			for _, h := range []string{"If-None-Match: " + etag, "If-Modified-Since: " + lastmod} {
				if r := e.curl(t, url, "-H", h); r.status != 304 || len(r.body) != 0 || r.header.Get("ETag") != etag {
					t.Errorf("%s %s %s: %d, %d bytes, ETag %q; want 304, none, %q", s.name, path, h, r.status, len(r.body), r.header.Get("ETag"), etag)
				}
			}
			if r := e.curl(t, url, "-H", `If-None-Match: "0-0"`); r.status != 200 {
				t.Errorf("%s %s with another ETag: %d, want 200", s.name, path, r.status)
			}
			// curl -C - resumes a partial download from its size.
			part := filepath.Join(t.TempDir(), "part")
			if err := os.WriteFile(part, data[:size/3], 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := e.net.InClient("curl", "-sS", "--max-time", "60", "-C", "-", "-o", part, url).CombinedOutput(); err != nil {
				t.Fatalf("%s: curl -C -: %v: %s", s.name, err, out)
			}
			if got, _ := os.ReadFile(part); !bytes.Equal(got, data) {
				t.Errorf("%s %s: curl -C - gave %d bytes, not the file", s.name, path, len(got))
			}
		}
	}
	for _, s := range servers {
		for _, c := range []struct {
			path   string
			status int
		}{
			{"/index.html/", 404},
			{long, 404},
			{"/sub" + long + "/x", 404},
		} {
			r := e.curl(t, s.base+c.path)
			if r.status != c.status {
				t.Errorf("%s %.40s: %d, want %d", s.name, c.path, r.status, c.status)
			}
		}
	}
	e.get(t, "/index.html")
}

// kvFill SETs prefix:N to a 10-byte value, 5000 pipelined at a time, until
// a write is refused; it returns how many were stored and the refusal.
func kvFill(tb testing.TB, c net.Conn, prefix string, limit int) (stored int, refusal string) {
	tb.Helper()
	br := bufio.NewReader(c)
	const batch = 5000
	for stored < limit {
		var req strings.Builder
		for i := 0; i < batch; i++ {
			req.WriteString(kvBulk("SET", fmt.Sprintf("%s:%d", prefix, stored+i), "vvvvvvvvvv"))
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := io.WriteString(c, req.String()); err != nil {
			tb.Fatalf("fill: %v", err)
		}
		ok := 0
		for i := 0; i < batch; i++ {
			line, err := br.ReadString('\n')
			if err != nil {
				tb.Fatalf("fill: reply %d: %v (the connection dropped)", stored+i, err)
			}
			if line == "+OK\r\n" && refusal == "" {
				ok++
			} else if refusal == "" {
				refusal = line
			}
		}
		stored += ok
		if refusal != "" {
			return stored, refusal
		}
	}
	return stored, ""
}

// Memory full of small keys: writes get redis-server's -OOM while PING,
// GET, INFO and DEL still work, and after FLUSHALL as many keys fit as
// before. redis-server runs with maxmemory 24mb; the guest at --mem=32
// with its default limit, then with CONFIG SET maxmemory.
func TestHostileKVMemory(t *testing.T) {
	e := startKV(t, "--mem=32")
	startRedisServer(t, e.net)
	const oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
	dial := func(t *testing.T, addr string) net.Conn { return dialFor(t, e.net, addr, time.Minute) }
	for _, s := range []struct{ name, addr, maxmemory string }{
		{"redis-server", net.JoinHostPort(e.net.HostIP, "6379"), "24mb"},
		{"guest", e.addr, ""},
		{"guest-maxmemory", e.addr, "8mb"},
	} {
		t.Run(s.name, func(t *testing.T) {
			c := dial(t, s.addr)
			kvExchange(t, c, kvBulk("FLUSHALL"), "+OK\r\n")
			if s.maxmemory != "" {
				kvExchange(t, c, kvBulk("CONFIG", "SET", "maxmemory", s.maxmemory), "+OK\r\n")
			}
			first, refusal := kvFill(t, c, "key", 2000000)
			t.Logf("%s: %d keys stored, then %q", s.name, first, refusal)
			if refusal != oom {
				t.Fatalf("%s: full after %d keys: %q, want %q", s.name, first, refusal, oom)
			}
			// Everything but writes still works, on a new connection too.
			c2 := dial(t, s.addr)
			kvExchange(t, c2, "PING\r\n", "+PONG\r\n")
			kvExchange(t, c2, kvBulk("GET", "key:1"), "$10\r\nvvvvvvvvvv\r\n")
			// The fill's own buffers were freed since: a few more may fit,
			// then writes are refused again.
			if more, refusal := kvFill(t, c2, "more", 2000000); refusal != oom || more > first/50 {
				t.Errorf("%s: writing on: %d more stored, then %q", s.name, more, refusal)
			}
			kvExchange(t, c2, kvBulk("EXISTS", "key:2"), ":1\r\n")
			kvExchange(t, c2, kvBulk("DEL", "key:2", "key:3"), ":2\r\n")
			info := e.cli(t, nil, "-h", strings.Split(s.addr, ":")[0], "INFO", "memory")
			if !regexp.MustCompile(`used_memory:[1-9]\d*\r`).Match(info) {
				t.Errorf("%s: INFO memory without used_memory: %q", s.name, info)
			}
			// Reusable: as many fit again after FLUSHALL (within 1%).
			kvExchange(t, c2, kvBulk("FLUSHALL"), "+OK\r\n")
			again, refusal := kvFill(t, c2, "again", 2000000)
			t.Logf("%s: after FLUSHALL %d keys stored, then %q", s.name, again, refusal)
			if refusal != oom || again < first*99/100 || again > first*101/100 {
				t.Errorf("%s: after FLUSHALL %d keys fit (then %q), before %d", s.name, again, refusal, first)
			}
			kvExchange(t, c2, kvBulk("FLUSHALL"), "+OK\r\n")
			if s.maxmemory != "" {
				kvExchange(t, c2, kvBulk("CONFIG", "SET", "maxmemory", "0"), "+OK\r\n")
			}
			kvExchange(t, dial(t, s.addr), kvBulk("SET", "after", "ok"), "+OK\r\n")
		})
	}
}
