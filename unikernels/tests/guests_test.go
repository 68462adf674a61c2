package tests

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// devices says which devices a run attaches.
type devices int

const (
	netDev   devices = 1 << iota // --net:service0=TAP, a tap in a fresh netns
	blockDev                     // --block:storage=FILE, a 1 MiB file
)

const blockSize = 1 << 20

// guestTest is one run of a guest and how it must end.
type guestTest struct {
	name    string
	guest   string   // build/unikernels/tests/GUEST.spt
	args    []string // the guest's command line
	devices devices
	// corrupt, if set, runs a corrupted copy of the guest's image.
	corrupt func(t *testing.T, img []byte) []byte
	// noFSGSBase runs the tender as if the CPU lacked FSGSBASE.
	noFSGSBase bool
	// sectorSize, if set, is the block device's --block-sector-size.
	sectorSize int

	// How it ends: refused by the tender before the guest runs (non-zero
	// exit, nothing on stdout, one line on stderr matching reason), killed
	// by signal, or exited with status exit.
	refused bool
	reason  string // regexp, for refusals
	signal  syscall.Signal
	exit    int

	want   []string // must be in the output
	absent []string // must not be
	check  func(t *testing.T, r *result, env *runEnv)
}

// runEnv is what a run was given.
type runEnv struct {
	block      string // the block device's file, if attached
	sectorSize int    // its block size
}

var (
	survived = []string{"SURVIVED"}
	// The tender's one-line reason for refusing a W+X segment.
	wxReason = `(?i)W\^X|W\+X|writable and executable`
)

func syscallKilled(c string) guestTest {
	return guestTest{name: "syscall/" + c, guest: "syscall", args: []string{c},
		devices: netDev | blockDev, signal: syscall.SIGSYS,
		want: []string{"syscall: " + c}, absent: survived}
}

// archPrctlKilled is syscallKilled with the eighth rule in the filter: the
// syscall guest says it uses TLS, and FSGSBASE is turned off.
func archPrctlKilled(c string) guestTest {
	tc := syscallKilled(c)
	tc.noFSGSBase = true
	return tc
}

// noFSGSBaseEnv makes the tender act as if the CPU lacked FSGSBASE.
const noFSGSBaseEnv = "RUNNC_SPT_NO_FSGSBASE=1"

// withoutFSGSBase prefixes argv to run with noFSGSBaseEnv; env execs, so
// the pid stays the tender's.
func withoutFSGSBase(argv ...string) []string {
	return append([]string{"env", noFSGSBaseEnv}, argv...)
}

// hostHasFSGSBase says whether this host's kernel lets user space use
// wrfsbase (AT_HWCAP2 bit 1), read independently of the tender.
func hostHasFSGSBase(t *testing.T) bool {
	auxv, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+16 <= len(auxv); i += 16 {
		if binary.LittleEndian.Uint64(auxv[i:]) == 26 { // AT_HWCAP2
			return binary.LittleEndian.Uint64(auxv[i+8:])&2 != 0
		}
	}
	return false
}

// checkTLSWay checks the tls guest set its TLS base the way the host
// allows: wrfsbase with FSGSBASE, arch_prctl without.
func checkTLSWay(t *testing.T, r *result, _ *runEnv) {
	want := "TLS base via arch_prctl"
	if hostHasFSGSBase(t) {
		want = "TLS base via wrfsbase"
	}
	if !strings.Contains(r.stdout, want) {
		t.Errorf("output lacks %q (host FSGSBASE: %v):\n%s", want, hostHasFSGSBase(t), r.stdout)
	}
}

// syscallAllowed is a control: a call within the allowed arguments must
// return to the guest, which then exits 1.
func syscallAllowed(c string) guestTest {
	return guestTest{name: "syscall/" + c, guest: "syscall", args: []string{c},
		devices: netDev | blockDev, exit: 1, want: []string{"SURVIVED"}}
}

