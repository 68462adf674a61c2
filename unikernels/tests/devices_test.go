package tests

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/runnc/runnc/netns"
)

// TestNetMAC gives the guest a MAC with --net-mac and checks that the host
// learns that MAC for the guest's address (from the guest's ARP reply).
func TestNetMAC(t *testing.T) {
	spt, img := tender(t), guest(t, "net")
	const mac = "02:72:68:31:5a:c3" // locally administered, unicast
	ns := newNetns(t, 1)
	tap := ns.taps[0]
	ns.do(t, func() error { return netns.AddAddr(tap, "10.0.0.1/24") })
	g := startGuest(t, ns.path, []string{spt, "--net:service0=" + tap, "--net-mac:service0=" + strings.ToUpper(mac), img, "--ipv4=10.0.0.2"},
		nil, "Serving ping on 10.0.0.2")

	r := runIn(t, ns.path, time.Minute, "ping", "-c", "1", "-W", "5", "10.0.0.2")
	if !strings.Contains(r.stdout, "1 received") {
		t.Fatalf("ping: want a reply (%v):\n%s", r, r.output())
	}
	var learned []string
	ns.do(t, func() error {
		l, err := netlink.LinkByName(tap)
		if err != nil {
			return err
		}
		neighs, err := netlink.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
		for _, n := range neighs {
			if n.IP.String() == "10.0.0.2" {
				learned = append(learned, n.HardwareAddr.String())
			}
		}
		return err
	})
	if len(learned) != 1 || learned[0] != mac {
		t.Errorf("host neighbour entry for the guest on %s: %v, want %s", tap, learned, mac)
	}
	g.checkRunning(t)
	g.kill(t)
}

