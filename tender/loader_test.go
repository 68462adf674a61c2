package tender

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The loader's helper mode: TestMain execs the guest named by this
// variable the way runnc-spt does, with the plan broken as
// loaderBreakEnv says.
const (
	loaderGuestEnv = "RUNNC_TEST_LOADER_GUEST"
	loaderBreakEnv = "RUNNC_TEST_LOADER_BREAK"
	loaderArgsEnv  = "RUNNC_TEST_LOADER_ARGS" // the guest's arguments, if set
)

func TestMain(m *testing.M) {
	if kernel := os.Getenv(loaderGuestEnv); kernel != "" {
		os.Exit(loaderHelper(kernel, os.Getenv(loaderBreakEnv)))
	}
	os.Exit(m.Run())
}

// loaderHelper prepares kernel and hands the process over to it; it
// returns only if that fails.
func loaderHelper(kernel, breakWhat string) int {
	cfg := &Config{MemMB: 32, Kernel: kernel, Args: []string{"from", "the", "loader", "test"}}
	if args, ok := os.LookupEnv(loaderArgsEnv); ok {
		cfg.Args = strings.Fields(args)
	}
	p, err := Prepare(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch breakWhat {
	case "":
	case "filter":
		// An instruction classic BPF does not have: seccomp() refuses the
		// program, in the loader's last step, after it unmapped itself.
		p.filter = []insn{{Code: 0xffff}}
	case "no-rng-seed":
		// The boot info of a tender from before the RNG seed: flag
		// and field zero.
		bi := p.layout.Chunks[0].Data
		binary.LittleEndian.PutUint32(bi[12:], binary.LittleEndian.Uint32(bi[12:])&^bootFlagRNGSeed)
		seedAddr := binary.LittleEndian.Uint64(bi[rngSeedOffset:])
		binary.LittleEndian.PutUint64(bi[rngSeedOffset:], 0)
		for _, c := range p.layout.Chunks {
			if c.Addr == seedAddr {
				clear(c.Data)
			}
		}
	default:
		fmt.Fprintf(os.Stderr, "unknown break %q\n", breakWhat)
		return 1
	}
	fmt.Fprintln(os.Stderr, p.Exec())
	return 1
}

// runLoader runs the loader stub itself with the plan given as fd 3 and
// argv[1..] args, and returns its exit status and stderr.
func runLoader(t *testing.T, plan []byte, args ...string) (int, string) {
	t.Helper()
	return runLoaderFiles(t, plan, nil, args...)
}

// runLoaderFiles is runLoader with more files inherited after the plan
// (fd 4 on).
func runLoaderFiles(t *testing.T, plan []byte, more []*os.File, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	loader := filepath.Join(dir, "runnc-spt")
	if err := os.WriteFile(loader, stub, 0o755); err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(dir, "plan")
	if err := os.WriteFile(pf, plan, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(loader, args...)
	cmd.ExtraFiles = append([]*os.File{f}, more...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Exited() {
		t.Fatalf("loader %v: %v, want an exit status\n%s", args, err, stderr.String())
	}
	return ee.ExitCode(), stderr.String()
}

// The loader checks the plan before it acts on it: anything it would map,
// protect or write outside guest memory, or a plan that is not one, ends
// it with its own status and one line naming the step, before any guest
// could run.
func TestLoaderRefusesBadPlan(t *testing.T) {
	c := cValues(t)
	good := func() *Prepared {
		return &Prepared{
			devices: []*device{{FD: 7}},
			filter:  []insn{{0x06, 0, 0, 0}},
			layout: &layout{
				MemSize: 64 << 20, Entry: guestBase, StackTop: 64 << 20, BootInfo: bootInfoAddr,
				Regions: []region{{bootInfoAddr, 0x4000, protRead}, {guestBase, 0x2000, protRead | protExec}},
			},
		}
	}
	enc := func(change func(p *Prepared), memFD int) []byte {
		p := good()
		change(p)
		b, err := p.plan(memFD)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	same := func(*Prepared) {}
	valid := enc(same, 200)
	// The tender sorts the fds it keeps (0 1 2 7); the loader's close
	// loop relies on it.
	unsorted := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(unsorted[c["plan.keep"]+3*4:], 1)
	unknownFlag := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(unknownFlag[c["plan.flags"]:], 2)
	reserved := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(reserved[c["plan.reserved"]:], 1)
	cases := []struct {
		name   string
		plan   []byte
		args   []string
		status string
		line   string
	}{
		{"no plan fd", valid, nil, "LOADER_USAGE", "usage"},
		{"plan fd not a number", valid, []string{"3x"}, "LOADER_USAGE", "usage"},
		{"plan fd not open", valid, []string{"9"}, "LOADER_READ_PLAN", "read plan: errno 9"},
		{"empty", nil, []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"short", valid[:len(valid)-1], []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"magic", append([]byte{'x'}, valid[1:]...), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"region outside guest memory", enc(func(p *Prepared) {
			p.layout.Regions[1].Addr = 0x6f0000001000 // the loader's own text
		}, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"region past the end", enc(func(p *Prepared) {
			p.layout.Regions[1].Len = 64 << 20
		}, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"writable and executable region", enc(func(p *Prepared) {
			p.layout.Regions[1].Prot = protRead | protWrite | protExec
		}, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"entry outside guest memory", enc(func(p *Prepared) { p.layout.Entry = 64 << 20 }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"stack outside guest memory", enc(func(p *Prepared) { p.layout.StackTop = 65 << 20 }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"guest memory over the loader", enc(func(p *Prepared) { p.layout.MemSize = 0x700000000000 }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"no filter", enc(func(p *Prepared) { p.filter = nil }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"kept fds unsorted", unsorted, []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"unknown flag", unknownFlag, []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"reserved field set", reserved, []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		// A plan that passes the checks but whose guest memory fd is not
		// open: the first call that acts on it fails.
		{"guest memory fd not open", valid, []string{"3"}, "LOADER_MAP_GUEST", "map guest memory: errno 9"},
	}
	for _, tc := range cases {
		status, stderr := runLoader(t, tc.plan, tc.args...)
		want := int(c[tc.status])
		if status != want || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, "runnc-spt: loader: ") || !strings.Contains(stderr, tc.line) {
			t.Errorf("%s: status %d, stderr %q; want %d (%s) and one line with %q", tc.name, status, stderr, want, tc.status, tc.line)
		}
	}
}

// A prefault the kernel cannot do fails the loader with its own status
// and line before any guest runs: here guest memory is a file of 0 bytes,
// which maps, but whose pages would raise SIGBUS (EFAULT). Without the
// step the loader would go on and die of that SIGBUS at the guest's entry.
func TestLoaderPrefaultFails(t *testing.T) {
	c := cValues(t)
	empty, err := os.OpenFile(filepath.Join(t.TempDir(), "mem"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	plan := func(prefault bool) []byte {
		p := &Prepared{
			devices:  []*device{{FD: 4}},
			filter:   []insn{{0x06, 0, 0, 0}},
			prefault: prefault,
			layout: &layout{
				MemSize: 64 << 20, Entry: guestBase, StackTop: 64 << 20, BootInfo: bootInfoAddr,
				Regions: []region{{bootInfoAddr, 0x4000, protRead}},
			},
		}
		b, err := p.plan(4)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	status, stderr := runLoaderFiles(t, plan(true), []*os.File{empty}, "3")
	if status != int(c["LOADER_PREFAULT"]) || stderr != "runnc-spt: loader: populate guest memory: errno 14\n" {
		t.Errorf("prefault of a 0-byte guest memory file: status %d, stderr %q; want %d and one line with errno 14",
			status, stderr, c["LOADER_PREFAULT"])
	}
}

// runHelper runs guest through Prepare and Exec in a child of the test
// (TestMain's helper mode), with the plan broken as breakWhat says and
// the guest's arguments args (if any), and returns the exit status and
// output.
func runHelper(t *testing.T, guest, breakWhat string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loaderGuestEnv+"="+guest, loaderBreakEnv+"="+breakWhat)
	if args != nil {
		cmd.Env = append(cmd.Env, loaderArgsEnv+"="+strings.Join(args, " "))
	}
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		status = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return status, out.String(), errs.String()
}

// A filter the kernel refuses fails the loader's last step, which runs
// after the loader unmapped itself: it still exits with its status and a
// line, and the guest never runs. The same guest and plan with the real
// filter runs, so the failure is the filter's.
func TestLoaderFailsClosedOnFilter(t *testing.T) {
	c := cValues(t)
	guest := builtGuest(t, "unikernels/tests/hello.spt")
	run := func(breakWhat string) (int, string, string) {
		return runHelper(t, guest, breakWhat)
	}
	if status, out, errs := run(""); status != 0 || !strings.Contains(out, "Command line is: 'from the loader test'") {
		t.Fatalf("control run: status %d, stdout %q, stderr %q; want the guest's SUCCESS", status, out, errs)
	}
	status, out, errs := run("filter")
	if status != int(c["LOADER_SECCOMP"]) || out != "" || errs != "runnc-spt: loader: install seccomp filter: failed\n" {
		t.Errorf("bad filter: status %d, stdout %q, stderr %q; want %d, no guest output, the loader's line",
			status, out, errs, c["LOADER_SECCOMP"])
	}
}

// cSealTest maps eight pages, seals the fourth (mseal) and unmaps all
// eight with the loader's own unmap_range (stub.c built with STUB_TEST):
// the kernel refuses to unmap a range holding a sealed page, so the
// loader must split it and leave only that page. It exits 0 if so, 3 if
// the kernel has no mseal.
const cSealTest = `
#define STUB_TEST
#include "stub.c"

#define SYS_mincore 27
#define SYS_mseal   462
#define ENOSYS      38

static int mapped(char *p)
{
    unsigned char v;
    return sys(SYS_mincore, p, PAGE, &v) == 0;
}

__attribute__((noreturn, used)) void test_main(void)
{
    long r = sys6(SYS_mmap, 0, 8 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r < 0)
        fail("mmap", r, 2);
    char *p = (char *)r;
    r = sys(SYS_mseal, p + 3 * PAGE, PAGE, 0);
    if (r == -ENOSYS)
        fail("mseal", r, 3);
    if (r != 0)
        fail("mseal", r, 2);
    unmap_range((unsigned long)p, (unsigned long)p + 8 * PAGE);
    for (int i = 0; i < 8; i++)
        if (mapped(p + i * PAGE) != (i == 3))
            fail(i == 3 ? "the sealed page is gone" : "a page is still mapped", -i, 4);
    sys(SYS_exit_group, 0, 0, 0);
    __builtin_unreachable();
}

__asm__(".globl _start\n_start:\n    and $-16, %rsp\n    call test_main\n    ud2\n");
`

// Kernels built with CONFIG_MSEAL_SYSTEM_MAPPINGS seal the vDSO and vvar;
// the loader unmaps around sealed pages instead of failing. This runs its
// unmap_range on a page sealed on purpose.
func TestLoaderUnmapsAroundSealed(t *testing.T) {
	dir := t.TempDir()
	src, bin := filepath.Join(dir, "seal.c"), filepath.Join(dir, "seal")
	if err := os.WriteFile(src, []byte(cSealTest), 0o644); err != nil {
		t.Fatal(err)
	}
	cc := exec.Command("gcc", "-std=gnu11", "-Os", "-Wall", "-Werror", "-ffreestanding", "-fno-stack-protector",
		"-nostdlib", "-static", "-no-pie", "-Istub", "-I../solo5/include", "-o", bin, src, "-lgcc")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("build the seal test: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 3:
		// No mseal (before Linux 6.10): nothing can be sealed, the case
		// cannot arise, and unmap_range's plain path runs in every guest
		// start (TestGuestProcess checks its result).
		t.Logf("this kernel has no mseal: %s", out)
	default:
		t.Errorf("unmap_range around a sealed page: %v\n%s", err, out)
	}
}
