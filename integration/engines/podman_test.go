//go:build engines

package engines

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/hostkit"
)

// podmanREADME returns the README's Podman commands as argument lists,
// with the install path and image folder of this test run.
func podmanREADME(t *testing.T) (load, run []string) {
	t.Helper()
	block, err := readmeBlock("podman")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(installed(block)), "\n") {
		f := strings.Fields(strings.ReplaceAll(l, "build/images/", images+"/"))
		switch {
		case len(f) > 1 && f[0] == "podman" && f[1] == "load":
			load = f[1:]
		case len(f) > 1 && f[0] == "podman" && f[1] == "run":
			run = f[1:]
		}
	}
	if load == nil || run == nil {
		t.Fatalf("README podman block lacks a podman load or podman run line:\n%s", block)
	}
	return load, run
}

// harnessFlags go right after `run`: no network, since Podman's default one
// writes a bridge and firewall rules into the machine's own configuration
// and hello needs none; and explicit rlimits, since Podman asks for the
// caller's hard limits, which runc's init may not set without
// CAP_SYS_RESOURCE, which root on these machines lacks.
var harnessFlags = []string{"--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

func withHarnessFlags(run []string) []string {
	return append(append([]string{run[0]}, harnessFlags...), run[1:]...)
}

// TestPodmanRuncPeer: Podman with runc, so that a runnc failure is runnc's.
func TestPodmanRuncPeer(t *testing.T) {
	needEngines(t)
	if out, err := podmanCmd("load", "-i", filepath.Join(images, "busybox.tar")).CombinedOutput(); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	args := withHarnessFlags([]string{"run", "--rm", "--runtime", "/usr/sbin/runc", "runnc/busybox", "sh", "-c", "echo peer; exit 4"})
	out, err := hostkit.RunTimeout(time.Minute, podmanCmd(args...))
	if hostkit.ExitCode(err) != 4 || strings.TrimSpace(out) != "peer" {
		t.Fatalf("podman run busybox under runc: exit %d (%v)\n%s", hostkit.ExitCode(err), err, out)
	}
}

// TestPodman runs the README's Podman lines: hello prints and exits 0,
// and the same command on the aborting guest exits 255.
func TestPodman(t *testing.T) {
	needRunnc(t)
	load, run := podmanREADME(t)
	if out, err := podmanCmd(load...).CombinedOutput(); err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(load, " "), err, out)
	}
	out, err := hostkit.RunTimeout(time.Minute, podmanCmd(withHarnessFlags(run)...))
	if err != nil || !strings.Contains(out, "Hello, World") {
		t.Fatalf("podman %s: %v\n%s", strings.Join(run, " "), err, out)
	}
	if out, err := podmanCmd("load", "-i", filepath.Join(images, "abort.tar")).CombinedOutput(); err != nil {
		t.Fatalf("podman load abort: %v\n%s", err, out)
	}
	abort := append([]string{}, run...)
	abort[len(abort)-1] = "runnc/abort"
	out, err = hostkit.RunTimeout(time.Minute, podmanCmd(withHarnessFlags(abort)...))
	if hostkit.ExitCode(err) != 255 {
		t.Fatalf("podman run abort: exit %d (%v), want 255\n%s", hostkit.ExitCode(err), err, out)
	}
}
