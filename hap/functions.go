package hap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrFunctionTracingRefused is returned (wrapped) by TraceFunctions when
// the kernel has no function tracer or refuses it, as kernels in lockdown
// (confidentiality) do.
var ErrFunctionTracingRefused = errors.New("the kernel refuses function tracing")

// Per-CPU ring buffer of a function trace, in KiB.
const functionBufferKB = 16384

// How often functions already seen are added to set_ftrace_notrace. Each
// update patches the kernel's text (stop_machine), so batch them; until
// then a function keeps producing events, which only cost reading.
const notraceEvery = 300 * time.Millisecond

// FunctionTrace collects the kernel functions a process and its
// descendants run in process context, from TraceFunctions until Stop.
type FunctionTrace struct {
	pid int
	in  *instance

	mu      sync.Mutex
	seen    map[string]bool // process context, "name" or "name [module]"
	pending []string        // seen, not yet in set_ftrace_notrace

	quit    chan struct{}
	updater chan struct{} // closed when the notrace updater ended

	once   sync.Once
	result []string
	lost   int64
	err    error
}

// TraceFunctions starts the function tracer of a tracefs instance of its
// own on pid's threads, its descendants and (function-fork) every task
// they create. Work done in hardirq, softirq or NMI context while one of
// them is on a CPU is left out: it is the kernel's, not the workload's.
// Each function is counted once: as soon as it has been seen it is put in
// set_ftrace_notrace, so the trace shrinks to what is new.
func TraceFunctions(pid int) (*FunctionTrace, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("trace functions: bad pid %d", pid)
	}
	if _, err := Tasks(pid); err != nil {
		return nil, fmt.Errorf("trace functions of %w", err)
	}
	in, err := newInstance(pid)
	if err != nil {
		return nil, err
	}
	t := &FunctionTrace{pid: pid, in: in, seen: map[string]bool{},
		quit: make(chan struct{}), updater: make(chan struct{})}
	if err := t.start(); err != nil {
		if errors.Is(err, os.ErrPermission) && !errors.Is(err, ErrFunctionTracingRefused) {
			// Lockdown refuses the function tracer's files to root too.
			err = fmt.Errorf("%w: %v", ErrFunctionTracingRefused, err)
		}
		in.write("current_tracer", "nop")
		in.remove()
		return nil, fmt.Errorf("trace functions of pid %d: %w", pid, err)
	}
	go t.updateNotrace()
	return t, nil
}

func (t *FunctionTrace) start() error {
	avail, err := os.ReadFile(filepath.Join(t.in.dir, "available_tracers"))
	if err != nil {
		return err
	}
	if !strings.Contains(" "+strings.TrimSpace(string(avail))+" ", " function ") {
		return fmt.Errorf("%w: no function tracer in %s", ErrFunctionTracingRefused, strings.TrimSpace(string(avail)))
	}
	steps := []struct{ file, value string }{
		{"buffer_size_kb", strconv.Itoa(functionBufferKB)},
		{"options/function-fork", "1"},
		// The context flags (h, s, z) tell interrupt work apart.
		{"options/irq-info", "1"},
	}
	for _, s := range steps {
		if err := t.in.write(s.file, s.value); err != nil {
			return err
		}
	}
	if err := t.in.setPids("set_ftrace_pid", t.pid); err != nil {
		return err
	}
	// The tracer first: the kernel will not change it while trace_pipe is
	// open (EBUSY).
	if err := t.in.write("current_tracer", "function"); err != nil {
		return fmt.Errorf("%w: %v", ErrFunctionTracingRefused, err)
	}
	return t.in.openPipe(t.collect)
}

// collect takes the functions out of complete lines of trace_pipe text:
//
//	redis-server-231  [001] ...1.  42.1: tcp_sendmsg <-inet_sendmsg
//	redis-server-231  [000] ..s1.  42.2: net_rx_action <-handle_softirqs
//	   nginx-77  [001] ...1.  42.3: tun_get_user [tun] <-tun_chr_write_iter [tun]
//
// The third flag is the context: '.' process, 'h'/'H' hardirq, 's'
// softirq, 'z'/'Z' NMI.
func (t *FunctionTrace) collect(lines []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	eachLine(lines, func(line []byte) {
		name, ok := parseFunctionLine(line)
		if !ok || t.seen[name] {
			return
		}
		t.seen[name] = true
		t.pending = append(t.pending, name)
	})
}

