package tender

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/runnc/runnc/solo5/manifest"
)

func testDevices() []*device {
	return []*device{
		{Name: "service0", Type: manifest.NetBasic, FD: 5, MTU: 1500},
		{Name: "rootfs", Type: manifest.BlockBasic, FD: 6, Capacity: 1 << 20, BlockSize: 512},
		{Name: "ro", Type: manifest.BlockBasic, FD: 7, Capacity: 4096, BlockSize: 512, ReadOnly: true},
		{Name: "service1", Type: manifest.NetBasic, FD: 9, MTU: 9000},
		{Name: "sector4k", Type: manifest.BlockBasic, FD: 10, Capacity: 1 << 20, BlockSize: 4096},
	}
}

// vm runs the compiled filter in golang.org/x/net/bpf's interpreter, an
// implementation independent of ours.
type vm struct{ m *bpf.VM }

func newVM(t testing.TB, prog []insn) vm {
	var ins []bpf.Instruction
	for _, in := range prog {
		ins = append(ins, bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}.Disassemble())
	}
	m, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("filter does not load: %v", err)
	}
	return vm{m}
}

// run evaluates struct seccomp_data; the interpreter loads words in network
// byte order, so each 32-bit word is stored big-endian to read back as the
// kernel's native little-endian word.
func (v vm) run(t testing.TB, arch, nr uint32, args [6]uint64) uint32 {
	b := make([]byte, 64)
	put := func(off int, w uint32) { binary.BigEndian.PutUint32(b[off:], w) }
	put(0, nr)
	put(4, arch)
	for i, a := range args {
		put(16+8*i, uint32(a))
		put(20+8*i, uint32(a>>32))
	}
	r, err := v.m.Run(b)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(r)
}

// testMemSize is the guest memory of the policies tested here.
const testMemSize = 64 << 20

// testPolicy is the policy of testDevices, with the eighth rule (a TLS
// guest on a CPU without FSGSBASE) if tls.
func testPolicy(tls bool) *policy {
	p := newPolicy(modules(), testDevices())
	if tls {
		allowTLS(p, testMemSize, reasonNoFSGSBase)
	}
	return p
}

func TestFilterMatchesPolicy(t *testing.T) {
	for _, tls := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tls), func(t *testing.T) { filterMatchesPolicy(t, testPolicy(tls)) })
	}
}

func filterMatchesPolicy(t *testing.T, p *policy) {
	prog, err := p.compile()
	if err != nil {
		t.Fatal(err)
	}
	v := newVM(t, prog)

	// Interesting values for every argument: device fds and their
	// neighbours, block-size multiples, capacities, high words set.
	// arch_prctl codes and guest memory's end.
	vals := []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 511, 512, 513, 1024, 4096 - 512, 4096,
		(1 << 20) - 512, (1 << 20) - 511, 1 << 20, 1<<20 + 512, 1 << 32, 1<<32 | 5, 1<<32 | 512, ^uint64(0),
		2048, 8192, (1 << 20) - 4096, (1 << 20) - 2048,
		archSetFS - 1, archSetFS, archSetFS + 1, 1<<32 | archSetFS,
		testMemSize - 8, testMemSize - 1, testMemSize, 1<<32 | (testMemSize - 1)}
	rng := rand.New(rand.NewSource(1))
	check := func(nr uint32, args [6]uint64) {
		want := p.allowed(nr, args)
		got := v.run(t, auditArchX8664, nr, args) == retAllow
		if got != want {
			t.Fatalf("syscall %d args %v: filter allows=%v, policy allows=%v", nr, args, got, want)
		}
	}
	for _, c := range calls {
		for _, a0 := range vals {
			for _, a2 := range vals {
				for _, a3 := range vals {
					check(c.Nr, [6]uint64{a0, a3 & 7, a2, a3})
					check(c.Nr, [6]uint64{a0, a2, a0, a3})
				}
				check(c.Nr, [6]uint64{a0, a2})
			}
		}
		for i := 0; i < 20000; i++ {
			var args [6]uint64
			for j := range args {
				args[j] = vals[rng.Intn(len(vals))]
				if rng.Intn(4) == 0 {
					args[j] = rng.Uint64()
				}
			}
			check(c.Nr, args)
		}
	}
	// Every other syscall number is killed, whatever its arguments.
	for nr := uint32(0); nr < 1024; nr++ {
		if p.allowed(nr, [6]uint64{1, 0, 512, 0}) || inTable(nr) {
			continue
		}
		if got := v.run(t, auditArchX8664, nr, [6]uint64{1, 0, 512, 0}); got != retKillProcess {
			t.Fatalf("syscall %d: filter returned %#x, want KILL_PROCESS", nr, got)
		}
	}
	// x32 numbers and other architectures are killed even for allowed calls.
	if got := v.run(t, auditArchX8664, x32SyscallBit|231, [6]uint64{}); got != retKillProcess {
		t.Errorf("x32 exit_group: %#x, want KILL_PROCESS", got)
	}
	if got := v.run(t, 0x40000003 /* i386 */, 231, [6]uint64{}); got != retKillProcess {
		t.Errorf("i386 exit_group: %#x, want KILL_PROCESS", got)
	}
}

