package hap

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Seccomp is what /proc/PID/status says about a process's seccomp state.
type Seccomp struct {
	Mode    int `json:"mode"`    // 0 off, 1 strict, 2 filter
	Filters int `json:"filters"` // Seccomp_filters: how many are stacked
}

func (s Seccomp) String() string {
	switch s.Mode {
	case 0:
		return "0 (off)"
	case 1:
		return "1 (strict)"
	}
	return fmt.Sprintf("%d (filter, %d installed)", s.Mode, s.Filters)
}

// ReadSeccomp reads the Seccomp: and Seccomp_filters: lines of
// /proc/PID/status.
func ReadSeccomp(pid int) (Seccomp, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Seccomp{}, fmt.Errorf("seccomp state: %w", err)
	}
	var s Seccomp
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "Seccomp":
			fmt.Sscan(strings.TrimSpace(v), &s.Mode)
		case "Seccomp_filters":
			fmt.Sscan(strings.TrimSpace(v), &s.Filters)
		}
	}
	return s, nil
}

// AllowedCall is a system call some path through a process's filters
// lets into the kernel.
type AllowedCall struct {
	Name string `json:"name"`
	// Always: every argument is allowed; else only some (the tender's
	// conditions on fds, sizes, clocks).
	Always bool `json:"always"`
}

