// Package solo5_test checks the installed guest toolchain the way a user
// meets it: the README's "Build your own unikernel" commands, run as they
// stand, on a one-file app that includes only solo5.h.
package solo5_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestReadmeBuildYourOwn(t *testing.T) {
	root, _ := filepath.Abs("..")
	build := filepath.Join(root, "build")
	if _, err := os.Stat(filepath.Join(build, "bin", "runnc-spt")); err != nil {
		t.Skip("build/ not built: run make first")
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- byo:begin -->\\s*```sh\\n(.*?)```\\s*<!-- byo:end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no byo:begin/byo:end block")
	}
	script := strings.Replace(string(m[1]), "RUNNC=/path/to/runnc/build", "RUNNC="+build, 1)
	if script == string(m[1]) {
		t.Fatal("README block does not start with RUNNC=/path/to/runnc/build")
	}
	dir := t.TempDir()
	for _, f := range []string{"app.c", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "byo", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README commands failed: %v\n%s", err, out)
	}
	// The README's flags are upstream's: the app is built with the stack
	// protector, so it needs the guard the bindings provide.
	o, err := elf.Open(filepath.Join(dir, "app.o"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	syms, err := o.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]bool{"__stack_chk_guard": true, "__stack_chk_fail": true}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			delete(need, s.Name)
		}
	}
	if len(need) != 0 {
		t.Errorf("app.o does not use the stack protector (no reference to %v): the README's flags lack -fstack-protector-strong -mstack-protector-guard=global", need)
	}
	for _, want := range []string{"Command line is: 'hello from runnc'", "Heap: ", "SUCCESS"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "warning") {
		t.Errorf("the README's commands print warnings:\n%s", out)
	}
}
