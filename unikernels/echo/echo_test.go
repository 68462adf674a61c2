// Package echo tests the libos network stack (lwIP port, netif on the
// Solo5 net device, the event-driven TCP API) through the echo unikernel:
// a fresh network namespace with a tap, the guest under runnc-spt on it,
// and clients in the namespace that ping it and stream data through many
// concurrent connections, with and without packet loss.
//
// Needs root and a built tree (make build/bin/runnc-spt
// build/unikernels/echo/echo.spt).
package echo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/internal/syncbuf"
	"github.com/runnc/runnc/netns"
)

const (
	hostIP     = "10.0.0.1"
	guestIP    = "10.0.0.2"
	port       = 7
	sourcePort = 19
)

// repoRoot is the directory holding go.mod, above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// testNet is a network namespace with a tap at hostIP/24 for a guest.
type testNet struct {
	ns   string // name
	path string // netns.Path(ns)
	tap  string
}

// newNet makes the namespace rh3-<pid>-<n> and its tap; both go away at
// the end of the test (deleting the namespace deletes the tap and any
// iptables rules in it).
func newNet(t *testing.T) *testNet {
	t.Helper()
	n := &testNet{tap: "rh3t" + strconv.Itoa(os.Getpid())}
	n.ns, n.path = netns.Temp(t, "rh3")
	err := n.do(func() error {
		if err := netns.LinkUp("lo"); err != nil {
			return err
		}
		if err := netns.CreateTap(n.tap, 0, 0); err != nil {
			return err
		}
		return netns.AddAddr(n.tap, hostIP+"/24")
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// do runs fn inside the namespace (netns.Do).
func (n *testNet) do(fn func() error) error { return netns.Do(n.path, fn) }

// exec returns a command running name in the namespace.
func (n *testNet) exec(name string, args ...string) *netns.Cmd {
	return netns.Command(n.path, name, args...)
}

// setLoss makes the namespace drop each packet in and out with
// probability p (iptables statistic match).
func (n *testNet) setLoss(t *testing.T, p float64) {
	t.Helper()
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		cmd := n.exec("iptables", "-w", "-A", chain, "-m", "statistic", "--mode", "random",
			"--probability", strconv.FormatFloat(p, 'f', -1, 64), "-j", "DROP")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
	}
}

// dial connects to addr from inside the namespace: the socket belongs to
// the namespace it was made in.
func (n *testNet) dial(addr string) (*net.TCPConn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 30*time.Second)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// guest is a running echo unikernel.
type guest struct {
	cmd  *netns.Cmd
	out  *syncbuf.Buffer
	done chan struct{} // closed when the guest has exited
	err  error         // cmd.Wait's result, once done is closed
}

// startGuest runs the echo unikernel in n with args after the kernel,
// and stops it by pid at the end of the test.
func startGuest(t *testing.T, n *testNet, args ...string) *guest {
	t.Helper()
	return startGuestWith(t, n, nil, args...)
}

// startGuestWith is startGuest with extra tender options (before the
// kernel) such as --net-offload:service0.
func startGuestWith(t *testing.T, n *testNet, opts []string, args ...string) *guest {
	t.Helper()
	root := repoRoot(t)
	spt := filepath.Join(root, "build/bin/runnc-spt")
	kernel := filepath.Join(root, "build/unikernels/echo/echo.spt")
	for _, f := range []string{spt, kernel} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s not built: run make %s", f, strings.TrimPrefix(f, root+"/"))
		}
	}
	g := &guest{out: &syncbuf.Buffer{}, done: make(chan struct{})}
	argv := append([]string{"--net:service0=" + n.tap}, opts...)
	argv = append(append(argv, kernel), args...)
	g.cmd = n.exec(spt, argv...)
	g.cmd.Stdout = g.out
	g.cmd.Stderr = g.out
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(func() {
		select {
		case <-g.done:
			if t.Failed() {
				t.Logf("guest had exited: %v", g.err)
			}
		default:
			g.cmd.Process.Kill()
			<-g.done
		}
		if t.Failed() {
			t.Logf("guest output:\n%s", g.out.String())
		}
	})
	return g
}

// waitOutput waits until the guest printed want, or fails.
func (g *guest) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(g.out.String(), want) {
		select {
		case <-g.done:
			t.Fatalf("guest exited (%v) without printing %q; output:\n%s", g.err, want, g.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest did not print %q; output:\n%s", want, g.out.String())
		}
	}
}

func startEcho(t *testing.T, n *testNet, opts ...string) *guest {
	t.Helper()
	g := startGuestWith(t, n, opts, "--ipv4="+guestIP+"/24", "--ipv4-gateway="+hostIP)
	g.waitOutput(t, "echo: listening on port 7")
	return g
}

// echoMany streams size bytes of random data through each of conns
// concurrent connections, half-closes, reads the echo to EOF and checks
// it is identical. It returns the time taken.
func echoMany(t *testing.T, n *testNet, conns, size int, timeout time.Duration) time.Duration {
	t.Helper()
	addr := net.JoinHostPort(guestIP, strconv.Itoa(port))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = echoOne(n, addr, uint64(i), size, start.Add(timeout))
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
	}
	return elapsed
}

