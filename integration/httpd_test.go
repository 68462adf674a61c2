package integration

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/runnc/rootfs"
	"github.com/vishvananda/netlink"
)

// The files every httpd test serves, by URL path; sizes for the random
// ones, contents for the others.
var httpdRandomFiles = map[string]int{
	"/empty.bin": 0,
	"/1k.bin":    1 << 10,
	"/16m.bin":   16 << 20,
}

var httpdTextFiles = map[string]string{
	"/index.html":               "<!doctype html><title>runnc</title><p>served by a unikernel\n",
	"/style.css":                "p { color: teal }\n",
	"/with space.txt":           "a name that needs percent-encoding\n",
	"/sub/index.html":           "<p>the sub index\n",
	"/sub/deeper/data.json":     "{\"nested\": true}\n",
	"/sub/deeper/notes.txt":     "three levels down\n",
	"/sub/deeper/unknown.xyzzy": "no type of its own\n",
}

// httpdSite is the rootfs the httpd guest serves and what it holds.
type httpdSite struct {
	dir, image string
	sums       map[string]string // URL path -> sha256 hex
	sizes      map[string]int
	// The image is written by runnc/rootfs, as the runtime does, rather
	// than by genisoimage.
	runncImage bool
}

// siteOption adds to a site's tree, or changes how its image is made,
// before the image is made.
type siteOption func(tb testing.TB, s *httpdSite)

// makeHTTPDSite writes the files into a temporary directory and makes an
// ISO9660 image of it (Rock Ridge names, as libos reads them).
func makeHTTPDSite(tb testing.TB, opts ...siteOption) *httpdSite {
	tb.Helper()
	tmp := tb.TempDir()
	s := &httpdSite{
		dir:   filepath.Join(tmp, "root"),
		image: filepath.Join(tmp, "rootfs.iso"),
		sums:  map[string]string{},
		sizes: map[string]int{},
	}
	put := func(path string, data []byte) {
		full := filepath.Join(s.dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		sum := sha256.Sum256(data)
		s.sums[path] = hex.EncodeToString(sum[:])
		s.sizes[path] = len(data)
	}
	for path, size := range httpdRandomFiles {
		data := make([]byte, size)
		rand.Read(data)
		put(path, data)
	}
	for path, text := range httpdTextFiles {
		put(path, []byte(text))
	}
	for _, o := range opts {
		o(tb, s)
	}
	if s.runncImage {
		img, err := rootfs.Build(filepath.Join(tmp, "cache"), s.dir, nil, "httpd-test")
		if err != nil {
			tb.Fatal(err)
		}
		s.image = img
		return s
	}
	// The dir and the image live in a 0700 temp dir; nginx workers and
	// genisoimage run as root here, so that is fine.
	if out, err := exec.Command("genisoimage", "-quiet", "-R", "-o", s.image, s.dir).CombinedOutput(); err != nil {
		tb.Fatalf("genisoimage: %v: %s", err, out)
	}
	return s
}

// httpdEnv is a running httpd guest on a test network.
type httpdEnv struct {
	site  *httpdSite
	net   *testnet.Net
	guest *testnet.Guest
	base  string // http://GuestIP
}

// startHTTPD serves a fresh site from the httpd guest on a fresh network
// (netns prefix "rh5"); everything is removed when the test ends, and the
// guest's console is logged if the test failed.
func startHTTPD(tb testing.TB, opts ...string) *httpdEnv {
	tb.Helper()
	testnet.NeedRoot(tb)
	return startHTTPDSite(tb, makeHTTPDSite(tb), opts...)
}

// startHTTPDSite is startHTTPD serving site, with the tender's opts and
// httpd's args after a "--" among them.
func startHTTPDSite(tb testing.TB, site *httpdSite, opts ...string) *httpdEnv {
	tb.Helper()
	testnet.NeedRoot(tb)
	spt := testnet.BuildOutput(tb, "build/unikernels/httpd/httpd.spt")
	testnet.BuildOutput(tb, "build/bin/runnc-spt")
	var args []string
	for i, o := range opts {
		if o == "--" {
			opts, args = opts[:i], opts[i+1:]
			break
		}
	}
	n, g := testnet.StartService(tb, "rh5", opts, spt, site.image, 80, args...)
	return &httpdEnv{site: site, net: n, guest: g, base: "http://" + n.GuestIP}
}

// httpdResponse is what curl got.
type httpdResponse struct {
	status int
	header http.Header
	body   []byte
}

// curl runs curl in the client netns with args and URL, and returns the
// last response's status, headers and body.
func (e *httpdEnv) curl(tb testing.TB, url string, args ...string) *httpdResponse {
	tb.Helper()
	tmp := tb.TempDir()
	hdrs, body := filepath.Join(tmp, "headers"), filepath.Join(tmp, "body")
	all := append([]string{"-sS", "--max-time", "600", "-D", hdrs, "-o", body}, args...)
	all = append(all, url)
	if out, err := e.net.InClient("curl", all...).CombinedOutput(); err != nil {
		tb.Fatalf("curl %s: %v: %s", strings.Join(all, " "), err, out)
	}
	raw, err := os.ReadFile(hdrs)
	if err != nil {
		tb.Fatal(err)
	}
	// Only the header section is parsed; the body is in its own file.
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		tb.Fatalf("curl %s: headers %q: %v", url, raw, err)
	}
	data, err := os.ReadFile(body)
	if err != nil && !os.IsNotExist(err) { // curl writes no file for an empty body
		tb.Fatal(err)
	}
	return &httpdResponse{status: resp.StatusCode, header: resp.Header, body: data}
}

