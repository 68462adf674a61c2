package integration

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/internal/proc"
	"github.com/runnc/runnc/runnc"
)

// TestRunncLifecycle: create -> created -> start -> running, kv answers
// redis-cli on the container's eth0 address (a veth from the test's
// namespace, set up by a prestart hook as Docker does) -> kill -> stopped
// with the exit status -> delete; the guest runs confined (seccomp, one
// thread, no_new_privs, no capabilities) in the container's namespaces and
// cgroup; and the operations the runtime-spec forbids fail clearly.
func TestRunncLifecycle(t *testing.T) {
	r := newRT(t)
	ns := testNetns(t)
	dir := makeBundle(t, bundleSpec{guest: "build/unikernels/kv/kv.spt", netns: ns, memLimit: 64 << 20})
	pidFile := filepath.Join(t.TempDir(), "pid")
	id := ctrID("life")

	r.fails("does not exist", "state", "nope")
	r.must("create", "--bundle", dir, "--pid-file", pidFile, id)
	s := r.state(id)
	pid := readPid(t, pidFile)
	if s.Status != "created" || s.ID != id || s.Pid != pid || s.Bundle != dir || s.OCIVersion == "" {
		t.Fatalf("state after create: %+v (pid file %d, bundle %s)", s, pid, dir)
	}
	r.fails("already exists", "create", "--bundle", dir, id)
	r.must("start", id)
	if s := r.state(id); s.Status != "running" {
		t.Fatalf("state after start: %+v", s)
	}
	r.fails("not created", "start", id)
	waitRedis(t, ns)
	for _, c := range [][]string{{"set", "k", "from-a-container"}, {"get", "k"}} {
		out, err := inNetns(ns, 5*time.Second, "redis-cli", append([]string{"-h", ctrIP}, c...)...)
		if err != nil {
			t.Fatalf("redis-cli %v: %v %s", c, err, out)
		}
		if c[0] == "get" && strings.TrimSpace(out) != "from-a-container" {
			t.Fatalf("redis-cli get: %q", out)
		}
	}

	// Defence in depth, on the running guest.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Seccomp:\t2\n", "Threads:\t1\n", "NoNewPrivs:\t1\n",
		"CapEff:\t0000000000000000\n", "CapPrm:\t0000000000000000\n", "CapBnd:\t0000000000000000\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("guest /proc/%d/status lacks %q:\n%s", pid, want, status)
		}
	}
	for _, n := range []string{"pid", "net", "mnt", "ipc", "uts"} {
		mine, _ := os.Readlink("/proc/self/ns/" + n)
		its, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, n))
		if err != nil || its == mine {
			t.Errorf("guest %s namespace %q is the test's (%q): %v", n, its, mine, err)
		}
	}
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	var memcg string
	for _, l := range strings.Split(string(cg), "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && (f[1] == "memory" || f[1] == "") && strings.HasSuffix(f[2], "/"+id) {
			memcg = f[2]
		}
	}
	if memcg == "" {
		t.Errorf("guest is not in the container's cgroup:\n%s", cg)
	} else if lim, err := os.ReadFile("/sys/fs/cgroup/memory" + memcg + "/memory.limit_in_bytes"); err == nil && strings.TrimSpace(string(lim)) != "67108864" {
		t.Errorf("memory cgroup %s limit %s, want 67108864", memcg, lim)
	}

	r.fails("stop it first", "delete", id)
	r.must("kill", id, "TERM")
	if code := reap(t, pid); code != 137 {
		t.Errorf("exit status after kill TERM: %d, want 137 (SIGKILL)", code)
	}
	r.waitStatus(id, "stopped")
	r.fails("not running", "kill", id)
	r.must("delete", id)
	r.fails("does not exist", "state", id)
	r.fails("does not exist", "start", id)
	r.fails("does not exist", "kill", id)
	r.fails("does not exist", "delete", id)
	if ents, _ := os.ReadDir(r.root); len(ents) != 0 {
		t.Errorf("state root not empty after delete: %v", ents)
	}
}

