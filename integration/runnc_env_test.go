package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/integration/testnet"
)

// rt drives build/bin/runnc with a private state root, as an engine's
// shim would: the test process is the child subreaper, so the containers'
// inits become its children and their exit statuses reach it.
type rt struct {
	tb   testing.TB
	bin  string
	root string
}

func newRT(tb testing.TB) *rt {
	tb.Helper()
	testnet.NeedRoot(tb)
	r := &rt{tb: tb, bin: testnet.BuildOutput(tb, "build/bin/runnc"), root: tb.TempDir()}
	testnet.BuildOutput(tb, "build/bin/runnc-spt")
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		// Whatever a failed test left: kill and delete it.
		ents, _ := os.ReadDir(r.root)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				exec.Command(r.bin, "--root", r.root, "delete", "--force", e.Name()).Run()
			}
		}
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		reapAll()
	})
	return r
}

// reapAll collects exited children the subreaper took over.
func reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// res is the outcome of one runnc command.
type res struct {
	stdout, stderr string
	code           int
}

func (r *rt) cmd(args ...string) *exec.Cmd {
	return exec.Command(r.bin, append([]string{"--root", r.root}, args...)...)
}

// run runs runnc with args and returns what it printed and its status.
// Its stdio are files, not pipes: a created container's init keeps
// them open (as the engine's shim gives them), so a pipe would not end.
func (r *rt) run(args ...string) res {
	r.tb.Helper()
	o, e := tempFile(r.tb), tempFile(r.tb)
	defer o.Close()
	defer e.Close()
	c := r.cmd(args...)
	c.Stdout, c.Stderr = o, e
	err := c.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		r.tb.Fatalf("runnc %s: %v", strings.Join(args, " "), err)
	}
	return res{readBack(r.tb, o), readBack(r.tb, e), code}
}

