// Command report (make hap-report) renders the HAP lab's results
// (build/hap/lab-*.json, from make hap-lab) and the host's syscall runs
// (build/hap/host-*.json, from the gate in make test) as a Markdown table,
// a JSON summary and a chart (SVG and PNG) in docs/hap/. With -bench
// (make bench's output) it adds the offload's trade-off, lab functions
// against throughput; with -readme it writes the lab table and the
// trade-off into README.md's hap-lab and offload-tradeoff blocks.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runnc/runnc/hap"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Row is one workload in one sandbox.
type Row struct {
	Workload        string      `json:"workload"` // redis, http
	Sandbox         string      `json:"sandbox"`  // one of sandboxes
	Server          string      `json:"server"`
	UniqueFunctions int         `json:"unique_functions"`
	UniqueSyscalls  int         `json:"unique_syscalls"`
	Syscalls        []string    `json:"syscalls"`
	Subsystems      []hap.Group `json:"subsystems,omitempty"`
	LostEvents      int64       `json:"lost_events,omitempty"`
	Functions       []string    `json:"-"`
}

// Summary is docs/hap/results.json.
type Summary struct {
	Date    string `json:"date"`
	Kernel  string `json:"kernel"`
	Lab     []Row  `json:"lab"`
	Host    []Row  `json:"host,omitempty"`
	Command string `json:"command"`
	// Offload: the lab's plain and --net-offload pairs.
	Offload []Tradeoff `json:"offload,omitempty"`
}

var sandboxes = []string{"native", "runc", "runnc-spt", "runnc-spt --net-offload", "runnc-spt --mem-prefault"}

func main() {
	in := flag.String("in", "build/hap", "directory with lab-*.json and host-*.json")
	out := flag.String("out", "docs/hap", "where to write the report")
	benchOut := flag.String("bench", "", "make bench's output (build/bench.txt), for the offload's throughput; optional")
	readme := flag.String("readme", "", "also write the lab table and the offload trade-off into this README's blocks")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("hap-report: ")

	lab, labDate, err := readRows(filepath.Join(*in, "lab-*.json"))
	if err != nil {
		log.Fatal(err)
	}
	if len(lab) == 0 {
		log.Fatalf("no lab results in %s: run make hap-lab first", *in)
	}
	host, _, err := readRows(filepath.Join(*in, "host-*.json"))
	if err != nil {
		log.Fatal(err)
	}
	kernel, _ := os.ReadFile(filepath.Join(*in, "kernel.txt"))
	s := Summary{Date: labDate.UTC().Format("2006-01-02"), Kernel: strings.TrimSpace(string(kernel)),
		Lab: lab, Host: host, Command: "make hap-lab && make hap-report", Offload: tradeoffs(lab)}
	var bench map[string]map[string]float64
	if *benchOut != "" {
		if bench, err = benchMetrics(*benchOut); err != nil && !os.IsNotExist(err) {
			log.Fatal(err)
		}
	}
	tradeoff := tradeoffMarkdown(s.Offload, bench, *benchOut)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	js, _ := json.MarshalIndent(s, "", "  ")
	must(os.WriteFile(filepath.Join(*out, "results.json"), append(js, '\n'), 0o644))
	must(os.WriteFile(filepath.Join(*out, "README.md"), []byte(markdown(s, tradeoff)), 0o644))
	if *readme != "" {
		must(replaceBlock(*readme, "hap-lab", labTable(s)))
		must(replaceBlock(*readme, "offload-tradeoff", tradeoff))
	}
	must(chart(lab, filepath.Join(*out, "hap")))
	fmt.Printf("hap-report: %d lab rows, %d host rows -> %s/{README.md,results.json,hap.svg,hap.png}\n", len(lab), len(host), *out)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// readRows reads the profiles matching glob; the lab's targets are named
// "WORKLOAD:SANDBOX SERVER [--net-offload]", the host's by their workload.
func readRows(glob string) ([]Row, time.Time, error) {
	files, _ := filepath.Glob(glob)
	var rows []Row
	var newest time.Time
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, newest, err
		}
		var p hap.Profile
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, newest, fmt.Errorf("%s: %w", f, err)
		}
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
		r := Row{UniqueFunctions: p.UniqueFunctions, LostEvents: p.LostFunctions + p.LostSyscalls, Functions: p.Functions}
		calls := p.Syscalls
		if len(p.UnderFilter) > 0 {
			calls = p.UnderFilter
		}
		r.Syscalls = hap.SyscallNames(calls)
		r.UniqueSyscalls = len(r.Syscalls)
		if w, rest, ok := strings.Cut(p.Target, ":"); ok {
			f := strings.Fields(rest)
			r.Workload, r.Sandbox = w, f[0]
			if len(f) > 1 {
				r.Server = f[1]
			}
			if strings.Contains(rest, "--net-offload") {
				r.Sandbox += " --net-offload"
			}
			if strings.Contains(rest, "--mem-prefault") {
				r.Sandbox += " --mem-prefault"
			}
		} else {
			r.Workload, r.Sandbox, r.Server = p.Target, "runnc-spt", p.Target
		}
		if strings.HasPrefix(r.Sandbox, "runnc-spt") {
			r.Subsystems = hap.Subsystems(p.Functions)
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if wi, wj := workloadRank(rows[i].Workload), workloadRank(rows[j].Workload); wi != wj {
			return wi < wj
		}
		return sandboxRank(rows[i].Sandbox) < sandboxRank(rows[j].Sandbox)
	})
	return rows, newest, nil
}

