package tender

import (
	"fmt"
	"strings"
)

// The calls a guest may make: the whole boundary between a guest and the
// host kernel. Everything not allowed here kills the process
// (SECCOMP_RET_KILL_PROCESS). The first seven are every guest's; the
// eighth, arch_prctl, is added only for a guest that sets a TLS base on a
// CPU without FSGSBASE (see tls.go), and is printed only then.
var calls = []struct {
	Name string
	Nr   uint32
	// extra: not one of the seven; listed only when a rule allows it.
	extra bool
}{
	{"read", 0, false},
	{"write", 1, false},
	{"pread64", 17, false},
	{"pwrite64", 18, false},
	{"clock_gettime", 228, false},
	{"exit_group", 231, false},
	{"ppoll", 271, false},
	{"arch_prctl", 158, true},
}

// Linux clock ids the guest may read.
const (
	clockRealtime  = 0
	clockMonotonic = 1
)

// Op is a comparison on a 64-bit syscall argument.
type Op int

const (
	OpEq      Op = iota // arg == V
	OpLe                // arg <= V (unsigned)
	OpAligned           // arg % V == 0, V a power of two
)

// Cond is one condition on one argument.
type Cond struct {
	Arg  int    // 0..5
	Name string // what the argument is, for people
	Op   Op
	V    uint64
	Sym  string // V's name for people (e.g. ARCH_SET_FS), if it has one
}

// ArgRef names argument i of a call; its methods make conditions.
type ArgRef struct {
	i    int
	name string
}

// Arg refers to argument i (0-based) called name.
func Arg(i int, name string) ArgRef    { return ArgRef{i, name} }
func (a ArgRef) Eq(v uint64) Cond      { return Cond{a.i, a.name, OpEq, v, ""} }
func (a ArgRef) Le(v uint64) Cond      { return Cond{a.i, a.name, OpLe, v, ""} }
func (a ArgRef) Aligned(v uint64) Cond { return Cond{a.i, a.name, OpAligned, v, ""} }

// EqSym is Eq for a value people know by the name sym.
func (a ArgRef) EqSym(v uint64, sym string) Cond { return Cond{a.i, a.name, OpEq, v, sym} }
func (c Cond) holds(args [6]uint64) bool {
	x := args[c.Arg]
	switch c.Op {
	case OpEq:
		return x == c.V
	case OpLe:
		return x <= c.V
	case OpAligned:
		return x&(c.V-1) == 0
	}
	return false
}

func (c Cond) String() string {
	switch c.Op {
	case OpEq:
		if c.Name == "sigmask" && c.V == 0 {
			return "sigmask == NULL"
		}
		if c.Sym != "" {
			return fmt.Sprintf("%s == %s", c.Name, c.Sym)
		}
		return fmt.Sprintf("%s == %d", c.Name, c.V)
	case OpLe:
		return fmt.Sprintf("%s <= %d", c.Name, c.V)
	case OpAligned:
		return fmt.Sprintf("%s %% %d == 0", c.Name, c.V)
	}
	return "?"
}

// Alt is one way a call is allowed: all of Conds hold (none: always).
type Alt struct {
	Who   string // what it is for, e.g. "net service0"
	Conds []Cond
}

// Policy is the seccomp policy of one guest: for each allowed call, the
// alternatives under which it is allowed. It is data: compiled to BPF
// by Compile, printed by String, evaluated by Allowed for tests.
type Policy struct {
	alts map[string][]Alt
}

// NewPolicy builds the policy for a guest with the given devices.
func NewPolicy(mods []module, devs []*Device) *Policy {
	p := &Policy{alts: map[string][]Alt{}}
	p.Allow("write", "console", Arg(0, "fd").Eq(1))
	p.Allow("clock_gettime", "monotonic clock", Arg(0, "clock").Eq(clockMonotonic))
	p.Allow("clock_gettime", "wall clock", Arg(0, "clock").Eq(clockRealtime))
	p.Allow("exit_group", "exit")
	for _, m := range mods {
		m.rules(p, devs)
	}
	return p
}

// Allow adds an alternative to call, which must be in the calls table.
func (p *Policy) Allow(call, who string, conds ...Cond) {
	if nr(call) < 0 {
		panic("tender: " + call + " is not in the table of calls a guest may make")
	}
	p.alts[call] = append(p.alts[call], Alt{who, conds})
}

func nr(call string) int {
	for _, c := range calls {
		if c.Name == call {
			return int(c.Nr)
		}
	}
	return -1
}

// Allowed says whether the policy allows syscall number n with args:
// the reference the compiled filter is tested against.
func (p *Policy) Allowed(n uint32, args [6]uint64) bool {
	for _, c := range calls {
		if c.Nr != n {
			continue
		}
		for _, a := range p.alts[c.Name] {
			ok := true
			for _, cond := range a.Conds {
				ok = ok && cond.holds(args)
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// String prints the policy: one line per call (each of the seven, and an
// extra call only when allowed), its conditions joined by ||.
func (p *Policy) String() string {
	var b strings.Builder
	for _, c := range calls {
		if c.extra && len(p.alts[c.Name]) == 0 {
			continue
		}
		var alts []string
		for _, a := range p.alts[c.Name] {
			var cs []string
			for _, cond := range a.Conds {
				cs = append(cs, cond.String())
			}
			s := "always"
			if len(cs) > 0 {
				s = strings.Join(cs, " && ")
			}
			if len(cs) > 1 && len(p.alts[c.Name]) > 1 {
				s = "(" + s + ")"
			}
			alts = append(alts, s+" ["+a.Who+"]")
		}
		line := "never"
		if len(alts) > 0 {
			line = strings.Join(alts, " || ")
		}
		fmt.Fprintf(&b, "%-14s %s\n", c.Name, line)
	}
	return b.String()
}
