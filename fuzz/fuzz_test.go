package fuzz

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The targets of fuzz.mk; each has seeds in corpus/NAME, and may have
// more made at build time in build/fuzz/corpus/NAME.
var targets = []string{"kv_resp", "httpd_request", "iso9660", "tcp_sack"}

// seeds lists the files of the corpus directories that exist.
func seeds(t *testing.T, dirs ...string) []string {
	var files []string
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatalf("read %s: %v", dir, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	return files
}

// TestSeeds runs each target once over every seed of its corpus: a seed
// that crashes, trips a sanitizer or fails a check fails the test. The
// regression seeds of fixed bugs are among them.
func TestSeeds(t *testing.T) {
	for _, name := range targets {
		name := name
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bin := filepath.Join("..", "build", "fuzz", name)
			if _, err := os.Stat(bin); err != nil {
				t.Fatalf("%v: run make first (it builds the fuzz targets)", err)
			}
			files := seeds(t, filepath.Join("corpus", name),
				filepath.Join("..", "build", "fuzz", "corpus", name))
			if len(files) == 0 {
				t.Fatalf("no seeds in corpus/%s", name)
			}
			// Given files, libFuzzer runs each once and does not fuzz.
			out, err := exec.Command(bin, files...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s over %d seeds: %v\n%s", name, len(files), err, tail(out))
			}
			if n := strings.Count(string(out), "Executed "); n != len(files) {
				t.Fatalf("%s ran %d of %d seeds\n%s", name, n, len(files), tail(out))
			}
		})
	}
}

// tail is the end of a target's output, where a crash report is.
func tail(out []byte) string {
	const max = 4000
	if len(out) > max {
		return "..." + string(out[len(out)-max:])
	}
	return string(out)
}
