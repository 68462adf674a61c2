//go:build engines

package engines

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/hostkit"
	"github.com/runnc/runnc/integration/testnet"
)

// The environment every test shares, set up once by TestMain.
var (
	repo     string // module root
	work     string // everything the daemons write lives under here
	prefix   string // `make install PREFIX=` target
	runncBin string // prefix/bin/runnc
	images   string // build/images
	tag      string // "<pid>", in every name the tests give the host

	docker  *daemon
	ctrd    *daemon
	dockerB *hostkit.Bridge // the bridge dockerd attaches containers to
	cniB    *hostkit.Bridge // the bridge of the CRI pods' CNI network

	// setupErr is why the engines could not be started; every test fails
	// with it instead of each finding its own way to fail.
	setupErr error
)

// Cgroup parents of the daemons' containers, so leftovers are easy to
// find: dockerd puts containers right under its parent, CRI under a pod
// cgroup (kubelet's to make and remove, so ours) under its parent, ctr
// into the path the test gives it.
func dockerCgroup() string { return "runnc-docker-" + tag }
func criCgroup() string    { return "runnc-cri-" + tag }
func ctrCgroup() string    { return "runnc-ctr-" + tag }

// containerCgroups lists the containers' own cgroup folders in every
// hierarchy; the parents above them are the test's, not the daemons'.
func containerCgroups() []string {
	var dirs []string
	for _, pat := range []string{dockerCgroup() + "/*/", criCgroup() + "/*/*/", ctrCgroup() + "/*/"} {
		m, _ := filepath.Glob("/sys/fs/cgroup/*/" + pat)
		dirs = append(dirs, m...)
	}
	return dirs
}

func TestMain(m *testing.M) { os.Exit(mainRun(m)) }

func mainRun(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "engines: the engine tests need root")
		return 1
	}
	tag = strconv.Itoa(os.Getpid())
	var err error
	if repo, err = testnet.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	images = filepath.Join(repo, "build", "images")
	// Short: unix socket paths must stay under 108 bytes.
	if work, err = os.MkdirTemp("", "rne"+tag+"."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	before := snapshot()
	made := absentDirs()
	setupErr = setup()
	if setupErr != nil {
		fmt.Fprintln(os.Stderr, "engines: setup:", setupErr)
	}
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "engines: teardown:", err)
		code = 1
	}
	after := snapshot()
	if leaks := after.Since(before); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "engines: left behind after the daemons stopped:\n  %s\n", strings.Join(leaks, "\n  "))
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "engines: nothing left behind (%s)\n", after.Counts("link", "file", "record", "mount", "cgroup", "iptables", "process"))
	}
	cleanLeftovers()
	os.RemoveAll(work)
	removeEmpty(made)
	return code
}

// machineDirs are folders at the machine's default paths that the
// daemons create even when told to keep everything under their own roots:
// dockerd's plugin socket folder, the containerd shims' socket folder,
// ctr's fifos and runc root, libcni's cache, the runtimes' roots Podman
// uses. Their contents are watched
// by snapshot; the folders themselves are removed again if they were not
// there before.
var podmanID = regexp.MustCompile(`^[0-9a-f]{64}$`)

var machineDirs = []string{
	"/run/docker", "/run/docker/plugins",
	"/run/containerd", "/run/containerd/fifo", "/run/containerd/s", "/run/containerd/runc", "/run/containerd/runc/k8s.io",
	"/var/lib/cni", "/var/lib/cni/results", "/var/lib/cni/networks",
	"/run/runnc", "/run/runc",
}

func absentDirs() []string {
	var absent []string
	for _, d := range machineDirs {
		if _, err := os.Stat(d); err != nil {
			absent = append(absent, d)
		}
	}
	return absent
}

// removeEmpty removes the folders dirs, deepest first, where empty.
func removeEmpty(dirs []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
}

// needEngines fails the test if the shared setup did not complete.
func needEngines(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("engines not started: %v", setupErr)
	}
}

// needRunnc fails the test when runnc was not built or installed.
func needRunnc(t *testing.T) {
	t.Helper()
	needEngines(t)
	if _, err := os.Stat(runncBin); err != nil {
		t.Fatalf("runnc not installed (%v): the runtime (cmd/runnc) is not built", err)
	}
}

