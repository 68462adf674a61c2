package tests

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/netns"
)

const (
	pageSize     = 0x1000
	guestMinAddr = 0x10000 // runnc/abi.h RUNNC_GUEST_MIN_ADDR: the boot info page
	bootInfoEnd  = 0x14000 // the read-only boot info and command line end here
	// processMemMB is the --mem of the process tests: guest memory is
	// [guestMinAddr, processMemMB MiB).
	processMemMB = 32
)

// TestGuestProcess looks at the process a running guest is: the net guest,
// started in the test's own namespace with its tap as @3 and an extra
// inheritable fd 4 it must not keep.
func TestGuestProcess(t *testing.T) {
	spt, img := tender(t), guest(t, "net")
	ns := newNetns(t, 1)
	tap := ns.openTap(t, ns.taps[0])
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()

	g := startGuest(t, "", []string{spt, fmt.Sprintf("--mem=%d", processMemMB), "--net:service0=@3", img, "--ipv4=10.0.0.2"},
		[]*os.File{tap, pw}, "Serving ping on 10.0.0.2")
	pw.Close()
	// Everything below reads /proc of the pid runnc-spt was started as: its
	// maps holding the guest's segments and its status showing the filter
	// show that the guest runs in that very process.
	pid := g.cmd.Process.Pid

	t.Run("maps", func(t *testing.T) { checkMaps(t, pid, img, processMemMB<<20) })
	t.Run("status", func(t *testing.T) { checkStatus(t, pid) })
	t.Run("comm", func(t *testing.T) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			t.Fatal(err)
		}
		if string(comm) != "runnc-spt\n" {
			t.Errorf("/proc/%d/comm is %q, want \"runnc-spt\\n\"", pid, comm)
		}
	})
	t.Run("fds", func(t *testing.T) {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var fds []string
		for _, e := range ents {
			fds = append(fds, e.Name())
		}
		sort.Strings(fds)
		if strings.Join(fds, " ") != "0 1 2 3" {
			t.Errorf("guest holds fds %v, want 0 1 2 (stdio) and 3 (its tap)", fds)
		}
		if target, err := os.Readlink(dir + "/3"); err != nil || target != "/dev/net/tun" {
			t.Errorf("guest fd 3 -> %q (%v), want its tap, /dev/net/tun", target, err)
		}
		// The parent closed its write end of the pipe; the child got the
		// other one as fd 4. End of file means no process holds it now.
		pr.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := pr.Read(make([]byte, 1))
		if !errors.Is(err, io.EOF) {
			t.Errorf("pipe read: %d bytes, %v; want end of file: the guest still holds the inherited fd 4", n, err)
		}
	})
	g.checkRunning(t)

	// The tap passed as @3 works: the guest answers pings through it.
	ns.do(t, func() error { return netns.AddAddr(ns.taps[0], "10.0.0.1/24") })
	r := runIn(t, ns.path, time.Minute, "ping", "-c", "3", "-i", "0.2", "-W", "5", "10.0.0.2")
	if !strings.Contains(r.stdout, "3 packets transmitted, 3 received") {
		t.Errorf("ping through the @3 tap: want 3 replies (%v):\n%s", r, r.output())
	}
	g.checkRunning(t)
	g.kill(t)
}

// mapping is one line of /proc/PID/maps.
type mapping struct {
	start, end uint64
	perms      string // e.g. "r-xp"
	name       string // path, [stack], ..., or "" if anonymous
}

func (m mapping) String() string {
	return fmt.Sprintf("%x-%x %s %s", m.start, m.end, m.perms, m.name)
}

func readMaps(t *testing.T, pid int) []mapping {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var maps []mapping
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			t.Fatalf("bad maps line %q", line)
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || len(f[1]) != 4 {
			t.Fatalf("bad maps line %q", line)
		}
		maps = append(maps, mapping{start, end, f[1], strings.Join(f[5:], " ")})
	}
	return maps
}

