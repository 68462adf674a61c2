package tests

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNetMAC gives the guest a MAC with --net-mac and checks that the host
// learns that MAC for the guest's address (from the guest's ARP reply).
func TestNetMAC(t *testing.T) {
	spt, img := tender(t), guest(t, "net")
	const mac = "02:72:68:31:5a:c3" // locally administered, unicast
	ns := newNetns(t, 1)
	tap := ns.taps[0]
	ip(t, "-n", ns.name, "addr", "add", "10.0.0.1/24", "dev", tap)
	g := startGuest(t, ns.exec(spt, "--net:service0="+tap, "--net-mac:service0="+strings.ToUpper(mac), img, "--ipv4=10.0.0.2"),
		nil, "Serving ping on 10.0.0.2")

	r := run(t, time.Minute, ns.exec("ping", "-c", "1", "-W", "5", "10.0.0.2")...)
	if !strings.Contains(r.stdout, "1 received") {
		t.Fatalf("ping: want a reply (%v):\n%s", r, r.output())
	}
	out, err := exec.Command("ip", "-n", ns.name, "neigh", "show", "10.0.0.2", "dev", tap).CombinedOutput()
	if err != nil {
		t.Fatalf("ip neigh: %v: %s", err, out)
	}
	m := regexp.MustCompile(`lladdr (\S+)`).FindStringSubmatch(string(out))
	if m == nil || m[1] != mac {
		t.Errorf("host neighbour entry for the guest: %q, want lladdr %s", strings.TrimSpace(string(out)), mac)
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
	ro := ns.exec(spt, "--net:service0="+ns.taps[0], "--block-ro:storage="+block)

	r := run(t, time.Minute, append(ro, "--print-filter", img)...)
	if !r.exited || r.exit != 0 {
		t.Fatalf("--print-filter: %v:\n%s", r, r.output())
	}
	if !regexp.MustCompile(`(?m)^pread64 .*\[block storage\]`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^pwrite64\s+never$`).MatchString(r.stdout) {
		t.Errorf("filter for a read-only block device: want pread64 allowed on it and pwrite64 never:\n%s", r.stdout)
	}
	r = run(t, time.Minute, append(ro, img, "ok-pread")...)
	if !r.exited || r.exit != 1 || !strings.Contains(r.stdout, "SURVIVED, returned 512") {
		t.Errorf("pread64 of a read-only device: %v, want a 512-byte read:\n%s", r, r.output())
	}
	r = run(t, time.Minute, append(ro, img, "ok-pwrite")...)
	if r.exited || r.signal != syscall.SIGSYS {
		t.Errorf("pwrite64 to a read-only device: %v, want killed by SIGSYS:\n%s", r, r.output())
	}
	// SOLO5_R_EINVAL is 2, SOLO5_R_EUNSPEC 3.
	r = run(t, time.Minute, append(ro, img, "block-write")...)
	if !r.exited || !regexp.MustCompile(`SURVIVED, returned [23]\n`).MatchString(r.stdout) {
		t.Errorf("solo5_block_write to a read-only device: %v, want SOLO5_R_EINVAL or EUNSPEC:\n%s", r, r.output())
	}
	// The control: read-write, the same write succeeds (SOLO5_R_OK).
	r = run(t, time.Minute, ns.exec(spt, "--net:service0="+ns.taps[0], "--block:storage="+block, img, "block-write")...)
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
	r = run(t, time.Minute, ns.exec(spt, "--net:service0="+ns.taps[0], "--block:storage="+block, img, "ok-pread")...)
	msg := strings.TrimSuffix(r.stderr, "\n")
	if !r.exited || r.exit != 1 || r.stdout != "" || strings.Contains(msg, "\n") ||
		!strings.Contains(msg, "cannot open it for writing") || !strings.Contains(msg, "--block-ro:storage=") {
		t.Errorf("--block on a file that cannot be opened for writing: %v, stdout %q, stderr %q; want a one-line refusal pointing at --block-ro", r, r.stdout, r.stderr)
	}
	r = run(t, time.Minute, append(ro, img, "ok-pread")...)
	if !r.exited || r.exit != 1 || !strings.Contains(r.stdout, "SURVIVED, returned 512") {
		t.Errorf("--block-ro on an immutable file: %v, want a 512-byte read:\n%s", r, r.output())
	}
}
