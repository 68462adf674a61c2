// Package hap measures the host kernel surface a sandbox reaches, its
// horizontal attack profile (HAP): the system calls its processes make and,
// where the kernel allows function tracing, the kernel functions those
// calls run.
//
// Everything is read from tracefs, in a tracing instance of our own so
// other users of the tracer are not disturbed. The system call trace uses
// the raw_syscalls:sys_enter tracepoint, which works on kernels in lockdown
// where function tracers are refused.
//
// Because the tracepoint fires after seccomp has allowed a call, a call
// the sandbox's filter refuses never shows up in a syscall trace: the trace
// is what the sandbox actually reached in the kernel.
package hap

//go:generate go run mksyscalls.go

import "strconv"

// SyscallName returns the name of x86_64 system call nr, or "sys_NR" for a
// number the table does not know.
func SyscallName(nr int) string {
	if nr >= 0 && nr < len(syscallNamesX86_64) && syscallNamesX86_64[nr] != "" {
		return syscallNamesX86_64[nr]
	}
	return "sys_" + strconv.Itoa(nr)
}