// get fetches path and checks it is served whole: 200, the right
// Content-Length and the same bytes as the file in the site.
func (e *httpdEnv) get(tb testing.TB, path string, args ...string) *httpdResponse {
	tb.Helper()
	r := e.curl(tb, e.base+path, args...)
	e.checkFile(tb, path, r)
	return r
}

func (e *httpdEnv) checkFile(tb testing.TB, path string, r *httpdResponse) {
	tb.Helper()
	file := decodePath(path)
	if r.status != 200 {
		tb.Fatalf("GET %s: status %d, want 200", path, r.status)
	}
	if got, want := r.header.Get("Content-Length"), strconv.Itoa(e.site.sizes[file]); got != want {
		tb.Errorf("GET %s: Content-Length %q, want %q", path, got, want)
	}
	sum := sha256.Sum256(r.body)
	if got := hex.EncodeToString(sum[:]); got != e.site.sums[file] {
		tb.Errorf("GET %s: %d bytes with sha256 %s, want %d bytes with %s",
			path, len(r.body), got, e.site.sizes[file], e.site.sums[file])
	}
}

// decodePath maps a URL path used by the tests to the file it names.
func decodePath(p string) string {
	switch p {
	case "/":
		return "/index.html"
	case "/sub/":
		return "/sub/index.html"
	case "/with%20space.txt":
		return "/with space.txt"
	case "/%31k.bin", "/sub/../1k.bin", "/./sub/..//1k.bin", "/1k.bin?v=1":
		return "/1k.bin"
	}
	return p
}

// raw sends data on one TCP connection from the client netns, reads one
// response per entry of methods (the request's method, for framing), and
// then one more byte: the error is io.EOF if the server closed the
// connection after the last response, a timeout if it left it open.
func (e *httpdEnv) raw(tb testing.TB, data string, methods ...string) ([]*http.Response, [][]byte, error) {
	tb.Helper()
	c, err := e.net.Dial("tcp", e.net.GuestIP+":80", 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, data); err != nil {
		tb.Fatal(err)
	}
	br := bufio.NewReader(c)
	var resps []*http.Response
	var bodies [][]byte
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			return resps, bodies, err
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return resps, bodies, err
		}
		resps = append(resps, resp)
		bodies = append(bodies, body)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	return resps, bodies, err
}

func TestHTTPD(t *testing.T) { testHTTPD(t) }

// TestHTTPDOffload runs the same checks with transmit offload (the guest
// hands the kernel large TCP segments to cut, and leaves checksums to it).
func TestHTTPDOffload(t *testing.T) { testHTTPD(t, "--net-offload:service0") }