// parseFunctionLine returns the function of one function-tracer line, or
// false for a line that is not one, or is interrupt work.
func parseFunctionLine(line []byte) (string, bool) {
	i := bytes.Index(line, []byte("] "))
	if i < 0 {
		return "", false
	}
	rest := bytes.TrimLeft(line[i+2:], " ")
	sp := bytes.IndexByte(rest, ' ')
	if sp < 3 {
		return "", false
	}
	if flags := rest[:sp]; bytes.ContainsAny(flags[2:3], "hHsSzZ") {
		return "", false
	}
	j := bytes.Index(rest, []byte(": "))
	if j < 0 {
		return "", false
	}
	fn := rest[j+2:]
	if k := bytes.Index(fn, []byte(" <-")); k >= 0 {
		fn = fn[:k]
	}
	fn = bytes.TrimSpace(fn)
	if len(fn) == 0 || bytes.HasPrefix(fn, []byte("<")) {
		return "", false
	}
	return string(fn), true
}

// updateNotrace moves the functions seen into set_ftrace_notrace, in
// batches, until Stop. They are written by index in
// available_filter_functions (1-based), which the kernel looks up
// directly: by name, each one costs a walk over every traceable function
// with a symbol lookup for each, which takes seconds in an emulated VM.
func (t *FunctionTrace) updateNotrace() {
	defer close(t.updater)
	index, err := filterIndex(filepath.Join(t.in.dir, "available_filter_functions"))
	if err != nil {
		return // the trace still works, with more events
	}
	tick := time.NewTicker(notraceEvery)
	defer tick.Stop()
	checked := false
	for {
		select {
		case <-t.quit:
			return
		case <-tick.C:
		}
		t.mu.Lock()
		batch := t.pending
		t.pending = nil
		t.mu.Unlock()
		var idx []string
		for _, n := range batch {
			for _, i := range index[n] {
				idx = append(idx, strconv.Itoa(i))
			}
		}
		if len(idx) == 0 {
			continue
		}
		path := filepath.Join(t.in.dir, "set_ftrace_notrace")
		if err := writeFile(path, strings.Join(idx, " "), true); err != nil {
			return // a kernel without index writes: go on without
		}
		if !checked {
			// Once: the kernel must have taken exactly what was seen, or
			// the indexes do not mean what we think, and a function never
			// seen could be hidden. Then undo and go on without.
			checked = true
			if !t.notraceMatches(path) {
				writeFile(path, "", false)
				return
			}
		}
	}
}

// notraceMatches says whether every function in set_ftrace_notrace has
// been seen.
func (t *FunctionTrace) notraceMatches(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ok := true
	eachLine(data, func(line []byte) {
		name := string(bytes.TrimSpace(line))
		if name != "" && !strings.HasPrefix(name, "#") && !t.seen[name] {
			ok = false
		}
	})
	return ok
}

// filterIndex maps each function of available_filter_functions ("name" or
// "name [module]", as the trace prints them) to its line numbers.
func filterIndex(path string) (map[string][]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	index := map[string][]int{}
	n := 0
	eachLine(data, func(line []byte) {
		n++
		name := string(bytes.TrimSpace(line))
		index[name] = append(index[name], n)
	})
	return index, nil
}

// Stop ends the trace, removes the instance and returns the functions seen
// in process context, sorted; module functions carry " [module]". Stop
// may be called more than once.
func (t *FunctionTrace) Stop() ([]string, error) {
	t.once.Do(func() {
		close(t.quit)
		<-t.updater
		var errs []error
		errs = append(errs, t.in.write("current_tracer", "nop"))
		lost, rerr := t.in.stop()
		t.lost = lost
		errs = append(errs, rerr, t.in.remove())
		t.mu.Lock()
		for n := range t.seen {
			t.result = append(t.result, n)
		}
		t.mu.Unlock()
		sort.Strings(t.result)
		t.err = errors.Join(errs...)
	})
	return t.result, t.err
}

// Lost returns how many events the kernel dropped (valid after Stop). With
// seen functions filtered out, a loss can only hide a function that ran
// seldom, so a trace with losses gives a lower bound.
func (t *FunctionTrace) Lost() int64 { return t.lost }