// TestRunncRunStatus: run prints the guest's output and returns its exit
// status: 0, 255 for abort, 159 for a forbidden system call.
func TestRunncRunStatus(t *testing.T) {
	r := newRT(t)
	for _, c := range []struct {
		guest string
		code  int
		out   string
	}{
		{"build/unikernels/tests/hello.spt", 0, "Hello, World"},
		{"build/unikernels/tests/abort.spt", 255, ""},
		{"build/unikernels/tests/seccomp.spt", 159, ""},
	} {
		dir := makeBundle(t, bundleSpec{guest: c.guest, args: []string{"arg1"}, env: []string{"GREETING=hi there"}})
		x := r.run("run", "--bundle", dir, ctrID("run"))
		if x.code != c.code || !strings.Contains(x.stdout, c.out) {
			t.Errorf("run %s: exit %d, want %d; stdout %q stderr %q", c.guest, x.code, c.code, x.stdout, x.stderr)
		}
		if c.code == 0 && !strings.Contains(x.stdout, "--env=GREETING=hi%20there arg1") {
			t.Errorf("run %s: the guest's command line lacks the env and args: %q", c.guest, x.stdout)
		}
		if ents, _ := os.ReadDir(r.root); len(ents) != 0 {
			t.Errorf("run %s left state behind: %v", c.guest, ents)
		}
	}
}

// TestRunncHooks: the OCI hooks run in order, each with the state on stdin.
func TestRunncHooks(t *testing.T) {
	r := newRT(t)
	log := filepath.Join(t.TempDir(), "hooks.log")
	rec := func(kind string) string {
		return fmt.Sprintf(`st=$(cat); echo "%s $(echo "$st" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p') $(echo "$st" | sed -n 's/.*"status": *"\([^"]*\)".*/\1/p')" >> %s`, kind, log)
	}
	hooks := map[string]string{}
	for _, k := range []string{"prestart", "createRuntime", "createContainer", "poststart", "poststop"} {
		hooks[k] = rec(k)
	}
	dir := makeBundle(t, bundleSpec{guest: "build/unikernels/tests/hello.spt", hooks: hooks})
	pidFile := filepath.Join(t.TempDir(), "pid")
	id := ctrID("hooks")
	r.must("create", "--bundle", dir, "--pid-file", pidFile, id)
	r.must("start", id)
	if code := reap(t, readPid(t, pidFile)); code != 0 {
		t.Errorf("hello exit %d", code)
	}
	r.waitStatus(id, "stopped")
	r.must("delete", id)
	got, _ := os.ReadFile(log)
	// libcontainer gives poststart the state it saved at start: "created".
	want := fmt.Sprintf("prestart %[1]s creating\ncreateRuntime %[1]s creating\ncreateContainer %[1]s creating\npoststart %[1]s created\npoststop %[1]s stopped\n", id)
	if string(got) != want {
		t.Errorf("hooks ran as\n%s\nwant\n%s", got, want)
	}
}

// TestRunncBadInput: each bad bundle or request gives a one-line error, a
// non-zero exit and leaves nothing behind (state dir, image, cgroup).
func TestRunncBadInput(t *testing.T) {
	r := newRT(t)
	hello := "build/unikernels/tests/hello.spt"
	corrupt := filepath.Join(t.TempDir(), "corrupt.spt")
	b, err := os.ReadFile(testnet.BuildOutput(t, hello))
	if err != nil {
		t.Fatal(err)
	}
	// Half a unikernel: the header and notes are there, the segments not.
	if err := os.WriteFile(corrupt, b[:len(b)/3], 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "script")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	cases := []struct {
		name string
		edit func(dir string)
		spec bundleSpec
		want string
	}{
		{"no config.json", func(d string) { os.Remove(filepath.Join(d, "config.json")) }, bundleSpec{guest: hello}, "has no config.json"},
		{"invalid config.json", func(d string) { os.WriteFile(filepath.Join(d, "config.json"), []byte("{\"process\": ["), 0o644) }, bundleSpec{guest: hello}, "not a valid OCI config"},
		{"no rootfs", func(d string) { os.RemoveAll(filepath.Join(d, "rootfs")) }, bundleSpec{guest: hello}, "rootfs"},
		{"args[0] missing", func(d string) { os.Remove(filepath.Join(d, "rootfs", "app.spt")) }, bundleSpec{guest: hello}, "no such file in the rootfs"},
		{"a script", nil, bundleSpec{files: map[string]string{"app.spt": script}}, "is not a runnc unikernel (a script)"},
		{"a Linux program", nil, bundleSpec{files: map[string]string{"app.spt": "/bin/true"}}, "is not a runnc unikernel"},
		{"corrupt unikernel", nil, bundleSpec{files: map[string]string{"app.spt": corrupt}}, "unikernel /app.spt is corrupt"},
		{"net device, no eth0", nil, bundleSpec{guest: "build/unikernels/kv/kv.spt"}, "has no eth0"},
		{"memory below the minimum", nil, bundleSpec{guest: hello, memLimit: 4 << 20}, "below runnc's minimum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := makeBundle(t, c.spec)
			if c.edit != nil {
				c.edit(dir)
			}
			id := ctrID("bad")
			line := r.fails(c.want, "create", "--bundle", dir, id)
			t.Log(line)
			leftovers(t, r, id)
		})
	}
	t.Run("unknown signal", func(t *testing.T) {
		dir := makeBundle(t, bundleSpec{guest: hello})
		id := ctrID("sig")
		r.must("create", "--bundle", dir, id)
		t.Log(r.fails("unknown signal", "kill", id, "SIGNOPE"))
		if s := r.state(id); s.Status != "created" {
			t.Errorf("after a bad kill: %s", s.Status)
		}
		r.must("delete", id)
		leftovers(t, r, id)
	})
	t.Run("unsupported verbs", func(t *testing.T) {
		for _, v := range []string{"exec", "pause", "resume", "checkpoint", "restore", "update"} {
			r.fails("not supported for unikernel containers", v, "x")
		}
	})
}

