package proc

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// The fields come from the right places: this process's CPU time grows
// by what it spins, its minor faults by the pages it first touches, and
// its resident memory is reported.
func TestSelf(t *testing.T) {
	pid := os.Getpid()
	cpu0, err := CPUTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until CPUTime shows 100 ms more (a busy machine gives this
	// process less than its wall time); it must not show more CPU than
	// the wall time times the CPUs.
	start := time.Now()
	var cpu1 time.Duration
	for cpu1-cpu0 < 100*time.Millisecond {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("CPUTime grew by %v in 20 s of spinning", cpu1-cpu0)
		}
		for end := time.Now().Add(10 * time.Millisecond); time.Now().Before(end); {
		}
		if cpu1, err = CPUTime(pid); err != nil {
			t.Fatal(err)
		}
	}
	if d, most := cpu1-cpu0, time.Since(start)*time.Duration(runtime.NumCPU())+20*time.Millisecond; d > most {
		t.Errorf("CPUTime grew by %v in %v of wall time", d, time.Since(start))
	}

	min0, _, err := Faults(pid)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh private mapping: no page of it is touched before the loop,
	// whatever the Go heap kept from earlier runs.
	buf, err := syscall.Mmap(-1, 0, 64<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(buf)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	min1, _, err := Faults(pid)
	if err != nil {
		t.Fatal(err)
	}
	// One fault a page, or one per huge page where THP backs the heap.
	if d := min1 - min0; d < 32 {
		t.Errorf("%d minor faults touching 64 MiB of fresh memory", d)
	}
	if rss, err := StatusKiB(pid, "VmRSS"); err != nil || rss < 64<<10 {
		t.Errorf("VmRSS %d KiB, %v; want at least the 64 MiB just touched", rss, err)
	}
	if _, err := StatusKiB(pid, "NoSuchField"); err == nil {
		t.Error("StatusKiB of a missing field gave no error")
	}
}