func setup() error {
	for _, a := range []string{"hello", "abort", "kv", "httpd", "busybox", "redis", "pause"} {
		if _, err := os.Stat(filepath.Join(images, a+".tar")); err != nil {
			return fmt.Errorf("%w: run make images first", err)
		}
	}
	prefix = filepath.Join(work, "prefix")
	runncBin = filepath.Join(prefix, "bin", "runnc")
	if out, err := exec.Command("make", "-s", "-C", repo, "install", "PREFIX="+prefix).CombinedOutput(); err != nil {
		// Without runnc the runc peers still run; runnc's tests say why.
		fmt.Fprintf(os.Stderr, "engines: make install: %v\n%s", err, out)
	}
	var err error
	if dockerB, err = hostkit.NewBridge("rnd"+tag, 0); err != nil {
		return err
	}
	if cniB, err = hostkit.NewBridge("rnc"+tag, 23); err != nil {
		return err
	}
	if docker, err = startDockerd(); err != nil {
		return err
	}
	if ctrd, err = startContainerd(); err != nil {
		return err
	}
	for _, a := range []string{"hello", "abort", "kv", "httpd", "busybox", "redis"} {
		if out, err := dockerCmd("load", "-i", filepath.Join(images, a+".tar")).CombinedOutput(); err != nil {
			return fmt.Errorf("docker load %s: %v: %s", a, err, out)
		}
	}
	for _, a := range []string{"hello", "abort", "kv", "busybox", "pause"} {
		if out, err := ctrCmd("k8s.io", "images", "import", filepath.Join(images, a+".tar")).CombinedOutput(); err != nil {
			return fmt.Errorf("ctr images import %s: %v: %s", a, err, out)
		}
	}
	return nil
}

func teardown() error {
	var errs []error
	if docker != nil {
		// Containers a failed test left: remove them while the daemon runs.
		if ids, err := dockerCmd("ps", "-aq").Output(); err == nil && len(bytes.TrimSpace(ids)) > 0 {
			args := append([]string{"rm", "-f"}, strings.Fields(string(ids))...)
			dockerCmd(args...).Run()
		}
		errs = append(errs, docker.Stop())
	}
	if ctrd != nil {
		hostkit.RemoveAllPods(work)
		errs = append(errs, ctrd.Stop())
	}
	errs = append(errs, podmanReset())
	for _, b := range []*hostkit.Bridge{dockerB, cniB} {
		if b != nil {
			errs = append(errs, b.Remove())
		}
	}
	return errors.Join(errs...)
}

// --- daemons -----------------------------------------------------------------

// --- docker ------------------------------------------------------------------

func dockerSock() string { return filepath.Join(work, "docker.sock") }

