package tests

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runnc/runnc/internal/proc"
	"github.com/runnc/runnc/internal/syncbuf"
	"github.com/runnc/runnc/netns"
)

// TestNetPing runs the net guest on a tap in a fresh namespace, floods it
// with pings from the host and expects every one answered. While it runs,
// the guest's process must be under the seccomp filter, single-threaded,
// and hold no fd but stdio and its tap.
func TestNetPing(t *testing.T) {
	ns, g := startNetGuest(t)
	// The pid is the tender's and then the guest's: the tender execs.
	pid := g.cmd.Process.Pid

	checkConfined(t, pid)

	r := runIn(t, ns.path, 3*time.Minute, "ping", "-f", "-c", "10000", "-q", "10.0.0.2")
	t.Logf("%s", r.stdout)
	if !strings.Contains(r.stdout, "10000 packets transmitted, 10000 received, 0% packet loss") {
		t.Errorf("ping -f: want 10000 replies, 0%% loss (%v):\n%s", r, r.output())
	}

	g.checkRunning(t)
	checkConfined(t, pid)
	g.kill(t)
}

// TestNetTapDeleted deletes the tap under the running net guest, which
// reads only when solo5_yield() says the device is ready (as upstream
// Solo5 apps do). The tap's fd then reports POLLERR, never POLLIN: the
// bindings must report the device ready once and fail the read, so that
// the guest ends with its error, rather than spin in solo5_yield. CPU time
// from /proc/PID/stat shows a spin if the guest does not end.
func TestNetTapDeleted(t *testing.T) {
	ns, g := startNetGuest(t)
	if r := runIn(t, ns.path, time.Minute, "ping", "-c", "1", "-W", "5", "10.0.0.2"); !strings.Contains(r.stdout, "1 received") {
		t.Fatalf("ping before the deletion: %v\n%s", r, r.output())
	}
	ns.do(t, func() error { return netns.DeleteLink(ns.taps[0]) })
	select {
	case <-g.exited:
	case <-time.After(3 * time.Second):
		cpu, err := proc.CPUTime(g.cmd.Process.Pid)
		t.Fatalf("guest still running 3 s after its tap was deleted, %v of CPU time used in all (%v)\n%s", cpu, err, g.out.String())
	}
	ws := g.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Exited() || ws.ExitStatus() != 1 || !strings.Contains(g.out.String(), "net: the device failed") {
		t.Errorf("guest ended by %v; want exit status 1 and its message\n%s", g.cmd.ProcessState, g.out.String())
	}
}

// startNetGuest runs the net guest as 10.0.0.2 on a tap (10.0.0.1) in a
// fresh namespace.
func startNetGuest(t *testing.T) (*namespace, *startedGuest) {
	spt, img := tender(t), guest(t, "net")
	ns := newNetns(t, 1)
	tap := ns.taps[0]
	ns.do(t, func() error { return netns.AddAddr(tap, "10.0.0.1/24") })
	g := startGuest(t, ns.path, []string{spt, "--net:service0=" + tap, img, "--ipv4=10.0.0.2"}, nil, "Serving ping on 10.0.0.2")
	return ns, g
}

// startedGuest is a guest running in the background.
type startedGuest struct {
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{}
}

// startGuest starts argv (the tender) inside the network namespace at
// nsPath ("" for the test's own) with extra fds from 3 on, waits until the
// guest has printed ready, and kills it when the test ends.
func startGuest(t *testing.T, nsPath string, argv []string, extra []*os.File, ready string) *startedGuest {
	t.Helper()
	g := &startedGuest{cmd: exec.Command(argv[0], argv[1:]...), out: &syncbuf.Buffer{}, exited: make(chan struct{})}
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	g.cmd.ExtraFiles = extra
	if err := startIn(nsPath, g.cmd); err != nil {
		t.Fatal(err)
	}
	go func() { g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		g.cmd.Process.Signal(syscall.SIGKILL)
		<-g.exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.out.String(), ready) {
		select {
		case <-g.exited:
			t.Fatalf("%s: ended (%v) before printing %q:\n%s", strings.Join(argv, " "), g.cmd.ProcessState, ready, g.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q after 30s:\n%s", strings.Join(argv, " "), ready, g.out.String())
		}
	}
	return g
}

// checkRunning fails the test if the guest has ended.
func (g *startedGuest) checkRunning(t *testing.T) {
	t.Helper()
	select {
	case <-g.exited:
		t.Fatalf("guest ended (%v):\n%s", g.cmd.ProcessState, g.out.String())
	default:
	}
}

// kill stops the guest with SIGKILL and checks that this is how it ended
// and that it reported no failure.
func (g *startedGuest) kill(t *testing.T) {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-g.exited
	if ws := g.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("after SIGKILL: %v", g.cmd.ProcessState)
	}
	if strings.Contains(g.out.String(), "FAILURE") {
		t.Errorf("guest reported a failure:\n%s", g.out.String())
	}
}

// checkConfined checks the running guest's process: seccomp filter mode,
// one thread, and no open fd but 0, 1, 2 and taps.
func checkConfined(t *testing.T, pid int) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Seccomp:\t2\n", "Threads:\t1\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("/proc/%d/status lacks %q:\n%s", pid, want, status)
		}
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		switch fd.Name() {
		case "0", "1", "2":
			continue
		}
		target, err := os.Readlink(dir + "/" + fd.Name())
		if err != nil {
			t.Fatal(err)
		}
		if target != "/dev/net/tun" {
			t.Errorf("guest holds fd %s -> %s; want only stdio and its tap", fd.Name(), target)
		}
	}
}
