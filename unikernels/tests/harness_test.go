// Package tests runs the ABI test guests (one folder each under
// unikernels/tests/) on the runnc-spt tender and checks how each ends.
// `make test` builds the tender and the guests first; without them the
// tests skip.
package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// prefix names every network namespace and link these tests create.
const prefix = "rh1"

var root = func() string {
	r, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return r
}()

func TestMain(m *testing.M) {
	if nr, ok := os.LookupEnv(probeEnv); ok {
		probe(nr)
	}
	// Guests that crash on purpose must not leave core files behind.
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		fmt.Fprintf(os.Stderr, "setrlimit RLIMIT_CORE: %v\n", err)
		os.Exit(1)
	}
	removeStaleNetns()
	os.Exit(m.Run())
}

// tender returns the path of the built tender, or skips the test.
func tender(t *testing.T) string {
	t.Helper()
	p := filepath.Join(root, "build/bin/runnc-spt")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make build/bin/runnc-spt, or make test): %v", p, err)
	}
	return p
}

// guest returns the path of a built test guest, or skips the test.
func guest(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(root, "build/unikernels/tests", name+".spt")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make test-guests, or make test): %v", p, err)
	}
	return p
}

// result is how one run of the tender ended.
type result struct {
	stdout, stderr string
	exited         bool // exited with status exit, rather than by signal
	exit           int
	signal         syscall.Signal
	started, ended time.Time
}

func (r *result) String() string {
	if r.exited {
		return fmt.Sprintf("exit status %d", r.exit)
	}
	return fmt.Sprintf("signal %v (%d)", r.signal, int(r.signal))
}

// output is everything the run wrote, for messages and word checks.
func (r *result) output() string { return r.stdout + r.stderr }

// run runs argv to completion (killing it after timeout) and says how it
// ended; any other failure ends the test.
func run(t *testing.T, timeout time.Duration, argv ...string) *result {
	t.Helper()
	r, err := runErr(timeout, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runErr is run for goroutines other than the test's.
func runErr(timeout time.Duration, argv ...string) (*result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := &result{started: time.Now()}
	err := cmd.Run()
	r.ended = time.Now()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: still running after %v (killed)\noutput:\n%s", strings.Join(argv, " "), timeout, r.output())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return nil, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		r.signal = ws.Signal()
	} else {
		r.exited, r.exit = true, ws.ExitStatus()
	}
	return r, nil
}

// netns is a network namespace holding taps for guests' NET_BASIC devices.
type netns struct {
	name string
	taps []string
}

var netnsCount atomic.Int32

// newNetns creates a network namespace with ntaps taps (up, no address),
// removed when the test ends, whatever its outcome.
func newNetns(t *testing.T, ntaps int) *netns {
	t.Helper()
	n := &netns{name: fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), netnsCount.Add(1))}
	ip(t, "netns", "add", n.name)
	t.Cleanup(func() {
		for _, tap := range n.taps {
			exec.Command("ip", "-n", n.name, "link", "del", tap).Run()
		}
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", n.name, err, out)
		}
	})
	for i := 0; i < ntaps; i++ {
		tap := fmt.Sprintf("%st%d%c", prefix, os.Getpid()%10000000, 'a'+i)
		ip(t, "-n", n.name, "tuntap", "add", "mode", "tap", "name", tap)
		n.taps = append(n.taps, tap)
		ip(t, "-n", n.name, "link", "set", tap, "up")
	}
	return n
}

// exec returns argv prefixed to run inside the namespace. `ip netns exec`
// execs argv, so the pid stays that of the tender and then of the guest.
func (n *netns) exec(argv ...string) []string {
	return append([]string{"ip", "netns", "exec", n.name}, argv...)
}

// openTap opens tap (IFF_TAP|IFF_NO_PI) from inside the namespace, as a
// caller passing --net:NAME=@FD would. The file is close-on-exec, so no
// other child inherits it; exec.Cmd.ExtraFiles hands it on.
func (n *netns) openTap(t *testing.T, tap string) *os.File {
	t.Helper()
	type opened struct {
		f   *os.File
		err error
	}
	c := make(chan opened)
	go func() {
		// The thread enters the namespace and is never unlocked: the
		// runtime ends it with the goroutine instead of reusing it.
		runtime.LockOSThread()
		f, err := openTapHere(n.name, tap)
		c <- opened{f, err}
	}()
	o := <-c
	if o.err != nil {
		t.Fatal(o.err)
	}
	t.Cleanup(func() { o.f.Close() })
	return o.f
}

func openTapHere(ns, tap string) (*os.File, error) {
	nsf, err := os.Open("/run/netns/" + ns)
	if err != nil {
		return nil, err
	}
	defer nsf.Close()
	if err := unix.Setns(int(nsf.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("setns %s: %w", ns, err)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(tap)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", tap, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+tap), nil
}

func ip(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// removeStaleNetns deletes namespaces an earlier, killed run of these tests
// left behind (named prefix-PID-N, with PID gone).
func removeStaleNetns() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		parts := strings.Split(f[0], "-")
		if len(parts) != 3 || parts[0] != prefix {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		exec.Command("ip", "netns", "del", f[0]).Run()
	}
}

// blockFile creates a zero-filled file of size bytes for a BLOCK_BASIC
// device.
func blockFile(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "block.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}