// leftovers fails if container id left a state dir, an image or a cgroup.
func leftovers(t *testing.T, r *rt, id string) {
	t.Helper()
	ents, _ := os.ReadDir(r.root)
	for _, e := range ents {
		if e.Name() == ".images" {
			imgs, _ := filepath.Glob(filepath.Join(r.root, e.Name(), "*.iso*"))
			if len(imgs) > 0 {
				t.Errorf("images left: %v", imgs)
			}
			continue
		}
		t.Errorf("state left: %s", e.Name())
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/*/" + id); len(m) > 0 {
		t.Errorf("cgroups left: %v", m)
	}
	if m, _ := filepath.Glob("/sys/fs/cgroup/memory/*/*/" + id); len(m) > 0 {
		t.Errorf("cgroups left: %v", m)
	}
}

// TestRunncHttpd: httpd in a bundle serves a 16 MiB file of its rootfs
// (through the rootfs image) byte-identical to curl at the container's
// address, with the default transmit offload (the tap shows vnet_hdr on)
// and with the annotation turning it off (vnet_hdr off); and with the
// annotation for prefaulted memory, which makes all of the guest's memory
// (the 64 MiB limit less the tender's 2) resident inside the container's
// memory limit.
func TestRunncHttpd(t *testing.T) {
	r := newRT(t)
	ns := testNetns(t)
	big := filepath.Join(t.TempDir(), "big.bin")
	data := make([]byte, 16<<20)
	rand.Read(data)
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		annot    map[string]string
		vnetHdr  string
		prefault bool
	}{
		{"default", nil, "vnet_hdr on", false},
		{"offload-off", map[string]string{runnc.NetOffloadAnnotation: "false"}, "vnet_hdr off", false},
		{"prefault", map[string]string{runnc.MemPrefaultAnnotation: "true"}, "vnet_hdr on", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := makeBundle(t, bundleSpec{guest: "build/unikernels/httpd/httpd.spt", netns: ns, annot: c.annot,
				memLimit: 64 << 20, files: map[string]string{"www/big.bin": big}})
			id := ctrID("httpd")
			r.must("run", "--detach", "--bundle", dir, id)
			defer r.run("delete", "--force", id)
			url := "http://" + ctrIP + "/www/big.bin"
			var out string
			var err error
			for i := 0; i < 50; i++ {
				if out, err = inNetns(ns, 30*time.Second, "curl", "-sf", "-o", "-", url); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("curl %s: %v", url, err)
			}
			if sha256.Sum256([]byte(out)) != sha256.Sum256(data) {
				t.Fatalf("curl %s: %d bytes, not the file's %d", url, len(out), len(data))
			}
			// The tender's tap, as the kernel reports it (IFLA_TUN_VNET_HDR).
			pid := r.state(id).Pid
			link, err := exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", pid), "ip", "-d", "link", "show", "runnc0").CombinedOutput()
			if err != nil {
				t.Fatalf("ip -d link show runnc0 in the container: %v: %s", err, link)
			}
			if !strings.Contains(string(link), c.vnetHdr) {
				t.Errorf("the container's tap: want %q:\n%s", c.vnetHdr, link)
			}
			// Guest memory is 62 MiB; its first 64 KiB are never mapped.
			shmem, err := proc.StatusKiB(pid, "RssShmem")
			if err != nil {
				t.Fatal(err)
			}
			if full := uint64(62<<10 - 64); (shmem >= full) != c.prefault {
				t.Errorf("guest memory resident after a 16 MiB download: %d KiB; all %d KiB: %v, want %v", shmem, full, shmem >= full, c.prefault)
			}
			r.must("delete", "--force", id)
		})
	}
}

