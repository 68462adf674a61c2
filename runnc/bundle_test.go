package runnc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestGuestMemory(t *testing.T) {
	lim := func(n int64) *specs.Spec {
		return &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &n}}}}
	}
	if m, err := guestMemory(&specs.Spec{Linux: &specs.Linux{}}); err != nil || m != DefaultGuestMiB {
		t.Errorf("no limit: %d %v", m, err)
	}
	if m, err := guestMemory(lim(MinLimitMiB << 20)); err != nil || m != MinLimitMiB-TenderOverheadMiB {
		t.Errorf("the minimum: %d %v", m, err)
	}
	if m, err := guestMemory(lim(64 << 20)); err != nil || m != 64-TenderOverheadMiB {
		t.Errorf("64 MiB: %d %v", m, err)
	}
	if _, err := guestMemory(lim(MinLimitMiB<<20 - 1)); err == nil || !strings.Contains(err.Error(), "below runnc's minimum") {
		t.Errorf("below the minimum: %v", err)
	}
}

func TestEnvArgs(t *testing.T) {
	got := envArgs([]string{"PATH=/bin", "MSG=a b%c\td\ne", "NOEQUALS"})
	want := []string{"--env=PATH=/bin", "--env=MSG=a%20b%25c%09d%0Ae"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("envArgs: %q, want %q", got, want)
	}
}

func TestTerminates(t *testing.T) {
	for _, s := range []unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGKILL} {
		if !terminates(s) {
			t.Errorf("%v: should end a unikernel", s)
		}
	}
	for _, s := range []unix.Signal{unix.SIGCHLD, unix.SIGWINCH, unix.SIGCONT, unix.SIGURG} {
		if terminates(s) {
			t.Errorf("%v: should not end a unikernel", s)
		}
	}
}

// resolve finds args[0] in the rootfs, through PATH for a bare name and
// through symlinks that stay inside the rootfs.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "app/bin"), 0o755)
	os.WriteFile(filepath.Join(root, "app/bin/kv.spt"), []byte("x"), 0o755)
	os.Symlink("/app/bin/kv.spt", filepath.Join(root, "app/bin/kv"))
	os.Symlink("../../../../../etc/passwd", filepath.Join(root, "escape"))
	b := &bundle{rootfs: root, spec: &specs.Spec{Process: &specs.Process{Cwd: "/app", Env: []string{"PATH=/usr/bin:/app/bin"}}}}
	for name, want := range map[string]string{"kv.spt": "/app/bin/kv.spt", "kv": "/app/bin/kv.spt", "/app/bin/kv.spt": "/app/bin/kv.spt", "bin/kv.spt": "/app/bin/kv.spt"} {
		b.spec.Process.Args = []string{name}
		ctr, host, err := b.resolve(name)
		if err != nil || ctr != want || host != filepath.Join(root, want) {
			t.Errorf("resolve %s: %s %s %v, want %s", name, ctr, host, err, want)
		}
	}
	b.spec.Process.Args = []string{"/escape"}
	if _, _, err := b.resolve("/escape"); err == nil {
		t.Error("a symlink out of the rootfs resolved to a file")
	}
}

func TestNotUnikernel(t *testing.T) {
	for _, c := range []struct{ data, want string }{
		{"#!/bin/sh\n", "a script"},
		{"hello", "not an ELF file"},
		{"\x7fELF\x02\x01", "corrupt ELF"},
	} {
		if got := notUnikernel([]byte(c.data)); !strings.Contains(got, c.want) {
			t.Errorf("%q: %q, want %q", c.data, got, c.want)
		}
	}
	self, _ := os.ReadFile("/proc/self/exe")
	if got := notUnikernel(self); got == "" {
		t.Error("the test binary passes as a unikernel")
	}
}

// TestNetOffload: the runtime's default applies where the guest supports
// offload; the annotation overrides it both ways, is refused for a guest
// without the feature, and takes only true or false.
func TestNetOffload(t *testing.T) {
	b := func(offloadable bool, annot ...string) *bundle {
		s := &specs.Spec{}
		if len(annot) > 0 {
			s.Annotations = map[string]string{NetOffloadAnnotation: annot[0]}
		}
		return &bundle{spec: s, guest: "/app.spt", offloadable: offloadable}
	}
	for _, c := range []struct {
		b        *bundle
		def      bool
		want     bool
		errWants string
	}{
		{b(true), true, true, ""},
		{b(true), false, false, ""},
		{b(false), true, false, ""},
		{b(true, "false"), true, false, ""},
		{b(true, "true"), false, true, ""},
		{b(false, "true"), true, false, "does not support offload"},
		{b(true, "yes"), true, false, `"yes": want true or false`},
	} {
		got, err := c.b.netOffload(c.def)
		switch {
		case c.errWants != "" && (err == nil || !strings.Contains(err.Error(), c.errWants)):
			t.Errorf("offloadable %v, annotations %v, default %v: error %v, want one containing %q",
				c.b.offloadable, c.b.spec.Annotations, c.def, err, c.errWants)
		case c.errWants == "" && (err != nil || got != c.want):
			t.Errorf("offloadable %v, annotations %v, default %v: %v %v, want %v",
				c.b.offloadable, c.b.spec.Annotations, c.def, got, err, c.want)
		}
	}
}

// TestMemPrefaultAnnotation: the runtime's default applies without the
// annotation; the annotation overrides it both ways and takes only true
// or false.
func TestMemPrefaultAnnotation(t *testing.T) {
	b := func(annot ...string) *bundle {
		s := &specs.Spec{}
		if len(annot) > 0 {
			s.Annotations = map[string]string{MemPrefaultAnnotation: annot[0]}
		}
		return &bundle{spec: s, guest: "/app.spt"}
	}
	for _, c := range []struct {
		b        *bundle
		def      bool
		want     bool
		errWants string
	}{
		{b(), false, false, ""},
		{b(), true, true, ""},
		{b("true"), false, true, ""},
		{b("false"), true, false, ""},
		{b("1"), false, false, `"1": want true or false`},
	} {
		got, err := c.b.memPrefault(c.def)
		switch {
		case c.errWants != "" && (err == nil || !strings.Contains(err.Error(), c.errWants)):
			t.Errorf("annotations %v, default %v: error %v, want one containing %q", c.b.spec.Annotations, c.def, err, c.errWants)
		case c.errWants == "" && (err != nil || got != c.want):
			t.Errorf("annotations %v, default %v: %v %v, want %v", c.b.spec.Annotations, c.def, got, err, c.want)
		}
	}
}
