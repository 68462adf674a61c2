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

// How long the reader sleeps when trace_pipe is empty. trace_pipe's poll
// waits for the buffer to be buffer_percent full, so sleeping is simpler
// and cheaper than blocking.
const idleSleep = 20 * time.Millisecond

var instanceSeq atomic.Int64

// instance is a tracefs instance of our own and the goroutine that feeds
// the complete lines of its trace_pipe to a handler.
type instance struct {
	dir  string
	pipe int // trace_pipe, non-blocking

	stopping atomic.Bool
	done     chan struct{}
	rerr     error // from the reader, valid after done
}

// newInstance makes the tracefs instance "runnc-PID-N" (mounting tracefs
// at TracefsDir if needed, which stays mounted as on a stock system).
func newInstance(pid int) (*instance, error) {
	root, err := tracefs()
	if err != nil {
		return nil, err
	}
	for {
		dir := filepath.Join(root, "instances", fmt.Sprintf("runnc-%d-%d", pid, instanceSeq.Add(1)))
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return &instance{dir: dir, pipe: -1, done: make(chan struct{})}, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("make tracing instance: %w", err)
		}
	}
}

// write writes value to the instance's control file rel.
func (in *instance) write(rel, value string) error {
	return writeFile(filepath.Join(in.dir, rel), value, false)
}

// setPids writes the thread ids of pid and all its descendants to the pid
// filter file rel (set_event_pid, set_ftrace_pid). Threads created while
// doing so are caught by a second look at /proc; later ones follow by
// themselves once the fork option is on, which the caller sets first.
func (in *instance) setPids(rel string, pid int) error {
	path := filepath.Join(in.dir, rel)
	seen := map[int]bool{}
	for pass := 0; pass < 2; pass++ {
		tids, err := Tasks(pid)
		if err != nil {
			return err
		}
		var add []string
		for _, t := range tids {
			if !seen[t] {
				seen[t] = true
				add = append(add, strconv.Itoa(t))
			}
		}
		if len(add) == 0 {
			break
		}
		if err := writeFile(path, strings.Join(add, " "), pass > 0); err != nil {
			return err
		}
	}
	return nil
}

// openPipe opens trace_pipe and starts feeding complete lines of it to
// handle, from one goroutine, until stop.
func (in *instance) openPipe(handle func(lines []byte)) error {
	fd, err := unix.Open(filepath.Join(in.dir, "trace_pipe"), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s/trace_pipe: %w", in.dir, err)
	}
	in.pipe = fd
	go in.read(handle)
	return nil
}

// read consumes trace_pipe until stop asks it to finish and the pipe is
// drained.
func (in *instance) read(handle func([]byte)) {
	defer close(in.done)
	buf := make([]byte, 256*1024)
	var partial []byte
	for {
		n, err := unix.Read(in.pipe, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN || (err == nil && n == 0):
			if in.stopping.Load() {
				return
			}
			time.Sleep(idleSleep)
			continue
		case err != nil:
			in.rerr = fmt.Errorf("read %s/trace_pipe: %w", in.dir, err)
			return
		}
		data := append(partial, buf[:n]...)
		last := bytes.LastIndexByte(data, '\n')
		if last < 0 {
			partial = data
			continue
		}
		handle(data[:last+1])
		partial = append([]byte(nil), data[last+1:]...)
	}
}

// stop waits for the reader to drain the pipe (the caller has turned
// tracing off) and returns how many events were lost and the reader's
// error.
func (in *instance) stop() (lost int64, err error) {
	if in.pipe >= 0 {
		in.stopping.Store(true)
		<-in.done
	}
	return lostEvents(in.dir), in.rerr
}

// remove closes trace_pipe and removes the instance; the kernel refuses
// the rmdir while files of the instance are open or a tracer is on, so
// close first and retry a little.
func (in *instance) remove() error {
	if in.pipe >= 0 {
		unix.Close(in.pipe)
		in.pipe = -1
	}
	var err error
	for i := 0; i < 50; i++ {
		err = unix.Rmdir(in.dir)
		if err != unix.EBUSY {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove tracing instance %s: %w", in.dir, err)
	}
	return nil
}

// eachLine calls fn for every line of complete trace_pipe text.
func eachLine(lines []byte, fn func(line []byte)) {
	for len(lines) > 0 {
		end := bytes.IndexByte(lines, '\n')
		if end < 0 {
			end = len(lines)
		}
		fn(lines[:end])
		if end == len(lines) {
			return
		}
		lines = lines[end+1:]
	}
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