// TestBlockReadOnly attaches a file read-only with --block-ro: the guest
// reads it, the filter allows no write to it (a raw pwrite64 is killed),
// and a write through the bindings is an error. A file the tender cannot
// open for writing (immutable: not even root can) given with --block is
// refused in one line pointing at --block-ro, never attached read-only
// behind the user's back.
func TestBlockReadOnly(t *testing.T) {
	spt, img := tender(t), guest(t, "syscall")
	block := blockFile(t, blockSize)
	ns := newNetns(t, 1)
	ro := []string{spt, "--net:service0=" + ns.taps[0], "--block-ro:storage=" + block}

	r := runIn(t, ns.path, time.Minute, append(ro, "--print-filter", img)...)
	if !r.exited || r.exit != 0 {
		t.Fatalf("--print-filter: %v:\n%s", r, r.output())
	}
	if !regexp.MustCompile(`(?m)^pread64 .*\[block storage\]`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^pwrite64\s+never$`).MatchString(r.stdout) {
		t.Errorf("filter for a read-only block device: want pread64 allowed on it and pwrite64 never:\n%s", r.stdout)
	}
	r = runIn(t, ns.path, time.Minute, append(ro, img, "ok-pread")...)
	if !r.exited || r.exit != 1 || !strings.Contains(r.stdout, "SURVIVED, returned 512") {
		t.Errorf("pread64 of a read-only device: %v, want a 512-byte read:\n%s", r, r.output())
	}
	r = runIn(t, ns.path, time.Minute, append(ro, img, "ok-pwrite")...)
	if r.exited || r.signal != syscall.SIGSYS {
		t.Errorf("pwrite64 to a read-only device: %v, want killed by SIGSYS:\n%s", r, r.output())
	}
	// SOLO5_R_EINVAL is 2, SOLO5_R_EUNSPEC 3.
	r = runIn(t, ns.path, time.Minute, append(ro, img, "block-write")...)
	if !r.exited || !regexp.MustCompile(`SURVIVED, returned [23]\n`).MatchString(r.stdout) {
		t.Errorf("solo5_block_write to a read-only device: %v, want SOLO5_R_EINVAL or EUNSPEC:\n%s", r, r.output())
	}
	// The control: read-write, the same write succeeds (SOLO5_R_OK).
	r = runIn(t, ns.path, time.Minute, spt, "--net:service0="+ns.taps[0], "--block:storage="+block, img, "block-write")
	if !r.exited || !strings.Contains(r.stdout, "SURVIVED, returned 0\n") {
		t.Errorf("solo5_block_write to a read-write device: %v, want SOLO5_R_OK:\n%s", r, r.output())
	}

	if out, err := exec.Command("chattr", "+i", block).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i %s: %v: %s", block, err, out)
	}
	// Before TempDir's own cleanup, which could not remove the file.
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-i", block).CombinedOutput(); err != nil {
			t.Errorf("chattr -i %s: %v: %s", block, err, out)
		}
	})
	if f, err := os.OpenFile(block, os.O_RDWR, 0); err == nil {
		f.Close()
		t.Fatalf("%s is immutable but opens read-write here", block)
	} else if !errors.Is(err, syscall.EPERM) {
		t.Fatalf("open an immutable file read-write: %v, want EPERM", err)
	}
	r = runIn(t, ns.path, time.Minute, spt, "--net:service0="+ns.taps[0], "--block:storage="+block, img, "ok-pread")
	msg := strings.TrimSuffix(r.stderr, "\n")
	if !r.exited || r.exit != 1 || r.stdout != "" || strings.Contains(msg, "\n") ||
		!strings.Contains(msg, "cannot open it for writing") || !strings.Contains(msg, "--block-ro:storage=") {
		t.Errorf("--block on a file that cannot be opened for writing: %v, stdout %q, stderr %q; want a one-line refusal pointing at --block-ro", r, r.stdout, r.stderr)
	}
	r = runIn(t, ns.path, time.Minute, append(ro, img, "ok-pread")...)
	if !r.exited || r.exit != 1 || !strings.Contains(r.stdout, "SURVIVED, returned 512") {
		t.Errorf("--block-ro on an immutable file: %v, want a 512-byte read:\n%s", r, r.output())
	}
}

// TestBlockOneWriter: while a guest has an image attached read-write, a
// second tender is refused with one line naming the first one's pid, both
// read-write and read-only; two read-only attachments share it; and the
// lock goes with the guest.
func TestBlockOneWriter(t *testing.T) {
	spt, img := tender(t), guest(t, "syscall")
	block := blockFile(t, blockSize)
	ns := newNetns(t, 2)
	attach := func(i int, opt string, args ...string) []string {
		return append([]string{spt, "--net:service0=" + ns.taps[i], opt + block, img}, args...)
	}
	refused := func(r *result, pid int) {
		t.Helper()
		msg := strings.TrimSuffix(r.stderr, "\n")
		want := fmt.Sprintf("pid %d", pid)
		if !r.exited || r.exit != 1 || r.stdout != "" || strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
			t.Errorf("second tender: %v, stdout %q, stderr %q; want a one-line refusal naming %s", r, r.stdout, r.stderr, want)
		}
	}

	writer := startGuest(t, ns.path, attach(0, "--block:storage=", "wait"), nil, "waiting")
	refused(runIn(t, ns.path, time.Minute, attach(1, "--block:storage=", "ok-pread")...), writer.cmd.Process.Pid)
	refused(runIn(t, ns.path, time.Minute, attach(1, "--block-ro:storage=", "ok-pread")...), writer.cmd.Process.Pid)
	writer.checkRunning(t)
	writer.kill(t)

	// The lock went with the guest: now two readers at once.
	reader := startGuest(t, ns.path, attach(0, "--block-ro:storage=", "wait"), nil, "waiting")
	r := runIn(t, ns.path, time.Minute, attach(1, "--block-ro:storage=", "ok-pread")...)
	if !r.exited || r.exit != 1 || !strings.Contains(r.stdout, "SURVIVED, returned 512") {
		t.Errorf("a second read-only attachment: %v, want it to run and read:\n%s", r, r.output())
	}
	// ... but no writer while a reader runs.
	refused(runIn(t, ns.path, time.Minute, attach(1, "--block:storage=", "ok-pread")...), reader.cmd.Process.Pid)
	reader.checkRunning(t)
	reader.kill(t)
}
