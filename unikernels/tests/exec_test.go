package tests

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDirectExecRefused executes guests directly on the host, as a user
// typing ./hello.spt would: their PT_INTERP names a path that cannot be a
// file, so the kernel's execve fails and none of their code runs.
func TestDirectExecRefused(t *testing.T) {
	tender(t)
	imgs, _ := filepath.Glob(filepath.Join(root, "build/unikernels/tests/*.spt"))
	services, _ := filepath.Glob(filepath.Join(root, "build/unikernels/*/*.spt"))
	libos, _ := filepath.Glob(filepath.Join(root, "build/libos/tests/*.spt"))
	imgs = append(append(imgs, services...), libos...)
	if len(imgs) < 10 {
		t.Fatalf("found %d built guests (%v); run make", len(imgs), imgs)
	}
	for _, img := range imgs {
		name := strings.TrimPrefix(img, root+"/")
		err := exec.Command(img, "SUCCESS").Run()
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EACCES) {
			t.Errorf("exec %s: %v; want ENOENT or EACCES from execve (its missing interpreter)", name, err)
		}
		// From a shell: 127 (interpreter not found) or 126 (not executable).
		r := run(t, 30*time.Second, "sh", "-c", `exec "$0" SUCCESS`, img)
		if !r.exited || (r.exit != 126 && r.exit != 127) || r.stdout != "" {
			t.Errorf("sh -c 'exec %s': %v, stdout %q; want status 126 or 127 and no output", name, r, r.stdout)
		}
	}
}