// checkMaps checks the address space of the guest's process: W^X
// everywhere, nothing below the boot info, each segment of img with its
// own protection, and outside guest memory only the last step's page.
func checkMaps(t *testing.T, pid int, img string, memSize uint64) {
	maps := readMaps(t, pid)
	defer func() {
		if t.Failed() {
			var b strings.Builder
			for _, m := range maps {
				fmt.Fprintln(&b, m)
			}
			t.Logf("/proc/%d/maps:\n%s", pid, b.String())
		}
	}()

	for _, m := range maps {
		if m.perms[1] == 'w' && m.perms[2] == 'x' {
			t.Errorf("writable and executable: %v", m)
		}
		if m.start < guestMinAddr {
			t.Errorf("mapped below %#x: %v", guestMinAddr, m)
		}
	}

	// protAt checks that [lo, hi) is mapped, all of it with perms want.
	protAt := func(what string, lo, hi uint64, want string) {
		for a := lo; a < hi; {
			i := sort.Search(len(maps), func(i int) bool { return maps[i].end > a })
			if i == len(maps) || maps[i].start > a {
				t.Errorf("%s: %#x is not mapped", what, a)
				return
			}
			if maps[i].perms[:3] != want {
				t.Errorf("%s [%#x, %#x): %v, want %s", what, lo, hi, maps[i], want)
				return
			}
			a = maps[i].end
		}
	}
	protAt("boot info", guestMinAddr, bootInfoEnd, "r--")

	f, err := elf.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		want := []byte("---")
		if p.Flags&elf.PF_R != 0 {
			want[0] = 'r'
		}
		if p.Flags&elf.PF_W != 0 {
			want[1] = 'w'
		}
		if p.Flags&elf.PF_X != 0 {
			want[2] = 'x'
		}
		seen[string(want)] = true
		lo, hi := p.Vaddr&^(pageSize-1), (p.Vaddr+p.Memsz+pageSize-1)&^(pageSize-1)
		protAt(fmt.Sprintf("segment %s at %#x", want, p.Vaddr), lo, hi, string(want))
	}
	for _, kind := range []string{"r-x", "r--", "rw-"} {
		if !seen[kind] {
			t.Errorf("%s has no %s PT_LOAD segment; the test expects text, rodata and data", img, kind)
		}
	}

	// Inside guest memory only guest memory (the memfd the tender filled);
	// outside it only the last step of the hand-over, one anonymous
	// executable page that no call under the filter can unmap, and the
	// vsyscall page, which is not a mapping of the process but the
	// kernel's (legacy time calls, emulated as system calls, so killed).
	// The loader, the kernel's stack, vDSO and vvar are gone.
	sealed := sealedMappings(t, pid)
	lastSteps := 0
	for _, m := range maps {
		switch {
		case m.start >= guestMinAddr && m.end <= memSize:
			if !strings.HasPrefix(m.name, "/memfd:runnc-guest") {
				t.Errorf("inside guest memory, not guest memory: %v", m)
			}
		case m.start < memSize && m.end > guestMinAddr:
			t.Errorf("mapping straddles the end of guest memory (%#x): %v", memSize, m)
		case m.name == "[vsyscall]" && m.start == 0xffffffffff600000 && m.perms[:2] != "rw":
		case systemMappings[m.name] && sealed[m.start]:
			// A kernel that seals them (CONFIG_MSEAL_SYSTEM_MAPPINGS)
			// refuses to unmap them; the loader leaves them.
		case m.name == "" && m.perms == "r-xp" && m.end-m.start == pageSize:
			lastSteps++
		default:
			t.Errorf("unexpected mapping outside guest memory: %v", m)
		}
	}
	if lastSteps != 1 {
		t.Errorf("%d anonymous executable pages outside guest memory; want exactly one, the loader's last step", lastSteps)
	}
}

// systemMappings are the kernel's mappings of every process that the
// loader unmaps unless the kernel sealed them.
var systemMappings = map[string]bool{"[vdso]": true, "[vvar]": true, "[vvar_vclock]": true}

// sealedMappings returns the start addresses of pid's sealed mappings
// (VmFlags "sl" in /proc/PID/smaps).
func sealedMappings(t *testing.T, pid int) map[uint64]bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	sealed := map[uint64]bool{}
	var start uint64
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			lo, _, _ := strings.Cut(f[0], "-")
			start, _ = strconv.ParseUint(lo, 16, 64)
		case len(f) > 0 && f[0] == "VmFlags:":
			for _, fl := range f[1:] {
				if fl == "sl" {
					sealed[start] = true
				}
			}
		}
	}
	return sealed
}

// checkStatus checks /proc/PID/status: no signal blocked, ignored or
// caught, no new privileges, one seccomp filter, one thread, and the pid
// the tender was started as.
func checkStatus(t *testing.T, pid int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			status[k] = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"SigBlk", "SigIgn", "SigCgt"} {
		if v, err := strconv.ParseUint(status[k], 16, 64); err != nil || v != 0 {
			t.Errorf("%s: %q, want all zero", k, status[k])
		}
	}
	want := map[string]string{
		"NoNewPrivs":      "1",
		"Seccomp":         "2", // filter mode
		"Seccomp_filters": "1",
		"Threads":         "1",
		"Pid":             strconv.Itoa(pid),
		"Tgid":            strconv.Itoa(pid),
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: %q, want %q", k, status[k], v)
		}
	}
	if t.Failed() {
		t.Logf("/proc/%d/status:\n%s", pid, data)
	}
}

// The tender refuses an @FD that is not a tap.
func TestNetFDNotTap(t *testing.T) {
	spt, img := tender(t), guest(t, "net")
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd := exec.Command(spt, "--net:service0=@3", img, "--ipv4=10.0.0.2")
	cmd.ExtraFiles = []*os.File{null}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not a tap") || strings.Contains(string(out), "Solo5") {
		t.Errorf("--net:service0=@3 with /dev/null as fd 3: %v, output %q; want refused, \"not a tap\"", err, out)
	}
}
