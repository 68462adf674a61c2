package hap

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Per-CPU ring buffer of a syscall trace, in KiB: room for about 100 ms of
// a busy guest's events between two reads.
const bufferKB = 4096

const (
	sysEnterEnable = "events/raw_syscalls/sys_enter/enable"
	forkEnable     = "events/sched/sched_process_fork/enable"
)

// SyscallTrace counts the system calls a process and its descendants make,
// from TraceSyscalls until Stop.
type SyscallTrace struct {
	pid int
	in  *instance

	mu       sync.Mutex
	counts   map[int]int  // by syscall number
	filtered map[int]int  // the calls of tasks under a seccomp filter
	tasks    map[int]bool // tid: under a filter

	once     sync.Once
	result   map[string]int
	underFlt map[string]int
	lost     int64
	err      error
}

// TraceSyscalls starts counting the system calls of pid, its threads, the
// processes descending from it and every process or thread they create
// from now on. It makes a tracefs instance of its own and needs root. Call
// Stop to get the counts and remove the instance.
func TraceSyscalls(pid int) (*SyscallTrace, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("trace syscalls: bad pid %d", pid)
	}
	if _, err := Tasks(pid); err != nil {
		return nil, fmt.Errorf("trace syscalls of %w", err)
	}
	in, err := newInstance(pid)
	if err != nil {
		return nil, err
	}
	t := &SyscallTrace{pid: pid, in: in, counts: map[int]int{},
		filtered: map[int]int{}, tasks: map[int]bool{}}
	if err := t.start(); err != nil {
		in.remove()
		return nil, fmt.Errorf("trace syscalls of pid %d: %w", pid, err)
	}
	return t, nil
}

func (t *SyscallTrace) start() error {
	if err := t.in.write("buffer_size_kb", strconv.Itoa(bufferKB)); err != nil {
		return err
	}
	// Children of traced tasks join set_event_pid as they fork, so a
	// tender's or runtime's helpers are traced too.
	if err := t.in.write("options/event-fork", "1"); err != nil {
		return err
	}
	if err := t.in.setPids("set_event_pid", t.pid); err != nil {
		return err
	}
	// Which tasks are under a filter already; the fork events below
	// tell about their children.
	tids, err := Tasks(t.pid)
	if err != nil {
		return err
	}
	for _, tid := range tids {
		if s, err := ReadSeccomp(tid); err == nil && s.Mode == 2 {
			t.tasks[tid] = true
		}
	}
	if err := t.in.write(forkEnable, "1"); err != nil {
		return err
	}
	if err := t.in.openPipe(t.count); err != nil {
		return err
	}
	return t.in.write(sysEnterEnable, "1")
}

var nrTag = []byte("sys_enter: NR ")

// count adds the sys_enter events in complete lines of trace_pipe text:
//
//	sh-1234  [001] .....  85.123456: sys_enter: NR 59 (55d0..., ...)
func (t *SyscallTrace) count(lines []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	eachLine(lines, func(line []byte) {
		i := bytes.Index(line, nrTag)
		if i < 0 {
			t.fork(line)
			return
		}
		rest := line[i+len(nrTag):]
		j := 0
		for j < len(rest) && (rest[j] == '-' || rest[j] >= '0' && rest[j] <= '9') {
			j++
		}
		nr, err := strconv.Atoi(string(rest[:j]))
		if err != nil {
			return
		}
		t.counts[nr]++
		tid := lineTid(line)
		if t.tasks[tid] {
			t.filtered[nr]++
		} else if installsFilter(nr, rest[j:]) {
			t.tasks[tid] = true // from its next call on
		}
	})
}

var forkTag = []byte("sched_process_fork: ")

// fork handles a sched_process_fork event: a child starts with its
// parent's filters.
//
//	sh-1234  [001] .....  85.1: sched_process_fork: comm=sh pid=1234 child_comm=sh child_pid=1240
func (t *SyscallTrace) fork(line []byte) {
	i := bytes.Index(line, forkTag)
	if i < 0 {
		return
	}
	var parent, child int
	for _, f := range strings.Fields(string(line[i+len(forkTag):])) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "pid":
			parent, _ = strconv.Atoi(v)
		case "child_pid":
			child, _ = strconv.Atoi(v)
		}
	}
	if t.tasks[parent] {
		t.tasks[child] = true
	}
}

// installsFilter says whether call nr with the arguments text of a
// sys_enter event, "(1, 0, 7ffc...)", installs a seccomp filter:
// seccomp(SECCOMP_SET_MODE_FILTER, ...) or prctl(PR_SET_SECCOMP, 2, ...).
func installsFilter(nr int, args []byte) bool {
	a := strings.Split(strings.Trim(strings.TrimSpace(string(args)), "()"), ",")
	arg := func(i int) string {
		if i < len(a) {
			return strings.TrimSpace(a[i])
		}
		return ""
	}
	switch nr {
	case 317: // seccomp
		return arg(0) == "1"
	case 157: // prctl
		return arg(0) == "16" && arg(1) == "2" // PR_SET_SECCOMP (0x16), hex
	}
	return false
}

// lineTid reads the task id of a trace line, "  comm-1234  [001] ...".
func lineTid(line []byte) int {
	i := bytes.Index(line, []byte(" ["))
	if i < 0 {
		return 0
	}
	head := bytes.TrimRight(line[:i], " ")
	j := bytes.LastIndexByte(head, '-')
	if j < 0 {
		return 0
	}
	tid, _ := strconv.Atoi(string(head[j+1:]))
	return tid
}

// Stop ends the trace, removes the tracing instance and returns how many
// times each system call was entered, by name. Stop may be called more
// than once; later calls return the same result.
func (t *SyscallTrace) Stop() (map[string]int, error) {
	t.once.Do(func() {
		var errs []error
		errs = append(errs, t.in.write(sysEnterEnable, "0"), t.in.write(forkEnable, "0"))
		lost, rerr := t.in.stop()
		t.lost = lost
		errs = append(errs, rerr, t.in.remove())
		t.mu.Lock()
		t.result = make(map[string]int, len(t.counts))
		for nr, c := range t.counts {
			t.result[SyscallName(nr)] += c
		}
		t.underFlt = make(map[string]int, len(t.filtered))
		for nr, c := range t.filtered {
			t.underFlt[SyscallName(nr)] += c
		}
		t.mu.Unlock()
		t.err = errors.Join(errs...)
	})
	return t.result, t.err
}

// UnderFilter returns, after Stop, the part of the counts made by tasks
// under a seccomp filter: those filtered when first seen, and the others
// from the call after the one that installed their filter. For a tender,
// that is the guest's calls without the tender's setup.
func (t *SyscallTrace) UnderFilter() map[string]int { return t.underFlt }

// Lost returns how many events the kernel dropped because the reader fell
// behind (valid after Stop). Counts from a trace with losses are lower
// bounds, but every call made often enough to matter still appears.
func (t *SyscallTrace) Lost() int64 { return t.lost }
