package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/runnc/runnc/hap"
)

// The offload's trade-off (README, "The offload default"): for each lab
// workload measured both plainly and with --net-offload, the kernel
// functions only one of the two reached; and from make bench's output
// (build/bench.txt), the throughput each way against the native server.

// Tradeoff is one workload's pair of unikernel rows.
type Tradeoff struct {
	Workload string   `json:"workload"`
	Server   string   `json:"server"`
	Plain    int      `json:"plain"`
	Offload  int      `json:"offload"`
	Added    []string `json:"added"`   // reached only with --net-offload
	Removed  []string `json:"removed"` // reached only without
}

// tradeoffs pairs the lab's "runnc-spt" and "runnc-spt --net-offload"
// rows of each workload.
func tradeoffs(rows []Row) []Tradeoff {
	var out []Tradeoff
	for _, p := range rows {
		if p.Sandbox != "runnc-spt" {
			continue
		}
		for _, o := range rows {
			if o.Workload != p.Workload || o.Sandbox != "runnc-spt --net-offload" {
				continue
			}
			t := Tradeoff{Workload: p.Workload, Server: p.Server, Plain: p.UniqueFunctions, Offload: o.UniqueFunctions}
			t.Added, t.Removed = minus(o.Functions, p.Functions), minus(p.Functions, o.Functions)
			out = append(out, t)
		}
	}
	return out
}

// minus is a without b, sorted.
func minus(a, b []string) []string {
	in := map[string]bool{}
	for _, f := range b {
		in[f] = true
	}
	out := []string{}
	for _, f := range a {
		if !in[f] {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// benchMetrics reads go test -bench output: for each benchmark line, its
// name (without the -CPUS suffix) and its metrics by unit.
func benchMetrics(path string) (map[string]map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(fs[0], "-")
		m := map[string]float64{}
		// NAME ITERATIONS then VALUE UNIT pairs.
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				break
			}
			m[fs[i+1]] = v
		}
		out[name] = m
	}
	return out, sc.Err()
}

// benchRow is one throughput row of the trade-off table: the metrics of
// a benchmark for the guest, the guest with offload and the native server.
type benchRow struct {
	what, bench, unit   string
	guest, offl, native string
}

var benchRows = []benchRow{
	{"httpd, wrk -c50, 1 KiB", "BenchmarkHTTPD", "req/s", "guest-1k-req/s", "offload-1k-req/s", "native-1k-req/s"},
	{"httpd, wrk -c50, 16 MiB", "BenchmarkHTTPD", "MiB/s", "guest-16m-MB/s", "offload-16m-MB/s", "native-16m-MB/s"},
	{"httpd, wrk -c4 (4 clients), 16 MiB", "BenchmarkHTTPD", "MiB/s", "guest-16m-x4-MB/s", "offload-16m-x4-MB/s", "native-16m-x4-MB/s"},
	{"kv, SET -c 10 -d 1024", "BenchmarkKVLarge", "ops/s", "set-1024-guest-ops/s", "set-1024-offload-ops/s", "set-1024-native-ops/s"},
	{"kv, MSET -c 10 -d 1024", "BenchmarkKVLarge", "ops/s", "mset-1024-guest-ops/s", "mset-1024-offload-ops/s", "mset-1024-native-ops/s"},
	{"kv, SET -c 10 -d 65536", "BenchmarkKVLarge", "ops/s", "set-65536-guest-ops/s", "set-65536-offload-ops/s", "set-65536-native-ops/s"},
	{"kv, MSET -c 10 -d 65536", "BenchmarkKVLarge", "ops/s", "mset-65536-guest-ops/s", "mset-65536-offload-ops/s", "mset-65536-native-ops/s"},
	{"kv, SET -c 10 -d 1048576 (ten clients, 1 MB SETs)", "BenchmarkKVLarge", "ops/s", "set-1048576-guest-ops/s", "set-1048576-offload-ops/s", "set-1048576-native-ops/s"},
	{"kv, MSET -c 10 -d 1048576", "BenchmarkKVLarge", "ops/s", "mset-1048576-guest-ops/s", "mset-1048576-offload-ops/s", "mset-1048576-native-ops/s"},
}

// tradeoffMarkdown renders the trade-off: the lab's pairs, then the
// bench's rows (where bench holds them).
func tradeoffMarkdown(ts []Tradeoff, bench map[string]map[string]float64, benchSrc string) string {
	var b strings.Builder
	if len(ts) > 0 {
		fmt.Fprintf(&b, "| lab workload | unikernel | functions, plain | with `--net-offload` | only with offload | only without |\n| --- | --- | ---: | ---: | ---: | ---: |\n")
		for _, t := range ts {
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d |\n", t.Workload, t.Server, t.Plain, t.Offload, len(t.Added), len(t.Removed))
		}
		b.WriteString("\nFunctions reached only with `--net-offload`: the network path by name; the rest (memory, slab, scheduler) counted, " +
			"since which of those a run reaches varies from run to run (compare the \"only without\" column):\n\n")
		for _, t := range ts {
			var named []string
			rest := 0
			for _, f := range t.Added {
				if !netFunction(f) {
					rest++
					continue
				}
				named = append(named, "`"+f+"`")
			}
			if len(named) == 0 {
				named = []string{"none"}
			}
			fmt.Fprintf(&b, "- %s (%s): %s; elsewhere %d\n", t.Workload, t.Server, strings.Join(named, ", "), rest)
		}
	}
	if len(bench) > 0 {
		fmt.Fprintf(&b, "\nThroughput (`%s`, from `make bench`):\n\n", benchSrc)
		fmt.Fprintf(&b, "| bench row | unit | plain | `--net-offload` | native | plain vs native | offload vs native |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
		for _, r := range benchRows {
			m, ok := bench[r.bench]
			if !ok {
				continue
			}
			g, o, n := m[r.guest], m[r.offl], m[r.native]
			if n == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.2fx | %.2fx |\n", r.what, r.unit, num(g), num(o), num(n), g/n, o/n)
		}
	}
	return b.String()
}

// netFunction says whether a kernel function is on the network path: by
// its subsystem, or an skb or GSO helper by name.
func netFunction(f string) bool {
	switch hap.Subsystem(f) {
	case "skbuff", "netdev", "tun", "bridge", "veth", "ipv4", "tcp", "socket", "net":
		return true
	}
	return strings.Contains(f, "skb") || strings.Contains(f, "gso")
}

// num prints a rate with as many digits as it deserves.
func num(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// replaceBlock replaces what lies between the lines "<!-- NAME:begin -->"
// and "<!-- NAME:end -->" of the file at path with text.
func replaceBlock(path, name, text string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s...%s block", path, strings.TrimSpace(begin), end)
	}
	s = s[:i+len(begin)] + text + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}
