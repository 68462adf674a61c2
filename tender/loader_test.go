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
		p.Filter = []Insn{{Code: 0xffff}}
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
	cmd.ExtraFiles = []*os.File{f}
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
			Devices: []*Device{{FD: 7}},
			Filter:  []Insn{{0x06, 0, 0, 0}},
			Layout: &Layout{
				MemSize: 64 << 20, Entry: GuestBase, StackTop: 64 << 20, BootInfo: bootInfoAddr,
				Regions: []Region{{bootInfoAddr, 0x4000, protRead}, {GuestBase, 0x2000, protRead | protExec}},
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
			p.Layout.Regions[1].Addr = 0x6f0000001000 // the loader's own text
		}, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"region past the end", enc(func(p *Prepared) {
			p.Layout.Regions[1].Len = 64 << 20
		}, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"writable and executable region", enc(func(p *Prepared) {
			p.Layout.Regions[1].Prot = protRead | protWrite | protExec
		}, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"entry outside guest memory", enc(func(p *Prepared) { p.Layout.Entry = 64 << 20 }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"stack outside guest memory", enc(func(p *Prepared) { p.Layout.StackTop = 65 << 20 }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"guest memory over the loader", enc(func(p *Prepared) { p.Layout.MemSize = 0x700000000000 }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"no filter", enc(func(p *Prepared) { p.Filter = nil }, 200), []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
		{"kept fds unsorted", unsorted, []string{"3"}, "LOADER_BAD_PLAN", "bad plan"},
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

// A filter the kernel refuses fails the loader's last step, which runs
// after the loader unmapped itself: it still exits with its status and a
// line, and the guest never runs. The same guest and plan with the real
// filter runs, so the failure is the filter's.
func TestLoaderFailsClosedOnFilter(t *testing.T) {
	c := cValues(t)
	guest, _ := filepath.Abs("../build/unikernels/tests/hello.spt")
	if _, err := os.Stat(guest); err != nil {
		t.Skip("guests not built: run make")
	}
	run := func(breakWhat string) (int, string, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), loaderGuestEnv+"="+guest, loaderBreakEnv+"="+breakWhat)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return status, stdout.String(), stderr.String()
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
