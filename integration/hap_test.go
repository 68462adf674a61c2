package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/hap"
	"github.com/runnc/runnc/integration/testnet"
)

// TestHAPGate is the attack-profile regression gate: the tender's policies
// and the system calls hello, kv under redis-benchmark and httpd under wrk
// make (host, tracefs) must stay within hap/baseline.json, and so must the
// unikernels' kernel function counts of a lab run (make hap-lab) when
// build/hap holds one. Profiles of the host runs go to build/hap/host-*.json
// for make hap-report.
func TestHAPGate(t *testing.T) {
	testnet.NeedRoot(t)
	root, err := testnet.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	base, err := hap.ReadBaseline(filepath.Join(root, "hap", "baseline.json"))
	if err != nil {
		t.Fatal(err)
	}
	tender := testnet.BuildOutput(t, "build/bin/runnc-spt")
	out := filepath.Join(root, "build", "hap")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	gate := func(t *testing.T, workload, guest string, p *hap.Profile) {
		t.Helper()
		for _, g := range base.CheckProfile(workload, guest, p) {
			t.Errorf("grew: %s", g)
		}
		data, _ := json.MarshalIndent(p, "", "  ")
		os.WriteFile(filepath.Join(out, "host-"+workload+".json"), data, 0o644)
	}

	t.Run("policies", func(t *testing.T) {
		n, err := testnet.New("hg")
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		img := filepath.Join(t.TempDir(), "disk.img") // 1 MiB, as the baseline's httpd policy
		if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			guest string
			args  []string
		}{
			{"hello", []string{testnet.BuildOutput(t, "build/unikernels/tests/hello.spt")}},
			{"tls", []string{testnet.BuildOutput(t, "build/unikernels/tests/tls.spt")}},
			{"kv", []string{"--net:service0=" + n.Tap, testnet.BuildOutput(t, "build/unikernels/kv/kv.spt")}},
			{"httpd", []string{"--net:service0=" + n.Tap, "--block:rootfs=" + img, testnet.BuildOutput(t, "build/unikernels/httpd/httpd.spt")}},
		} {
			printed, err := n.InServer(tender, append([]string{"--print-filter"}, c.args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s --print-filter: %v\n%s", c.guest, err, printed)
			}
			if _, ok := base.Policies[c.guest]; !ok && c.guest != "tls" {
				t.Errorf("the baseline has no policy for %s", c.guest)
			}
			for _, g := range base.CheckPolicy(c.guest, string(printed)) {
				t.Errorf("grew: %s", g)
			}
		}
	})

	t.Run("hello", func(t *testing.T) {
		p, err := hap.Measure(context.Background(), hap.Options{Name: "hello",
			Command: []string{tender, testnet.BuildOutput(t, "build/unikernels/tests/hello.spt")}, Functions: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.ExitCode == nil || *p.ExitCode != 0 || p.UnderFilter["write"] == 0 || p.UnderFilter["exit_group"] != 1 {
			t.Errorf("hello under the trace: exit %v, calls under the filter %v", p.ExitCode, p.UnderFilter)
		}
		gate(t, "hello", "hello", p)
	})

	t.Run("kv", func(t *testing.T) {
		e := startKV(t)
		p, err := hap.Measure(context.Background(), hap.Options{Name: "kv", Pid: e.guest.Pid, Functions: true,
			Load: "ip netns exec " + e.net.Client + " redis-benchmark -q -h " + e.net.GuestIP + " -n 2000 -c 10 -t set,get >/dev/null"})
		if err != nil {
			t.Fatal(err)
		}
		checkOnlySeven(t, p.UnderFilter, "read", "write", "ppoll")
		gate(t, "kv", "kv", p)
	})

	// httpd plainly under small requests, and with runnc's default,
	// transmit offload, under a bulk load (16 MiB responses: the guest
	// writes TSO segments).
	for _, c := range []struct {
		workload string
		opts     []string
		wrk      string // wrk's options
		path     string
	}{
		{"httpd", nil, "-t1 -c10 -d2s", "/1k.bin"},
		{"httpd-bulk-offload", []string{"--net-offload:service0"}, "-t1 -c4 -d2s", "/16m.bin"},
	} {
		t.Run(c.workload, func(t *testing.T) {
			e := startHTTPD(t, c.opts...)
			p, err := hap.Measure(context.Background(), hap.Options{Name: c.workload, Pid: e.guest.Pid, Functions: true,
				Load: "ip netns exec " + e.net.Client + " wrk " + c.wrk + " " + e.base + c.path + " >/dev/null"})
			if err != nil {
				t.Fatal(err)
			}
			checkOnlySeven(t, p.UnderFilter, "read", "write", "ppoll")
			gate(t, c.workload, "httpd", p)
		})
	}

	t.Run("lab", func(t *testing.T) {
		// The lab's unikernel results, by the baseline's workload names.
		files := map[string]string{"kv": "lab-redis-kv.json", "kv-offload": "lab-redis-kv-offload.json", "kv-prefault": "lab-redis-kv-prefault.json",
			"kv-bulk": "lab-redis-bulk-kv-plain.json", "kv-bulk-offload": "lab-redis-bulk-kv-offload.json",
			"httpd": "lab-http-httpd-plain.json", "httpd-offload": "lab-http-httpd-offload.json",
			"httpd-bulk": "lab-http-bulk-httpd-plain.json", "httpd-bulk-offload": "lab-http-bulk-httpd-offload.json"}
		seen := 0
		for workload, file := range files {
			data, err := os.ReadFile(filepath.Join(out, file))
			if os.IsNotExist(err) {
				continue
			}
			var p hap.Profile
			if err := json.Unmarshal(data, &p); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			seen++
			if base.Workloads[workload].UniqueFunctions == 0 {
				t.Errorf("the baseline has no function count for %s", workload)
			}
			guest, _, _ := strings.Cut(workload, "-")
			for _, g := range base.CheckProfile(workload, guest, &p) {
				t.Errorf("%s grew: %s", file, g)
			}
			// --mem-prefault's promise: the guest never enters the host's
			// page-fault handler (every user fault goes through
			// handle_mm_fault), while the same load without it does.
			faults := false
			for _, f := range p.Functions {
				if f == "handle_mm_fault" || strings.HasPrefix(f, "shmem_") {
					faults = true
					if strings.HasSuffix(workload, "-prefault") {
						t.Errorf("%s: the guest with prefaulted memory reached %s", file, f)
					}
				}
			}
			// The redis load stores data so that it always reaches the fault
			// path on demand (hap/lab/init.sh): the count is comparable run
			// to run, and the prefault row has something to leave out.
			if workload == "kv" && !faults {
				t.Errorf("%s: kv without --mem-prefault reached no page-fault function; the lab's redis load no longer stores new data", file)
			}
		}
		if seen == 0 {
			t.Skip("no lab results in build/hap (make hap-lab)")
		}
	})
}

// TestTraceBaselineExit runs `runnc trace --baseline` as a user would: a
// workload within the baseline passes, one making calls outside it exits
// non-zero naming them.
func TestTraceBaselineExit(t *testing.T) {
	testnet.NeedRoot(t)
	runnc := testnet.BuildOutput(t, "build/bin/runnc")
	tender := testnet.BuildOutput(t, "build/bin/runnc-spt")
	hello := testnet.BuildOutput(t, "build/unikernels/tests/hello.spt")
	root, _ := testnet.ModuleRoot()
	baseline := filepath.Join(root, "hap", "baseline.json")
	run := func(args ...string) (string, int) {
		cmd := exec.Command(runnc, append([]string{"trace", "--no-functions", "--baseline", baseline}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		go func() { <-ctx.Done(); cmd.Process.Kill() }()
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stderr.String(), code
	}
	if msg, code := run("--guest", "hello", "--", tender, hello); code != 0 {
		t.Errorf("hello against the baseline: exit %d\n%s", code, msg)
	}
	// /bin/true is no unikernel: unfiltered, it maps memory and sets its break.
	msg, code := run("--", "/bin/true")
	if code == 0 || !strings.Contains(msg, "grew: syscalls: brk") || !strings.Contains(msg, "grew: syscalls: mmap") {
		t.Errorf("a workload outside the seven: exit %d, want non-zero naming brk and mmap:\n%s", code, msg)
	}
	t.Logf("outside the seven (exit %d):\n%s", code, msg)
}
