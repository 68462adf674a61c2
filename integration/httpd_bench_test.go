package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/netns"
)

// BenchmarkHTTPD loads the httpd guest and Debian's nginx with the same
// wrk run, from the same client netns over the same bridge, serving the
// same files: requests per second for a 1 KiB file, MB/s for a 16 MiB one
// with fifty connections (wrkArgs) and with four clients downloading it
// in parallel (wrkFewArgs).
// The guest runs twice, plain and with transmit offload (--net-offload,
// on a second network of the same shape).
// nginx runs one worker process: the guest is a single thread, and this
// machine has two cores, one of which wrk needs.
func BenchmarkHTTPD(b *testing.B) {
	e := startHTTPD(b)
	eo := startHTTPD(b, "--net-offload:service0")
	nginx := startNginx(b, e.net, e.site.dir)

	type row struct {
		name                   string
		key                    string // of the metrics
		path                   string
		unit                   string
		args                   []string // wrk's options
		guest, offload, native float64
		notes                  []string
	}
	rows := []*row{
		{name: "1 KiB file", key: "1k", path: "/1k.bin", unit: "req/s", args: wrkArgs},
		{name: "16 MiB file", key: "16m", path: "/16m.bin", unit: "MB/s", args: wrkArgs},
		{name: "16 MiB file x4", key: "16m-x4", path: "/16m.bin", unit: "MB/s", args: wrkFewArgs},
	}
	b.ResetTimer()
	for _, r := range rows {
		measure := func(who string, e *httpdEnv, base string) float64 {
			w := runWrk(b, e.net, base+r.path, r.args...)
			if w.socketErrors != 0 || w.non2xx != 0 {
				r.notes = append(r.notes, fmt.Sprintf("%s: %s, %d non-2xx responses",
					who, w.socketLine, w.non2xx))
			}
			if r.unit == "MB/s" {
				return w.bytesPerSec / (1 << 20)
			}
			return w.reqPerSec
		}
		r.guest = measure("guest", e, e.base)
		r.offload = measure("guest offload", eo, eo.base)
		r.native = measure("nginx", e, "http://"+e.net.HostIP)
	}
	b.StopTimer()

	for _, g := range []*httpdEnv{e, eo} {
		if g.guest.Exited() {
			b.Fatalf("guest exited during the benchmark:\n%s", g.guest.Output())
		}
	}
	var t strings.Builder
	fmt.Fprintf(&t, "wrk %s (x4: %s) from the client netns; guest: httpd.spt under runnc-spt (offload: with --net-offload); native: %s, worker_processes 1, access_log off, on the bridge address\n",
		strings.Join(wrkArgs, " "), strings.Join(wrkFewArgs, " "), nginx.version)
	fmt.Fprintf(&t, "%-14s %7s %12s %12s %12s %7s %7s\n", "test", "unit", "guest", "offload", "native", "ratio", "ratio-o")
	for _, r := range rows {
		ratio := r.guest / r.native
		fmt.Fprintf(&t, "%-14s %7s %12.1f %12.1f %12.1f %7.2f %7.2f\n", r.name, r.unit, r.guest, r.offload, r.native, ratio, r.offload/r.native)
		for _, n := range r.notes {
			fmt.Fprintf(&t, "  note: %s\n", n)
		}
		key := r.key
		b.ReportMetric(r.guest, "guest-"+key+"-"+r.unit)
		b.ReportMetric(r.offload, "offload-"+key+"-"+r.unit)
		b.ReportMetric(r.native, "native-"+key+"-"+r.unit)
		b.ReportMetric(ratio, "ratio-"+key)
		b.ReportMetric(r.offload/r.native, "ratio-offload-"+key)
	}
	// Printed, not logged: the testing package cuts benchmark logs to ten
	// lines.
	fmt.Print(t.String())
}

// wrkFewArgs is the parallel download of a few clients: four connections
// on two threads for ten seconds.
var wrkFewArgs = []string{"-t2", "-c4", "-d10s", "--timeout", "30s"}

// nginxServer is an nginx master process started by startNginx.
type nginxServer struct {
	cmd     *netns.Cmd
	version string
}

// startNginx runs nginx in the server netns, serving dir on HostIP:80
// with a configuration of its own in a temporary directory, and stops it
// (by its pid) when the test ends.
// maxConns, if given, raises worker_connections (and the workers' file
// limit) from 1024 to it.
func startNginx(tb testing.TB, n *testnet.Net, dir string, maxConns ...int) *nginxServer {
	tb.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		tb.Fatalf("nginx: %v (install nginx-light: scripts/deps.sh)", err)
	}
	version, _ := exec.Command(bin, "-v").CombinedOutput()
	conns := 1024
	if len(maxConns) > 0 {
		conns = maxConns[0]
	}
	tmp := tb.TempDir()
	conf := filepath.Join(tmp, "nginx.conf")
	// Workers run as root so they can read the 0700 temp dirs; temp paths
	// and the pid file stay in tmp so nothing outside it is touched.
	text := fmt.Sprintf(`user root;
worker_processes 1;
worker_rlimit_nofile %[5]d;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections %[4]d; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    default_type application/octet-stream;
    types {
        text/html html;
        text/css css;
        application/json json;
        text/plain txt;
    }
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen %[2]s:80;
        root %[3]s;
    }
}
`, tmp, n.HostIP, dir, conns, conns+16)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := n.InServer(bin, "-c", conf, "-g", "daemon off;")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		// SIGQUIT: graceful stop; the master takes its worker with it.
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	if err := n.WaitTCP(n.HostIP, 80, 10*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(tmp, "error.log"))
		tb.Fatalf("nginx: %v\n%s%s", err, out, log)
	}
	return &nginxServer{cmd: cmd, version: strings.TrimSpace(strings.TrimPrefix(string(version), "nginx version: "))}
}
