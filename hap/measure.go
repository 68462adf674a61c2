package hap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/bpf"
)

// Options say what Measure traces and for how long.
type Options struct {
	// The target: an existing process and its descendants (Pid), or a
	// command Measure starts (Command, its stdout going to Stdout).
	Pid     int
	Command []string
	Stdout  *os.File
	Name    string // how the target is named in the profile

	// Tracing ends at the first of: the target exits, Duration passes,
	// Load (a shell command, started once tracing is on) ends, ctx is done.
	Duration time.Duration
	Load     string
	// Functions: try the function tracer (the kernel may refuse it).
	Functions bool
}

// Profile is what a sandbox reached in the host kernel during one
// measurement: the three layers, reported separately.
type Profile struct {
	Target string  `json:"target"`
	Pid    int     `json:"pid"`
	Secs   float64 `json:"seconds"`

	// Allowed: the installed filters, decoded.
	Seccomp     Seccomp       `json:"seccomp"`
	Allowed     []AllowedCall `json:"allowed,omitempty"`
	AllowedNote string        `json:"allowed_note,omitempty"` // why Allowed is empty

	// Exercised system calls, by name.
	Syscalls       map[string]int `json:"syscalls"`
	UniqueSyscalls int            `json:"unique_syscalls"`
	// The part of Syscalls made under a seccomp filter (for a tender: the
	// guest's, without the tender's setup before the hand-over).
	UnderFilter  map[string]int `json:"syscalls_under_filter,omitempty"`
	LostSyscalls int64          `json:"lost_syscall_events,omitempty"`

	// Exercised kernel functions, process context only; nil with a note
	// where the kernel refuses function tracing.
	Functions       []string `json:"functions,omitempty"`
	UniqueFunctions int      `json:"unique_functions"`
	FunctionsNote   string   `json:"functions_note,omitempty"`
	LostFunctions   int64    `json:"lost_function_events,omitempty"`

	ExitCode *int `json:"exit_code,omitempty"` // of a command Measure started
}

// LabHint is what a user whose kernel refuses function tracing is told.
const LabHint = "this kernel refuses function tracing (lockdown?); `make hap-lab` measures kernel functions in a VM booted from Debian's kernel"

// Measure traces the target and returns its profile. It needs root.
func Measure(ctx context.Context, o Options) (*Profile, error) {
	if (o.Pid > 0) == (len(o.Command) > 0) {
		return nil, errors.New("measure: give either a pid or a command")
	}
	var launched *Launched
	pid := o.Pid
	if len(o.Command) > 0 {
		out := o.Stdout
		if out == nil {
			out = os.Stderr
		}
		var err error
		if launched, err = Launch(o.Command, os.Stdin, out, os.Stderr); err != nil {
			return nil, err
		}
		pid = launched.Pid
	}
	prof := &Profile{Target: o.Name, Pid: pid}
	if prof.Target == "" {
		prof.Target = fmt.Sprintf("pid %d", pid)
		if launched != nil {
			prof.Target = strings.Join(o.Command, " ")
		}
	}
	// An existing process is looked at before tracing starts, so the
	// moment it is stopped is not part of the trace.
	if launched == nil {
		prof.readAllowed(pid)
	}

	sys, err := TraceSyscalls(pid)
	if err != nil {
		if launched != nil {
			killLaunched(launched)
		}
		return nil, err
	}
	var fns *FunctionTrace
	if o.Functions {
		fns, err = TraceFunctions(pid)
		if err != nil {
			if !errors.Is(err, ErrFunctionTracingRefused) {
				sys.Stop()
				if launched != nil {
					killLaunched(launched)
				}
				return nil, err
			}
			prof.FunctionsNote = fmt.Sprintf("%s (%v)", LabHint, err)
			fns = nil
		}
	} else {
		prof.FunctionsNote = "not measured (function tracing off)"
	}

	start := time.Now()
	var loadErr error
	ended := make(chan struct{})
	var stopWatch func()
	if launched != nil {
		launched.Run()
		go func() {
			<-launched.Done()
			close(ended)
		}()
	} else {
		stopWatch = watchExit(pid, ended)
	}
	var timeout <-chan time.Time
	if o.Duration > 0 {
		timer := time.NewTimer(o.Duration)
		defer timer.Stop()
		timeout = timer.C
	}
	var loadDone chan error
	if o.Load != "" {
		loadDone = make(chan error, 1)
		cmd := exec.CommandContext(ctx, "/bin/sh", "-c", o.Load)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		go func() { loadDone <- cmd.Run() }()
	}
	select {
	case <-ended:
	case <-timeout:
	case <-ctx.Done():
	case loadErr = <-loadDone:
		if loadErr != nil {
			loadErr = fmt.Errorf("load %q: %w", o.Load, loadErr)
		}
	}
	prof.Secs = time.Since(start).Seconds()

	var errs []error
	counts, err := sys.Stop()
	errs = append(errs, err)
	prof.Syscalls, prof.UniqueSyscalls, prof.LostSyscalls = counts, len(counts), sys.Lost()
	prof.UnderFilter = sys.UnderFilter()
	if fns != nil {
		names, err := fns.Stop()
		errs = append(errs, err)
		prof.Functions, prof.UniqueFunctions, prof.LostFunctions = names, len(names), fns.Lost()
	}
	if stopWatch != nil {
		stopWatch()
	}
	if launched != nil {
		// Stopping early (duration, signal) ends the command too.
		killLaunched(launched)
		prof.Seccomp = launched.Seccomp
		prof.setAllowed(launched.Filters, launched.FiltErr)
		code := launched.ExitCode()
		prof.ExitCode = &code
		errs = append(errs, launched.Err)
	}
	errs = append(errs, loadErr)
	return prof, errors.Join(errs...)
}

func killLaunched(l *Launched) {
	select {
	case <-l.Done():
		return
	default:
	}
	l.proc.Signal(os.Kill) // by pidfd where the kernel has them: no pid reuse
	l.Run()                // a command still held at its start must go to die
	<-l.Done()
}

// readAllowed fills the allowed layer from a running process.
func (p *Profile) readAllowed(pid int) {
	s, err := ReadSeccomp(pid)
	if err != nil {
		p.AllowedNote = err.Error()
		return
	}
	p.Seccomp = s
	if s.Mode != 2 {
		p.AllowedNote = "no seccomp filter: every system call is allowed"
		return
	}
	progs, err := ReadFilters(pid)
	p.setAllowed(progs, err)
}

// setAllowed decodes the filters read from the process.
func (p *Profile) setAllowed(progs [][]bpf.RawInstruction, err error) {
	switch {
	case err != nil:
		p.AllowedNote = "filter not readable: " + err.Error()
	case p.Seccomp.Mode != 2 || len(progs) == 0:
		p.AllowedNote = "no seccomp filter: every system call is allowed"
	default:
		if p.Allowed, err = Decode(progs); err != nil {
			p.AllowedNote = "filter not decodable: " + err.Error()
		}
	}
}

// watchExit closes ended when pid is gone (or a zombie), checking every
// 50 ms; the returned func stops watching.
func watchExit(pid int, ended chan struct{}) func() {
	quit := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if !alive(pid) {
					close(ended)
					return
				}
			}
		}
	}()
	return func() { close(quit) }
}

// SyscallNames returns the names of counts, sorted.
func SyscallNames(counts map[string]int) []string {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
