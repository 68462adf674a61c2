// Package testnet builds the two-namespace network the integration tests
// run unikernels in, and starts guests on it.
//
// New makes two fresh network namespaces, a client and a server:
//
//	client netns                  server netns
//	+-----------+  veth pair  +-------------------------------+
//	| veth0     |-------------| veth1 --+                     |
//	| 10.89.0.1 |             |         br0 10.89.0.3 (host)  |
//	+-----------+             | tap0 ---+  guest 10.89.0.2    |
//	                          +-------------------------------+
//
// Clients (curl, wrk, redis-cli) run in the client namespace; the
// unikernel's tender runs in the server namespace attached to the tap, and
// native peers (nginx, redis-server) listen on the bridge's own address
// HostIP so both are measured over the same path. Interface names live
// inside the namespaces, so several Nets can exist at once; namespace
// names carry the caller's prefix and the pid so they are easy to find and
// never collide with another process's.
//
// Everything needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iptables(8)
// for SetLoss. The namespaces, links and processes in them come from
// package netns.
package testnet

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/runnc/runnc/internal/syncbuf"
	"github.com/runnc/runnc/netns"
)

// Addresses of the test network; every Net uses the same ones, in its own
// namespaces.
const (
	ClientIP = "10.89.0.1" // client end of the veth pair, the guest's gateway
	GuestIP  = "10.89.0.2" // the unikernel
	HostIP   = "10.89.0.3" // the server namespace's bridge, for native servers
	Prefix   = 24
)

// Net is a client and a server network namespace joined by a veth pair,
// with a tap for a guest on the server side.
type Net struct {
	Client string // client netns name
	Server string // server netns name
	Tap    string // the tap in the server netns, for --net:service0=

	ClientIP string
	GuestIP  string
	HostIP   string

	mu     sync.Mutex
	closed bool
	guests []*Guest
	loss   float64
}

// New creates the namespaces "<name>-c-<pid>-<n>" and "<name>-s-<pid>-<n>"
// (netns.Name) and everything in them. On error it removes whatever it
// made.
func New(name string) (*Net, error) {
	n := &Net{
		Client:   netns.Name(name + "-c"),
		Server:   netns.Name(name + "-s"),
		Tap:      "tap0",
		ClientIP: ClientIP,
		GuestIP:  GuestIP,
		HostIP:   HostIP,
	}
	if err := n.setup(); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Net) setup() error {
	cidr := func(ip string) string { return fmt.Sprintf("%s/%d", ip, Prefix) }
	client, err := netns.New(n.Client)
	if err != nil {
		return err
	}
	server, err := netns.New(n.Server)
	if err != nil {
		return err
	}
	err = netns.Do(client, func() error {
		return each(
			func() error { return netns.LinkUp("lo") },
			func() error { return netns.AddVeth("veth0", "veth1", server) },
			func() error { return netns.AddAddr("veth0", cidr(n.ClientIP)) },
			func() error { return netns.LinkUp("veth0") },
		)
	})
	if err != nil {
		return fmt.Errorf("set up netns %s: %w", n.Client, err)
	}
	err = netns.Do(server, func() error {
		return each(
			func() error { return netns.LinkUp("lo") },
			// No STP: ports forward at once.
			func() error { return netns.AddBridge("br0") },
			func() error { return netns.AddAddr("br0", cidr(n.HostIP)) },
			func() error { return netns.CreateTap(n.Tap, 0, 0) },
			func() error { return netns.SetMaster("veth1", "br0") },
			func() error { return netns.SetMaster(n.Tap, "br0") },
			func() error { return netns.LinkUp("veth1") },
		)
	})
	if err != nil {
		return fmt.Errorf("set up netns %s: %w", n.Server, err)
	}
	// Until the kernel turns the veth's carrier on, a test's first
	// packets would be dropped.
	if err := netns.Do(client, func() error { return netns.WaitOperUp("veth0", 10*time.Second) }); err != nil {
		return fmt.Errorf("set up netns %s: %w", n.Client, err)
	}
	err = netns.Do(server, func() error {
		return each(
			func() error { return netns.WaitOperUp("veth1", 10*time.Second) },
			func() error { return netns.WaitOperUp("br0", 10*time.Second) },
		)
	})
	if err != nil {
		return fmt.Errorf("set up netns %s: %w", n.Server, err)
	}
	return nil
}