var guestTests = []guestTest{
	{name: "hello", guest: "hello", args: []string{"one", "two", "--three=3"},
		want: []string{"Hello, World", "Command line is: 'one two --three=3'", "SUCCESS"}},
	{name: "hello/no-args", guest: "hello",
		want: []string{"Command line is: ''", "SUCCESS"}},
	// The command line holds up to RUNNC_CMDLINE_MAX - 1 bytes; longer is refused.
	{name: "hello/cmdline-max", guest: "hello", args: []string{strings.Repeat("x", 8191)},
		want: []string{"Command line is: '" + strings.Repeat("x", 8191) + "'", "SUCCESS"}},
	{name: "hello/cmdline-too-long", guest: "hello", args: []string{strings.Repeat("x", 8192)},
		refused: true, reason: "(?i)command line"},
	{name: "quiet", guest: "quiet", check: func(t *testing.T, r *result, _ *runEnv) {
		if r.output() != "" {
			t.Errorf("a silent guest's run printed %q", r.output())
		}
	}},
	{name: "globals", guest: "globals", want: []string{"SUCCESS"}},
	{name: "time", guest: "time", want: []string{"SUCCESS"}, check: checkWallClock},
	{name: "fpu", guest: "fpu", want: []string{"SUCCESS"}},
	// TLS both ways on every host: as the CPU allows, and forced to the
	// arch_prctl fallback of CPUs without FSGSBASE.
	{name: "tls", guest: "tls", want: []string{"SUCCESS"}, check: checkTLSWay},
	{name: "tls/no-fsgsbase", guest: "tls", noFSGSBase: true,
		want: []string{"TLS base via arch_prctl", "SUCCESS"}},
	{name: "blk", guest: "blk", devices: blockDev,
		want: []string{"capacity 1048576 block_size 512", "SUCCESS"}, check: checkBlockPattern},
	{name: "blk/sector-4096", guest: "blk", devices: blockDev, sectorSize: 4096,
		want: []string{"capacity 1048576 block_size 4096", "SUCCESS"}, check: checkBlockPattern},
	{name: "abort", guest: "abort", exit: 255, want: []string{"calling solo5_abort()"}},
	// The stack protector: a fresh guard every run, an overrun aborts.
	{name: "ssp/guard", guest: "ssp", args: []string{"guard"}, want: []string{"SUCCESS"}, check: checkGuardFresh},
	// The seed of the guest's random numbers: fresh every run, drawn
	// apart from the guard.
	{name: "ssp/seed", guest: "ssp", args: []string{"seed"}, want: []string{"SUCCESS"}, check: checkSeedFresh},
	{name: "ssp/smash", guest: "ssp", args: []string{"smash"}, exit: 255,
		want: []string{"overrunning", "Solo5: stack smashing detected"}, absent: survived},

	{name: "exception/code", guest: "exception", signal: syscall.SIGSEGV, want: []string{"writing to"}, absent: survived},
	{name: "exception/rodata", guest: "exception", args: []string{"rodata"}, signal: syscall.SIGSEGV, want: []string{"writing to"}, absent: survived},
	{name: "exception/bootinfo", guest: "exception", args: []string{"bootinfo"}, signal: syscall.SIGSEGV, want: []string{"writing to 0x10000"}, absent: survived},
	{name: "exception/exec-data", guest: "exception", args: []string{"exec-data"}, signal: syscall.SIGSEGV, want: []string{"calling"}, absent: survived},
	{name: "exception/exec-heap", guest: "exception", args: []string{"exec-heap"}, signal: syscall.SIGSEGV, want: []string{"calling"}, absent: survived},
	{name: "zeropage", guest: "zeropage", signal: syscall.SIGSEGV, want: []string{"reading 0x0"}, absent: survived},
	{name: "zeropage/0x8000", guest: "zeropage", args: []string{"0x8000"}, signal: syscall.SIGSEGV, absent: survived},
	{name: "zeropage/0xffff", guest: "zeropage", args: []string{"0xffff"}, signal: syscall.SIGSEGV, absent: survived},
	{name: "seccomp", guest: "seccomp", signal: syscall.SIGSYS, want: []string{"calling dup(1)"}, absent: survived},

	// The seven calls with arguments outside what they are allowed.
	syscallKilled("write-fd2"),
	syscallKilled("write-fd0"),
	syscallKilled("write-blk"),
	syscallKilled("read-fd0"),
	syscallKilled("read-blk"),
	syscallKilled("clock-cputime"),
	syscallKilled("clock-boottime"),
	syscallKilled("pread-size"),
	syscallKilled("pread-double-tail"),
	syscallKilled("pread-large-tail"),
	syscallKilled("pread-over-max"),
	syscallKilled("pread-large-count"),
	syscallKilled("pread-large-offset"),
	syscallKilled("pread-large-net"),
	syscallKilled("pwrite-large-tail"),
	syscallKilled("pwrite-over-max"),
	syscallKilled("pread-offset"),
	syscallKilled("pread-past-end"),
	syscallKilled("pread-negative"),
	syscallKilled("pread-net"),
	syscallKilled("pwrite-size"),
	syscallKilled("pwrite-offset"),
	syscallKilled("pwrite-past-end"),
	syscallKilled("pwrite-fd1"),
	syscallKilled("ppoll-sigmask"),
	syscallKilled("ppoll-nfds"),
	archPrctlKilled("arch_prctl-get"),
	archPrctlKilled("arch_prctl-gs"),
	archPrctlKilled("arch_prctl-end"),
	archPrctlKilled("arch_prctl-high"),
	archPrctlKilled("arch_prctl-code-high"),
	// ... and within, so the kills above are the filter's doing.
	syscallAllowed("ok-write-fd1"),
	syscallAllowed("ok-clock-monotonic"),
	syscallAllowed("ok-clock-realtime"),
	syscallAllowed("ok-pread"),
	syscallAllowed("ok-pwrite"),
	syscallAllowed("ok-pread-large"),
	syscallAllowed("ok-pwrite-large"),
	syscallAllowed("ok-ppoll"),
	syscallAllowed("ok-read-net"),
	{name: "syscall/ok-arch_prctl", guest: "syscall", args: []string{"ok-arch_prctl"}, noFSGSBase: true,
		devices: netDev | blockDev, exit: 1, want: []string{"SURVIVED"}},

	// Devices must match the manifest.
	{name: "devices/missing", guest: "blk", refused: true, reason: "storage"},
	{name: "devices/undeclared", guest: "hello", devices: blockDev, refused: true, reason: "storage"},

	// Images the tender must refuse before running anything.
	{name: "wx", guest: "wx", refused: true, reason: wxReason, absent: []string{"W+X GUEST RAN"}},
	{name: "malformed/wx-data", guest: "hello", refused: true, reason: wxReason,
		corrupt: progField(isData, 4, func(v uint64) uint64 { return v | uint64(elf.PF_X) }, 4)},
	{name: "malformed/empty", guest: "hello", refused: true,
		corrupt: func(t *testing.T, img []byte) []byte { return nil }},
	{name: "malformed/not-elf", guest: "hello", refused: true,
		corrupt: func(t *testing.T, img []byte) []byte { return []byte("#!/bin/sh\necho Hello, World\n") }},
	{name: "malformed/truncated-header", guest: "hello", refused: true,
		corrupt: func(t *testing.T, img []byte) []byte { return img[:40] }},
	{name: "malformed/truncated-phdrs", guest: "hello", refused: true, corrupt: truncatePhdrs},
	{name: "malformed/truncated-text", guest: "hello", refused: true, corrupt: truncateText},
	{name: "malformed/elfclass32", guest: "hello", refused: true, corrupt: setIdent(elf.EI_CLASS, byte(elf.ELFCLASS32))},
	{name: "malformed/big-endian", guest: "hello", refused: true, corrupt: setIdent(elf.EI_DATA, byte(elf.ELFDATA2MSB))},
	{name: "malformed/aarch64", guest: "hello", refused: true, corrupt: setHeader(18, 2, uint64(elf.EM_AARCH64))},
	{name: "malformed/et-dyn", guest: "hello", refused: true, corrupt: setHeader(16, 2, uint64(elf.ET_DYN))},
	{name: "malformed/et-rel", guest: "hello", refused: true, corrupt: setHeader(16, 2, uint64(elf.ET_REL))},
	{name: "malformed/phoff-past-eof", guest: "hello", refused: true, corrupt: setHeader(32, 8, 1<<40)},
	{name: "malformed/phentsize", guest: "hello", refused: true, corrupt: setHeader(54, 2, 32)},
	{name: "malformed/no-phdrs", guest: "hello", refused: true, corrupt: setHeader(56, 2, 0)},
	{name: "malformed/entry-in-data", guest: "hello", refused: true, corrupt: entryInData},
	{name: "malformed/entry-zero", guest: "hello", refused: true, corrupt: setHeader(24, 8, 0)},
	{name: "malformed/text-below-base", guest: "hello", refused: true,
		corrupt: progField(isText, 16, func(uint64) uint64 { return 0x1000 }, 8)},
	{name: "malformed/overlapping-segments", guest: "hello", refused: true, corrupt: overlapSegments},
	{name: "malformed/filesz-over-memsz", guest: "hello", refused: true,
		corrupt: progField(isText, 32, func(v uint64) uint64 { return v + 0x2000 }, 8)},
	{name: "malformed/huge-memsz", guest: "hello", refused: true,
		corrupt: progField(isData, 40, func(uint64) uint64 { return 1 << 46 }, 8)},
	{name: "malformed/misaligned-segment", guest: "hello", refused: true,
		corrupt: progField(isText, 16, func(v uint64) uint64 { return v + 0x10 }, 8)},
	// A PT_INTERP other than the one that cannot exist: a dynamic program.
	{name: "malformed/interp", guest: "hello", refused: true, reason: "dynamically linked", corrupt: otherInterp},
	{name: "malformed/abi-version", guest: "hello", refused: true, reason: "(?i)ABI",
		corrupt: noteField(1, 0, 2)},
	{name: "malformed/no-abi-note", guest: "hello", refused: true, reason: "(?i)ABI",
		corrupt: noteType(1, 99)},
	{name: "malformed/manifest-version", guest: "hello", refused: true, reason: "(?i)manifest",
		corrupt: noteField(2, 0, 2)},
	{name: "malformed/no-manifest", guest: "hello", refused: true, reason: "(?i)manifest",
		corrupt: noteType(2, 99)},
}

