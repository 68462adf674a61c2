package hap

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/tender"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// buildOutput returns a build product's path (relative to the module
// root), failing with the make command if it is missing.
func buildOutput(t *testing.T, rel string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%v: run make first", err)
	}
	return path
}

func raw(insns []unix.SockFilter) []bpf.RawInstruction {
	out := make([]bpf.RawInstruction, len(insns))
	for i, in := range insns {
		out[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out
}

// The decoder must find in the tender's compiled filter exactly the calls
// its policy prints, and say which are conditional.
func TestDecodeTenderFilter(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"hello", []string{buildOutput(t, "build/unikernels/tests/hello.spt")}},
		{"blk", []string{"--block:storage=" + img, buildOutput(t, "build/unikernels/tests/blk.spt")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, _, err := tender.ParseArgs(c.args)
			if err != nil {
				t.Fatal(err)
			}
			p, err := tender.Prepare(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode([][]bpf.RawInstruction{raw(p.Program())})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(p.FilterText()), "\n") {
				name, cond := splitPolicyLine(line)
				if cond != "never" {
					want[name] = cond == "always [exit]"
				}
			}
			gotm := map[string]bool{}
			for _, a := range got {
				gotm[a.Name] = a.Always
			}
			if !reflect.DeepEqual(gotm, want) {
				t.Errorf("decoded %v, policy says %v\n%s", gotm, want, p.FilterText())
			}
		})
	}
}

func TestDecodeStacked(t *testing.T) {
	allowAll := []bpf.RawInstruction{{Op: 0x06, K: 0x7fff0000}}
	// ld nr; jeq 39 (getpid) ? allow : errno
	onlyGetpid := []bpf.RawInstruction{
		{Op: 0x20, K: 0}, {Op: 0x15, Jt: 0, Jf: 1, K: 39},
		{Op: 0x06, K: 0x7fff0000}, {Op: 0x06, K: 0x00050001},
	}
	got, err := Decode([][]bpf.RawInstruction{allowAll})
	if err != nil || len(got) < 300 || !got[0].Always {
		t.Fatalf("allow-all filter decoded as %d calls (%v)", len(got), err)
	}
	got, err = Decode([][]bpf.RawInstruction{allowAll, onlyGetpid})
	if err != nil || !reflect.DeepEqual(got, []AllowedCall{{"getpid", true}}) {
		t.Fatalf("stacked filters decoded as %v (%v), want getpid only", got, err)
	}
}

func TestParseFunctionLine(t *testing.T) {
	for line, want := range map[string]string{
		"    redis-server-231     [001] ...1.    42.100000: tcp_sendmsg <-inet_sendmsg":             "tcp_sendmsg",
		"    redis-server-231     [001] d..1.    42.100000: __x64_sys_write <-do_syscall_64":        "__x64_sys_write",
		"  runnc-spt-77      [000] ...1.    42.3: tun_get_user [tun] <-tun_chr_write_iter [tun]":    "tun_get_user [tun]",
		"    redis-server-231     [000] ..s1.    42.2: net_rx_action <-__do_softirq":                "",
		"    redis-server-231     [000] d.h1.    42.2: handle_irq_event <-handle_edge_irq":          "",
		"    redis-server-231     [000] d.H1.    42.2: irq_enter_rcu <-sysvec_apic_timer_interrupt": "",
		"    redis-server-231     [000] d.Z1.    42.2: nmi_handle <-default_do_nmi":                 "",
		"# tracer: function": "",
	} {
		got, ok := parseFunctionLine([]byte(line))
		if got != want || ok != (want != "") {
			t.Errorf("parseFunctionLine(%q) = %q, %v; want %q", line, got, ok, want)
		}
	}
}

// Reading a running guest's filter by ptrace must not disturb it: the
// time guest checks its clocks and ppoll deadlines while it is stopped
// and resumed.
func TestReadFiltersLive(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cmd := exec.Command(buildOutput(t, "build/bin/runnc-spt"), buildOutput(t, "build/unikernels/tests/time.spt"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if s, err := ReadSeccomp(cmd.Process.Pid); err == nil && s.Mode == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the guest never got its filter")
		}
		time.Sleep(time.Millisecond)
	}
	progs, err := ReadFilters(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(progs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range got {
		names = append(names, a.Name)
	}
	if want := []string{"clock_gettime", "exit_group", "ppoll", "write"}; !reflect.DeepEqual(names, want) {
		t.Errorf("live guest's filter allows %v, want %v", names, want)
	}
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "SUCCESS") {
		t.Errorf("guest after being read: %v\n%s", err, out.String())
	}
}
