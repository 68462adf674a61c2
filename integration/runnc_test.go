package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
