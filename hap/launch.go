package hap

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Launched is a command started under ptrace by Launch: held before its
// first instruction until Run, and stopped once more as it exits, when its
// seccomp state and filters are read (a short-lived guest is gone before
// anyone could look at it otherwise).
type Launched struct {
	Pid  int
	proc *os.Process

	run     chan struct{}
	runOnce sync.Once
	done    chan struct{}

	// Valid after Done is closed.
	Status  unix.WaitStatus
	Seccomp Seccomp
	Filters [][]bpf.RawInstruction
	FiltErr error // why Filters could not be read
	Err     error // ptrace failures
}

// Launch starts argv[0] (looked up in PATH) with args argv, the given
// stdio files, stopped after its execve. Call Run to let it go.
func Launch(argv []string, stdin, stdout, stderr *os.File) (*Launched, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("launch: no command")
	}
	path, err := lookPath(argv[0])
	if err != nil {
		return nil, err
	}
	l := &Launched{run: make(chan struct{}), done: make(chan struct{})}
	started := make(chan error, 1)
	go l.tracer(path, argv, []*os.File{stdin, stdout, stderr}, started)
	if err := <-started; err != nil {
		return nil, err
	}
	return l, nil
}

// Run lets the launched command run.
func (l *Launched) Run() { l.runOnce.Do(func() { close(l.run) }) }

// Done is closed when the command has exited.
func (l *Launched) Done() <-chan struct{} { return l.done }

// tracer owns the child: ptrace requests must come from the thread that
// became its tracer, so this goroutine never leaves its OS thread.
func (l *Launched) tracer(path string, argv []string, files []*os.File, started chan<- error) {
	runtime.LockOSThread()
	defer close(l.done)
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Files: files, Sys: &syscall.SysProcAttr{Ptrace: true}})
	if err != nil {
		started <- fmt.Errorf("start %s: %w", argv[0], err)
		return
	}
	l.Pid, l.proc = p.Pid, p
	var ws unix.WaitStatus
	if _, err := unix.Wait4(l.Pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		started <- fmt.Errorf("start %s: no stop after exec (%v, status %v)", argv[0], err, ws)
		return
	}
	opts := unix.PTRACE_O_TRACEEXIT | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_EXITKILL
	if err := unix.PtraceSetOptions(l.Pid, opts); err != nil {
		unix.Kill(l.Pid, unix.SIGKILL)
		started <- fmt.Errorf("ptrace options of %s: %w", argv[0], err)
		return
	}
	started <- nil
	<-l.run
	sig := 0
	for {
		if err := unix.PtraceCont(l.Pid, sig); err != nil && err != unix.ESRCH {
			l.Err = fmt.Errorf("ptrace continue %d: %w", l.Pid, err)
		}
		sig = 0
		if _, err := unix.Wait4(l.Pid, &ws, unix.WALL, nil); err != nil {
			if err == unix.EINTR {
				continue
			}
			l.Err = fmt.Errorf("wait for %d: %w", l.Pid, err)
			return
		}
		switch {
		case ws.Exited() || ws.Signaled():
			l.Status = ws
			return
		case !ws.Stopped():
		case ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_EXIT:
			// Still whole: memory, filters and status are all there.
			l.Seccomp, _ = ReadSeccomp(l.Pid)
			l.Filters, l.FiltErr = filtersOfStopped(l.Pid)
		case ws.StopSignal() == unix.SIGTRAP && ws.TrapCause() != 0:
			// exec and other events: nothing to deliver
		default:
			sig = int(ws.StopSignal())
		}
	}
}

// ExitCode is the command's exit status as a shell reports it (128+N for
// a signal).
func (l *Launched) ExitCode() int {
	if l.Status.Signaled() {
		return 128 + int(l.Status.Signal())
	}
	return l.Status.ExitStatus()
}

func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("launch: %w", err)
	}
	return p, nil
}