// each runs steps in order up to the first error.
func each(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the guests started on n and deletes both namespaces with
// everything in them (links, addresses, iptables rules). It may be called
// more than once.
func (n *Net) Close() error {
	n.mu.Lock()
	guests := n.guests
	n.guests = nil
	n.closed = true
	n.mu.Unlock()
	for _, g := range guests {
		g.Stop()
	}
	var errs []error
	for _, ns := range []string{n.Client, n.Server} {
		if !netns.Exists(ns) {
			continue
		}
		if err := netns.Delete(ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// InClient returns a command that runs name with args in the client netns.
func (n *Net) InClient(name string, args ...string) *netns.Cmd {
	return netns.Command(netns.Path(n.Client), name, args...)
}

// InServer returns a command that runs name with args in the server netns.
func (n *Net) InServer(name string, args ...string) *netns.Cmd {
	return netns.Command(netns.Path(n.Server), name, args...)
}

// DoInClient runs fn inside the client netns (netns.Do): sockets fn
// creates belong to that namespace and stay usable from any goroutine
// afterwards.
func (n *Net) DoInClient(fn func() error) error {
	return netns.Do(netns.Path(n.Client), fn)
}

// DoInServer is DoInClient for the server netns.
func (n *Net) DoInServer(fn func() error) error {
	return netns.Do(netns.Path(n.Server), fn)
}

// Dial connects from the client netns (net.DialTimeout there).
func (n *Net) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := n.DoInClient(func() error {
		var err error
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	return c, err
}

// WaitTCP waits until a TCP connection from the client netns to ip:port
// succeeds, or timeout passes.
func (n *Net) WaitTCP(ip string, port int, timeout time.Duration) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	err := WaitDial(func() (net.Conn, error) { return n.Dial("tcp", addr, time.Second) }, timeout)
	if err != nil {
		return fmt.Errorf("wait for %s from %s: %w", addr, n.Client, err)
	}
	return nil
}

// WaitDial calls dial until it connects (and closes the connection) or
// timeout passes; it returns dial's last error.
func WaitDial(dial func() (net.Conn, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := dial()
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetLoss makes the client netns drop each packet in and out with
// probability p (iptables statistic match), so each direction loses about
// p of its packets. 0 removes the rules.
func (n *Net) SetLoss(p float64) error {
	if p < 0 || p >= 1 {
		return fmt.Errorf("set loss %v: probability must be in [0, 1)", p)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	iptables := func(op, chain string, q float64) error {
		cmd := n.InClient("iptables", "-w", op, chain,
			"-m", "statistic", "--mode", "random",
			"--probability", strconv.FormatFloat(q, 'f', -1, 64), "-j", "DROP")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s in %s: %w: %s", cmd, n.Client, err, bytes.TrimSpace(out))
		}
		return nil
	}
	if n.loss > 0 {
		for _, chain := range []string{"INPUT", "OUTPUT"} {
			if err := iptables("-D", chain, n.loss); err != nil {
				return err
			}
		}
		n.loss = 0
	}
	if p == 0 {
		return nil
	}
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		if err := iptables("-A", chain, p); err != nil {
			return err
		}
		n.loss = p // so a half-done change is undone next time
	}
	return nil
}

// Guest is a tender (and the unikernel it became) running in the server
// netns.
type Guest struct {
	Pid int

	cmd  *netns.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
	err  error // from Wait, valid after done is closed
	once sync.Once
}

// StartGuest runs
//
//	runnc-spt --net:service0=TAP [--block-ro:rootfs=IMAGE] SPT --ipv4=GUEST/24 --ipv4-gateway=CLIENT ARGS...
//
// in the server netns, with build/bin/runnc-spt from the module root. The
// tender's stdout and stderr are collected (Output). The tender runs the
// guest in its own pid, so Guest.Pid is the guest's pid.
func (n *Net) StartGuest(spt, rootfsImage string, args ...string) (*Guest, error) {
	return n.StartGuestWith(nil, spt, rootfsImage, args...)
}

// StartGuestWith is StartGuest with extra tender options (such as
// --net-offload:service0) before the kernel.
func (n *Net) StartGuestWith(opts []string, spt, rootfsImage string, args ...string) (*Guest, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	tender := filepath.Join(root, "build", "bin", "runnc-spt")
	if _, err := os.Stat(tender); err != nil {
		return nil, fmt.Errorf("tender: %w (run make build/bin/runnc-spt)", err)
	}
	targs := []string{"--net:service0=" + n.Tap}
	if rootfsImage != "" {
		targs = append(targs, "--block-ro:rootfs="+rootfsImage) // the guest only reads it
	}
	targs = append(targs, opts...)
	targs = append(targs, spt,
		fmt.Sprintf("--ipv4=%s/%d", n.GuestIP, Prefix),
		"--ipv4-gateway="+n.ClientIP)
	targs = append(targs, args...)

	cmd := n.InServer(tender, targs...)
	g := &Guest{cmd: cmd, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout = g.out
	cmd.Stderr = g.out
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("start guest %s: network %s is closed", spt, n.Server)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start guest %s: %w", spt, err)
	}
	g.Pid = cmd.Process.Pid
	go func() {
		g.err = cmd.Wait()
		close(g.done)
	}()
	n.guests = append(n.guests, g)
	return g, nil
}

// Stop kills the guest (SIGKILL) if it is still running, waits for it and
// returns its output. The error is nil if the guest was killed by Stop or
// had exited with status 0, else what exec.Cmd.Wait reported. Stop may be
// called more than once.
func (g *Guest) Stop() (output string, err error) {
	g.once.Do(func() {
		select {
		case <-g.done:
			return
		default:
		}
		// The pid cannot have been reused: it is our child and not yet
		// reaped until Wait returns.
		g.cmd.Process.Signal(syscall.SIGKILL)
		<-g.done
		if ee, ok := g.err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				g.err = nil
			}
		}
	})
	<-g.done
	return g.out.String(), g.err
}

// Wait waits for the guest to exit by itself, up to timeout, and returns
// its output and exit error (nil for status 0).
func (g *Guest) Wait(timeout time.Duration) (output string, err error) {
	select {
	case <-g.done:
		return g.out.String(), g.err
	case <-time.After(timeout):
		return g.out.String(), fmt.Errorf("guest pid %d still running after %v", g.Pid, timeout)
	}
}

// Output returns what the guest has printed so far.
func (g *Guest) Output() string { return g.out.String() }

// Exited reports whether the guest process has ended.
func (g *Guest) Exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// ModuleRoot returns the directory holding go.mod, walking up from the
// working directory (a test's cwd is its package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("module root: no go.mod above %s", dir)
		}
	}
}