func echoOne(n *testNet, addr string, seed uint64, size int, deadline time.Time) error {
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'r', 'h', '3'})
	rng.Read(data)

	c, err := n.dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	writeErr := make(chan error, 1)
	go func() {
		// Uneven writes, so segments and reads do not line up.
		w := data
		for len(w) > 0 {
			k := min(len(w), 1+int(rng.Uint64()%65536))
			if _, err := c.Write(w[:k]); err != nil {
				writeErr <- err
				return
			}
			w = w[k:]
		}
		writeErr <- c.CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if werr := <-writeErr; werr != nil {
		return fmt.Errorf("write: %w", werr)
	}
	if err != nil {
		return fmt.Errorf("read after %d of %d bytes: %w", len(got), size, err)
	}
	if len(got) != size {
		return fmt.Errorf("echoed %d bytes, sent %d", len(got), size)
	}
	if i := firstDiff(got, data); i >= 0 {
		return fmt.Errorf("echo differs from what was sent at byte %d", i)
	}
	return nil
}

// source asks the guest's source service for size bytes and checks that
// exactly the pattern arrives, followed by the guest's close.
func source(n *testNet, size int, deadline time.Time) error {
	c, err := n.dial(net.JoinHostPort(guestIP, strconv.Itoa(sourcePort)))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := fmt.Fprintf(c, "%d\n", size); err != nil {
		return err
	}
	got, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("read after %d of %d bytes: %w", len(got), size, err)
	}
	if len(got) != size {
		return fmt.Errorf("got %d bytes, want %d", len(got), size)
	}
	for i, b := range got {
		if b != byte(i%251) {
			return fmt.Errorf("byte %d is %d, want %d", i, b, i%251)
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// needRoot fails the test without root: a skip would let a run without
// root pass while testing nothing.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root (network namespaces, taps): run make test as root")
	}
}

const (
	nConns   = 20
	connSize = 1 << 20
)

// The guest answers ping, echoes 1 MiB on each of 20 concurrent
// connections byte for byte and closes each after the client's FIN, and
// streams a 16 MiB response.
func TestEcho(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n)
	if out, err := n.exec("ping", "-c", "3", "-i", "0.2", "-W", "2", guestIP).CombinedOutput(); err != nil {
		t.Fatalf("ping %s: %v\n%s", guestIP, err, out)
	}
	elapsed := echoMany(t, n, nConns, connSize, 60*time.Second)
	mb := float64(nConns*connSize) / 1e6
	t.Logf("echoed %.1f MB over %d connections in %v: %.1f MB/s", mb, nConns, elapsed.Round(time.Millisecond), mb/elapsed.Seconds())

	// A large response streamed by the app from writable(), then closed
	// by the app: all of it arrives before the FIN.
	t0 := time.Now()
	if err := source(n, 16<<20, time.Now().Add(60*time.Second)); err != nil {
		t.Errorf("source 16 MiB: %v", err)
	} else {
		t.Logf("streamed 16 MiB from the guest in %v: %.1f MB/s", time.Since(t0).Round(time.Millisecond), 16.0*(1<<20)/1e6/time.Since(t0).Seconds())
	}

	// The guest keeps serving after all that.
	if err := echoOne(n, net.JoinHostPort(guestIP, "7"), 99, 1000, time.Now().Add(10*time.Second)); err != nil {
		t.Errorf("echo after the run: %v", err)
	}
}

// Two hundred connections at once, each a short exchange: the guest
// has PCBs and buffers for all of them.
func TestEchoManyConns(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n)
	elapsed := echoMany(t, n, 200, 64<<10, 60*time.Second)
	t.Logf("200 connections in %v", elapsed)
}

// Clients that reset their connections in the middle of a large
// response leave a guest that still serves new ones.
func TestEchoClientReset(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n)
	for i := 0; i < 10; i++ {
		c, err := n.dial(net.JoinHostPort(guestIP, strconv.Itoa(sourcePort)))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := fmt.Fprintf(c, "%d\n", 1<<30); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 1<<20)); err != nil {
			t.Fatalf("read the start of the response: %v", err)
		}
		c.SetLinger(0) // close sends RST
		c.Close()
	}
	if err := source(n, 1<<20, time.Now().Add(20*time.Second)); err != nil {
		t.Errorf("source after resets: %v", err)
	}
	if err := echoOne(n, net.JoinHostPort(guestIP, "7"), 7, 1<<20, time.Now().Add(20*time.Second)); err != nil {
		t.Errorf("echo after resets: %v", err)
	}
}