func testHTTPD(t *testing.T, opts ...string) {
	e := startHTTPD(t, opts...)

	t.Run("files", func(t *testing.T) {
		paths := make([]string, 0, len(e.site.sums))
		for p := range e.site.sums {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			url := p
			if p == "/with space.txt" {
				url = "/with%20space.txt"
			}
			e.get(t, url)
		}
	})

	t.Run("content types", func(t *testing.T) {
		for path, want := range map[string]string{
			"/":                         "text/html",
			"/index.html":               "text/html",
			"/style.css":                "text/css",
			"/sub/deeper/data.json":     "application/json",
			"/sub/deeper/notes.txt":     "text/plain",
			"/1k.bin":                   "application/octet-stream",
			"/sub/deeper/unknown.xyzzy": "application/octet-stream",
		} {
			r := e.curl(t, e.base+path)
			if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, want) {
				t.Errorf("GET %s: Content-Type %q, want %s", path, got, want)
			}
			if got := r.header.Get("Server"); got != "runnc-httpd" {
				t.Errorf("GET %s: Server %q", path, got)
			}
		}
	})

	// httpd reads the wall clock at most once per event-loop round: the
	// Date must still be the host's time, and move on between requests.
	t.Run("date", func(t *testing.T) {
		var prev time.Time
		for i := 0; i < 2; i++ {
			if i > 0 {
				time.Sleep(1500 * time.Millisecond)
			}
			before := time.Now().Truncate(time.Second)
			r := e.curl(t, e.base+"/index.html")
			after := time.Now()
			d, err := http.ParseTime(r.header.Get("Date"))
			if err != nil {
				t.Fatalf("Date %q: %v", r.header.Get("Date"), err)
			}
			if d.Before(before) || d.After(after) {
				t.Errorf("request %d: Date %v, want between %v and %v", i, d, before, after)
			}
			if i > 0 && !d.After(prev) {
				t.Errorf("Date %v 1.5 s after %v: the wall clock did not move", d, prev)
			}
			prev = d
		}
	})

	t.Run("directories", func(t *testing.T) {
		e.get(t, "/")
		e.get(t, "/sub/")
		r := e.curl(t, e.base+"/sub")
		if r.status != 301 || r.header.Get("Location") != "/sub/" {
			t.Errorf("GET /sub: %d Location %q, want 301 to /sub/", r.status, r.header.Get("Location"))
		}
	})

	t.Run("paths", func(t *testing.T) {
		e.get(t, "/%31k.bin")
		e.get(t, "/with%20space.txt")
		e.get(t, "/1k.bin?v=1")
		e.get(t, "/sub/../1k.bin", "--path-as-is")
		e.get(t, "/./sub/..//1k.bin", "--path-as-is")
		// Climbing above the root, spelt plainly or encoded, is refused.
		for _, p := range []string{"/../1k.bin", "/sub/../../1k.bin", "/%2e%2e/1k.bin", "/..%2f1k.bin"} {
			if r := e.curl(t, e.base+p, "--path-as-is"); r.status != 400 {
				t.Errorf("GET %s: status %d, want 400", p, r.status)
			}
		}
		if r := e.curl(t, e.base+"/%zz"); r.status != 400 {
			t.Errorf("GET /%%zz: status %d, want 400", r.status)
		}
	})

	t.Run("missing", func(t *testing.T) {
		for _, p := range []string{"/nope", "/sub/nope.html", "/1k.bin/x", "/nope/deeper/"} {
			if r := e.curl(t, e.base+p); r.status != 404 {
				t.Errorf("GET %s: status %d, want 404", p, r.status)
			}
		}
	})

	t.Run("methods", func(t *testing.T) {
		for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
			r := e.curl(t, e.base+"/1k.bin", "-X", m, "--data-binary", "payload")
			if r.status != 405 {
				t.Errorf("%s: status %d, want 405", m, r.status)
			}
			if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "HEAD") {
				t.Errorf("%s: Allow %q, want GET, HEAD", m, allow)
			}
		}
	})

	t.Run("head", func(t *testing.T) {
		for _, p := range []string{"/16m.bin", "/1k.bin", "/index.html"} {
			r := e.curl(t, e.base+p, "-I")
			if r.status != 200 || r.header.Get("Content-Length") != strconv.Itoa(e.site.sizes[p]) {
				t.Errorf("HEAD %s: %d Content-Length %q, want 200 %d", p, r.status,
					r.header.Get("Content-Length"), e.site.sizes[p])
			}
		}
		// A body after a HEAD response would be read as the next response.
		resps, bodies, err := e.raw(t,
			"HEAD /16m.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
			"HEAD", "GET")
		if err != io.EOF {
			t.Fatalf("HEAD then GET: %v", err)
		}
		if resps[0].ContentLength != 16<<20 || len(bodies[0]) != 0 {
			t.Errorf("HEAD: Content-Length %d, body %d bytes", resps[0].ContentLength, len(bodies[0]))
		}
		if string(bodies[1]) != httpdTextFiles["/index.html"] {
			t.Errorf("GET after HEAD: %q", bodies[1])
		}
	})

	t.Run("keep-alive", func(t *testing.T) {
		// num_connects is 0 for a transfer that reused a connection.
		out, err := e.net.InClient("curl", "-sS", "--max-time", "60",
			"-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n",
			e.base+"/1k.bin", e.base+"/index.html").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v: %s", err, out)
		}
		if got := string(out); got != "200 1\n200 0\n" {
			t.Errorf("two URLs: %q, want one connection for both (\"200 1\\n200 0\\n\")", got)
		}
	})

	t.Run("pipelining", func(t *testing.T) {
		req := func(p string) string { return "GET " + p + " HTTP/1.1\r\nHost: t\r\n\r\n" }
		paths := []string{"/1k.bin", "/16m.bin", "/nope", "/index.html", "/empty.bin"}
		var all string
		for _, p := range paths {
			all += req(p)
		}
		all += "GET /style.css HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
		paths = append(paths, "/style.css")
		methods := make([]string, len(paths))
		for i := range methods {
			methods[i] = "GET"
		}
		resps, bodies, err := e.raw(t, all, methods...)
		if err != io.EOF {
			t.Fatalf("after %d responses: %v, want EOF after the last", len(resps), err)
		}
		for i, p := range paths {
			if p == "/nope" {
				if resps[i].StatusCode != 404 {
					t.Errorf("response %d: %d, want 404", i, resps[i].StatusCode)
				}
				continue
			}
			e.checkFile(t, p, &httpdResponse{status: resps[i].StatusCode, header: resps[i].Header, body: bodies[i]})
		}
	})

	t.Run("connection close", func(t *testing.T) {
		for _, req := range []string{
			"GET /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
			"GET /index.html HTTP/1.0\r\n\r\n",
			"GET /16m.bin HTTP/1.0\r\n\r\n",
		} {
			resps, _, err := e.raw(t, req, "GET")
			if err != io.EOF {
				t.Errorf("%q: %v, want the connection closed after the response", req, err)
			} else if resps[0].StatusCode != 200 {
				t.Errorf("%q: status %d", req, resps[0].StatusCode)
			}
		}
		// HTTP/1.0 with keep-alive stays open.
		_, _, err := e.raw(t, "GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET")
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Errorf("HTTP/1.0 keep-alive: %v, want the connection left open", err)
		}
	})

	t.Run("malformed", func(t *testing.T) {
		long := "/" + strings.Repeat("a", 10000)
		for _, c := range []struct {
			req    string
			status int
		}{
			{"GARBAGE\r\n\r\n", 400},
			{"GET /index.html\r\n\r\n", 400},
			{"GET /index.html HTTP/1.1\r\n\r\n", 400}, // no Host
			{"GET index.html HTTP/1.1\r\nHost: t\r\n\r\n", 400},
			{"GET /index.html HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400},
			{"GET /index.html HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n", 400},
			{"GET /index.html HTTP/2.0\r\nHost: t\r\n\r\n", 505},
			{"GET " + long + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
			{"GET / HTTP/1.1\r\nHost: t\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("f", 100)+"\r\n", 200) + "\r\n", 431},
		} {
			resps, _, err := e.raw(t, c.req, "GET")
			if len(resps) == 0 {
				t.Errorf("%.40q: %v", c.req, err)
				continue
			}
			if resps[0].StatusCode != c.status {
				t.Errorf("%.40q: status %d, want %d", c.req, resps[0].StatusCode, c.status)
			}
			if err != io.EOF {
				t.Errorf("%.40q: %v, want the connection closed", c.req, err)
			}
		}
	})

	t.Run("wrk", func(t *testing.T) {
		w := runWrk(t, e.net, e.base+"/1k.bin")
		t.Logf("wrk 1k.bin: %d requests, %.0f req/s", w.requests, w.reqPerSec)
		if w.requests == 0 || w.socketErrors != 0 || w.non2xx != 0 {
			t.Errorf("wrk: %d requests, %d socket errors, %d non-2xx:\n%s",
				w.requests, w.socketErrors, w.non2xx, w.raw)
		}
	})

	t.Run("lossy", func(t *testing.T) {
		if len(opts) > 0 {
			// The guest's large segments would cross the bridge and the
			// veth whole, and the client's iptables would drop 5% of
			// them, not 5% of the segments on the wire. A veth that
			// takes one segment at a time makes the kernel cut them
			// first, as a NIC would before its wire.
			err := e.net.DoInServer(func() error {
				veth, err := netlink.LinkByName("veth1")
				if err != nil {
					return err
				}
				return netlink.LinkSetGSOMaxSegs(veth, 1)
			})
			if err != nil {
				t.Fatalf("veth1 gso_max_segs 1: %v", err)
			}
		}
		if err := e.net.SetLoss(0.05); err != nil {
			t.Fatal(err)
		}
		defer e.net.SetLoss(0)
		// Serving 16 MiB takes reads of the tap and the disk and writes
		// to the tap.
		traceOnlySeven(t, e.guest.Pid, func() {
			start := time.Now()
			e.get(t, "/16m.bin")
			e.get(t, "/1k.bin")
			e.get(t, "/index.html")
			t.Logf("16 MiB + 1 KiB with 5%% loss each way: %v", time.Since(start).Round(time.Millisecond))
		}, "read", "write", "pread64", "ppoll")
	})

	if e.guest.Exited() {
		t.Errorf("guest exited during the tests:\n%s", e.guest.Output())
	}
}

// wrkResult is what one wrk run reported.
type wrkResult struct {
	requests     int64
	reqPerSec    float64
	bytesPerSec  float64
	socketErrors int64
	socketLine   string // wrk's "Socket errors: ..." line, if any
	non2xx       int64
	raw          string
}

// wrkArgs are the load every wrk run uses: two threads (this machine has
// two cores), fifty connections, ten seconds. Fifty 16 MiB responses at
// once take several seconds each, longer than wrk's default 2 s timeout.
var wrkArgs = []string{"-t2", "-c50", "-d10s", "--timeout", "30s"}

// runWrk runs wrk against url from the client netns, with args or, if
// none are given, wrkArgs.
func runWrk(tb testing.TB, n *testnet.Net, url string, args ...string) *wrkResult {
	tb.Helper()
	if len(args) == 0 {
		args = wrkArgs
	}
	out, err := n.InClient("wrk", append(append([]string{}, args...), url)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk %s: %v: %s", url, err, out)
	}
	w, err := parseWrk(string(out))
	if err != nil {
		tb.Fatalf("wrk %s: %v:\n%s", url, err, out)
	}
	return w
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	wrkTransfer = regexp.MustCompile(`(?m)^Transfer/sec:\s*([0-9.]+)([KMGTP]?B)`)
	wrkSocket   = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)`)
)

// parseWrk reads wrk's summary. The socket-error and non-2xx lines appear
// only when there were some.
func parseWrk(out string) (*wrkResult, error) {
	w := &wrkResult{raw: out}
	m := wrkRequests.FindStringSubmatch(out)
	r := wrkRate.FindStringSubmatch(out)
	x := wrkTransfer.FindStringSubmatch(out)
	if m == nil || r == nil || x == nil {
		return nil, fmt.Errorf("no summary in wrk's output")
	}
	w.requests, _ = strconv.ParseInt(m[1], 10, 64)
	w.reqPerSec, _ = strconv.ParseFloat(r[1], 64)
	v, _ := strconv.ParseFloat(x[1], 64)
	// wrk's units are powers of 1024.
	w.bytesPerSec = v * float64(int64(1)<<(10*strings.Index("BKMGTP", x[2][:1])))
	if s := wrkSocket.FindStringSubmatch(out); s != nil {
		w.socketLine = s[0]
		for _, f := range s[1:] {
			n, _ := strconv.ParseInt(f, 10, 64)
			w.socketErrors += n
		}
	}
	if s := wrkNon2xx.FindStringSubmatch(out); s != nil {
		w.non2xx, _ = strconv.ParseInt(s[1], 10, 64)
	}
	return w, nil
}

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://10.89.0.2/1k.bin
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   780.37us  385.27us   5.82ms   77.87%
    Req/Sec    29.04k     4.47k   58.42k    94.92%
  170556 requests in 3.02s, 189.17MB read
  Socket errors: connect 0, read 2, write 0, timeout 12
  Non-2xx or 3xx responses: 5
Requests/sec:  56546.39
Transfer/sec:      1.50GB
`
	w, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.requests != 170556 || w.reqPerSec != 56546.39 || w.bytesPerSec != 1.5*(1<<30) ||
		w.socketErrors != 14 || w.non2xx != 5 {
		t.Errorf("parsed %+v", w)
	}
	clean := strings.Replace(strings.Replace(out, "  Socket errors: connect 0, read 2, write 0, timeout 12\n", "", 1),
		"  Non-2xx or 3xx responses: 5\n", "", 1)
	if w, err := parseWrk(clean); err != nil || w.socketErrors != 0 || w.non2xx != 0 {
		t.Errorf("clean run parsed as %+v, %v", w, err)
	}
	if _, err := parseWrk("unable to connect to 10.89.0.2:80 Connection refused\n"); err == nil {
		t.Error("parsed a failed run")
	}
}
