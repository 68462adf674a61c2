package rootfs

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var repo = func() string {
	r, err := filepath.Abs("../..")
	if err != nil {
		panic(err)
	}
	return r
}()

// built returns the path of a build output, or skips the test.
func built(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(repo, "build", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make test): %v", p, err)
	}
	return p
}

// want is what a reader must find in the image: every path, and for
// files their bytes (nil for a symlink the reader sees as itself).
type want struct {
	files map[string][]byte
	dirs  map[string]bool
	links map[string]string // Rock Ridge symlinks: path -> target
	// Symlinks the library OS follows: path -> the file or directory
	// reached (the others dangle, loop or climb out of the image).
	through map[string]string
	mtimes  map[string]int64
}

func write(t *testing.T, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
}

func random(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// makeRootfs writes a tree with what images have to get right: nested
// and deep directories, long, mixed-case and ISO-colliding names, a
// directory of many sectors, sizes around a sector, a 16 MiB file, an
// empty file, hard links, and symlinks of every kind. It returns the
// rootfs, the extra files, and what a reader of the image must see.
func makeRootfs(t *testing.T) (string, []File, *want) {
	dir := t.TempDir()
	w := &want{files: map[string][]byte{}, dirs: map[string]bool{}, links: map[string]string{}, through: map[string]string{}}
	add := func(rel string, data []byte) {
		write(t, filepath.Join(dir, rel), data, 0o644)
		w.files["/"+rel] = data
	}
	add("empty", nil)
	for _, n := range []int{1, 511, 2047, 2048, 2049} {
		add(fmt.Sprintf("sizes/size-%d", n), random(int64(n), n))
	}
	add("data/sixteen-meg.bin", random(16, 16<<20))
	add("a/b/c/d/e/f/g/h/i/j/k/deep.txt", []byte("deep\n"))
	add("A Long Mixed-Case Name, With Spaces & Symbols (v2).Data.txt", []byte("long name\n"))
	add(strings.Repeat("Abc", 85), []byte("255 characters\n"))
	add("UPPER.TXT", []byte("upper\n"))
	add("upper.txt", []byte("lower, same name otherwise\n"))
	add(".hidden", []byte("dot file\n"))
	add("etc/resolv.conf", []byte("nameserver 192.0.2.1\n"))
	for i := 0; i < 300; i++ {
		add(fmt.Sprintf("many/entry-%03d-with-a-longer-name.txt", i), []byte(fmt.Sprintf("entry %d\n", i)))
	}
	if err := os.MkdirAll(filepath.Join(dir, "emptydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "sizes/size-2049"), filepath.Join(dir, "hardlink")); err != nil {
		t.Fatal(err)
	}
	w.files["/hardlink"] = w.files["/sizes/size-2049"]

	// Symlinks stay symlinks; the library OS follows the ones that lead
	// somewhere inside the image (through: the path they lead to).
	symlink := func(target, rel string) {
		if err := os.Symlink(target, filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
		w.links["/"+rel] = target
	}
	symlink("../a/b/c/d/e/f/g/h/i/j/k/deep.txt", "etc/relative")
	w.through["/etc/relative"] = "/a/b/c/d/e/f/g/h/i/j/k/deep.txt"
	symlink("/data/sixteen-meg.bin", "etc/absolute") // from the image's root, not the host's
	w.through["/etc/absolute"] = "/data/sixteen-meg.bin"
	symlink("relative", "etc/chain")
	w.through["/etc/chain"] = "/a/b/c/d/e/f/g/h/i/j/k/deep.txt"
	symlink("/a/b/c", "etc/dirlink")
	w.through["/etc/dirlink"] = "/a/b/c"
	symlink("dirlink/../c/d", "etc/dirlink-up") // ".." of the directory reached: /a/b
	w.through["/etc/dirlink-up"] = "/a/b/c/d"
	symlink("../../../../../../../../upper.txt", "etc/above-root") // climbs out: refused
	symlink("/../upper.txt", "etc/above-root-abs")
	symlink("nowhere/at/all", "dangling")
	symlink("loop2", "loop1")
	symlink("loop1", "loop2")
	long := strings.TrimSuffix(strings.Repeat("component-of-a-long-target/", 40), "/") // 1079 bytes: several SL entries, a continuation area
	symlink(long, "longlink")

	extraDir := t.TempDir()
	write(t, filepath.Join(extraDir, "resolv.conf"), []byte("nameserver 10.0.0.53\nsearch example.com\n"), 0o644)
	write(t, filepath.Join(extraDir, "hostname"), []byte("container\n"), 0o644)
	extra := []File{
		{Path: "/etc/resolv.conf", Source: filepath.Join(extraDir, "resolv.conf")}, // replaces the rootfs's
		{Path: "/etc/hostname", Source: filepath.Join(extraDir, "hostname")},
		{Path: "/new/dir/hosts", Source: filepath.Join(extraDir, "hostname")}, // directories made
	}
	w.files["/etc/resolv.conf"] = []byte("nameserver 10.0.0.53\nsearch example.com\n")
	w.files["/etc/hostname"] = []byte("container\n")
	w.files["/new/dir/hosts"] = []byte("container\n")

	for p := range w.files {
		for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
			w.dirs[d] = true
		}
	}
	for p := range w.links {
		for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
			w.dirs[d] = true
		}
	}
	w.dirs["/emptydir"] = true
	w.mtimes = map[string]int64{}
	for p := range w.files {
		w.mtimes[p] = mtime(t, dir, extraDir, p)
	}
	for p := range w.dirs {
		w.mtimes[p] = mtime(t, dir, extraDir, p)
	}
	return dir, extra, w
}

// mtime of p in the image: its source's, through symlinks; directories
// the extra files needed take the mtime of the file that made them.
func mtime(t *testing.T, dir, extraDir, p string) int64 {
	src := filepath.Join(dir, p)
	switch p {
	case "/etc/resolv.conf":
		src = filepath.Join(extraDir, "resolv.conf")
	case "/etc/hostname", "/new", "/new/dir", "/new/dir/hosts":
		src = filepath.Join(extraDir, "hostname")
	}
	fi, err := os.Stat(src)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime().Unix()
}

func fnv64(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

// fstest runs the library OS's filesystem test guest on img.
func fstest(t *testing.T, img string, args ...string) string {
	t.Helper()
	tender := built(t, "bin/runnc-spt")
	guest := built(t, "libos/tests/fstest.spt")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tender, append([]string{"--block-ro:rootfs=" + img, "--", guest}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("fstest %s: %v\n%s%.4000s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String()
}

// The library OS's ISO 9660 reader (libos/fs/iso9660.c), in a guest on
// the tender, finds every file of the image with its bytes and mtime,
// every directory, and nothing else.
func TestLibOSReadsImage(t *testing.T) {
	built(t, "libos/tests/fstest.spt")
	dir, extra, w := makeRootfs(t)
	img, err := Build(t.TempDir(), dir, extra, "c1")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest(t, img, "walk")

	files, dirs, mtimes := w.followed()
	seen := map[string]bool{}
	end := -1
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		kind, rest, _ := strings.Cut(line, " ")
		switch kind {
		case "D":
			mt, p, _ := strings.Cut(rest, " ")
			if !dirs[p] {
				t.Errorf("unexpected directory %q", p)
			}
			seen[p] = true
			checkMtime(t, p, mt, mtimes[p])
		case "F":
			f := strings.SplitN(rest, " ", 4)
			if len(f) != 4 {
				t.Errorf("bad line %q", line)
				continue
			}
			p := f[3]
			data, ok := files[p]
			if !ok {
				t.Errorf("unexpected file %q", p)
				continue
			}
			seen[p] = true
			if f[0] != strconv.Itoa(len(data)) || f[2] != fnv64(data) {
				t.Errorf("%s: %s bytes, FNV-1a %s; want %d bytes, %s", p, f[0], f[2], len(data), fnv64(data))
			}
			checkMtime(t, p, f[1], mtimes[p])
		case "END":
			end, _ = strconv.Atoi(rest)
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	for p := range files {
		if !seen[p] {
			t.Errorf("file %s missing from the walk", p)
		}
	}
	for p := range dirs {
		if !seen[p] {
			t.Errorf("directory %s missing from the walk", p)
		}
	}
	if n := len(files) + len(dirs); end != n {
		t.Errorf("END %d, want %d entries", end, n)
	}

	// Rock Ridge names are exact: case counts, ISO names do not exist.
	out = fstest(t, img, "stat", "/UPPER.TXT", "/upper.txt", "/Upper.txt", "/UPPER.TXT;1", "/"+strings.Repeat("Abc", 85), "/a/b/c/d/e/f/g/h/i/j/k")
	for _, s := range []string{"STAT 0 6 0 /UPPER.TXT", "STAT 0 27 0 /upper.txt", "STAT -2 0 0 /Upper.txt",
		"STAT -2 0 0 /UPPER.TXT;1", "STAT 0 15 0 /" + strings.Repeat("Abc", 85), "STAT 0 2048 1 /a/b/c/d/e/f/g/h/i/j/k"} {
		if !strings.Contains(out, s+"\n") {
			t.Errorf("want %q in:\n%s", s, out)
		}
	}

	// Symlinks: followed inside the image, refused when they climb out
	// (-EACCES), a loop ends (-ELOOP), a dangling link is not there.
	out = fstest(t, img, "stat", "/etc/chain", "/etc/dirlink/", "/etc/dirlink/d/e/f/g/h/i/j/k/deep.txt", "/etc/dirlink-up",
		"/etc/above-root", "/etc/above-root-abs", "/loop1", "/dangling", "/longlink", "/etc/chain/", "/etc/dirlink/..")
	for _, s := range []string{"STAT 0 5 0 /etc/chain", "STAT 0 2048 1 /etc/dirlink/", "STAT 0 5 0 /etc/dirlink/d/e/f/g/h/i/j/k/deep.txt",
		"STAT 0 2048 1 /etc/dirlink-up", "STAT -13 0 0 /etc/above-root", "STAT -13 0 0 /etc/above-root-abs", "STAT -40 0 0 /loop1",
		"STAT -2 0 0 /dangling", "STAT -2 0 0 /longlink", "STAT -20 0 0 /etc/chain/", "STAT 0 2048 1 /etc/dirlink/.."} {
		if !strings.Contains(out, s+"\n") {
			t.Errorf("want %q in:\n%s", s, out)
		}
	}
	if t.Failed() {
		t.Logf("walk:\n%.6000s", out)
	}
}

// followed is what the library OS's walk lists: the files and
// directories, and each symlink it can follow as what it leads to (a
// directory's whole subtree again under the link's name), with mtimes.
func (w *want) followed() (map[string][]byte, map[string]bool, map[string]int64) {
	files, dirs, mtimes := map[string][]byte{}, map[string]bool{}, map[string]int64{}
	for p, d := range w.files {
		files[p] = d
	}
	for p := range w.dirs {
		dirs[p] = true
	}
	for p, m := range w.mtimes {
		mtimes[p] = m
	}
	for link, to := range w.through {
		mtimes[link] = w.mtimes[to]
		if data, ok := w.files[to]; ok {
			files[link] = data
			continue
		}
		dirs[link] = true
		for p, data := range w.files {
			if rest, ok := strings.CutPrefix(p, to+"/"); ok {
				files[link+"/"+rest] = data
				mtimes[link+"/"+rest] = w.mtimes[p]
			}
		}
		for p := range w.dirs {
			if rest, ok := strings.CutPrefix(p, to+"/"); ok {
				dirs[link+"/"+rest] = true
				mtimes[link+"/"+rest] = w.mtimes[p]
			}
		}
	}
	return files, dirs, mtimes
}

func checkMtime(t *testing.T, p, got string, want int64) {
	t.Helper()
	n, err := strconv.ParseInt(got, 10, 64)
	if err != nil || n != want {
		t.Errorf("%s: mtime %s, want %d", p, got, want)
	}
}

// isoinfo (genisoimage's reader, independent of ours) sees the same
// names, with the Rock Ridge modes, owners and symlink targets.
func TestIsoinfoReadsImage(t *testing.T) {
	if _, err := exec.LookPath("isoinfo"); err != nil {
		t.Skipf("isoinfo (Debian genisoimage) not installed: %v", err)
	}
	dir, extra, w := makeRootfs(t)
	if err := os.Chmod(filepath.Join(dir, "UPPER.TXT"), 0o751); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(dir, "upper.txt"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	img, err := Build(t.TempDir(), dir, extra, "c1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "isoinfo", "-R", "-l", "-i", img).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo: %v\n%s", err, out)
	}
	// "Directory listing of /etc/" then lines like
	// "lrwxrwxrwx 1 0 0 0 Nov 30 2026 [ 0 00]  name -> target"
	line := regexp.MustCompile(`^([-dl][-rwxsStT]{9})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\w+\s+\d+\s+\d+\s+\[\s*\d+\s+\d+\]\s\s(.*?) ?$`)
	type entry struct {
		mode       string
		uid, gid   string
		size       int
		name, link string
	}
	got := map[string]entry{}
	cur := ""
	for _, l := range strings.Split(string(out), "\n") {
		if d, ok := strings.CutPrefix(l, "Directory listing of "); ok {
			cur = strings.TrimSuffix(d, "/")
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		name, link, _ := strings.Cut(m[6], " -> ")
		if name == "." || name == ".." {
			continue
		}
		size, _ := strconv.Atoi(m[5])
		got[cur+"/"+name] = entry{mode: m[1], uid: m[3], gid: m[4], size: size, name: name, link: link}
	}
	for p, data := range w.files {
		e, ok := got[p]
		if !ok {
			t.Errorf("isoinfo: %s missing", p)
			continue
		}
		if e.mode[0] != '-' || e.size != len(data) {
			t.Errorf("isoinfo: %s is %s of %d bytes, want a file of %d", p, e.mode, e.size, len(data))
		}
	}
	for p := range w.dirs {
		if e, ok := got[p]; !ok || e.mode[0] != 'd' {
			t.Errorf("isoinfo: directory %s: %+v", p, e)
		}
	}
	for p, target := range w.links {
		if e := got[p]; e.mode != "lrwxrwxrwx" || e.link != target {
			t.Errorf("isoinfo: %s is %s -> %q, want a symlink to %q", p, e.mode, e.link, target)
		}
	}
	if n := len(w.files) + len(w.dirs) + len(w.links); len(got) != n {
		t.Errorf("isoinfo lists %d entries, want %d", len(got), n)
	}
	if e := got["/UPPER.TXT"]; e.mode != "-rwxr-x--x" {
		t.Errorf("isoinfo: /UPPER.TXT mode %s, want -rwxr-x--x", e.mode)
	}
	// isoinfo prints owners wrongly, so compare with what it prints for
	// genisoimage's image of the same file.
	gen := t.TempDir()
	write(t, filepath.Join(gen, "upper.txt"), w.files["/upper.txt"], 0o644)
	if err := os.Lchown(filepath.Join(gen, "upper.txt"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	genImg := filepath.Join(t.TempDir(), "gen.iso")
	if out, err := exec.Command("genisoimage", "-quiet", "-R", "-o", genImg, gen).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage: %v\n%s", err, out)
	}
	genOut, err := exec.CommandContext(ctx, "isoinfo", "-R", "-l", "-i", genImg).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo: %v\n%s", err, genOut)
	}
	owner := regexp.MustCompile(`(?m)^-\S+\s+\d+\s+(\d+)\s+(\d+)\s+\d+ .*upper\.txt`).FindStringSubmatch(string(genOut))
	if owner == nil {
		t.Fatalf("isoinfo on genisoimage's image: no upper.txt in\n%s", genOut)
	}
	if e := got["/upper.txt"]; e.uid != owner[1] || e.gid != owner[2] {
		t.Errorf("isoinfo: /upper.txt owner %s:%s, want %s:%s as in genisoimage's image", e.uid, e.gid, owner[1], owner[2])
	}
	if e := got["/emptydir"]; e.mode != "drwx------" {
		t.Errorf("isoinfo: /emptydir mode %s, want drwx------", e.mode)
	}
	if t.Failed() {
		t.Logf("isoinfo:\n%.6000s", out)
	}
}

func inode(t *testing.T, p string) (uint64, time.Time) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino, fi.ModTime()
}

func cacheFiles(t *testing.T, cache string) []string {
	t.Helper()
	var names []string
	err := filepath.Walk(cache, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(cache, p)
		if rel != "." {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// An unchanged rootfs reuses its image; a change makes a new one; the
// last holder's Release removes it.
func TestCache(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "cache")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "index.html"), []byte("<h1>hello</h1>\n"), 0o644)
	write(t, filepath.Join(dir, "big"), random(1, 1<<20), 0o644)
	extraDir := t.TempDir()
	hosts := filepath.Join(extraDir, "hosts")
	write(t, hosts, []byte("127.0.0.1 localhost\n"), 0o644)
	extra := []File{{Path: "/etc/hosts", Source: hosts}}

	img1, err := Build(cache, dir, extra, "c1")
	if err != nil {
		t.Fatal(err)
	}
	ino1, mt1 := inode(t, img1)
	time.Sleep(10 * time.Millisecond) // a rewrite would show in the mtime
	img2, err := Build(cache, dir, extra, "c2")
	if err != nil {
		t.Fatal(err)
	}
	if ino2, mt2 := inode(t, img2); img2 != img1 || ino2 != ino1 || !mt2.Equal(mt1) {
		t.Fatalf("second Build of the same rootfs: %s inode %d mtime %v, want %s inode %d mtime %v (reused)", img2, ino2, mt2, img1, ino1, mt1)
	}

	// A changed mtime, or changed extra content, is another image.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "index.html"), future, future); err != nil {
		t.Fatal(err)
	}
	img3, err := Build(cache, dir, extra, "c3")
	if err != nil {
		t.Fatal(err)
	}
	write(t, hosts, []byte("127.0.0.1 other\n"), 0o644)
	img4, err := Build(cache, dir, extra, "c4")
	if err != nil {
		t.Fatal(err)
	}
	if img3 == img1 || img4 == img3 {
		t.Fatalf("changed rootfs or extra file reused an image: %s %s %s", img1, img3, img4)
	}

	// c3 builds again with the new hosts and joins img4, so img3 loses
	// its only holder.
	if img, err := Build(cache, dir, extra, "c3"); err != nil || img != img4 {
		t.Fatalf("Build for c3 again: %s, %v; want %s", img, err, img4)
	}
	if _, err := os.Stat(img3); !os.IsNotExist(err) {
		t.Errorf("%s still there after its only holder moved: %v", img3, err)
	}

	if err := Release(cache, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(img1); err != nil {
		t.Errorf("image gone while c2 still holds it: %v", err)
	}
	for _, h := range []string{"c2", "c3", "c4", "c4", "unknown"} {
		if err := Release(cache, h); err != nil {
			t.Fatalf("Release %s: %v", h, err)
		}
	}
	if left := cacheFiles(t, cache); len(left) != 1 || left[0] != "lock" {
		t.Errorf("after the last Release the cache holds %v, want only lock", left)
	}
	if err := Release(filepath.Join(t.TempDir(), "none"), "c1"); err != nil {
		t.Errorf("Release on a missing cache: %v", err)
	}
	for _, bad := range []string{"", "..", "a/b"} {
		if _, err := Build(cache, dir, nil, bad); err == nil {
			t.Errorf("Build with holder %q: no error", bad)
		}
	}
	if _, err := Build(cache, filepath.Join(dir, "missing"), nil, "c9"); err == nil {
		t.Errorf("Build of a missing rootfs: no error")
	}
}

// Concurrent Builds of one rootfs, in goroutines of this process and in
// other processes, write its image once (every Build sees the same inode
// right after it returns: a rewrite would rename a new file into place),
// all get it, and a Build that died half way leaves nothing that is
// mistaken for an image.
func TestConcurrentBuilds(t *testing.T) {
	cache := t.TempDir()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "data"), random(2, 4<<20), 0o644)
	// What a Build killed while writing leaves behind.
	write(t, filepath.Join(cache, "0123.iso.tmp999"), []byte("half"), 0o644)

	const n = 8 // half goroutines, half processes
	imgs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			holder := fmt.Sprintf("c%d", i)
			if i%2 == 0 {
				img, err := Build(cache, dir, nil, holder)
				if err == nil {
					ino, _ := inode(t, img)
					img = fmt.Sprintf("%s %d", img, ino)
				}
				imgs[i], errs[i] = img, err
				return
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "RUNNC_ROOTFS_BUILD="+cache+"|"+dir+"|"+holder)
			out, err := cmd.CombinedOutput()
			line, _, _ := strings.Cut(string(out), "\n")
			img, ok := strings.CutPrefix(line, "IMAGE ")
			if err != nil || !ok {
				err = fmt.Errorf("build in another process: %v\n%s", err, out)
			}
			imgs[i], errs[i] = img, err
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if errs[i] != nil || imgs[i] != imgs[0] {
			t.Fatalf("Build %d: image and inode %q, %v; want %q", i, imgs[i], errs[i], imgs[0])
		}
	}
	imgs[0], _, _ = strings.Cut(imgs[0], " ")
	holders, _ := os.ReadDir(strings.TrimSuffix(imgs[0], ".iso") + ".holders")
	if len(holders) != n {
		t.Errorf("%d holders recorded, want %d", len(holders), n)
	}
	if left := cacheFiles(t, cache); len(left) != 3+n {
		t.Errorf("cache holds %v, want lock, the image and its %d holders", left, n)
	}
	var wg2 sync.WaitGroup
	for i := 0; i < n; i++ {
		wg2.Add(1)
		go func(i int) {
			defer wg2.Done()
			if err := Release(cache, fmt.Sprintf("c%d", i)); err != nil {
				t.Errorf("Release c%d: %v", i, err)
			}
		}(i)
	}
	wg2.Wait()
	if left := cacheFiles(t, cache); len(left) != 1 {
		t.Errorf("after every Release the cache holds %v, want only lock", left)
	}
}

// BenchmarkBuild writes the image of a 16 MiB rootfs of 301 files (cold,
// against genisoimage -R on the same tree), and finds it in the cache
// (cached): the cost of create with a new image and with an image other
// containers already use.
func BenchmarkBuild(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 300; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-%03d.txt", i)), random(int64(i), 1000), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), random(1, 16<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			cache := b.TempDir()
			if _, err := Build(cache, dir, nil, "c"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The peer: Debian's genisoimage -R on the same tree.
	b.Run("genisoimage", func(b *testing.B) {
		if _, err := exec.LookPath("genisoimage"); err != nil {
			b.Skipf("genisoimage not installed: %v", err)
		}
		for i := 0; i < b.N; i++ {
			img := filepath.Join(b.TempDir(), "img.iso")
			if out, err := exec.Command("genisoimage", "-quiet", "-R", "-o", img, dir).CombinedOutput(); err != nil {
				b.Fatalf("genisoimage: %v\n%s", err, out)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		cache := b.TempDir()
		if _, err := Build(cache, dir, nil, "c"); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := Build(cache, dir, nil, fmt.Sprintf("c%d", i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMain runs TestConcurrentBuilds' Build in another process when
// RUNNC_ROOTFS_BUILD is set ("CACHE|DIR|HOLDER"): it prints
// "IMAGE PATH INODE" and exits, running no test.
func TestMain(m *testing.M) {
	args := os.Getenv("RUNNC_ROOTFS_BUILD")
	if args == "" {
		os.Exit(m.Run())
	}
	a := strings.Split(args, "|")
	img, err := Build(a[0], a[1], nil, a[2])
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(img, &st); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Printf("IMAGE %s %d\n", img, st.Ino)
	os.Exit(0)
}
