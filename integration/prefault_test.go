package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/internal/proc"
)

// TestMemPrefault: with --mem-prefault all of guest memory is resident
// when the guest starts, and a kv guest storing 5 MB of new values takes
// no page fault, so the host's page-fault path is out of its reach (the
// HAP lab counts the functions that removes: make hap-lab, the
// kv-prefault row). The same load on a guest without the option faults
// pages in as it stores them, which shows the count can see them.
func TestMemPrefault(t *testing.T) {
	const memMiB = 64
	for _, c := range []struct {
		name string
		opts []string
	}{
		{"on-demand", []string{"--mem=64"}},
		{"prefault", []string{"--mem=64", "--mem-prefault"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startKV(t, c.opts...)
			pid := e.guest.Pid
			shmem, err := proc.StatusKiB(pid, "RssShmem")
			if err != nil {
				t.Fatal(err)
			}
			min0, maj0, err := proc.Faults(pid)
			if err != nil {
				t.Fatal(err)
			}
			// 8000 SETs of 1 KiB values on keys drawn from 8000: about
			// 5000 keys and 5 MB stored, far beyond what booting touched.
			out := kvRun(t, e.net.InClient("redis-benchmark", "-h", e.net.GuestIP, "-p", "6379",
				"-n", "8000", "-c", "1", "-r", "8000", "-d", "1024", "-t", "set", "-q"), nil, 2*time.Minute)
			if !strings.Contains(string(out), "SET:") {
				t.Fatalf("redis-benchmark: %q", out)
			}
			min1, maj1, err := proc.Faults(pid)
			if err != nil {
				t.Fatal(err)
			}
			used, err := proc.StatusKiB(pid, "RssShmem")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("guest memory resident at start %d KiB, after the load %d KiB; page faults during the load: %d minor, %d major",
				shmem, used, min1-min0, maj1-maj0)
			if c.name == "prefault" {
				// All but the first 64 KiB (below the boot info, never mapped).
				if shmem < memMiB<<10-64 {
					t.Errorf("RssShmem at start is %d KiB, want all %d MiB of guest memory resident", shmem, memMiB)
				}
				if min1 != min0 || maj1 != maj0 {
					t.Errorf("the guest took %d minor and %d major page faults while storing 5 MB, want none", min1-min0, maj1-maj0)
				}
			} else {
				if shmem >= memMiB<<10 {
					t.Errorf("RssShmem at start is %d KiB without --mem-prefault, want guest memory touched on demand", shmem)
				}
				if min1-min0 < 500 {
					t.Errorf("the guest took %d page faults while storing 5 MB on demand, want about one a page (1200)", min1-min0)
				}
			}
		})
	}
}