// workloadOrder is the order of the report's workloads.
var workloadOrder = []string{"redis", "redis-bulk", "http", "http-bulk"}

func workloadRank(w string) int {
	for i, x := range workloadOrder {
		if x == w {
			return i
		}
	}
	return len(workloadOrder)
}

func sandboxRank(s string) int {
	for i, x := range sandboxes {
		if x == s {
			return i
		}
	}
	return len(sandboxes)
}

func markdown(s Summary, tradeoff string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Horizontal attack profile: measured\n\n")
	fmt.Fprintf(&b, "Made by `%s` on %s; guest kernel %s (Debian's `linux-image-amd64`, under qemu TCG).\n\n", s.Command, s.Date, s.Kernel)
	fmt.Fprintf(&b, "![unique kernel functions and syscalls per workload and sandbox](hap.png)\n\n")
	fmt.Fprintf(&b, "Each workload gets the same client load while `runnc trace` follows the server's processes "+
		"(from the start of the load to its end, the server already up): **redis** is `redis-benchmark -n 300 -c 1 -r 300 -d 1024 -t set,get` "+
		"(300 SETs of 1 KiB values on up to 300 keys, then 300 GETs), **http** is `curl` fetching a 1 KiB file 300 times over one connection; "+
		"for the offload's trade-off, against the unikernels only, **redis-bulk** is `redis-benchmark -n 20 -c 4 -d 65536 -t set,get` (64 KiB values) and "+
		"**http-bulk** is four `curl` clients in parallel fetching a 1 MiB file each; kv also runs the redis load with `--mem-prefault` (its memory populated before it runs). "+
		"Kernel functions are those ftrace's function tracer saw in process context (interrupt and softirq work left out), "+
		"counted once each; syscalls are distinct calls (for unikernels, those made under the filter).\n\n")
	b.WriteString(labTable(s))
	fmt.Fprintf(&b, "\nThe unikernels' functions by subsystem (module, or name prefix; `hap.Subsystem`):\n\n")
	for _, r := range s.Lab {
		if len(r.Subsystems) == 0 {
			continue
		}
		var parts []string
		for _, g := range r.Subsystems {
			parts = append(parts, fmt.Sprintf("%s %d", g.Name, g.Count))
		}
		fmt.Fprintf(&b, "- %s (%s) under %s: %s\n", r.Server, r.Workload, r.Sandbox, strings.Join(parts, ", "))
	}
	if tradeoff != "" {
		fmt.Fprintf(&b, "\n## The offload's trade-off\n\nThe same loads against the unikernels plainly and with `--net-offload`:\n\n%s", tradeoff)
	}
	if len(s.Host) > 0 {
		fmt.Fprintf(&b, "\nOn the host (kernel in lockdown: syscalls only, from `make test`'s gate, `integration` `TestHAPGate`):\n\n")
		fmt.Fprintf(&b, "| guest and load | unique syscalls under the filter | calls |\n| --- | ---: | --- |\n")
		for _, r := range s.Host {
			fmt.Fprintf(&b, "| %s | %d | %s |\n", r.Workload, r.UniqueSyscalls, strings.Join(r.Syscalls, ", "))
		}
	}
	fmt.Fprintf(&b, "\nReproduce: `make hap-lab` (boots the VM, about %s), then `make hap-report` (after `make bench` for the throughput). Raw profiles: `build/hap/lab-*.json`; this summary: `results.json`.\n", "128 s under TCG on an idle 2-core machine before the offload's five workloads were added and about 190 s with them "+
		"(scaled from a loaded run in which they took a third of the time), 26 minutes on a heavily loaded one")
	return b.String()
}

