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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runnc/runnc/netns"
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
	if err := netns.RemoveStale(prefix); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
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
	return runIn(t, "", timeout, argv...)
}

// runIn is run with argv started inside the network namespace at nsPath
// ("" for the test's own).
func runIn(t *testing.T, nsPath string, timeout time.Duration, argv ...string) *result {
	t.Helper()
	r, err := runErrIn(nsPath, timeout, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runErr is run for goroutines other than the test's.
func runErr(timeout time.Duration, argv ...string) (*result, error) {
	return runErrIn("", timeout, argv...)
}

// runErrIn is runIn for goroutines other than the test's.
func runErrIn(nsPath string, timeout time.Duration, argv ...string) (*result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := &result{started: time.Now()}
	err := startIn(nsPath, cmd)
	if err == nil {
		err = cmd.Wait()
	}
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

// startIn starts cmd inside the network namespace at nsPath, or here if
// nsPath is "". The pid is cmd's own: nothing execs in between, and the
// tender runs the guest in its pid.
func startIn(nsPath string, cmd *exec.Cmd) error {
	if nsPath == "" {
		return cmd.Start()
	}
	return netns.Do(nsPath, cmd.Start)
}

// namespace is a network namespace holding taps for guests' NET_BASIC
// devices.
type namespace struct {
	name, path string
	taps       []string
}

// newNetns creates a network namespace with ntaps taps (up, no address),
// removed when the test ends, whatever its outcome.
func newNetns(t *testing.T, ntaps int) *namespace {
	t.Helper()
	n := &namespace{}
	// Deleting the namespace deletes its taps.
	n.name, n.path = netns.Temp(t, prefix)
	for i := 0; i < ntaps; i++ {
		n.taps = append(n.taps, fmt.Sprintf("%st%d%c", prefix, os.Getpid()%10000000, 'a'+i))
	}
	err := netns.Do(n.path, func() error {
		for _, tap := range n.taps {
			if err := netns.CreateTap(tap, 0, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// do runs fn inside the namespace (netns.Do), failing the test on error.
func (n *namespace) do(t *testing.T, fn func() error) {
	t.Helper()
	if err := netns.Do(n.path, fn); err != nil {
		t.Fatal(err)
	}
}

// openTap opens tap (IFF_TAP|IFF_NO_PI) from inside the namespace, as a
// caller passing --net:NAME=@FD would. The file is close-on-exec, so no
// other child inherits it; exec.Cmd.ExtraFiles hands it on.
func (n *namespace) openTap(t *testing.T, tap string) *os.File {
	t.Helper()
	var f *os.File
	n.do(t, func() (err error) {
		f, err = netns.OpenTap(tap)
		return err
	})
	t.Cleanup(func() { f.Close() })
	return f
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