// TestRunncLeaks: 50 create/start/stop/delete cycles of httpd (network
// hand-off and rootfs image each time), stopped three ways (kill, delete
// --force while running, the tender SIGKILLed from outside), leave no
// state dir, image, link, mount, cgroup or process behind.
func TestRunncLeaks(t *testing.T) {
	if testing.Short() {
		t.Skip("50 container cycles")
	}
	r := newRT(t)
	ns := testNetns(t)
	dir := makeBundle(t, bundleSpec{guest: "build/unikernels/httpd/httpd.spt", netns: ns, memLimit: 32 << 20,
		files: map[string]string{"index.html": testnet.BuildOutput(t, "build/bin/runnc-manifest")}})
	prefix := fmt.Sprintf("rt%d-leak", os.Getpid())
	before := leakCounts(t, r, ns, prefix, dir)
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		pidFile := filepath.Join(t.TempDir(), "pid")
		r.must("create", "--bundle", dir, "--pid-file", pidFile, id)
		pid := readPid(t, pidFile)
		r.must("start", id)
		switch i % 3 {
		case 0:
			r.must("kill", id, "SIGTERM")
			if code := reap(t, pid); code != 137 {
				t.Errorf("%s: exit %d after kill, want 137", id, code)
			}
			r.must("delete", id)
		case 1:
			r.must("delete", "--force", id)
			reap(t, pid)
		case 2:
			syscall.Kill(pid, syscall.SIGKILL)
			reap(t, pid)
			r.waitStatus(id, "stopped")
			r.must("delete", id)
		}
	}
	after := leakCounts(t, r, ns, prefix, dir)
	t.Logf("before: %v", before)
	t.Logf("after:  %v", after)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("50 cycles left something behind:\nbefore %v\nafter  %v", before, after)
	}
}

// leakCounts counts what a container may leave: state dirs and images
// under the root, links in the test netns and on the host, mounts,
// cgroups and processes of containers named prefix-*.
func leakCounts(t *testing.T, r *rt, ns, prefix, bundleDir string) map[string]int {
	t.Helper()
	c := map[string]int{"state dirs": 0, "image files": 0, "cgroups": 0, "processes": 0}
	ents, _ := os.ReadDir(r.root)
	for _, e := range ents {
		if e.Name() == ".images" {
			// The cache keeps its lock file; images and holder dirs go.
			imgs, _ := filepath.Glob(filepath.Join(r.root, e.Name(), "*.iso*"))
			hs, _ := filepath.Glob(filepath.Join(r.root, e.Name(), "*.holders"))
			c["image files"] = len(imgs) + len(hs)
		} else {
			c["state dirs"]++
		}
	}
	links, _ := inNetns(ns, 5*time.Second, "ip", "-o", "link", "show")
	c["links in test netns"] = strings.Count(links, "\n")
	// runnc makes links only in the container's netns (counted above);
	// the host's links come and go with other processes' tests, so only
	// taps, which nothing else makes in the host netns, are counted there.
	taps, _ := exec.Command("ip", "-o", "link", "show", "type", "tun").Output()
	c["host taps"] = strings.Count(string(taps), "\n")
	// Other processes on the machine mount too (ip netns add does): count
	// the mounts naming the state root or the bundle.
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	c["mounts"] = 0
	for _, l := range strings.Split(string(mi), "\n") {
		if strings.Contains(l, r.root) || strings.Contains(l, bundleDir) {
			c["mounts"]++
		}
	}
	for _, g := range []string{"/sys/fs/cgroup/*/" + prefix + "-*", "/sys/fs/cgroup/*/*/*/" + prefix + "-*"} {
		m, _ := filepath.Glob(g)
		c["cgroups"] += len(m)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), "/"+prefix+"-") {
			c["processes"]++
		}
	}
	return c
}