// The block rows of the syscall guest again with 4096-byte sectors: the
// filter's size and alignment conditions follow the sector size (an
// offset of half a block is 512-aligned but not 4096-aligned).
func init() {
	for _, tc := range guestTests {
		if tc.guest == "syscall" && (strings.Contains(tc.name, "pread") || strings.Contains(tc.name, "pwrite")) {
			tc.name += "/sector-4096"
			tc.sectorSize = 4096
			guestTests = append(guestTests, tc)
		}
	}
}

// TestGuests runs every row of guestTests and checks how it ended.
func TestGuests(t *testing.T) {
	spt := tender(t)
	for _, tc := range guestTests {
		t.Run(tc.name, func(t *testing.T) {
			img := guest(t, tc.guest)
			if tc.corrupt != nil {
				data, err := os.ReadFile(img)
				if err != nil {
					t.Fatal(err)
				}
				img = filepath.Join(t.TempDir(), tc.guest+".spt")
				if err := os.WriteFile(img, tc.corrupt(t, data), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			env := &runEnv{}
			argv, nsPath := []string{spt}, ""
			if tc.noFSGSBase {
				argv = withoutFSGSBase(spt)
			}
			if tc.devices&blockDev != 0 {
				env.block, env.sectorSize = blockFile(t, blockSize), 512
				argv = append(argv, "--block:storage="+env.block)
				if tc.sectorSize != 0 {
					env.sectorSize = tc.sectorSize
					argv = append(argv, fmt.Sprintf("--block-sector-size:storage=%d", tc.sectorSize))
				}
			}
			if tc.devices&netDev != 0 {
				ns := newNetns(t, 1)
				argv, nsPath = append(argv, "--net:service0="+ns.taps[0]), ns.path
			}
			argv = append(append(argv, img), tc.args...)

			r := runIn(t, nsPath, time.Minute, argv...)
			t.Logf("%s: %v", strings.Join(argv, " "), r)
			tc.assert(t, r)
			if tc.check != nil && !t.Failed() {
				tc.check(t, r, env)
			}
		})
	}
}

func (tc *guestTest) assert(t *testing.T, r *result) {
	t.Helper()
	switch {
	case tc.refused:
		if !r.exited || r.exit == 0 {
			t.Errorf("ended by %v, want refused (non-zero exit)", r)
		}
		if r.stdout != "" {
			t.Errorf("guest output %q, want none: the guest must not run", r.stdout)
		}
		msg := strings.TrimSuffix(r.stderr, "\n")
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("stderr %q, want a one-line reason", r.stderr)
		}
		if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
			t.Errorf("tender panicked: %s", r.stderr)
		}
		if tc.reason != "" && !regexp.MustCompile(tc.reason).MatchString(msg) {
			t.Errorf("reason %q does not match %q", msg, tc.reason)
		}
	case tc.signal != 0:
		if r.exited || r.signal != tc.signal {
			t.Errorf("ended by %v, want signal %v (%d)", r, tc.signal, int(tc.signal))
		}
	default:
		if !r.exited || r.exit != tc.exit {
			t.Errorf("ended by %v, want exit status %d", r, tc.exit)
		}
	}
	for _, w := range tc.want {
		if !strings.Contains(r.output(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	for _, a := range tc.absent {
		if strings.Contains(r.output(), a) {
			t.Errorf("output has %q", a)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", r.output())
	}
}

var guardLine = regexp.MustCompile(`(?m)^guard (0x[0-9a-f]+)$`)

// checkGuardFresh runs the ssp guest a second time: the stack protector
// guard comes from the tender's entropy, so it differs from run to run.
func checkGuardFresh(t *testing.T, r *result, _ *runEnv) {
	first := guardLine.FindStringSubmatch(r.stdout)
	again := run(t, time.Minute, tender(t), guest(t, "ssp"), "guard")
	second := guardLine.FindStringSubmatch(again.stdout)
	if first == nil || second == nil {
		t.Fatalf("no guard line in %q or %q", r.stdout, again.stdout)
	}
	t.Logf("guards %s and %s", first[1], second[1])
	if first[1] == second[1] {
		t.Errorf("the stack protector guard is %s in two runs: not random", first[1])
	}
}

var seedLine = regexp.MustCompile(`(?m)^seed ([0-9a-f]{64})$`)

// checkSeedFresh runs the ssp guest's seed mode a second time: the seed
// of the guest's random number generator (runnc/entropy.h) comes from
// the tender's getrandom, differs from run to run, and none of it is the
// stack protector's guard, which the generator's output must never give
// away.
func checkSeedFresh(t *testing.T, r *result, _ *runEnv) {
	again := run(t, time.Minute, tender(t), guest(t, "ssp"), "seed")
	var seeds [][]byte
	var guards []uint64
	for _, out := range []string{r.stdout, again.stdout} {
		s, g := seedLine.FindStringSubmatch(out), guardLine.FindStringSubmatch(out)
		if s == nil || g == nil {
			t.Fatalf("no seed or guard line in %q", out)
		}
		seed, err := hex.DecodeString(s[1])
		if err != nil {
			t.Fatal(err)
		}
		guard, err := strconv.ParseUint(g[1], 0, 64)
		if err != nil {
			t.Fatal(err)
		}
		seeds, guards = append(seeds, seed), append(guards, guard)
	}
	t.Logf("seeds %x and %x, guards %#x and %#x", seeds[0], seeds[1], guards[0], guards[1])
	if bytes.Equal(seeds[0], seeds[1]) {
		t.Errorf("the RNG seed is %x in two runs: not random", seeds[0])
	}
	for _, seed := range seeds {
		if bytes.Equal(seed, make([]byte, len(seed))) {
			t.Errorf("the RNG seed is all zero")
		}
		for _, g := range guards {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], g)
			// The guard's low byte is zeroed; its other seven are random.
			if bytes.Contains(seed, b[1:]) {
				t.Errorf("the RNG seed %x holds the guard %#x", seed, g)
			}
		}
	}
}

var wallClock = regexp.MustCompile(`wall clock: (\d+) ns`)

// checkWallClock compares the guest's wall clock with the host's.
func checkWallClock(t *testing.T, r *result, _ *runEnv) {
	m := wallClock.FindAllStringSubmatch(r.stdout, -1)
	if len(m) != 2 {
		t.Fatalf("want two wall clock lines, got %d:\n%s", len(m), r.stdout)
	}
	const slack = 5 * time.Second
	var prev int64
	for _, s := range m {
		ns, err := strconv.ParseInt(s[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		wall := time.Unix(0, ns)
		if wall.Before(r.started.Add(-slack)) || wall.After(r.ended.Add(slack)) {
			t.Errorf("guest wall clock %v, host ran it from %v to %v", wall, r.started, r.ended)
		}
		if ns <= prev {
			t.Errorf("wall clock went from %d to %d across sleeps", prev, ns)
		}
		prev = ns
	}
}

// blockPattern is the byte at offset i of block n, as unikernels/tests/blk
// writes it.
func blockPattern(n, i uint64) byte { return byte(n*7 + i + n>>8) }

// checkBlockPattern checks the guest's writes reached the host file.
func checkBlockPattern(t *testing.T, r *result, env *runEnv) {
	data, err := os.ReadFile(env.block)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != blockSize {
		t.Fatalf("block file is %d bytes after the run, was %d", len(data), blockSize)
	}
	bs := env.sectorSize
	for off := range data {
		n, i := uint64(off/bs), uint64(off%bs)
		if data[off] != blockPattern(n, i) {
			t.Fatalf("block file byte %d (block %d) is %#x, want %#x", off, n, data[off], blockPattern(n, i))
		}
	}
}

// Corruptions of a guest image, all on a copy.

func setIdent(i int, v byte) func(*testing.T, []byte) []byte {
	return func(t *testing.T, img []byte) []byte {
		img = append([]byte(nil), img...)
		img[i] = v
		return img
	}
}

func put(b []byte, size int, v uint64) {
	switch size {
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b, v)
	}
}

func get(b []byte, size int) uint64 {
	switch size {
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// setHeader sets the ELF header field at off (size bytes) to v.
func setHeader(off, size int, v uint64) func(*testing.T, []byte) []byte {
	return func(t *testing.T, img []byte) []byte {
		img = append([]byte(nil), img...)
		put(img[off:], size, v)
		return img
	}
}

const phdrSize = 56

// phdrOffset returns the file offset of program header i.
func phdrOffset(img []byte, i int) int {
	return int(binary.LittleEndian.Uint64(img[32:])) + i*phdrSize
}

func parse(t *testing.T, img []byte) *elf.File {
	t.Helper()
	f, err := elf.NewFile(strings.NewReader(string(img)))
	if err != nil {
		t.Fatalf("the guest image itself does not parse: %v", err)
	}
	return f
}

func isText(p *elf.Prog) bool { return p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 }
func isData(p *elf.Prog) bool { return p.Type == elf.PT_LOAD && p.Flags&elf.PF_W != 0 }

// findProg returns the index of the first program header matching which.
func findProg(t *testing.T, img []byte, which func(*elf.Prog) bool) (int, *elf.Prog) {
	t.Helper()
	for i, p := range parse(t, img).Progs {
		if which(p) {
			return i, p
		}
	}
	t.Fatal("the guest image has no such segment")
	return 0, nil
}

// progField changes the field at off (size bytes) of the first program
// header matching which.
func progField(which func(*elf.Prog) bool, off int, change func(uint64) uint64, size int) func(*testing.T, []byte) []byte {
	return func(t *testing.T, img []byte) []byte {
		img = append([]byte(nil), img...)
		i, _ := findProg(t, img, which)
		b := img[phdrOffset(img, i)+off:]
		put(b, size, change(get(b, size)))
		return img
	}
}

func truncatePhdrs(t *testing.T, img []byte) []byte {
	return img[:phdrOffset(img, 1)+phdrSize/2]
}

func truncateText(t *testing.T, img []byte) []byte {
	_, p := findProg(t, img, isText)
	return img[:p.Off+p.Filesz/2]
}

func entryInData(t *testing.T, img []byte) []byte {
	_, p := findProg(t, img, isData)
	return setHeader(24, 8, p.Vaddr)(t, img)
}

// overlapSegments moves the read-only segment onto the text segment.
func overlapSegments(t *testing.T, img []byte) []byte {
	_, text := findProg(t, img, isText)
	isRodata := func(p *elf.Prog) bool { return p.Type == elf.PT_LOAD && p.Flags == elf.PF_R }
	img = progField(isRodata, 16, func(uint64) uint64 { return text.Vaddr }, 8)(t, img)
	return progField(isRodata, 24, func(uint64) uint64 { return text.Vaddr }, 8)(t, img)
}

// otherInterp makes the guest's PT_INTERP name a path of the same length
// that could exist.
func otherInterp(t *testing.T, img []byte) []byte {
	const ours, other = "/nonexistent/runnc/\x00", "/lib64/ld-x86-64.so\x00"
	i := strings.Index(string(img), ours)
	if i < 0 || len(ours) != len(other) {
		t.Fatalf("the guest image has no PT_INTERP %q", ours)
	}
	img = append([]byte(nil), img...)
	copy(img[i:], other)
	return img
}

// noteAt returns the file offset of the desc of the RUNNC note of type typ
// and of its type field.
func noteAt(t *testing.T, img []byte, typ uint32) (desc, typeField int) {
	t.Helper()
	for _, p := range parse(t, img).Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		for off := int(p.Off); off+12 <= int(p.Off+p.Filesz); {
			namesz := int(binary.LittleEndian.Uint32(img[off:]))
			descsz := int(binary.LittleEndian.Uint32(img[off+4:]))
			ntype := binary.LittleEndian.Uint32(img[off+8:])
			name := string(img[off+12 : off+12+namesz])
			d := off + 12 + (namesz+3)&^3
			if name == "RUNNC\x00" && ntype == typ {
				return d, off + 8
			}
			off = d + (descsz+3)&^3
		}
	}
	t.Fatalf("the guest image has no RUNNC note of type %d", typ)
	return 0, 0
}

// noteField sets the u32 at off in the desc of RUNNC note typ to v.
func noteField(typ uint32, off int, v uint32) func(*testing.T, []byte) []byte {
	return func(t *testing.T, img []byte) []byte {
		img = append([]byte(nil), img...)
		d, _ := noteAt(t, img, typ)
		binary.LittleEndian.PutUint32(img[d+off:], v)
		return img
	}
}

// noteType renames RUNNC note typ to type v, so it is no longer found.
func noteType(typ, v uint32) func(*testing.T, []byte) []byte {
	return func(t *testing.T, img []byte) []byte {
		img = append([]byte(nil), img...)
		_, tf := noteAt(t, img, typ)
		binary.LittleEndian.PutUint32(img[tf:], v)
		return img
	}
}

// The seven calls a guest may make (x86_64 numbers).
var allowed = map[int]string{
	0: "read", 1: "write", 17: "pread64", 18: "pwrite64",
	228: "clock_gettime", 231: "exit_group", 271: "ppoll",
}

// TestEverySyscallKills checks that every other system call number,
// including unallocated ones and the x32 ABI's, kills the guest with
// SIGSYS. It runs the syscall guest, which says it uses TLS, as if the CPU
// lacked FSGSBASE, so arch_prctl (158) is in the filter with its
// conditions and its all-zero call must kill too.
func TestEverySyscallKills(t *testing.T) {
	spt, img := tender(t), guest(t, "syscall")
	var nrs []uint64
	for nr := uint64(0); nr <= 470; nr++ {
		if _, ok := allowed[int(nr)]; !ok {
			nrs = append(nrs, nr)
		}
	}
	const x32 = 0x40000000
	nrs = append(nrs, 512, 547, 1000, 1<<31, x32|0, x32|1, x32|39, x32|231, x32|512)

	const workers = 2
	var excused atomic.Int32
	ns := newNetns(t, workers)
	work := make(chan uint64)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		block := blockFile(t, blockSize)
		tap := ns.taps[w]
		go func() {
			defer func() { done <- struct{}{} }()
			for nr := range work {
				c := fmt.Sprintf("nr %#x", nr)
				// Without FSGSBASE, so the filter under test is the
				// widest one, with the eighth rule (arch_prctl).
				r, err := runErrIn(ns.path, 30*time.Second, withoutFSGSBase(spt, "--net:service0="+tap, "--block:storage="+block, img, c)...)
				switch {
				case err != nil:
					t.Errorf("%s: %v", c, err)
				case r.exited || r.signal != syscall.SIGSYS:
					name, ok := unfilterable[nr]
					if !ok {
						t.Errorf("syscall %d (%s): ended by %v, want SIGSYS\n%s", nr, c, r, r.output())
						continue
					}
					p, err := seccompProbe(nr)
					switch {
					case err != nil:
						t.Errorf("syscall %d (%s): ended by %v, want SIGSYS; %v", nr, name, r, err)
					case !p.active:
						t.Errorf("syscall %d (%s): ended by %v, want SIGSYS; not excused: the seccomp probe did not show its filter in force (%s)", nr, name, r, p.how)
					case p.killed:
						t.Errorf("syscall %d (%s): ended by %v, want SIGSYS: a filter that kills it does stop it on this kernel (probe: %s)", nr, name, r, p.how)
					default:
						excused.Add(1)
						t.Logf("syscall %d (%s): ended by %v; excused: this kernel lets it pass seccomp unfiltered (a probe whose filter kills it, and was shown in force, ended by %s)", nr, name, r, p.how)
					}
				case !strings.Contains(r.stdout, "syscall: "+c):
					t.Errorf("syscall %d: guest did not start:\n%s", nr, r.output())
				}
			}
		}()
	}
	for _, nr := range nrs {
		work <- nr
	}
	close(work)
	for w := 0; w < workers; w++ {
		<-done
	}
	t.Logf("%d system call numbers tried, %d excused as out of seccomp's reach on this kernel", len(nrs), excused.Load())
}

// TestSeccompProbe checks the probe TestEverySyscallKills excuses numbers
// with: on an ordinary number its filter is in force and kills, so it
// cannot excuse what a filter can stop.
func TestSeccompProbe(t *testing.T) {
	for _, nr := range []uint64{syscall.SYS_GETPID, syscall.SYS_MKDIR, 1000} {
		p, err := seccompProbe(nr)
		if err != nil {
			t.Fatal(err)
		}
		if !p.active || !p.killed {
			t.Errorf("probe for syscall %d: in force %v, killed by SIGSYS %v (%s); want both", nr, p.active, p.killed, p.how)
		}
	}
}

// TestPrintFilter checks --print-filter shows one line per allowed call:
// the seven, each once, for a guest without TLS on every host (with and
// without FSGSBASE); and an eighth, arch_prctl with its reason, for a guest
// that uses TLS exactly when FSGSBASE is missing.
func TestPrintFilter(t *testing.T) {
	spt := tender(t)
	ns := newNetns(t, 1)
	sevenAndArchPrctl := map[string]bool{"arch_prctl": true}
	for _, name := range allowed {
		sevenAndArchPrctl[name] = true
	}
	cases := []struct {
		name, guest string
		noFSGSBase  bool
		archPrctl   string // the reason printed with arch_prctl; "" for none
	}{
		{"no-tls", "blk", false, ""},
		{"no-tls/no-fsgsbase", "blk", true, ""},
		{"tls/no-fsgsbase", "syscall", true, "FSGSBASE turned off by RUNNC_SPT_NO_FSGSBASE"},
		{"tls", "syscall", false, "this CPU lacks FSGSBASE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "tls" && hostHasFSGSBase(t) {
				c.archPrctl = ""
			}
			argv := []string{spt, "--print-filter", "--block:storage=" + blockFile(t, blockSize)}
			if c.noFSGSBase {
				argv = withoutFSGSBase(argv...)
			}
			if c.guest == "syscall" {
				argv = append(argv, "--net:service0="+ns.taps[0])
			}
			r := runIn(t, ns.path, time.Minute, append(argv, guest(t, c.guest))...)
			if !r.exited || r.exit != 0 {
				t.Fatalf("ended by %v, want exit 0\n%s", r, r.output())
			}
			want := len(allowed)
			if c.archPrctl != "" {
				want++
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(lines) != want {
				t.Errorf("%d lines, want %d:\n%s", len(lines), want, r.stdout)
			}
			seen := map[string]bool{}
			for _, l := range lines {
				f := strings.Fields(l)
				if len(f) == 0 {
					t.Errorf("empty line in:\n%s", r.stdout)
					continue
				}
				if !sevenAndArchPrctl[f[0]] || seen[f[0]] {
					t.Errorf("line %q: want each allowed call once", l)
				}
				seen[f[0]] = true
				if f[0] == "arch_prctl" && (c.archPrctl == "" || !strings.Contains(l, "code == ARCH_SET_FS && addr <= ") || !strings.Contains(l, c.archPrctl)) {
					t.Errorf("line %q: want arch_prctl only with ARCH_SET_FS, an address bound and the reason %q", l, c.archPrctl)
				}
			}
			if c.archPrctl != "" && !seen["arch_prctl"] {
				t.Errorf("no arch_prctl line:\n%s", r.stdout)
			}
			if strings.Contains(r.stdout, "SURVIVED") || strings.Contains(r.stdout, "syscall:") {
				t.Errorf("--print-filter ran the guest:\n%s", r.stdout)
			}
		})
	}
}
