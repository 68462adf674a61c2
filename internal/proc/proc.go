// Package proc reads what tests need from /proc about a running process.
package proc

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUTime is the user plus system CPU time of process pid so far, from
// /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s). A process
// that spins shows as CPU time close to the wall time it ran.
func CPUTime(pid int) (time.Duration, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	utime, err1 := strconv.ParseUint(f[14], 10, 64)
	stime, err2 := strconv.ParseUint(f[15], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q", pid, f[14], f[15])
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// stat reads /proc/PID/stat into its fields, numbered as in proc(5): f[1]
// is the pid, f[2] the command (which may hold spaces), f[3] the state.
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return nil, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	f := append([]string{"", strings.TrimSpace(s[:open]), s[open+1 : end]}, strings.Fields(s[end+1:])...)
	if len(f) < 16 {
		return nil, fmt.Errorf("/proc/%d/stat: %q", pid, s)
	}
	return f, nil
}

// Faults is the number of minor and major page faults process pid has
// taken so far, from /proc/PID/stat (fields 10 and 12): faults in the
// kernel's own accesses to the process's memory (copying a read() into
// it) count as well as the process's.
func Faults(pid int) (minor, major uint64, err error) {
	f, err := stat(pid)
	if err != nil {
		return 0, 0, err
	}
	minor, err1 := strconv.ParseUint(f[10], 10, 64)
	major, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: minflt %q, majflt %q", pid, f[10], f[12])
	}
	return minor, major, nil
}

// StatusKiB is the value in KiB of a "Name:   N kB" line of
// /proc/PID/status (VmRSS, RssShmem, ...).
func StatusKiB(pid int, name string) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				return strconv.ParseUint(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s in kB", pid, name)
}
