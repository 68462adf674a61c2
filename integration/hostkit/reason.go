package hostkit

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/runnc/runnc/image"
)

// RunncReason is runnc's own one-line refusal to create a container of
// files (an image's) running args, found by `runnc create` of such a
// bundle in dir: what an engine must pass on to its user.
func RunncReason(runncBin, dir string, files []image.File, args ...string) (string, error) {
	bundle := filepath.Join(dir, "bundle")
	if err := os.MkdirAll(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		return "", err
	}
	if out, err := exec.Command(runncBin, "spec", "--bundle", bundle, "--unikernel", args[0]).CombinedOutput(); err != nil {
		return "", fmt.Errorf("runnc spec: %v: %s", err, out)
	}
	cfgPath := filepath.Join(bundle, "config.json")
	var cfg map[string]any
	b, err := os.ReadFile(cfgPath)
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		return "", err
	}
	cfg["process"].(map[string]any)["args"] = args
	if b, err = json.Marshal(cfg); err != nil {
		return "", err
	}
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		return "", err
	}
	for _, f := range files {
		p := filepath.Join(bundle, "rootfs", f.Path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		switch {
		case f.Link != "":
			err = os.Symlink(f.Link, p)
		case f.Source != "":
			var data []byte
			if data, err = os.ReadFile(f.Source); err == nil {
				err = os.WriteFile(p, data, 0o755)
			}
		default:
			err = os.WriteFile(p, f.Data, 0o755)
		}
		if err != nil {
			return "", err
		}
	}
	id := fmt.Sprintf("reason-%d", os.Getpid())
	state := filepath.Join(dir, "state")
	out, err := exec.Command(runncBin, "--root", state, "create", "--bundle", bundle, id).CombinedOutput()
	if err == nil {
		exec.Command(runncBin, "--root", state, "delete", "--force", id).Run()
		return "", fmt.Errorf("runnc create accepted %v", args)
	}
	line := strings.TrimSpace(string(out))
	if strings.Contains(line, "\n") {
		return "", fmt.Errorf("runnc's refusal is not one line: %q", line)
	}
	return strings.TrimPrefix(line, "runnc: "), nil
}

// BusyboxFiles and BusyboxArgs are the non-unikernel image `make images`
// builds (busybox.tar) as runnc sees it: busybox's echo as the entrypoint.
var (
	BusyboxFiles = []image.File{{Path: "/bin/busybox", Source: "/bin/busybox"}, {Path: "/bin/echo", Link: "busybox"}}
	BusyboxArgs  = []string{"/bin/echo", "hi"}
)
