package tender

import (
	"fmt"
)

// insn is one classic BPF instruction (struct sock_filter).
type insn struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

// Classic BPF opcodes and seccomp constants used by the filter.
const (
	bpfLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgtK   = 0x25
	bpfJgeK   = 0x35
	bpfJsetK  = 0x45
	bpfRetK   = 0x06
	bpfJa     = 0x05 // BPF_JMP | BPF_JA: unconditional, 32-bit offset

	retKillProcess = 0x80000000
	retAllow       = 0x7fff0000
	auditArchX8664 = 0xc000003e
	x32SyscallBit  = 0x40000000

	// struct seccomp_data offsets
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// asm assembles straight-line BPF with forward jumps to named labels.
type asm struct {
	insns  []insn
	jumps  []jump
	labels map[string]int
}

type jump struct {
	at     int
	jt, jf string
	ja     string // for BPF_JA: the target, resolved into K
}

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.insns)
}
func (a *asm) ld(off uint32) { a.insns = append(a.insns, insn{Code: bpfLdWAbs, K: off}) }
func (a *asm) ret(k uint32)  { a.insns = append(a.insns, insn{Code: bpfRetK, K: k}) }

// jmp adds a conditional jump; an empty label means the next instruction.
func (a *asm) jmp(code uint16, k uint32, jt, jf string) {
	a.jumps = append(a.jumps, jump{at: len(a.insns), jt: jt, jf: jf})
	a.insns = append(a.insns, insn{Code: code, K: k})
}

// ja adds an unconditional jump, which reaches any later instruction.
func (a *asm) ja(l string) {
	a.jumps = append(a.jumps, jump{at: len(a.insns), ja: l})
	a.insns = append(a.insns, insn{Code: bpfJa})
}

func (a *asm) resolve() ([]insn, error) {
	off := func(from int, l string) (uint8, error) {
		if l == "" {
			return 0, nil
		}
		to, ok := a.labels[l]
		if !ok {
			return 0, fmt.Errorf("bpf: undefined label %s", l)
		}
		d := to - from - 1
		if d < 0 || d > 255 {
			return 0, fmt.Errorf("bpf: jump to %s out of range (%d)", l, d)
		}
		return uint8(d), nil
	}
	for _, j := range a.jumps {
		if j.ja != "" {
			to, ok := a.labels[j.ja]
			if !ok || to <= j.at {
				return nil, fmt.Errorf("bpf: bad jump target %s", j.ja)
			}
			a.insns[j.at].K = uint32(to - j.at - 1)
			continue
		}
		var err error
		if a.insns[j.at].Jt, err = off(j.at, j.jt); err != nil {
			return nil, err
		}
		if a.insns[j.at].Jf, err = off(j.at, j.jf); err != nil {
			return nil, err
		}
	}
	return a.insns, nil
}

// compile turns the policy into a seccomp BPF program: the architecture is
// checked, x32 syscall numbers are refused, each allowed call jumps to its
// alternatives, and everything else returns KILL_PROCESS.
func (p *policy) compile() ([]insn, error) {
	var a asm
	a.ld(offArch)
	a.jmp(bpfJeqK, auditArchX8664, "", "kill")
	a.ld(offNr)
	a.jmp(bpfJgeK, x32SyscallBit, "kill", "")
	// Dispatch: the blocks of many devices can be far away, beyond the
	// 255 instructions a conditional jump reaches, so hop through a JA.
	for _, c := range calls {
		if len(p.alts[c.Name]) > 0 {
			a.jmp(bpfJeqK, c.Nr, "", "not."+c.Name)
			a.ja(c.Name)
			a.label("not." + c.Name)
		}
	}
	a.label("kill")
	a.ret(retKillProcess)
	for _, c := range calls {
		alts := p.alts[c.Name]
		if len(alts) == 0 {
			continue
		}
		a.label(c.Name)
		for i, alt := range alts {
			fail := fmt.Sprintf("%s.%d", c.Name, i+1)
			for j, cond := range alt.Conds {
				pass := fmt.Sprintf("%s.%d.%d", c.Name, i, j)
				lo, hi := uint32(offArgs+8*cond.Arg), uint32(offArgs+8*cond.Arg+4)
				vlo, vhi := uint32(cond.V), uint32(cond.V>>32)
				switch cond.Op {
				case opEq:
					a.ld(hi)
					a.jmp(bpfJeqK, vhi, "", fail)
					a.ld(lo)
					a.jmp(bpfJeqK, vlo, "", fail)
				case opLe:
					a.ld(hi)
					a.jmp(bpfJgtK, vhi, fail, "")
					a.jmp(bpfJeqK, vhi, "", pass)
					a.ld(lo)
					a.jmp(bpfJgtK, vlo, fail, "")
				case opAligned:
					if cond.V == 0 || cond.V&(cond.V-1) != 0 {
						return nil, fmt.Errorf("bpf: %s alignment %d is not a power of two", cond.Name, cond.V)
					}
					a.ld(lo)
					a.jmp(bpfJsetK, uint32(cond.V-1), fail, "")
				}
				a.label(pass)
			}
			a.ret(retAllow)
			a.label(fail)
		}
		a.ret(retKillProcess)
	}
	return a.resolve()
}
