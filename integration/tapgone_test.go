package integration

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runnc/runnc/internal/proc"
	"github.com/runnc/runnc/netns"
)

// TestKVTapDeleted deletes the tap under a running kv guest with a client
// connected. The tap's fd then reports POLLERR forever; the guest must not
// spin on it: libos logs the failure once, closes its connections and the
// guest exits with status 1, having used next to no CPU meanwhile (read
// from /proc/PID/stat over the seconds after the deletion).
func TestKVTapDeleted(t *testing.T) {
	e := startKV(t)
	c := e.dial(t)
	kvExchange(t, c, "PING\r\n", "+PONG\r\n")

	before, err := proc.CPUTime(e.guest.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.net.DoInServer(func() error { return netns.DeleteLink(e.net.Tap) }); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	const window = 3 * time.Second
	out, err := e.guest.Wait(window)
	if !e.guest.Exited() {
		// Still running: it must at least be idle.
		now, cerr := proc.CPUTime(e.guest.Pid)
		if cerr != nil {
			t.Fatal(cerr)
		}
		t.Fatalf("guest still running %v after its tap was deleted, using %v of CPU meanwhile; want it ended with an error\n%s",
			time.Since(deleted).Round(time.Millisecond), now-before, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("guest ended by %v, want exit status 1\n%s", err, out)
	}
	ru := ee.ProcessState.SysUsage().(*syscall.Rusage)
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	t.Logf("guest exited %v after the tap was deleted; %v of CPU between the deletion and the exit",
		ee.ProcessState.ExitCode(), (total - before).Round(time.Millisecond))
	// A busy loop until the exit would show as CPU time close to the wall
	// time it took; the exit comes after libos's next poll.
	if spent := total - before; spent > window/3 {
		t.Errorf("the guest used %v of CPU after its tap was deleted: it spun", spent)
	}
	want := "libos: network device 'service0' failed"
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("console has %q %d times, want once:\n%s", want, n, out)
	}
	// The connected client's connection went with the device; the server
	// side is gone, so the client sees no reply.
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err == nil {
		if n, err := c.Read(make([]byte, 16)); err == nil {
			t.Errorf("client got %d bytes from a guest whose tap is gone", n)
		}
	}
}
