// Package netns is runnc's one home for network namespace and tap
// plumbing: running code inside a network namespace, creating and removing
// named namespaces the way `ip netns add/del` does, creating and opening
// taps, and the few links (veth pairs, bridges, addresses) that the tender,
// the runtime, the tests and the demo wire guests up with. It speaks
// netlink and ioctls, never ip(8).
//
// Functions that act on links (CreateTap, OpenTap, AddVeth, AddBridge,
// AddAddr, LinkUp, ...) work in the network namespace of the calling OS
// thread; to act on another namespace, call them inside Do:
//
//	err := netns.Do(path, func() error {
//		if err := netns.CreateTap("tap0", uid, gid); err != nil {
//			return err
//		}
//		return netns.AddAddr("tap0", "10.0.0.1/24")
//	})
//
// Everything but Do of a namespace the caller may enter, OpenTap of a tap
// the caller owns, and TapInfo needs CAP_NET_ADMIN (and CAP_SYS_ADMIN for
// New and Delete).
package netns

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// RunDir holds the bind mounts that keep named namespaces alive, as for
// ip(8), so `ip netns list` shows ours and ours see its.
const RunDir = "/run/netns"

// Path returns the file a named namespace is kept at.
func Path(name string) string { return filepath.Join(RunDir, name) }

// Do runs fn on an OS thread that has joined the network namespace at
// nsPath (a named one's Path, /proc/PID/ns/net, or /proc/self/fd/N of an
// open namespace fd). Sockets, taps and links fn makes belong to that
// namespace and stay usable from any goroutine afterwards, and a process
// fn starts (exec.Cmd.Start) starts in it. Goroutines fn starts do not run
// in the namespace. The thread is never returned to the Go scheduler:
// having changed namespace, it exits with fn's goroutine (as CNI's pkg/ns
// does), so no other goroutine ever runs in the wrong namespace.
func Do(nsPath string, fn func() error) error {
	// Opened here, in the caller's context, so a path like /proc/self/fd/N
	// means what the caller meant.
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		err := unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("enter netns %s: %w", nsPath, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// New creates the named network namespace name (with only a loopback
// link, down) and returns its Path. Like `ip netns add`, it keeps the
// namespace alive by bind-mounting it on a file under RunDir, which is made
// a shared mount point so the mount shows in mount namespaces created
// later. A namespace of that name must not exist.
func New(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("create netns %q: not a valid name", name)
	}
	if err := sharedRunDir(); err != nil {
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	p := Path(name)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	unix.Close(fd)
	errc := make(chan error, 1)
	go func() {
		// The thread moves to the new namespace and is never unlocked, so
		// it exits with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", p, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind-mount the namespace on %s: %w", p, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(p)
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	return p, nil
}

// sharedRunDir makes RunDir exist and be a shared mount point, binding it
// on itself first if it is not a mount point yet (what ip(8) does).
func sharedRunDir() error {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == unix.EINVAL {
		if err := unix.Mount(RunDir, RunDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s on itself: %w", RunDir, err)
		}
		err = unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s a shared mount: %w", RunDir, err)
	}
	return nil
}

// Delete removes the named namespace: its mount and file. The namespace,
// with its links, goes away once no process is in it and no fd holds it
// (links' ends in other namespaces go with it, taps too).
func Delete(name string) error {
	p := Path(name)
	if _, err := os.Lstat(p); err != nil {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL {
		return fmt.Errorf("delete netns %s: unmount %s: %w", name, p, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// Exists reports whether the named namespace exists.
func Exists(name string) bool {
	_, err := os.Lstat(Path(name))
	return err == nil
}

var seq atomic.Int32

// Name returns a fresh namespace name "PREFIX-PID-N" for this process: the
// pid keeps concurrent processes apart, and lets RemoveStale recognise
// what a killed process left behind.
func Name(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), seq.Add(1))
}

// TB is the part of testing.TB that Temp uses.
type TB interface {
	Helper()
	Fatal(args ...any)
	Error(args ...any)
	Cleanup(func())
}

// Temp creates a namespace named Name(prefix) for a test and deletes it,
// with everything in it, when the test ends, whatever its outcome.
func Temp(tb TB, prefix string) (name, path string) {
	tb.Helper()
	name = Name(prefix)
	path, err := New(name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if Exists(name) {
			if err := Delete(name); err != nil {
				tb.Error(err)
			}
		}
	})
	return name, path
}

// RemoveStale deletes the namespaces named "PREFIX-PID-..." whose process
// PID is gone: what an earlier, killed run left behind. Namespaces of live
// processes, this one included, are left alone.
func RemoveStale(prefix string) error {
	ents, err := os.ReadDir(RunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("remove stale netns: %w", err)
	}
	var errs []error
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix+"-")
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + pidText); err == nil {
			continue
		}
		if err := Delete(e.Name()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