func inTable(nr uint32) bool {
	for _, c := range calls {
		if c.Nr == nr {
			return true
		}
	}
	return false
}

func TestPolicyAsDesigned(t *testing.T) {
	p := newPolicy(modules(), testDevices())
	cases := []struct {
		call string
		args [6]uint64
		want bool
	}{
		{"write", [6]uint64{1}, true},
		{"write", [6]uint64{2}, false},
		{"write", [6]uint64{5}, true},
		{"write", [6]uint64{9}, true},
		{"write", [6]uint64{6}, false},
		{"read", [6]uint64{0}, false},
		{"read", [6]uint64{5}, true},
		{"read", [6]uint64{6}, false},
		{"pread64", [6]uint64{6, 0, 512, 0}, true},
		{"pread64", [6]uint64{6, 0, 512, (1 << 20) - 512}, true},
		{"pread64", [6]uint64{6, 0, 512, 1 << 20}, false},
		{"pread64", [6]uint64{6, 0, 1024, 0}, false},
		{"pread64", [6]uint64{6, 0, 512, 100}, false},
		{"pread64", [6]uint64{5, 0, 512, 0}, false},
		{"pwrite64", [6]uint64{6, 0, 512, 512}, true},
		{"pwrite64", [6]uint64{7, 0, 512, 0}, false}, // read-only file
		{"pread64", [6]uint64{7, 0, 512, 3584}, true},
		{"pread64", [6]uint64{10, 0, 4096, 0}, true},
		{"pread64", [6]uint64{10, 0, 4096, (1 << 20) - 4096}, true},
		{"pread64", [6]uint64{10, 0, 512, 0}, false},
		{"pread64", [6]uint64{10, 0, 4096, 512}, false},
		{"pread64", [6]uint64{10, 0, 4096, 2048}, false},
		{"pwrite64", [6]uint64{10, 0, 4096, 4096}, true},
		{"pwrite64", [6]uint64{10, 0, 4096, 1 << 20}, false},
		{"ppoll", [6]uint64{0, 2, 0, 0}, true},
		{"ppoll", [6]uint64{0, 3, 0, 0}, false},
		{"ppoll", [6]uint64{0, 1, 0, 0x1000}, false},
		{"clock_gettime", [6]uint64{0}, true},
		{"clock_gettime", [6]uint64{1}, true},
		{"clock_gettime", [6]uint64{2}, false},
		{"exit_group", [6]uint64{255}, true},
	}
	for _, c := range cases {
		if got := p.allowed(uint32(nr(c.call)), c.args); got != c.want {
			t.Errorf("%s%v: allowed=%v, want %v", c.call, c.args, got, c.want)
		}
	}
}

func TestPolicyPrintsSevenLines(t *testing.T) {
	out := newPolicy(modules(), testDevices()).String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 7 {
		t.Fatalf("want 7 lines, got %d:\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[strings.Fields(l)[0]] = true
	}
	if len(seen) != 7 || seen["arch_prctl"] {
		t.Fatalf("want the 7 distinct calls:\n%s", out)
	}
	for _, want := range []string{"sigmask == NULL", "fd == 1 [console]", "offset % 512 == 0", "nfds <= 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("policy print lacks %q:\n%s", want, out)
		}
	}
}

