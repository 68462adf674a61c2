package integration

import (
	"testing"

	"github.com/runnc/runnc/hap"
)

// theSeven are the only syscalls a guest may make (DESIGN.md). Written out
// here rather than taken from the tender, so a call wrongly added to the
// tender's table would fail these tests.
var theSeven = map[string]bool{"read": true, "write": true, "pread64": true,
	"pwrite64": true, "ppoll": true, "clock_gettime": true, "exit_group": true}

// checkOnlySeven fails the test if a traced guest made a syscall outside
// the seven, or none of mustSee (the calls its workload cannot do without:
// their absence would mean the trace saw nothing).
func checkOnlySeven(t *testing.T, counts map[string]int, mustSee ...string) {
	t.Helper()
	for name, n := range counts {
		if !theSeven[name] {
			t.Errorf("guest made %s (%d times), outside the seven", name, n)
		}
	}
	for _, name := range mustSee {
		if counts[name] == 0 {
			t.Errorf("no %s in the guest's trace: %v", name, counts)
		}
	}
}

// traceTries bounds how often traceOnlySeven runs a workload whose trace
// lost events.
const traceTries = 3

// traceOnlySeven traces the guest's syscalls (hap) while work runs and
// checks them with checkOnlySeven. A trace that lost events proves nothing
// about the calls it lost, so work runs again until a trace loses none, up
// to traceTries times; if every trace lost events the test fails. A call
// outside the seven fails the test even in a trace with losses. work must
// be repeatable.
func traceOnlySeven(t *testing.T, pid int, work func(), mustSee ...string) {
	t.Helper()
	for try := 1; ; try++ {
		counts, lost := trace(t, pid, work)
		t.Logf("guest syscalls, trace %d: %v (lost events: %d)", try, counts, lost)
		if lost == 0 {
			checkOnlySeven(t, counts, mustSee...)
			return
		}
		checkOnlySeven(t, counts)
		if try == traceTries {
			t.Fatalf("all %d traces of the guest lost events (the last %d): which calls it made is not known", try, lost)
		}
	}
}

// trace returns the syscalls the guest made while work ran and how many
// events the trace lost. The trace ends even if work ends the test.
func trace(t *testing.T, pid int, work func()) (map[string]int, int64) {
	t.Helper()
	tr, err := hap.TraceSyscalls(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	work()
	counts, err := tr.Stop()
	if err != nil {
		t.Fatal(err)
	}
	return counts, tr.Lost()
}
