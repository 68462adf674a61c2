package tests

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// Some host kernels act on a few system call numbers before seccomp sees
// them (a sandboxed kernel's private calls, for example); no filter can
// stop those. seccompSees tells them apart: it re-runs the test binary as
// a probe that installs a filter killing only nr, then makes the call.

const probeEnv = "RUNNC_TESTS_SECCOMP_PROBE"

// seccompSees reports whether a process whose filter kills nr dies by
// SIGSYS when it makes the call, and how the probe ended.
func seccompSees(nr uint64) (bool, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return false, "", err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", probeEnv, nr))
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		return false, "", err
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	first, _, _ := strings.Cut(string(out), "\n")
	how := fmt.Sprintf("exit status %d, %q", ws.ExitStatus(), first)
	if ws.Signaled() {
		how = "signal " + ws.Signal().String()
	}
	return ws.Signaled() && ws.Signal() == syscall.SIGSYS, how, nil
}

// probe is the probe process's body, run from TestMain.
func probe(arg string) {
	nr, err := strconv.ParseUint(arg, 10, 64)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	type sockFilter struct {
		code   uint16
		jt, jf uint8
		k      uint32
	}
	type sockFprog struct {
		len    uint16
		filter *sockFilter
	}
	const (
		ldWAbs, jeqK, retK                = 0x20, 0x15, 0x06
		retKillProcess, retAllow          = 0x80000000, 0x7fff0000
		prSetNoNewPrivs, seccompSetFilter = 38, 1
		seccompTsync                      = 1
		sysSeccomp                        = 317
	)
	filter := []sockFilter{
		{code: ldWAbs, k: 0},
		{code: jeqK, jt: 0, jf: 1, k: uint32(nr)},
		{code: retK, k: retKillProcess},
		{code: retK, k: retAllow},
	}
	prog := sockFprog{len: uint16(len(filter)), filter: &filter[0]}
	runtime.LockOSThread()
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		fmt.Println("prctl:", e)
		os.Exit(2)
	}
	if _, _, e := syscall.RawSyscall(sysSeccomp, seccompSetFilter, seccompTsync, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fmt.Println("seccomp:", e)
		os.Exit(2)
	}
	r, _, e := syscall.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
	time.Sleep(10 * time.Millisecond)
	fmt.Printf("survived: %d %d", r, e)
	os.Exit(0)
}
