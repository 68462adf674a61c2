package hap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// TracefsDir is where tracefs is (or is mounted when it is not).
const TracefsDir = "/sys/kernel/tracing"

// Per-CPU ring buffer of an instance, in KiB: room for about 100 ms of a
// busy guest's events between two reads.
const bufferKB = 4096

// How long the reader sleeps when trace_pipe is empty. trace_pipe's poll
// waits for the buffer to be buffer_percent full, so sleeping is simpler
// and cheaper than blocking.
const idleSleep = 20 * time.Millisecond

var instanceSeq atomic.Int64

// SyscallTrace counts the system calls a process and its descendants make,
// from TraceSyscalls until Stop.
type SyscallTrace struct {
	pid  int
	dir  string // the tracefs instance
	pipe int    // trace_pipe, non-blocking

	stopping atomic.Bool
	done     chan struct{}

	mu     sync.Mutex
	counts map[int]int // by syscall number
	rerr   error       // from the reader

	once   sync.Once
	result map[string]int
	lost   int64
	err    error
}

// TraceSyscalls starts counting the system calls of pid, its threads and
// every process or thread they create from now on. It makes a tracefs
// instance "runnc-PID-N" (mounting tracefs at TracefsDir if needed, which
// stays mounted as on a stock system) and needs root. Call Stop to get the
// counts and remove the instance.
func TraceSyscalls(pid int) (*SyscallTrace, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("trace syscalls: bad pid %d", pid)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
		return nil, fmt.Errorf("trace syscalls of pid %d: %w", pid, err)
	}
	root, err := tracefs()
	if err != nil {
		return nil, err
	}
	dir, err := makeInstance(root, pid)
	if err != nil {
		return nil, err
	}
	t := &SyscallTrace{pid: pid, dir: dir, pipe: -1, done: make(chan struct{}), counts: map[int]int{}}
	if err := t.start(); err != nil {
		t.cleanup()
		return nil, fmt.Errorf("trace syscalls of pid %d: %w", pid, err)
	}
	go t.read()
	return t, nil
}

func (t *SyscallTrace) start() error {
	steps := []struct{ file, value string }{
		{"buffer_size_kb", strconv.Itoa(bufferKB)},
		// Children of traced tasks join set_event_pid as they fork, so a
		// tender's or runtime's helpers are traced too.
		{"options/event-fork", "1"},
	}
	for _, s := range steps {
		if err := writeFile(filepath.Join(t.dir, s.file), s.value, false); err != nil {
			return err
		}
	}
	if err := t.setPids(); err != nil {
		return err
	}
	fd, err := unix.Open(filepath.Join(t.dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s/trace_pipe: %w", t.dir, err)
	}
	t.pipe = fd
	return writeFile(filepath.Join(t.dir, "events/raw_syscalls/sys_enter/enable"), "1", false)
}

// setPids puts pid and all its threads in set_event_pid. Threads created
// while doing so are caught by a second look at /proc (event-fork is
// already on, so later ones follow by themselves).
func (t *SyscallTrace) setPids() error {
	path := filepath.Join(t.dir, "set_event_pid")
	if err := writeFile(path, strconv.Itoa(t.pid), false); err != nil {
		return err
	}
	seen := map[string]bool{strconv.Itoa(t.pid): true}
	for pass := 0; pass < 2; pass++ {
		tids, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", t.pid))
		if err != nil {
			return fmt.Errorf("list threads: %w", err)
		}
		var add []string
		for _, e := range tids {
			if !seen[e.Name()] {
				seen[e.Name()] = true
				add = append(add, e.Name())
			}
		}
		if len(add) == 0 {
			break
		}
		if err := writeFile(path, strings.Join(add, " "), true); err != nil {
			return err
		}
	}
	return nil
}

// read consumes trace_pipe until Stop asks it to finish and the pipe is
// drained.
func (t *SyscallTrace) read() {
	defer close(t.done)
	buf := make([]byte, 64*1024)
	var partial []byte
	for {
		n, err := unix.Read(t.pipe, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || (err == nil && n == 0):
			if t.stopping.Load() {
				return
			}
			time.Sleep(idleSleep)
			continue
		case err != nil:
			t.mu.Lock()
			t.rerr = fmt.Errorf("read %s/trace_pipe: %w", t.dir, err)
			t.mu.Unlock()
			return
		}
		data := append(partial, buf[:n]...)
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			partial = data
			continue
		}
		t.count(data[:last+1])
		partial = append([]byte(nil), data[last+1:]...)
	}
}