// TestRunncCLI: the verbs around the lifecycle (features, spec, version,
// list, ps, kill --all), JSON logs for the engine's shim, the console
// socket, and the CRI pod sandbox as a plain process.
func TestRunncCLI(t *testing.T) {
	r := newRT(t)
	var f struct {
		OCIVersionMax string   `json:"ociVersionMax"`
		Hooks         []string `json:"hooks"`
	}
	if err := json.Unmarshal([]byte(r.must("features")), &f); err != nil || f.OCIVersionMax == "" || len(f.Hooks) != 6 {
		t.Errorf("features: %+v %v", f, err)
	}
	if out := r.must("version"); !strings.Contains(out, "runnc version") {
		t.Errorf("version: %q", out)
	}
	specDir := t.TempDir()
	r.must("spec", "--bundle", specDir, "--unikernel", "/hello.spt")
	if b, err := os.ReadFile(filepath.Join(specDir, "config.json")); err != nil || !strings.Contains(string(b), `"/hello.spt"`) {
		t.Errorf("spec wrote %s, %v", b, err)
	}

	// Errors reach --log as runc's JSON lines.
	log := filepath.Join(t.TempDir(), "log.json")
	r.fails("does not exist", "--log", log, "--log-format", "json", "state", "nope")
	b, _ := os.ReadFile(log)
	var line struct{ Level, Msg, Time string }
	if err := json.Unmarshal(b, &line); err != nil || line.Level != "error" || !strings.Contains(line.Msg, "does not exist") || line.Time == "" {
		t.Errorf("--log-format json wrote %q (%v)", b, err)
	}

	// The console socket: the pty master arrives over SCM_RIGHTS and
	// carries the guest's console.
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	master := make(chan *os.File, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			master <- nil
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 256), make([]byte, 256)
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			master <- nil
			return
		}
		fds, _ := unix.ParseUnixRights(&msgs[0])
		master <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	dir := makeBundle(t, bundleSpec{guest: "build/unikernels/tests/hello.spt", terminal: true})
	id := ctrID("tty")
	pidFile := filepath.Join(t.TempDir(), "pid")
	r.must("create", "--bundle", dir, "--console-socket", sock, "--pid-file", pidFile, id)
	m := <-master
	if m == nil {
		t.Fatal("no pty master on the console socket")
	}
	defer m.Close()
	r.must("start", id)
	reap(t, readPid(t, pidFile))
	m.SetReadDeadline(time.Now().Add(10 * time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(out, []byte("SUCCESS")) {
		n, err := m.Read(buf)
		if err != nil {
			break
		}
		out = append(out, buf[:n]...)
	}
	if !bytes.Contains(out, []byte("Hello, World")) {
		t.Errorf("console: %q", out)
	}
	r.must("delete", id)

	// The pod sandbox: a plain process (busybox sleep for pause).
	if _, err := os.Stat("/bin/busybox"); err == nil {
		dir := makeBundle(t, bundleSpec{argv0: "/bin/busybox", args: []string{"sleep", "100"},
			files: map[string]string{"bin/busybox": "/bin/busybox"},
			annot: map[string]string{"io.kubernetes.cri.container-type": "sandbox"}})
		id := ctrID("pod")
		pidFile := filepath.Join(t.TempDir(), "pid")
		r.must("create", "--bundle", dir, "--pid-file", pidFile, id)
		r.must("start", id)
		if s := r.state(id); s.Status != "running" {
			t.Errorf("sandbox: %+v", s)
		}
		if !strings.Contains(r.must("list"), id) || !strings.Contains(r.must("list", "--format", "json"), `"id": "`+id+`"`) {
			t.Errorf("list lacks %s", id)
		}
		var pids []int
		if err := json.Unmarshal([]byte(r.must("ps", "--format", "json", id)), &pids); err != nil || len(pids) != 1 || pids[0] != readPid(t, pidFile) {
			t.Errorf("ps: %v %v", pids, err)
		}
		r.must("kill", "--all", id, "KILL")
		reap(t, readPid(t, pidFile))
		r.waitStatus(id, "stopped")
		r.must("delete", id)
	}
}
