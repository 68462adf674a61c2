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

// argOp is a comparison on a 64-bit syscall argument.
type argOp int

const (
	opEq      argOp = iota // arg == V
	opLe                   // arg <= V (unsigned)
	opAligned              // arg % V == 0, V a power of two
)

// condition is one condition on one argument.
type condition struct {
	Arg  int    // 0..5
	Name string // what the argument is, for people
	Op   argOp
	V    uint64
	Sym  string // V's name for people (e.g. ARCH_SET_FS), if it has one
}

// argRef names argument i of a call; its methods make conditions.
type argRef struct {
	i    int
	name string
}

// argAt refers to argument i (0-based) called name.
func argAt(i int, name string) argRef       { return argRef{i, name} }
func (a argRef) Eq(v uint64) condition      { return condition{a.i, a.name, opEq, v, ""} }
func (a argRef) Le(v uint64) condition      { return condition{a.i, a.name, opLe, v, ""} }
func (a argRef) Aligned(v uint64) condition { return condition{a.i, a.name, opAligned, v, ""} }

// EqSym is Eq for a value people know by the name sym.
func (a argRef) EqSym(v uint64, sym string) condition { return condition{a.i, a.name, opEq, v, sym} }
func (c condition) holds(args [6]uint64) bool {
	x := args[c.Arg]
	switch c.Op {
	case opEq:
		return x == c.V
	case opLe:
		return x <= c.V
	case opAligned:
		return x&(c.V-1) == 0
	}
	return false
}

func (c condition) String() string {
	switch c.Op {
	case opEq:
		if c.Name == "sigmask" && c.V == 0 {
			return "sigmask == NULL"
		}
		if c.Sym != "" {
			return fmt.Sprintf("%s == %s", c.Name, c.Sym)
		}
		return fmt.Sprintf("%s == %d", c.Name, c.V)
	case opLe:
		return fmt.Sprintf("%s <= %d", c.Name, c.V)
	case opAligned:
		return fmt.Sprintf("%s %% %d == 0", c.Name, c.V)
	}
	return "?"
}

// alternative is one way a call is allowed: all of Conds hold (none: always).
type alternative struct {
	Who   string // what it is for, e.g. "net service0"
	Conds []condition
}

// policy is the seccomp policy of one guest: for each allowed call, the
// alternatives under which it is allowed. It is data: compiled to BPF
// by compile, printed by String, evaluated by allowed for tests.
type policy struct {
	alts map[string][]alternative
}

// newPolicy builds the policy for a guest with the given devices.
func newPolicy(mods []module, devs []*device) *policy {
	p := &policy{alts: map[string][]alternative{}}
	p.allow("write", "console", argAt(0, "fd").Eq(1))
	p.allow("clock_gettime", "monotonic clock", argAt(0, "clock").Eq(clockMonotonic))
	p.allow("clock_gettime", "wall clock", argAt(0, "clock").Eq(clockRealtime))
	p.allow("exit_group", "exit")
	for _, m := range mods {
		m.rules(p, devs)
	}
	return p
}

// allow adds an alternative to call, which must be in the calls table.
func (p *policy) allow(call, who string, conds ...condition) {
	if nr(call) < 0 {
		panic("tender: " + call + " is not in the table of calls a guest may make")
	}
	p.alts[call] = append(p.alts[call], alternative{who, conds})
}

func nr(call string) int {
	for _, c := range calls {
		if c.Name == call {
			return int(c.Nr)
		}
	}
	return -1
}

// allowed says whether the policy allows syscall number n with args:
// the reference the compiled filter is tested against.
func (p *policy) allowed(n uint32, args [6]uint64) bool {
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
func (p *policy) String() string {
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