// Decode returns the x86_64 system calls that all the given seccomp
// programs allow (a call runs only if every stacked filter lets it), with
// whether they allow it for every argument. Each number of the syscall
// table is run through each program with the arguments unknown: a jump on
// an unknown value takes both ways, so "allowed" means "for some
// arguments". Returns ALLOW, LOG and TRACE count as allowed; the rest
// (KILL, TRAP, ERRNO, USER_NOTIF) keep the call out of the kernel.
func Decode(progs [][]bpf.RawInstruction) ([]AllowedCall, error) {
	var decoded [][]bpf.Instruction
	for i, p := range progs {
		insns, ok := bpf.Disassemble(p)
		if !ok {
			return nil, fmt.Errorf("seccomp filter %d: instructions this decoder does not know", i)
		}
		decoded = append(decoded, insns)
	}
	var out []AllowedCall
	for nr := 0; nr < len(syscallNamesX86_64); nr++ {
		if syscallNamesX86_64[nr] == "" {
			continue
		}
		some, all := true, true
		for _, insns := range decoded {
			s, a, err := outcomes(insns, uint32(nr))
			if err != nil {
				return nil, err
			}
			some, all = some && s, all && a
		}
		if some {
			out = append(out, AllowedCall{SyscallName(nr), all})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

const (
	auditArchX8664 = 0xc000003e
	// seccomp_data: nr (0), arch (4), instruction_pointer (8), args (16).
	offNr   = 0
	offArch = 4
)

// value is an accumulator, index register or scratch cell: known or not.
type value struct {
	known bool
	v     uint32
}

type bpfState struct {
	pc   int
	a, x value
	m    [16]value
}

// outcomes runs prog for syscall nr with unknown arguments and says
// whether some path allows it and whether every path does.
func outcomes(prog []bpf.Instruction, nr uint32) (some, all bool, err error) {
	all = true
	seen := map[bpfState]bool{}
	stack := []bpfState{{}}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for {
			if seen[s] {
				break
			}
			seen[s] = true
			if s.pc >= len(prog) {
				return false, false, fmt.Errorf("seccomp filter runs off its end at %d", s.pc)
			}
			next, ret, done, branch, err := step(prog[s.pc], s, nr)
			if err != nil {
				return false, false, err
			}
			if done {
				if allows(ret) {
					some = true
				} else {
					all = false
				}
				break
			}
			if branch != nil {
				stack = append(stack, *branch)
			}
			s = next
		}
	}
	return some, all, nil
}

func allows(ret uint32) bool {
	switch ret & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_LOG, unix.SECCOMP_RET_TRACE:
		return true
	}
	return false
}

// step runs one instruction. It returns the next state, or the return
// value (done), and a second state to explore when a jump depends on an
// unknown value.
func step(ins bpf.Instruction, s bpfState, nr uint32) (next bpfState, ret uint32, done bool, branch *bpfState, err error) {
	next = s
	next.pc++
	switch i := ins.(type) {
	case bpf.LoadAbsolute:
		switch {
		case i.Off == offNr && i.Size == 4:
			next.a = value{true, nr}
		case i.Off == offArch && i.Size == 4:
			next.a = value{true, auditArchX8664}
		default: // instruction pointer, arguments
			next.a = value{}
		}
	case bpf.LoadConstant:
		if i.Dst == bpf.RegA {
			next.a = value{true, i.Val}
		} else {
			next.x = value{true, i.Val}
		}
	case bpf.LoadScratch:
		if i.Dst == bpf.RegA {
			next.a = s.m[i.N]
		} else {
			next.x = s.m[i.N]
		}
	case bpf.StoreScratch:
		if i.Src == bpf.RegA {
			next.m[i.N] = s.a
		} else {
			next.m[i.N] = s.x
		}
	case bpf.LoadExtension:
		if i.Num == bpf.ExtLen {
			next.a = value{true, 64} // sizeof(struct seccomp_data)
		} else {
			next.a = value{}
		}
	case bpf.ALUOpConstant:
		next.a = alu(i.Op, s.a, value{true, i.Val})
	case bpf.ALUOpX:
		next.a = alu(i.Op, s.a, s.x)
	case bpf.NegateA:
		next.a = value{s.a.known, -s.a.v}
	case bpf.TAX:
		next.x = s.a
	case bpf.TXA:
		next.a = s.x
	case bpf.Jump:
		next.pc += int(i.Skip)
	case bpf.JumpIf:
		return jump(s, next, i.Cond, s.a, value{true, i.Val}, i.SkipTrue, i.SkipFalse)
	case bpf.JumpIfX:
		return jump(s, next, i.Cond, s.a, s.x, i.SkipTrue, i.SkipFalse)
	case bpf.RetConstant:
		return next, i.Val, true, nil, nil
	case bpf.RetA:
		if !s.a.known {
			return next, 0, false, nil, fmt.Errorf("seccomp filter returns a value computed from arguments")
		}
		return next, s.a.v, true, nil, nil
	default:
		return next, 0, false, nil, fmt.Errorf("seccomp filter: unexpected instruction %v", ins)
	}
	return next, 0, false, nil, nil
}

func jump(s, next bpfState, cond bpf.JumpTest, a, b value, skipTrue, skipFalse uint8) (bpfState, uint32, bool, *bpfState, error) {
	yes, no := next, next
	yes.pc += int(skipTrue)
	no.pc += int(skipFalse)
	if !a.known || !b.known {
		return yes, 0, false, &no, nil
	}
	var t bool
	switch cond {
	case bpf.JumpEqual:
		t = a.v == b.v
	case bpf.JumpNotEqual:
		t = a.v != b.v
	case bpf.JumpGreaterThan:
		t = a.v > b.v
	case bpf.JumpLessThan:
		t = a.v < b.v
	case bpf.JumpGreaterOrEqual:
		t = a.v >= b.v
	case bpf.JumpLessOrEqual:
		t = a.v <= b.v
	case bpf.JumpBitsSet:
		t = a.v&b.v != 0
	case bpf.JumpBitsNotSet:
		t = a.v&b.v == 0
	}
	if t {
		return yes, 0, false, nil, nil
	}
	return no, 0, false, nil, nil
}

func alu(op bpf.ALUOp, a, b value) value {
	if !a.known || !b.known {
		return value{}
	}
	switch op {
	case bpf.ALUOpAdd:
		return value{true, a.v + b.v}
	case bpf.ALUOpSub:
		return value{true, a.v - b.v}
	case bpf.ALUOpMul:
		return value{true, a.v * b.v}
	case bpf.ALUOpDiv:
		if b.v == 0 {
			return value{}
		}
		return value{true, a.v / b.v}
	case bpf.ALUOpMod:
		if b.v == 0 {
			return value{}
		}
		return value{true, a.v % b.v}
	case bpf.ALUOpOr:
		return value{true, a.v | b.v}
	case bpf.ALUOpAnd:
		return value{true, a.v & b.v}
	case bpf.ALUOpShiftLeft:
		return value{true, a.v << (b.v & 31)}
	case bpf.ALUOpShiftRight:
		return value{true, a.v >> (b.v & 31)}
	case bpf.ALUOpXor:
		return value{true, a.v ^ b.v}
	}
	return value{}
}

// ReadFilters attaches to pid with ptrace just long enough to copy its
// seccomp programs out (PTRACE_SECCOMP_GET_FILTER: needs CAP_SYS_ADMIN,
// a kernel with CONFIG_CHECKPOINT_RESTORE, and a tracer not itself under
// seccomp). The process is stopped for a moment; a system call it was
// waiting in is restarted.
func ReadFilters(pid int) ([][]bpf.RawInstruction, error) {
	// Every ptrace request must come from the thread that attached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceSeize(pid); err != nil {
		return nil, fmt.Errorf("ptrace seize %d: %w", pid, err)
	}
	sig := 0
	detach := func() { unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(sig), 0, 0) }
	if err := unix.PtraceInterrupt(pid); err != nil {
		detach()
		return nil, fmt.Errorf("ptrace interrupt %d: %w", pid, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		detach()
		return nil, fmt.Errorf("wait for %d to stop: %w", pid, err)
	}
	if !ws.Stopped() {
		return nil, fmt.Errorf("pid %d ended while its filter was read", pid)
	}
	if s := ws.StopSignal(); s != unix.SIGTRAP {
		sig = int(s) // a signal arrived first: deliver it on detach
	}
	progs, err := filtersOfStopped(pid)
	detach()
	return progs, err
}

// filtersOfStopped copies the seccomp programs of a ptrace-stopped tracee
// of this thread, the first installed first.
func filtersOfStopped(pid int) ([][]bpf.RawInstruction, error) {
	var progs [][]bpf.RawInstruction
	for i := 0; ; i++ {
		n, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(i), 0, 0, 0)
		if e == unix.ENOENT || (e == unix.EINVAL && i > 0) {
			break
		}
		if e == unix.EINVAL {
			return nil, nil // not in filter mode
		}
		if e != 0 {
			return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER %d of pid %d: %w", i, pid, e)
		}
		buf := make([]unix.SockFilter, n)
		if n > 0 {
			if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(i), uintptr(unsafe.Pointer(&buf[0])), 0, 0); e != 0 {
				return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER %d of pid %d: %w", i, pid, e)
			}
		}
		prog := make([]bpf.RawInstruction, n)
		for j, f := range buf {
			prog[j] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
		}
		// Index 0 is the newest; keep them in the order installed.
		progs = append([][]bpf.RawInstruction{prog}, progs...)
	}
	return progs, nil
}