var nrTag = []byte("sys_enter: NR ")

// count adds the sys_enter events in complete lines of trace_pipe text:
//
//	sh-1234  [001] .....  85.123456: sys_enter: NR 59 (55d0..., ...)
func (t *SyscallTrace) count(lines []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(lines) > 0 {
		end := bytes.IndexByte(lines, '\n')
		line := lines[:end]
		lines = lines[end+1:]
		i := bytes.Index(line, nrTag)
		if i < 0 {
			continue
		}
		rest := line[i+len(nrTag):]
		j := 0
		for j < len(rest) && (rest[j] == '-' || rest[j] >= '0' && rest[j] <= '9') {
			j++
		}
		nr, err := strconv.Atoi(string(rest[:j]))
		if err != nil {
			continue
		}
		t.counts[nr]++
	}
}

// Stop ends the trace, removes the tracing instance and returns how many
// times each system call was entered, by name. Stop may be called more
// than once; later calls return the same result.
func (t *SyscallTrace) Stop() (map[string]int, error) {
	t.once.Do(func() {
		var errs []error
		if err := writeFile(filepath.Join(t.dir, "events/raw_syscalls/sys_enter/enable"), "0", false); err != nil {
			errs = append(errs, err)
		}
		t.stopping.Store(true)
		<-t.done
		t.lost = lostEvents(t.dir)
		errs = append(errs, t.cleanup())
		t.mu.Lock()
		errs = append(errs, t.rerr)
		t.result = make(map[string]int, len(t.counts))
		for nr, c := range t.counts {
			t.result[SyscallName(nr)] += c
		}
		t.mu.Unlock()
		t.err = errors.Join(errs...)
	})
	return t.result, t.err
}

// Lost returns how many events the kernel dropped because the reader fell
// behind (valid after Stop). Counts from a trace with losses are lower
// bounds, but every call made often enough to matter still appears.
func (t *SyscallTrace) Lost() int64 { return t.lost }

// cleanup closes trace_pipe and removes the instance; the kernel refuses
// the rmdir while files of the instance are open, so close first.
func (t *SyscallTrace) cleanup() error {
	if t.pipe >= 0 {
		unix.Close(t.pipe)
		t.pipe = -1
	}
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(t.dir)
		if err != unix.EBUSY {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove tracing instance %s: %w", t.dir, err)
	}
	return nil
}

// lostEvents sums the overrun and dropped counters of every CPU's buffer.
func lostEvents(dir string) int64 {
	stats, _ := filepath.Glob(filepath.Join(dir, "per_cpu", "cpu*", "stats"))
	var lost int64
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || (k != "overrun" && k != "dropped events") {
				continue
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				lost += n
			}
		}
	}
	return lost
}

var mountOnce sync.Mutex

// tracefs returns the tracefs root, mounting it at TracefsDir if it is not
// mounted there yet.
func tracefs() (string, error) {
	mountOnce.Lock()
	defer mountOnce.Unlock()
	if _, err := os.Stat(filepath.Join(TracefsDir, "instances")); err == nil {
		return TracefsDir, nil
	}
	if err := unix.Mount("tracefs", TracefsDir, "tracefs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return "", fmt.Errorf("mount tracefs on %s: %w (needs root and CONFIG_TRACING)", TracefsDir, err)
	}
	if _, err := os.Stat(filepath.Join(TracefsDir, "instances")); err != nil {
		return "", fmt.Errorf("tracefs on %s has no instances: %w", TracefsDir, err)
	}
	return TracefsDir, nil
}

func makeInstance(root string, pid int) (string, error) {
	for {
		dir := filepath.Join(root, "instances", fmt.Sprintf("runnc-%d-%d", pid, instanceSeq.Add(1)))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("make tracing instance: %w", err)
		}
	}
}

// writeFile writes value to a tracefs control file in one write(2), as
// tracefs parses each write on its own.
func writeFile(path, value string, appendTo bool) error {
	flags := os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write([]byte(value + "\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}
