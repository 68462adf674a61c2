package tender

import (
	"golang.org/x/sys/unix"
)

// Thread-local storage. A guest sets its TLS base (the FS base register)
// with solo5_set_tls_base. Where the CPU and kernel let user space write it
// (FSGSBASE, announced in AT_HWCAP2) the bindings use wrfsbase and the
// filter stays at the seven calls. Elsewhere (many cloud VMs) there is no
// way to set the FS base without a system call, so a guest that uses TLS
// gets an eighth rule, arch_prctl(ARCH_SET_FS, addr) with addr inside
// guest memory, and the boot info tells the bindings to use it. A guest
// without TLS keeps the seven on every host.
//
// Other ways were weighed and do not keep the semantics: an LDT or GDT
// descriptor (modify_ldt, set_thread_area) holds only a 32-bit base and
// would need a call per new base anyway; rt_sigreturn does not restore the
// FS base on x86_64; a TLS model without %fs would need every app rebuilt
// with another compiler ABI.

// NoFSGSBaseEnv, set to 1 in runnc-spt's environment, makes the tender act
// as if the CPU lacked FSGSBASE, so tests reach the arch_prctl path on any
// machine. It is for tests only: it adds a call to the filter.
const NoFSGSBaseEnv = "RUNNC_SPT_NO_FSGSBASE"

const (
	archSetFS = 0x1002 // arch_prctl code: set the FS base

	reasonNoFSGSBase = "TLS base: this CPU lacks FSGSBASE"
	reasonForced     = "TLS base: FSGSBASE turned off by " + NoFSGSBaseEnv + "=1, for tests"
)

// hasFSGSBase says whether the kernel lets user space use wrfsbase.
func hasFSGSBase() bool {
	const atHWCAP2, hwcap2FSGSBase = 26, 1 << 1
	auxv, err := unix.Auxv()
	if err != nil {
		return false
	}
	for _, kv := range auxv {
		if kv[0] == atHWCAP2 {
			return kv[1]&hwcap2FSGSBase != 0
		}
	}
	return false
}

// usesTLS says whether the guest sets a TLS base: it has a non-empty
// PT_TLS segment (every guest linked with solo5_spt.lds has one, empty
// unless it has __thread variables), or its features note says so (a
// library OS that manages TLS blocks without __thread variables of its
// own).
func (img *Image) usesTLS() bool {
	return img.tlsSize > 0 || img.Features&featureTLS != 0
}

// tlsMode decides how a guest sets its TLS base: the boot-info flag for
// the bindings, and whether the filter needs arch_prctl (and why).
func tlsMode(img *Image, cpuHasFSGSBase, forcedOff bool) (flags uint32, reason string) {
	switch {
	case cpuHasFSGSBase && !forcedOff:
		return bootFlagFSGSBase, ""
	case !img.usesTLS():
		return 0, ""
	case forcedOff:
		return bootFlagTLSArchPrctl, reasonForced
	default:
		return bootFlagTLSArchPrctl, reasonNoFSGSBase
	}
}

// allowTLS adds the eighth rule: arch_prctl(ARCH_SET_FS, addr) for addr
// in guest memory [0, memSize).
func allowTLS(p *policy, memSize uint64, reason string) {
	p.allow("arch_prctl", reason,
		argAt(0, "code").EqSym(archSetFS, "ARCH_SET_FS"),
		argAt(1, "addr").Le(memSize-1))
}
