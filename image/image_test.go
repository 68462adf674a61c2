package image_test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/runnc/runnc/image"
	"github.com/runnc/runnc/integration/testnet"
)

// helloImage builds hello.spt plus a folder with a file and a symlink.
func helloImage(t *testing.T) (v1.Image, []byte) {
	t.Helper()
	spt := testnet.BuildOutput(t, "build/unikernels/tests/hello.spt")
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "data.txt"), []byte("data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("etc/data.txt", filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	files, err := image.Tree(dir, "/")
	if err != nil {
		t.Fatal(err)
	}
	img, err := image.Unikernel(spt, files, image.Config{Cmd: []string{"a", "b"}, Ports: []string{"8080"}, Env: []string{"K=V"}})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(spt)
	if err != nil {
		t.Fatal(err)
	}
	return img, data
}

// TestArchiveDocker reads the archive back the way `docker load` does
// (manifest.json), with go-containerregistry's own reader.
func TestArchiveDocker(t *testing.T) {
	img, spt := helloImage(t)
	path := filepath.Join(t.TempDir(), "hello.tar")
	if err := image.WriteArchive(path, "runnc/hello:test", img); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("runnc/hello:test")
	back, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/hello.spt" || strings.Join(c.Cmd, " ") != "a b" ||
		c.Labels[image.LabelUnikernel] != "true" || len(c.ExposedPorts) != 1 || c.Env[0] != "K=V" {
		t.Fatalf("config: %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Fatalf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
	}
	layers, err := back.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	for _, e := range readTar(t, rc) {
		h := e.h
		switch h.Typeflag {
		case tar.TypeDir:
			got[h.Name] = "dir"
		case tar.TypeSymlink:
			got[h.Name] = "-> " + h.Linkname
		default:
			got[h.Name] = string(e.data)
		}
		if h.Uid != 0 || h.Gid != 0 || h.ModTime.Unix() != 0 {
			t.Errorf("%s: uid %d gid %d mtime %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
	}
	want := map[string]string{"etc/": "dir", "etc/data.txt": "data\n", "data": "-> etc/data.txt", "hello.spt": string(spt)}
	if len(got) != len(want) {
		t.Errorf("layer entries %d, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("layer %s: %.40q, want %.40q", k, got[k], v)
		}
	}
}

// TestArchiveOCI reads the OCI half (what ctr import and podman use):
// index.json names the image and points at a manifest blob that points at
// the config and layer blobs, all present with matching digests.
func TestArchiveOCI(t *testing.T) {
	img, _ := helloImage(t)
	path := filepath.Join(t.TempDir(), "hello.tar")
	if err := image.WriteArchive(path, "runnc/hello:test", img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries := map[string][]byte{}
	for _, e := range readTar(t, f) {
		entries[e.h.Name] = e.data
	}
	if string(entries["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Fatalf("oci-layout: %q", entries["oci-layout"])
	}
	blob := func(h v1.Hash) []byte {
		b, ok := entries["blobs/sha256/"+h.Hex]
		if !ok {
			t.Fatalf("blob %s missing", h)
		}
		if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != h {
			t.Fatalf("blob %s has digest %s", h, got)
		}
		return b
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(entries["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, entries["index.json"])
	}
	d := idx.Manifests[0]
	if d.Annotations["io.containerd.image.name"] != "docker.io/runnc/hello:test" {
		t.Errorf("index annotations %v", d.Annotations)
	}
	want, _ := img.Digest()
	if d.Digest != want {
		t.Errorf("index points at %s, the image is %s", d.Digest, want)
	}
	m, err := v1.ParseManifest(bytes.NewReader(blob(d.Digest)))
	if err != nil {
		t.Fatal(err)
	}
	blob(m.Config.Digest)
	for _, l := range m.Layers {
		blob(l.Digest)
	}
}

// TestDeterministic: the same inputs give the same image digest.
func TestDeterministic(t *testing.T) {
	a, _ := helloImage(t)
	b, _ := helloImage(t)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("digests differ: %s %s", da, db)
	}
}

func TestRefusals(t *testing.T) {
	_, err := image.Unikernel("/bin/sh", nil, image.Config{})
	if err == nil || !strings.Contains(err.Error(), "/bin/sh is not a runnc unikernel") {
		t.Errorf("/bin/sh: %v", err)
	}
	spt := testnet.BuildOutput(t, "build/unikernels/tests/hello.spt")
	_, err = image.Unikernel(spt, []image.File{{Path: "/hello.spt", Data: []byte("x")}}, image.Config{})
	if err == nil || !strings.Contains(err.Error(), "/hello.spt too") {
		t.Errorf("a file hiding the unikernel: %v", err)
	}
	_, err = image.New([]image.File{{Path: "/a", Data: []byte("x")}, {Path: "/a/b", Data: []byte("y")}}, image.Config{})
	if err == nil {
		t.Error("a file used as a folder was accepted")
	}
	if err := image.WriteArchive(filepath.Join(t.TempDir(), "x.tar"), "Bad Name", nil); err == nil {
		t.Error("an invalid image name was accepted")
	}
}

type tarEntry struct {
	h    *tar.Header
	data []byte
}

// readTar reads every entry of a tar stream.
func readTar(t *testing.T, r io.Reader) []tarEntry {
	t.Helper()
	var out []tarEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarEntry{h, b})
	}
}
