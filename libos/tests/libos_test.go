// Package tests runs libos's test guests on the runnc-spt tender: libctest
// checks the C library from inside a guest, and fstest reads ISO9660
// images that genisoimage makes here from files the test writes, so what
// the guest reports can be compared with the originals. `make test`
// builds the tender and the guests first; without them the tests skip.
package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var root = func() string {
	r, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return r
}()

// built returns the path of a build output, or skips the test.
func built(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(root, "build", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make test): %v", p, err)
	}
	return p
}

// result is how one run of the tender ended.
type result struct {
	stdout, stderr string
	exit           int // -1 if killed by a signal
}

func (r *result) output() string { return r.stdout + r.stderr }

// runGuest runs guest (under build/) on the tender with the tender
// options opts and the guest arguments args.
func runGuest(t testing.TB, guest string, opts []string, args ...string) *result {
	t.Helper()
	tender := built(t, "bin/runnc-spt")
	kernel := built(t, guest)
	argv := append(append(append([]string{}, opts...), "--", kernel), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tender, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &result{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: still running after 2 minutes (killed)\n%s", tender, strings.Join(argv, " "), r.output())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.exit = exitErr.ExitCode()
	default:
		t.Fatalf("%s %s: %v", tender, strings.Join(argv, " "), err)
	}
	return r
}

const libctest = "libos/tests/libctest.spt"

func TestLibc(t *testing.T) {
	r := runGuest(t, libctest, nil)
	if r.exit != 0 || !strings.Contains(r.stdout, "SUCCESS") {
		t.Fatalf("libctest: exit %d, want 0 and SUCCESS; output:\n%s", r.exit, r.output())
	}
}

// TestStrtodGlibc: libos's strtold() and strtod(), built for the host,
// give the same bits, end pointers and errno as glibc's on about 44000
// inputs (random decimals over the long double range, exact expansions
// of long doubles and of the halfway points between them, special forms).
func TestStrtodGlibc(t *testing.T) {
	bin := built(t, "libos/tests/strtod_host")
	out, err := exec.Command(bin, "2000").CombinedOutput()
	if err != nil || !strings.Contains(string(out), ", 0 differ") {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	t.Log(strings.TrimSpace(string(out)))
}

func TestLibcEndings(t *testing.T) {
	long := strings.Repeat("x", 1999)
	tests := []struct {
		name string
		opts []string
		args []string
		exit int
		want []string // regexps the output must match
	}{
		{name: "console", args: []string{"console"}, exit: 0, want: []string{
			`(?m)^printf: \[   42\] \[ab   \] \[0003\.142\] \[0xff\]$`,
			`(?m)^puts: line$`, `(?m)^c$`, `(?m)^fprintf: to stderr$`,
			`(?m)^fwrite: 12345$`, `(?m)^fputs: done$`,
			`(?m)^long: ` + long + `\|1999$`,
		}},
		{name: "abort", args: []string{"abort"}, exit: 255, want: []string{`calling abort`}},
		{name: "assert", args: []string{"assert"}, exit: 255,
			want: []string{`libctest/main\.c:\d+: main: Assertion .two == 1. failed\.`}},
		{name: "exit", args: []string{"exit", "42"}, exit: 42, want: []string{`atexit handler ran`}},
		{name: "exit0", args: []string{"exit", "0"}, exit: 0, want: []string{`atexit handler ran`}},
		// 64 MiB of guest memory: malloc fails with ENOMEM before that,
		// everything freed comes back as one block.
		{name: "oom", opts: []string{"--mem=64"}, args: []string{"oom"}, exit: 0,
			want: []string{`allocated [1-6][0-9] MiB`, `OOM OK`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runGuest(t, libctest, tc.opts, tc.args...)
			if r.exit != tc.exit {
				t.Errorf("exit status %d, want %d", r.exit, tc.exit)
			}
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(r.output()) {
					t.Errorf("output does not match %q", w)
				}
			}
			if strings.Contains(r.output(), "FAIL") {
				t.Errorf("a check failed")
			}
			if t.Failed() {
				t.Logf("output:\n%s", r.output())
			}
		})
	}
}

// --- the ISO9660 reader ------------------------------------------------

const fstest = "libos/tests/fstest.spt"

// tree is a directory of test files and what fstest must report for it.
type tree struct {
	dir   string
	files map[string][]byte // "/path" -> contents
	dirs  map[string]bool
}

func (tr *tree) add(t *testing.T, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(tr.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tr.files["/"+rel] = data
	for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
		tr.dirs["/"+d] = true
	}
}

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// makeTree writes the files the image is made of: the sizes around a
// 2048-byte sector, large files, deep directories (which genisoimage
// relocates with Rock Ridge beyond eight levels), a directory of many
// sectors, and names ISO9660 alone could not hold.
func makeTree(t *testing.T) *tree {
	tr := &tree{dir: t.TempDir(), files: map[string][]byte{}, dirs: map[string]bool{}}
	tr.add(t, "empty", nil)
	tr.add(t, "one-k.bin", randomBytes(1, 1024))
	for _, n := range []int{2047, 2048, 2049, 511, 513} {
		tr.add(t, fmt.Sprintf("size-%d", n), randomBytes(int64(n), n))
	}
	tr.add(t, "three-meg.bin", randomBytes(3, 3<<20))
	tr.add(t, "data/sixteen-meg.bin", randomBytes(16, 16<<20))
	tr.add(t, "a/b/c/d/e/f/g/h/i/j/k/deep.txt", []byte("deep\n"))
	tr.add(t, "a/b/c/shallow.txt", []byte("shallow\n"))
	tr.add(t, "A Long Mixed-Case Name, With Spaces & Symbols (v2).Data.txt", []byte("long name\n"))
	tr.add(t, strings.Repeat("Abc", 80)+".txt", []byte("240 characters\n"))
	tr.add(t, "UPPER.TXT", []byte("upper\n"))
	tr.add(t, "upper.txt", []byte("lower, same name otherwise\n"))
	for i := 0; i < 300; i++ {
		tr.add(t, fmt.Sprintf("many/entry-%03d-with-a-longer-name.txt", i), []byte(fmt.Sprintf("entry %d\n", i)))
	}
	if err := os.Mkdir(filepath.Join(tr.dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr.dirs["/emptydir"] = true
	return tr
}

// iso makes an image of dir with genisoimage and extra options.
func iso(t *testing.T, dir string, opts ...string) string {
	t.Helper()
	if _, err := exec.LookPath("genisoimage"); err != nil {
		t.Fatalf("genisoimage not installed (scripts/apt-packages.txt; make deps): %v", err)
	}
	img := filepath.Join(t.TempDir(), "img.iso")
	args := append(append([]string{"-quiet"}, opts...), "-o", img, dir)
	if out, err := exec.Command("genisoimage", args...).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return img
}

func fnv64(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

func mtimes(t *testing.T, dir string) map[string]int64 {
	m := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m["/"+filepath.ToSlash(rel)] = info.ModTime().Unix()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFSWalk(t *testing.T) {
	built(t, fstest)
	tr := makeTree(t)
	img := iso(t, tr.dir, "-R")
	mt := mtimes(t, tr.dir)

	r := runGuest(t, fstest, []string{"--block-ro:rootfs=" + img}, "walk")
	if r.exit != 0 {
		t.Fatalf("fstest walk: exit %d\n%s", r.exit, r.output())
	}
	seenFiles, seenDirs := map[string]bool{}, map[string]bool{}
	end := -1
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "D":
			mtime, path, _ := strings.Cut(rest, " ")
			if !tr.dirs[path] {
				t.Errorf("unexpected directory %q", path)
			}
			seenDirs[path] = true
			checkMtime(t, path, mtime, mt[path])
		case "F":
			f := strings.SplitN(rest, " ", 4)
			if len(f) != 4 {
				t.Errorf("bad line %q", line)
				continue
			}
			path := f[3]
			data, ok := tr.files[path]
			if !ok {
				t.Errorf("unexpected file %q", path)
				continue
			}
			seenFiles[path] = true
			if f[0] != strconv.Itoa(len(data)) {
				t.Errorf("%s: size %s, want %d", path, f[0], len(data))
			}
			if f[2] != fnv64(data) {
				t.Errorf("%s: content hash %s, want %s", path, f[2], fnv64(data))
			}
			checkMtime(t, path, f[1], mt[path])
		case "END":
			end, _ = strconv.Atoi(rest)
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	for p := range tr.files {
		if !seenFiles[p] {
			t.Errorf("file %s missing from the walk", p)
		}
	}
	for p := range tr.dirs {
		if !seenDirs[p] {
			t.Errorf("directory %s missing from the walk", p)
		}
	}
	if want := len(tr.files) + len(tr.dirs); end != want {
		t.Errorf("END %d, want %d entries", end, want)
	}
	if t.Failed() {
		t.Logf("output:\n%.4000s", r.output())
	}
}

// checkMtime compares a guest-reported mtime with the file's; ISO9660
// keeps whole seconds.
func checkMtime(t *testing.T, path, got string, want int64) {
	t.Helper()
	n, err := strconv.ParseInt(got, 10, 64)
	if err != nil || n < want-1 || n > want+1 {
		t.Errorf("%s: mtime %s, want %d", path, got, want)
	}
}

func TestFSLookups(t *testing.T) {
	built(t, fstest)
	tr := makeTree(t)
	img := iso(t, tr.dir, "-R")
	opts := []string{"--block-ro:rootfs=" + img}

	// stat: rc size is_dir. Rock Ridge names are case-sensitive.
	stats := map[string]string{
		"/":          "0 * 1",
		"/one-k.bin": "0 1024 0",
		"/UPPER.TXT": "0 6 0",
		"/upper.txt": "0 27 0",
		"/Upper.txt": "-2 0 0",
		"/many":      "0 * 1",
		"//many//entry-299-with-a-longer-name.txt":         "0 10 0",
		"/many/../many/./entry-000-with-a-longer-name.txt": "0 8 0",
		"/a/b/c/d/e/f/g/h/i/j/k/deep.txt":                  "0 5 0",
		"/a/b/c/d/e/f/g/h/i/j/k":                           "0 * 1",
		"/nope":                                            "-2 0 0",
		"/one-k.bin/x":                                     "-20 0 0",
		"/one-k.bin/":                                      "-20 0 0",
		"relative":                                         "-22 0 0",
		"/" + strings.Repeat("x", 256):                     "-36 0 0",
	}
	var paths []string
	for p := range stats {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	r := runGuest(t, fstest, opts, append([]string{"stat"}, paths...)...)
	for _, p := range paths {
		want := regexp.QuoteMeta(stats[p])
		want = strings.ReplaceAll(want, `\*`, `[0-9]+`)
		if !regexp.MustCompile(`(?m)^STAT ` + want + ` ` + regexp.QuoteMeta(p) + `$`).MatchString(r.stdout) {
			t.Errorf("stat %s: want %q in output", p, stats[p])
		}
	}

	r = runGuest(t, fstest, opts, "open", "/many", "/empty", "/nope")
	for _, w := range []string{"OPEN -21 /many", "OPEN 0 /empty", "OPEN -2 /nope"} {
		if !strings.Contains(r.stdout, w+"\n") {
			t.Errorf("want %q in output:\n%s", w, r.stdout)
		}
	}

	// Reads at every alignment against the sector and block sizes.
	data := tr.files["/three-meg.bin"]
	for _, rd := range []struct{ off, n int }{
		{0, 1}, {1, 2047}, {511, 514}, {2047, 2}, {4096, 8192}, {1000, 1 << 20},
		{len(data) - 10, 100}, {len(data), 10}, {len(data) + 5, 10}, {0, len(data)},
	} {
		r := runGuest(t, fstest, opts, "read", "/three-meg.bin", strconv.Itoa(rd.off), strconv.Itoa(rd.n))
		end := min(rd.off+rd.n, len(data))
		want := "READ 0 0000000000000000"
		if rd.off < len(data) {
			want = fmt.Sprintf("READ %d %s", end-rd.off, fnv64(data[rd.off:end]))
		}
		if strings.TrimSpace(r.stdout) != want {
			t.Errorf("read off %d len %d: got %q, want %q", rd.off, rd.n, strings.TrimSpace(r.stdout), want)
		}
	}

	// A callback's non-zero value stops the listing and is returned.
	r = runGuest(t, fstest, opts, "list", "/many")
	if strings.TrimSpace(r.stdout) != "LIST 99" {
		t.Errorf("list stopping early: got %q, want LIST 99", r.stdout)
	}
	r = runGuest(t, fstest, opts, "list", "/one-k.bin")
	if strings.TrimSpace(r.stdout) != "LIST -20" {
		t.Errorf("list of a file: got %q, want LIST -20", r.stdout)
	}
}

// Without Rock Ridge only ISO9660 names exist: upper case, with ";1"
// versions. The reader strips the version and matches ignoring case.
func TestFSPlainISO9660(t *testing.T) {
	built(t, fstest)
	dir := t.TempDir()
	for name, data := range map[string]string{"README.TXT": "read me\n", "noext": "x\n", "Sub/Inner.c": "int x;\n"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := iso(t, dir)
	r := runGuest(t, fstest, []string{"--block-ro:rootfs=" + img}, "stat", "/readme.txt", "/README.TXT", "/noext", "/sub/inner.c", "/SUB")
	for _, w := range []string{"STAT 0 8 0 /readme.txt", "STAT 0 8 0 /README.TXT", "STAT 0 2 0 /noext", "STAT 0 7 0 /sub/inner.c", "STAT 0 2048 1 /SUB"} {
		if !strings.Contains(r.stdout, w+"\n") {
			t.Errorf("want %q in output:\n%s", w, r.output())
		}
	}
}

// Images that are not ISO9660, or cut short, fail to mount cleanly.
func TestFSBadImages(t *testing.T) {
	built(t, fstest)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.img")
	if err := os.WriteFile(junk, randomBytes(7, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := makeTree(t)
	good, err := os.ReadFile(iso(t, tr.dir, "-R"))
	if err != nil {
		t.Fatal(err)
	}
	// The volume descriptors survive, the root directory does not.
	short := filepath.Join(dir, "short.img")
	if err := os.WriteFile(short, good[:18*2048], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ img, want string }{
		{junk, "MOUNT -22"}, // EINVAL: no CD001 volume descriptor
		{short, "MOUNT -5"}, // EIO: the root is beyond the device
	} {
		r := runGuest(t, fstest, []string{"--block-ro:rootfs=" + tc.img}, "walk")
		if r.exit != 1 || strings.TrimSpace(r.stdout) != tc.want {
			t.Errorf("%s: exit %d, output %q; want exit 1, %q", filepath.Base(tc.img), r.exit, r.output(), tc.want)
		}
	}
}

// BenchmarkFSRead reads a 16 MiB file 1 MiB at a time in the guest.
func BenchmarkFSRead(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big"), randomBytes(1, 16<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	img := filepath.Join(b.TempDir(), "img.iso")
	if out, err := exec.Command("genisoimage", "-quiet", "-R", "-o", img, dir).CombinedOutput(); err != nil {
		b.Fatalf("genisoimage: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`BENCH (\d+) bytes in (\d+) ms`)
	var total, ms float64
	for i := 0; i < b.N; i++ {
		r := runGuest(b, fstest, []string{"--block-ro:rootfs=" + img}, "bench", "/big")
		m := re.FindStringSubmatch(r.stdout)
		if m == nil {
			b.Fatalf("no BENCH line:\n%s", r.output())
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		t, _ := strconv.ParseFloat(m[2], 64)
		total += n
		ms += t
	}
	if ms > 0 {
		b.ReportMetric(total/(1<<20)/(ms/1000), "MiB/s")
	}
}