// TB is the part of testing.TB the helpers below use.
type TB interface {
	Helper()
	Skip(args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
	Cleanup(func())
}

// StartService makes a fresh Net (netns prefix name), starts the guest spt
// with its arguments args on it (StartGuestWith) and waits until it accepts TCP connections on
// port. Net and guest are removed when the test ends; the guest's console
// is logged if the test failed.
func StartService(tb TB, name string, opts []string, spt, rootfsImage string, port int, args ...string) (*Net, *Guest) {
	tb.Helper()
	n, err := New(name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { n.Close() })
	g, err := n.StartGuestWith(opts, spt, rootfsImage, args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		out, err := g.Stop()
		if tb.Failed() || err != nil {
			tb.Logf("guest console (stop: %v):\n%s", err, out)
		}
	})
	if err := n.WaitTCP(n.GuestIP, port, 20*time.Second); err != nil {
		tb.Fatalf("%v\nguest console:\n%s", err, g.Output())
	}
	return n, g
}

// NeedRoot fails the test unless it runs as root, which the test network
// needs (network namespaces, taps, tracefs). It fails rather than skips:
// a run without root must not pass while testing nothing.
func NeedRoot(tb TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Fatal("needs root (network namespaces, taps, tracefs): run make test as root")
	}
}

// BuildOutput returns the absolute path of a build product given relative
// to the module root, failing the test with the make command to run if it
// is missing.
func BuildOutput(tb TB, rel string) string {
	tb.Helper()
	root, err := ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(root, rel)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("%v: run make %s first", err, rel)
	}
	return path
}