// labTable is the lab's table: a row per workload and sandbox.
func labTable(s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| workload | sandbox | server | unique kernel functions | vs native | unique syscalls |\n| --- | --- | --- | ---: | ---: | ---: |\n")
	native := map[string]int{}
	for _, r := range s.Lab {
		if r.Sandbox == "native" {
			native[r.Workload] = r.UniqueFunctions
		}
	}
	for _, r := range s.Lab {
		ratio := ""
		if n := native[r.Workload]; n > 0 {
			ratio = fmt.Sprintf("%.2fx", float64(r.UniqueFunctions)/float64(n))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %d |\n", r.Workload, r.Sandbox, r.Server, r.UniqueFunctions, ratio, r.UniqueSyscalls)
	}
	return b.String()
}

// chart draws two bar charts, unique kernel functions and unique
// syscalls, with a bar per sandbox in each workload group.
func chart(rows []Row, base string) error {
	workloads := []string{}
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.Workload] {
			seen[r.Workload] = true
			workloads = append(workloads, r.Workload)
		}
	}
	colors := []color.Color{
		color.RGBA{0x5b, 0x5b, 0x5b, 0xff}, // native
		color.RGBA{0x1f, 0x77, 0xb4, 0xff}, // runc
		color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, // runnc-spt
		color.RGBA{0xff, 0x7f, 0x0e, 0xff}, // runnc-spt --net-offload
		color.RGBA{0x94, 0x67, 0xbd, 0xff}, // runnc-spt --mem-prefault
	}
	mk := func(title, ylabel string, val func(Row) int) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.Title.TextStyle.Font.Size = vg.Points(14)
		p.Y.Label.Text = ylabel
		p.X.Label.Text = "workload (same client load in every sandbox)"
		p.Y.Min = 0
		// A group's bars (one a sandbox) fill about 80% of a group's
		// width (a tile is about 400 points wide).
		w := vg.Points(math.Min(28, 320/float64(len(workloads)*len(sandboxes))))
		for i, sb := range sandboxes {
			vals := make(plotter.Values, len(workloads))
			var labels []string
			var xys plotter.XYs
			any := false
			for j, wl := range workloads {
				for _, r := range rows {
					if r.Workload == wl && r.Sandbox == sb {
						vals[j] = float64(val(r))
						any = true
					}
				}
				labels = append(labels, fmt.Sprint(vals[j]))
				xys = append(xys, plotter.XY{X: float64(j), Y: vals[j]})
			}
			if !any {
				continue
			}
			bars, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return nil, err
			}
			bars.Color = colors[i]
			bars.LineStyle.Width = 0
			bars.Offset = vg.Length(float64(i)-float64(len(sandboxes)-1)/2) * w
			p.Add(bars)
			p.Legend.Add(sb, bars)
			// The value over each bar, where there is one.
			lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
			if err != nil {
				return nil, err
			}
			for k := range lb.TextStyle {
				lb.TextStyle[k].XAlign = draw.XCenter
				if vals[k] == 0 {
					lb.Labels[k] = ""
				}
			}
			lb.Offset = vg.Point{X: bars.Offset, Y: vg.Points(3)}
			p.Add(lb)
		}
		p.Legend.Top = true
		p.Legend.Left = false
		// Name each group with its servers, native first.
		var names []string
		for _, wl := range workloads {
			var servers []string
			for _, r := range rows {
				if r.Workload == wl && !contains(servers, r.Server) {
					servers = append(servers, r.Server)
				}
			}
			names = append(names, wl+"\n"+strings.Join(servers, " / "))
		}
		p.NominalX(names...)
		return p, nil
	}
	fns, err := mk("Unique host kernel functions reached", "unique kernel functions", func(r Row) int { return r.UniqueFunctions })
	if err != nil {
		return err
	}
	sys, err := mk("Unique system calls made", "unique syscalls", func(r Row) int { return r.UniqueSyscalls })
	if err != nil {
		return err
	}
	// Room above the tallest bar for its label and the legend.
	for _, p := range []*plot.Plot{fns, sys} {
		p.Y.Max *= 1.35
	}
	width, height := vg.Points(860), vg.Points(420)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	render := func(c vg.CanvasWriterTo, path string) error {
		dc := draw.New(c)
		cs := plot.Align([][]*plot.Plot{{fns, sys}}, tiles, dc)
		fns.Draw(cs[0][0])
		sys.Draw(cs[0][1])
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if _, err := c.WriteTo(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := render(vgsvg.New(width, height), base+".svg"); err != nil {
		return err
	}
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(144), vgimg.UseBackgroundColor(color.White))
	return render(vgimg.PngCanvas{Canvas: img}, base+".png")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
