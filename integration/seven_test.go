package integration

import "testing"

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
