package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTradeoffs(t *testing.T) {
	rows := []Row{
		{Workload: "http", Sandbox: "native", Server: "nginx", Functions: []string{"a"}},
		{Workload: "http", Sandbox: "runnc-spt", Server: "httpd", UniqueFunctions: 3, Functions: []string{"a", "b", "c"}},
		{Workload: "http", Sandbox: "runnc-spt --net-offload", Server: "httpd", UniqueFunctions: 3, Functions: []string{"a", "c", "tcp_gso_segment"}},
		{Workload: "redis", Sandbox: "runnc-spt", Server: "kv"}, // no pair
	}
	ts := tradeoffs(rows)
	if len(ts) != 1 || ts[0].Workload != "http" || strings.Join(ts[0].Added, ",") != "tcp_gso_segment" || strings.Join(ts[0].Removed, ",") != "b" {
		t.Fatalf("tradeoffs: %+v", ts)
	}
	md := tradeoffMarkdown(ts, nil, "")
	if !strings.Contains(md, "| http | httpd | 3 | 3 | 1 | 1 |") || !strings.Contains(md, "`tcp_gso_segment`; elsewhere 0") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestBenchMetrics(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bench.txt")
	os.WriteFile(p, []byte("some log\nBenchmarkHTTPD-2   \t       1\t93636602338 ns/op\t        83.29 guest-16m-MB/s\t       323.9 native-16m-MB/s\t       518.3 offload-16m-MB/s\nPASS\n"), 0o644)
	m, err := benchMetrics(p)
	if err != nil {
		t.Fatal(err)
	}
	h := m["BenchmarkHTTPD"]
	if h["guest-16m-MB/s"] != 83.29 || h["native-16m-MB/s"] != 323.9 || h["offload-16m-MB/s"] != 518.3 {
		t.Fatalf("metrics: %v", m)
	}
	md := tradeoffMarkdown(nil, m, p)
	if !strings.Contains(md, "| httpd, wrk -c50, 16 MiB | MiB/s | 83.3 | 518 | 324 | 0.26x | 1.60x |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestReplaceBlock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "README.md")
	os.WriteFile(p, []byte("before\n<!-- x:begin -->\nold\n<!-- x:end -->\nafter\n"), 0o644)
	if err := replaceBlock(p, "x", "new\n"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "before\n<!-- x:begin -->\nnew\n<!-- x:end -->\nafter\n" {
		t.Errorf("got %q", b)
	}
	if err := replaceBlock(p, "y", "z"); err == nil || !strings.Contains(err.Error(), "no <!-- y:begin -->") {
		t.Errorf("a missing block: %v", err)
	}
}
