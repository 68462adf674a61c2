package tests

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// On kernels that have them, uretprobe (335) and uprobe (336) pass seccomp
// unfiltered by design: they only work from the kernel's own probe
// trampolines, and the kernel lets them through before any filter runs.
// They are the only numbers a guest may survive, and only on a host where
// a probe shows that no filter can stop them: the test binary re-runs
// itself as a process that installs a filter killing nr, checks that the
// filter is in force on a control call, then makes the call.
var unfilterable = map[uint64]string{335: "uretprobe", 336: "uprobe"}

const probeEnv = "RUNNC_TESTS_SECCOMP_PROBE"

// probeControl is the control call: the probe's filter makes getppid fail
// with EHWPOISON, an errno getppid never returns by itself, so seeing it
// proves the filter is installed and deciding.
const (
	probeControl      = syscall.SYS_GETPPID
	probeControlErrno = syscall.Errno(133) // EHWPOISON
	probeActive       = "probe filter active\n"
)

// probeResult is how a probe for one syscall number ended.
type probeResult struct {
	active bool   // the filter was in force (the control call failed as the filter says)
	killed bool   // the probe died by SIGSYS: the filter stopped the call
	how    string // how the probe ended and what it printed, for messages
}

// seccompProbe runs the probe for nr.
func seccompProbe(nr uint64) (probeResult, error) {
	exe, err := os.Executable()
	if err != nil {
		return probeResult{}, err
	}
	cmd := exec.Command(exe, "-test.run=^$")
	// No asynchronous preemption: the runtime signals a thread to preempt
	// it with tgkill(getpid(), ...), and a probe for getpid would die of
	// the runtime's call, not its own.
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", probeEnv, nr), "GODEBUG=asyncpreemptoff=1")
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		return probeResult{}, fmt.Errorf("seccomp probe for %d: %w", nr, err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	// Two lines are enough: the rest is a Go traceback when the call
	// raised a signal the runtime reports (uretprobe's SIGILL).
	lines := strings.SplitAfterN(string(out), "\n", 3)
	r := probeResult{
		active: strings.HasPrefix(string(out), probeActive),
		killed: ws.Signaled() && ws.Signal() == syscall.SIGSYS,
		how:    fmt.Sprintf("%v, output %q", cmd.ProcessState, strings.Join(lines[:min(2, len(lines))], "")),
	}
	return r, nil
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
		retErrno                          = 0x00050000
		prSetNoNewPrivs, seccompSetFilter = 38, 1
		sysSeccomp                        = 317
	)
	filter := []sockFilter{
		{code: ldWAbs, k: 0}, // seccomp_data.nr
		{code: jeqK, jt: 0, jf: 1, k: uint32(nr)},
		{code: retK, k: retKillProcess},
		{code: jeqK, jt: 0, jf: 1, k: probeControl},
		{code: retK, k: retErrno | uint32(probeControlErrno)},
		{code: retK, k: retAllow},
	}
	prog := sockFprog{len: uint16(len(filter)), filter: &filter[0]}
	// The filter goes on this thread only (no TSYNC), the one the probe's
	// goroutine is locked to: the Go runtime's other threads make calls of
	// their own (sysmon, the GC), and a filter on them could kill the
	// probe for a call it never made. KILL_PROCESS still ends the whole
	// process when this thread makes the call.
	runtime.LockOSThread()
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		fmt.Println("prctl:", e)
		os.Exit(2)
	}
	if _, _, e := syscall.RawSyscall(sysSeccomp, seccompSetFilter, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fmt.Println("seccomp:", e)
		os.Exit(2)
	}
	if _, _, e := syscall.RawSyscall(probeControl, 0, 0, 0); e != probeControlErrno {
		fmt.Printf("control call getppid: errno %d, want %d: the filter is not in force\n", e, probeControlErrno)
		os.Exit(2)
	}
	fmt.Print(probeActive)
	r, _, e := syscall.RawSyscall6(uintptr(nr), 0, 0, 0, 0, 0, 0)
	fmt.Printf("survived: %d %d\n", r, e)
	os.Exit(0)
}