func tempFile(tb testing.TB) *os.File {
	f, err := os.CreateTemp(tb.TempDir(), "out")
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func readBack(tb testing.TB, f *os.File) string {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// must runs runnc and fails the test unless it exits 0.
func (r *rt) must(args ...string) string {
	r.tb.Helper()
	x := r.run(args...)
	if x.code != 0 {
		r.tb.Fatalf("runnc %s: exit %d: %s", strings.Join(args, " "), x.code, x.stderr)
	}
	return x.stdout
}

// fails runs runnc, wants a non-zero exit with a one-line error
// containing want, and returns that line.
func (r *rt) fails(want string, args ...string) string {
	r.tb.Helper()
	x := r.run(args...)
	line := strings.TrimSpace(x.stderr)
	if x.code == 0 {
		r.tb.Fatalf("runnc %s succeeded; want an error about %q", strings.Join(args, " "), want)
	}
	if strings.Count(line, "\n") != 0 || !strings.HasPrefix(line, "runnc: ") || !strings.Contains(line, want) {
		r.tb.Fatalf("runnc %s: stderr %q; want one line \"runnc: ...%s...\"", strings.Join(args, " "), x.stderr, want)
	}
	return line
}

type ociState struct {
	OCIVersion string `json:"ociVersion"`
	ID         string `json:"id"`
	Status     string `json:"status"`
	Pid        int    `json:"pid"`
	Bundle     string `json:"bundle"`
}

func (r *rt) state(id string) ociState {
	r.tb.Helper()
	var s ociState
	if err := json.Unmarshal([]byte(r.must("state", id)), &s); err != nil {
		r.tb.Fatalf("state %s: %v", id, err)
	}
	return s
}

// waitStatus waits until container id has status want.
func (r *rt) waitStatus(id, want string) {
	r.tb.Helper()
	for i := 0; i < 500; i++ {
		if r.state(id).Status == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.tb.Fatalf("container %s: status %s, want %s", id, r.state(id).Status, want)
}

// reap waits (up to 20 s) for pid, a container init the test took over,
// and returns its exit status as a shell shows it.
func reap(tb testing.TB, pid int) int {
	tb.Helper()
	var ws unix.WaitStatus
	for i := 0; ; i++ {
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			tb.Fatalf("wait %d: %v", pid, err)
		}
		if got == pid {
			break
		}
		if i == 2000 {
			tb.Fatalf("container process %d still runs 20 s later", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// bundleSpec describes a hand-made bundle.
type bundleSpec struct {
	guest    string            // build output copied into the rootfs as /app.spt
	argv0    string            // process.args[0] (default /app.spt)
	terminal bool              // process.terminal
	annot    map[string]string // annotations
	args     []string          // after args[0]
	env      []string          // process.env (default PATH only)
	memLimit int64             // 0: none
	netns    string            // non-empty: a prestart hook gives eth0 from this netns
	hooks    map[string]string // hook kind -> script body (sh)
	files    map[string]string // extra rootfs files: path -> host source
}

var bundleSeq, idSeq atomic.Int32

// ctrID is a container id no other test process uses (the id names the
// container's cgroups).
func ctrID(what string) string {
	return fmt.Sprintf("rt%d-%s-%d", os.Getpid(), what, idSeq.Add(1))
}

// makeBundle writes a bundle in a temp dir and returns its path.
func makeBundle(tb testing.TB, s bundleSpec) string {
	tb.Helper()
	dir := tb.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		tb.Fatal(err)
	}
	if s.guest != "" {
		copyFile(tb, testnet.BuildOutput(tb, s.guest), filepath.Join(rootfs, "app.spt"))
	}
	for p, src := range s.files {
		copyFile(tb, src, filepath.Join(rootfs, p))
	}
	argv0 := s.argv0
	if argv0 == "" {
		argv0 = "/app.spt"
	}
	env := s.env
	if env == nil {
		env = []string{"PATH=/usr/bin:/bin"}
	}
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": s.terminal, "user": map[string]any{"uid": 0, "gid": 0},
			"args": append([]string{argv0}, s.args...), "env": env, "cwd": "/",
			"capabilities": map[string]any{
				"bounding":  []string{"CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_AUDIT_WRITE"},
				"effective": []string{"CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_AUDIT_WRITE"},
				"permitted": []string{"CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_AUDIT_WRITE"},
			},
			"rlimits": []map[string]any{{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}},
		},
		"root":     map[string]any{"path": "rootfs", "readonly": true},
		"hostname": "runnc-test",
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		},
		"linux": map[string]any{
			"namespaces":    []map[string]any{{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}},
			"maskedPaths":   []string{"/proc/kcore", "/proc/keys"},
			"readonlyPaths": []string{"/proc/sys", "/proc/sysrq-trigger"},
			"resources":     map[string]any{"devices": []map[string]any{{"allow": false, "access": "rwm"}}},
		},
	}
	if s.annot != nil {
		cfg["annotations"] = s.annot
	}
	if s.memLimit > 0 {
		cfg["linux"].(map[string]any)["resources"].(map[string]any)["memory"] = map[string]any{"limit": s.memLimit}
	}
	hooks := map[string][]map[string]any{}
	hook := func(kind, body string) {
		p := filepath.Join(dir, fmt.Sprintf("hook-%s-%d.sh", kind, bundleSeq.Add(1)))
		if err := os.WriteFile(p, []byte("#!/bin/sh\nset -e\n"+body+"\n"), 0o755); err != nil {
			tb.Fatal(err)
		}
		hooks[kind] = append(hooks[kind], map[string]any{"path": p})
	}
	if s.netns != "" {
		// Docker's way: a prestart hook moves one end of a veth into the
		// container's network namespace as eth0 and addresses it.
		hook("prestart", fmt.Sprintf(`pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
h=vh$pid
ip -n %[1]s link add name $h type veth peer name eth0 netns /proc/$pid/ns/net
ip -n %[1]s link set $h master br0 up
nsenter --net=/proc/$pid/ns/net ip addr add %[2]s/24 dev eth0
nsenter --net=/proc/$pid/ns/net ip link set eth0 up
nsenter --net=/proc/$pid/ns/net ip route add default via %[3]s`, s.netns, ctrIP, gwIP))
	}
	for _, kind := range []string{"prestart", "createRuntime", "createContainer", "poststart", "poststop"} {
		if body, ok := s.hooks[kind]; ok {
			hook(kind, body)
		}
	}
	if len(hooks) > 0 {
		cfg["hooks"] = hooks
	}
	b, _ := json.MarshalIndent(cfg, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// The test network: a bridge gwIP in a netns of the test, containers at ctrIP.
const (
	gwIP  = "10.91.0.1"
	ctrIP = "10.91.0.2"
)

var netSeq atomic.Int32

// testNetns makes a network namespace with a bridge the prestart hook
// plugs containers into (the engine's side), removed when the test ends.
func testNetns(tb testing.TB) string {
	tb.Helper()
	ns := fmt.Sprintf("rt-%d-%d", os.Getpid(), netSeq.Add(1))
	for _, a := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "link", "add", "name", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		{"-n", ns, "addr", "add", gwIP + "/24", "dev", "br0"},
		{"-n", ns, "link", "set", "br0", "up"},
	} {
		if out, err := exec.Command("ip", a...).CombinedOutput(); err != nil {
			exec.Command("ip", "netns", "del", ns).Run()
			tb.Fatalf("ip %s: %v: %s", strings.Join(a, " "), err, out)
		}
	}
	tb.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	return ns
}

func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		tb.Fatal(err)
	}
}

func readPid(tb testing.TB, path string) int {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		tb.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// inNetns runs a command in netns ns with a time limit.
func inNetns(ns string, limit time.Duration, name string, args ...string) (string, error) {
	c := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		return "", err
	}
	t := time.AfterFunc(limit, func() { c.Process.Kill() })
	err := c.Wait()
	t.Stop()
	return out.String(), err
}

// waitRedis waits until the kv guest answers PING at ctrIP from ns.
func waitRedis(tb testing.TB, ns string) {
	tb.Helper()
	var out string
	var err error
	for i := 0; i < 100; i++ {
		out, err = inNetns(ns, 2*time.Second, "redis-cli", "-h", ctrIP, "ping")
		if err == nil && strings.TrimSpace(out) == "PONG" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("kv at %s does not answer: %v %s", ctrIP, err, out)
}
