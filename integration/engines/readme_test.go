//go:build engines

package engines

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/hostkit"
)

// TestReadmeImage runs the README's "Build your own unikernel" commands and
// then its "Your own unikernel as an image" commands, as written, with
// docker being the test's dockerd: the one-file app becomes an image
// that docker loads and runs under runnc.
func TestReadmeImage(t *testing.T) {
	needRunnc(t)
	build := filepath.Join(repo, "build")
	byo, err := readmeBlock("byo")
	if err != nil {
		t.Fatal(err)
	}
	img, err := readmeBlock("byo-image")
	if err != nil {
		t.Fatal(err)
	}
	script := strings.Replace(byo, "RUNNC=/path/to/runnc/build", "RUNNC="+build, 1)
	if script == byo {
		t.Fatal("README byo block does not start with RUNNC=/path/to/runnc/build")
	}
	docker := `docker() { /usr/bin/docker -H unix://` + dockerSock() + ` "$@"; }` + "\n"
	dir := t.TempDir()
	for _, f := range []string{"app.c", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(repo, "solo5", "testdata", "byo", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { dockerCmd("rmi", "-f", "myapp:latest").Run() })
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", docker+script+img)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+filepath.Join(work, "docker-cli"))
	out, err := hostkit.RunTimeout(2*time.Minute, cmd)
	if err != nil {
		t.Fatalf("README commands: %v\n%s", err, out)
	}
	for _, want := range []string{"wrote myapp.tar (myapp:latest)", "hello from an image'", "SUCCESS"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	labels := dockerOK(t, "inspect", "-f", "{{json .Config.Labels}}", "myapp:latest")
	if !strings.Contains(labels, `"app":"myapp"`) || !strings.Contains(labels, `"org.runnc.unikernel":"true"`) {
		t.Errorf("myapp labels: %s", labels)
	}
}