// With 5% of packets dropped each way, TCP recovers: every byte still
// arrives, in order, on every connection, and a streamed response is
// complete.
func TestEchoLoss(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n)
	n.setLoss(t, 0.05)
	srcErr := make(chan error, 1)
	go func() { srcErr <- source(n, 4<<20, time.Now().Add(180*time.Second)) }()
	elapsed := echoMany(t, n, nConns, connSize, 180*time.Second)
	if err := <-srcErr; err != nil {
		t.Errorf("source 4 MiB: %v", err)
	}
	mb := float64(nConns*connSize) / 1e6
	t.Logf("with 5%% loss: echoed %.1f MB over %d connections in %v: %.1f MB/s", mb, nConns, elapsed.Round(time.Millisecond), mb/elapsed.Seconds())
}

// What the guest may hold of a connection whose peer does not read: echo
// it has not sent yet (echo.c pauses the peer above HIGH_WATER, 1 MiB,
// after at most one more segment) and a receive window of data it acked
// but has not taken (at most maxWnd, a connection's largest share of the
// receive budget: window_test.go). Twice the window covers the segment
// too.
const (
	echoHighWater = 1 << 20
	maxHeld       = echoHighWater + 2*maxWnd
)

// A peer that stops reading is not answered with unbounded buffering: the
// guest pauses it. The client's own TCP state shows it: the guest closes
// its receive window (zero window) while it holds at most maxHeld bytes
// (bytes it acked minus bytes the client received), and the writer is
// stuck with most of its data unsent; once the client reads, everything
// arrives.
func TestEchoSlowReader(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n)
	c, err := n.dial(net.JoinHostPort(guestIP, "7"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	// More than the client's socket buffers, the guest's window and its
	// high-water mark together can hold.
	const size = 32 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{'s', 'l', 'o', 'w'}).Read(data)
	writeErr := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.CloseWrite()
		}
		writeErr <- err
	}()

	// Not reading: wait for the paused state, the guest advertising a
	// zero window with what it acked steady, and check what it holds on
	// the way there.
	var info *unix.TCPInfo
	for steady, last := 0, uint64(0); steady < 5; {
		select {
		case err := <-writeErr:
			t.Fatalf("writer finished (%v) although nobody read the echo", err)
		case <-time.After(50 * time.Millisecond):
		}
		if info, err = tcpInfo(c); err != nil {
			t.Fatal(err)
		}
		if held := info.Bytes_acked - info.Bytes_received; held > maxHeld {
			t.Fatalf("the guest holds %d bytes of a connection nobody reads (acked %d, delivered %d), more than %d: it buffers without bound",
				held, info.Bytes_acked, info.Bytes_received, maxHeld)
		}
		if info.Snd_wnd == 0 && info.Bytes_acked == last {
			steady++
		} else {
			steady = 0
		}
		last = info.Bytes_acked
	}
	t.Logf("paused: the guest acked %d bytes, the client received %d; zero window", info.Bytes_acked, info.Bytes_received)
	if info.Bytes_acked >= size/2 {
		t.Errorf("the guest acked %d of %d bytes before pausing the writer", info.Bytes_acked, size)
	}

	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read after %d bytes: %v", len(got), err)
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo differs: got %d bytes, first difference at %d", len(got), firstDiff(got, data))
	}
}

// tcpInfo reads the kernel's TCP state of c (TCP_INFO).
func tcpInfo(c *net.TCPConn) (*unix.TCPInfo, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return nil, err
	}
	if gerr != nil {
		return nil, fmt.Errorf("TCP_INFO: %w", gerr)
	}
	return info, nil
}

// Bad libos options end the guest at once with status 1 and a one-line
// reason; an unknown app argument is the app's to refuse.
func TestEchoBadOptions(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ipv4=10.0.0.300/24"}, "bad option '--ipv4=10.0.0.300/24'"},
		{[]string{"--ipv4=10.0.0.2"}, "bad option '--ipv4=10.0.0.2'"},
		{[]string{"--ipv4=10.0.0.2/33"}, "bad option"},
		{[]string{"--ipv4=10.0.0.2/24", "--ipv4-gateway=x"}, "bad option '--ipv4-gateway=x'"},
		{[]string{"--ipv4=10.0.0.2/24", "--mtu=20"}, "bad option '--mtu=20'"},
		{[]string{"--ipv4=10.0.0.2/24", "--net=nosuch"}, "cannot acquire network device 'nosuch'"},
		{[]string{"--ipv4-gateway=10.0.0.1"}, "need --ipv4"},
		{[]string{"--ipv4=10.0.0.2/24", "--frobnicate"}, "echo: bad argument '--frobnicate'"},
	} {
		g := startGuest(t, n, tc.args...)
		err := waitExit(g, 10*time.Second)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%v: exit %v, want status 1; output:\n%s", tc.args, err, g.out.String())
			continue
		}
		if !strings.Contains(g.out.String(), tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, g.out.String())
		}
	}
}

// waitExit waits for a guest that is expected to end by itself.
func waitExit(g *guest, timeout time.Duration) error {
	select {
	case <-g.done:
		return g.err
	case <-time.After(timeout):
		return errors.New("still running")
	}
}
