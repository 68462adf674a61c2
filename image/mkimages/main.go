// Command mkimages writes the project's image archives into a folder
// (`make images`, build/images/): the unikernels hello, kv and httpd (with
// a small site and a 16 MiB file made here, never committed), and the
// non-unikernel peers the engine tests and benchmarks run under runc:
// busybox (Debian's busybox-static), redis-server with its libraries, and
// a static pause for CRI pod sandboxes.
//
//	mkimages -build build -out build/images
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/runnc/runnc/image"
)

// BigFileSize is the size of the httpd image's www/big.bin.
const bigFileSize = 16 << 20

func main() {
	build := flag.String("build", "build", "the build folder holding the unikernels")
	out := flag.String("out", "build/images", "where the archives go")
	pause := flag.String("pause", "build/images/pause", "the static pause binary")
	flag.Parse()
	if err := run(*build, *out, *pause); err != nil {
		fmt.Fprintln(os.Stderr, "mkimages:", err)
		os.Exit(1)
	}
}

func run(build, out, pause string) error {
	site := filepath.Join(out, "site")
	if err := writeSite(site); err != nil {
		return err
	}
	type unikernel struct {
		name, spt, site string
		cfg             image.Config
	}
	for _, u := range []unikernel{
		{"hello", "unikernels/tests/hello.spt", "", image.Config{Cmd: []string{"hello", "from", "runnc"}}},
		{"abort", "unikernels/tests/abort.spt", "", image.Config{}},
		{"kv", "unikernels/kv/kv.spt", "", image.Config{Ports: []string{"6379/tcp"}}},
		{"httpd", "unikernels/httpd/httpd.spt", site, image.Config{Ports: []string{"80/tcp"}, Cmd: []string{"--root=/www"}}},
	} {
		var files []image.File
		if u.site != "" {
			var err error
			if files, err = image.Tree(u.site, "/www"); err != nil {
				return err
			}
		}
		img, err := image.Unikernel(filepath.Join(build, u.spt), files, u.cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
		if err := image.WriteArchive(filepath.Join(out, u.name+".tar"), "runnc/"+u.name+":latest", img); err != nil {
			return fmt.Errorf("%s: %w", u.name, err)
		}
	}

	busybox, err := busyboxFiles("/bin/busybox")
	if err != nil {
		return err
	}
	redis, err := withLibraries("/usr/bin/redis-server")
	if err != nil {
		return err
	}
	for _, p := range []struct {
		name  string
		files []image.File
		cfg   image.Config
	}{
		{"busybox", busybox, image.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}},
		{"redis", redis, image.Config{
			Entrypoint: []string{"/usr/bin/redis-server"},
			Cmd:        []string{"--protected-mode", "no", "--save", "", "--appendonly", "no"},
			Ports:      []string{"6379/tcp"},
		}},
		{"pause", []image.File{{Path: "/pause", Source: pause, Mode: 0o755}}, image.Config{Entrypoint: []string{"/pause"}}},
	} {
		img, err := image.New(p.files, p.cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if err := image.WriteArchive(filepath.Join(out, p.name+".tar"), "runnc/"+p.name+":latest", img); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// writeSite makes httpd's files: a page, a stylesheet, and big.bin, 16 MiB
// from a fixed seed (so a test can compare it with the copy in site/).
func writeSite(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	big := make([]byte, bigFileSize)
	rng := rand.NewChaCha8([32]byte{'r', 'u', 'n', 'n', 'c'})
	rng.Read(big)
	for name, data := range map[string][]byte{
		"index.html": []byte("<!doctype html>\n<title>runnc httpd</title>\n<link rel=stylesheet href=style.css>\n<h1>Served by a unikernel</h1>\n"),
		"style.css":  []byte("body { font-family: sans-serif; }\n"),
		"big.bin":    big,
	} {
		p := filepath.Join(dir, name)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			continue // unchanged: keep the mtime, so make sees nothing new
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// busyboxFiles is /bin/busybox plus a symlink for each of its applets.
func busyboxFiles(bin string) ([]image.File, error) {
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w (install busybox-static)", bin, err)
	}
	files := []image.File{{Path: "/bin/busybox", Source: bin, Mode: 0o755}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if a := strings.TrimSpace(sc.Text()); a != "" && a != "busybox" {
			files = append(files, image.File{Path: "/bin/" + a, Link: "busybox"})
		}
	}
	return files, nil
}

// lddPath matches the library paths in ldd's output.
var lddPath = regexp.MustCompile(`(?m)(/\S+)\s+\(0x`)

// withLibraries is bin and the shared libraries ldd says it loads, each
// at its host path, for a plain image of a dynamically linked program.
func withLibraries(bin string) ([]image.File, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	files := []image.File{{Path: bin, Source: bin, Mode: 0o755}}
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		real, err := filepath.EvalSymlinks(m[1])
		if err != nil {
			return nil, err
		}
		files = append(files, image.File{Path: m[1], Source: real, Mode: 0o755})
	}
	return files, nil
}