// dockerd runs with the README's daemon.json (runtimes: runnc), its own
// bridge, and no iptables rules, forwarding or masquerading: the tests
// reach containers from the host over the bridge and published ports
// through docker-proxy, so the machine's firewall is never touched.
func startDockerd() (*daemon, error) {
	cfg, err := readmeBlock("docker-daemon-json")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(work, "daemon.json")
	if err := os.WriteFile(cfgPath, []byte(installed(cfg)), 0o644); err != nil {
		return nil, err
	}
	d, err := startDaemon("dockerd", "/usr/sbin/dockerd",
		"--host", "unix://"+dockerSock(),
		"--config-file", cfgPath,
		"--data-root", filepath.Join(work, "docker"),
		"--exec-root", filepath.Join(work, "dx"),
		"--pidfile", filepath.Join(work, "docker.pid"),
		"--bridge", dockerB.Name,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false",
		"--cgroup-parent", "/"+dockerCgroup(),
		"--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := d.WaitReady(time.Minute, func() error { return dockerCmd("version").Run() }); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// dockerCmd is Debian's docker CLI (not any other docker on PATH) talking
// to our dockerd, with a private CLI config folder.
func dockerCmd(args ...string) *exec.Cmd {
	cmd := exec.Command("/usr/bin/docker", append([]string{"-H", "unix://" + dockerSock()}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(work, "docker-cli"))
	return cmd
}

// docker runs a docker command and returns its combined output; it fails
// the test on error.
func dockerOK(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCmd(args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// --- containerd --------------------------------------------------------------

func ctrdSock() string { return hostkit.ContainerdSock(work) }

func startContainerd() (*daemon, error) {
	handler, err := readmeBlock("containerd-toml")
	if err != nil {
		return nil, err
	}
	return hostkit.StartContainerd(work, installed(handler), cniB)
}

// ctrCmd is ctr on our containerd, in namespace ns.
func ctrCmd(ns string, args ...string) *exec.Cmd {
	return hostkit.Ctr(work, ns, args...)
}

// --- podman ------------------------------------------------------------------

// podmanCmd is podman with its storage, run state and temp files under
// work, cgroupfs and no event log, so nothing of the machine's own Podman
// setup is read or written. The runtimes keep their state in their default
// roots (/run/runnc, /run/runc): Podman 4.3 does not hand --runtime-flag to
// the cleanup that deletes a --rm container, so a root of our own would
// orphan that state; snapshot watches those roots instead.
func podmanCmd(args ...string) *exec.Cmd {
	p := filepath.Join(work, "podman")
	base := []string{"--root", p + "/root", "--runroot", p + "/run", "--tmpdir", p + "/tmp",
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"}
	return exec.Command("/usr/bin/podman", append(base, args...)...)
}

func podmanReset() error {
	if _, err := os.Stat(filepath.Join(work, "podman")); err != nil {
		return nil
	}
	// `podman run --rm` returns before conmon's exit command (a `podman
	// container cleanup` of its own) has deleted the runtime's state; a
	// reset under it would orphan that state, so let them finish first.
	p := filepath.Join(work, "podman")
	for i := 0; i < 300 && len(processesWith(p)) > 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := podmanCmd("rm", "-a", "-f").CombinedOutput(); err != nil {
		return fmt.Errorf("podman rm -a: %v: %s", err, out)
	}
	if out, err := podmanCmd("system", "reset", "-f").CombinedOutput(); err != nil {
		return fmt.Errorf("podman system reset: %v: %s", err, out)
	}
	return nil
}

// --- host network ------------------------------------------------------------

// --- what the daemons leave behind -------------------------------------------

// snapshot records what of the host the tests could leave behind.
func snapshot() hostkit.State {
	s := hostkit.State{}
	add := s.Add
	// Other processes on the machine make links, netns and mounts of their
	// own meanwhile; count only the kinds ours make: the host ends of
	// veth pairs (Docker's and the CNI bridge plugin's are named veth*),
	// taps, our bridges, and mounts under our folders or containerd's.
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 1 {
				name := strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
				if strings.HasPrefix(name, "veth") || strings.HasPrefix(name, "tap") || strings.HasSuffix(name, tag) {
					add("link", name)
				}
			}
		}
	}
	for _, dir := range machineDirs {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			// In the runtimes' default roots, only Podman's containers
			// (64 hex digits) are ours; other users of the machine
			// may run runc or runnc meanwhile.
			if (dir == "/run/runnc" || dir == "/run/runc") && !podmanID.MatchString(e.Name()) {
				continue
			}
			if !slices.Contains(machineDirs, p) {
				add("file", p)
			}
		}
	}
	// Per-container and per-pod records of the daemons and of the runtime
	// they call (state roots, shim bundles): a container or pod that was
	// removed has none left.
	for _, dir := range []string{"docker/containers", "dx/runtime-runnc/moby", "dx/containerd/daemon/io.containerd.runtime.v2.task/moby",
		"ctrd/io.containerd.grpc.v1.cri/sandboxes", "ctrd/io.containerd.grpc.v1.cri/containers",
		"ctrd-state/io.containerd.runtime.v2.task/k8s.io", "ctrd-state/io.containerd.grpc.v1.cri/sandboxes",
		"runnc-cri/k8s.io"} {
		ents, _ := os.ReadDir(filepath.Join(work, dir))
		for _, e := range ents {
			add("record", filepath.Join(dir, e.Name()))
		}
	}
	for _, mp := range hostkit.Mounts(func(mp string) bool {
		for _, p := range []string{work, "/run/containerd", "/var/lib/containerd", "/var/lib/docker", "/run/docker"} {
			if strings.HasPrefix(mp, p) {
				return true
			}
		}
		return false
	}) {
		add("mount", mp)
	}
	for _, c := range containerCgroups() {
		add("cgroup", c)
	}
	for _, cmd := range [][]string{{"iptables-save"}, {"ip6tables-save"}} {
		if out, err := exec.Command(cmd[0]).Output(); err == nil {
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "-A") || strings.HasPrefix(l, ":") {
					add("iptables", l)
				}
			}
		}
	}
	for _, p := range processesWith(work) {
		add("process", p)
	}
	return s
}

// processesWith lists the processes (but this one) whose command line
// mentions path or whose cgroup is one of ours.
func processesWith(path string) []string { return hostkit.ProcessesWith(path, "-"+tag) }

// cleanLeftovers removes what a failed run may have left, after it was
// reported: mounts under work, our cgroups, our bridges.
func cleanLeftovers() {
	hostkit.UnmountUnder(work)
	for _, parent := range []string{dockerCgroup(), criCgroup(), ctrCgroup()} {
		m, _ := filepath.Glob("/sys/fs/cgroup/*/" + parent)
		for _, c := range m {
			hostkit.RemoveCgroup(c)
		}
	}
	for _, b := range []*hostkit.Bridge{dockerB, cniB} {
		if b != nil {
			b.Remove()
		}
	}
}

// --- README snippets ---------------------------------------------------------

// readmeBlock returns the README's code block NAME (hostkit.ReadmeBlock).
func readmeBlock(name string) (string, error) { return hostkit.ReadmeBlock(repo, name) }

// installed rewrites the README's /usr/local install paths to the test's
// PREFIX.
func installed(s string) string { return hostkit.Installed(s, prefix) }

// daemon is a process the tests started (hostkit.Daemon).
type daemon = hostkit.Daemon

func startDaemon(name string, args ...string) (*daemon, error) {
	return hostkit.Start(work, name, args...)
}