// The eighth rule: only ARCH_SET_FS, only into guest memory, printed as
// an eighth line with its reason.
func TestPolicyTLSRule(t *testing.T) {
	p := testPolicy(true)
	cases := []struct {
		args [6]uint64
		want bool
	}{
		{[6]uint64{archSetFS, 0}, true},
		{[6]uint64{archSetFS, guestBase}, true},
		{[6]uint64{archSetFS, testMemSize - 1}, true},
		{[6]uint64{archSetFS, testMemSize}, false},
		{[6]uint64{archSetFS, 1 << 32}, false},
		{[6]uint64{archSetFS, ^uint64(0)}, false},
		{[6]uint64{0x1001 /* ARCH_SET_GS */, guestBase}, false},
		{[6]uint64{0x1003 /* ARCH_GET_FS */, guestBase}, false},
		{[6]uint64{1<<32 | archSetFS, guestBase}, false},
	}
	for _, c := range cases {
		if got := p.allowed(uint32(nr("arch_prctl")), c.args); got != c.want {
			t.Errorf("arch_prctl(%#x, %#x): allowed=%v, want %v", c.args[0], c.args[1], got, c.want)
		}
	}
	out := p.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := fmt.Sprintf("arch_prctl     code == ARCH_SET_FS && addr <= %d [%s]", testMemSize-1, reasonNoFSGSBase)
	if len(lines) != 8 || lines[7] != want {
		t.Errorf("want 8 lines, the last %q:\n%s", want, out)
	}
}

// Which guests get the eighth rule, and what the bindings are told.
func TestTLSMode(t *testing.T) {
	noTLS, tlsVars, tlsNote := &Image{}, &Image{tlsSize: 0x78}, &Image{Features: featureTLS}
	cases := []struct {
		name             string
		img              *Image
		fsgsbase, forced bool
		flags            uint32
		reason           string
	}{
		{"no TLS, FSGSBASE", noTLS, true, false, bootFlagFSGSBase, ""},
		{"no TLS, no FSGSBASE", noTLS, false, false, 0, ""},
		{"no TLS, forced", noTLS, true, true, 0, ""},
		{"__thread, FSGSBASE", tlsVars, true, false, bootFlagFSGSBase, ""},
		{"__thread, no FSGSBASE", tlsVars, false, false, bootFlagTLSArchPrctl, reasonNoFSGSBase},
		{"__thread, forced", tlsVars, true, true, bootFlagTLSArchPrctl, reasonForced},
		{"note, no FSGSBASE", tlsNote, false, false, bootFlagTLSArchPrctl, reasonNoFSGSBase},
		{"note, forced on a CPU without", tlsNote, false, true, bootFlagTLSArchPrctl, reasonForced},
	}
	for _, c := range cases {
		flags, reason := tlsMode(c.img, c.fsgsbase, c.forced)
		if flags != c.flags || reason != c.reason {
			t.Errorf("%s: flags %d reason %q, want %d %q", c.name, flags, reason, c.flags, c.reason)
		}
	}
}

// The most devices a manifest can declare still make a filter the loader
// and the kernel take, and it still decides like the policy.
func TestFilterManyDevices(t *testing.T) {
	for _, typ := range []manifest.DeviceType{manifest.NetBasic, manifest.BlockBasic} {
		var devs []*device
		for i := 0; i < maxDevices; i++ {
			devs = append(devs, &device{Name: fmt.Sprint("d", i), Type: typ, FD: 3 + i, MTU: 1500, Capacity: 1 << 20, BlockSize: 512})
		}
		p := newPolicy(modules(), devs)
		prog, err := p.compile()
		if err != nil {
			t.Fatalf("%s x%d: %v", typ, maxDevices, err)
		}
		if len(prog) > planMaxFilter {
			t.Fatalf("%s x%d: %d instructions, loader takes %d", typ, maxDevices, len(prog), planMaxFilter)
		}
		v := newVM(t, prog)
		for fd := uint64(0); fd < 3+maxDevices+2; fd++ {
			for _, c := range calls {
				args := [6]uint64{fd, 0, 512, 512}
				if want, got := p.allowed(c.Nr, args), v.run(t, auditArchX8664, c.Nr, args) == retAllow; want != got {
					t.Fatalf("%s fd %d: filter %v, policy %v", c.Name, fd, got, want)
				}
			}
		}
	}
}
