package hap

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the traced child: with HAP_TEST_CHILD set it
// waits for a byte on stdin (so tracing is on before it acts), calls
// getpriority(2) childCalls times, runs /bin/true (a grandchild, which
// calls execve) and exits.
const childCalls = 100

func TestMain(m *testing.M) {
	if os.Getenv("HAP_TEST_CHILD") == "1" {
		var b [1]byte
		os.Stdin.Read(b[:])
		for i := 0; i < childCalls; i++ {
			unix.Getpriority(unix.PRIO_PROCESS, 0)
		}
		if err := exec.Command("/bin/true").Run(); err != nil {
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSyscallName(t *testing.T) {
	for nr, want := range map[int]string{
		0: "read", 1: "write", 17: "pread64", 18: "pwrite64", 59: "execve",
		228: "clock_gettime", 231: "exit_group", 271: "ppoll", 469: "file_setattr",
		-1: "sys_-1", 100000: "sys_100000",
	} {
		if got := SyscallName(nr); got != want {
			t.Errorf("SyscallName(%d) = %q, want %q", nr, got, want)
		}
	}
}

// needRoot fails the test without root (tracefs): a skip would let a run
// without root pass while testing nothing.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root (tracefs): run make test as root")
	}
}

func TestTraceSyscalls(t *testing.T) {
	needRoot(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "HAP_TEST_CHILD=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()

	tr, err := TraceSyscalls(child.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Stop()
	instance := tr.in.dir
	if _, err := os.Stat(instance); err != nil {
		t.Fatalf("instance: %v", err)
	}
	stdin.Write([]byte{1})
	if err := child.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	// The child is gone; what this process does now must not be counted.
	for i := 0; i < 1000; i++ {
		unix.Getpriority(unix.PRIO_PROCESS, 0)
	}

	counts, err := tr.Stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counts: %v (lost %d)", counts, tr.Lost())
	if tr.Lost() != 0 {
		t.Fatalf("lost %d events", tr.Lost())
	}
	if got := counts["getpriority"]; got != childCalls {
		t.Errorf("getpriority counted %d times, want %d (the child's calls only)", got, childCalls)
	}
	// Only the grandchild execs after tracing starts: seeing execve shows
	// forks are followed.
	if counts["execve"] == 0 {
		t.Error("no execve: the grandchild was not followed")
	}
	if counts["exit_group"] == 0 {
		t.Error("no exit_group")
	}
	if _, err := os.Stat(instance); !os.IsNotExist(err) {
		t.Errorf("instance %s not removed: %v", instance, err)
	}
	again, err := tr.Stop()
	if err != nil || again["getpriority"] != childCalls {
		t.Errorf("second Stop = %v, %v", again, err)
	}
}

func TestTraceSyscallsNoProcess(t *testing.T) {
	needRoot(t)
	before := instances(t)
	if _, err := TraceSyscalls(1 << 30); err == nil {
		t.Fatal("traced a pid that does not exist")
	}
	if after := instances(t); after != before {
		t.Errorf("instances changed: %q -> %q", before, after)
	}
}

func instances(t *testing.T) string {
	entries, err := os.ReadDir(filepath.Join(TracefsDir, "instances"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
