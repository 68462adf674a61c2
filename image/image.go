// Package image builds container images of unikernels without a registry
// and without `docker build`: an image is a value (go-containerregistry's
// v1.Image) made of one layer holding the unikernel and its files plus a
// config with the entrypoint, exposed ports and a label that marks it as a
// runnc unikernel; WriteArchive writes it as one tar file that `docker
// load`, `podman load` and `ctr images import` all read.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/runnc/runnc/tender"
)

// LabelUnikernel marks an image whose entrypoint is a runnc unikernel; its
// value is "true". Engines and users can filter on it
// (`docker images --filter label=org.runnc.unikernel=true`).
const LabelUnikernel = "org.runnc.unikernel"

// File is one entry of an image's layer. Exactly one of Data, Source or
// Link says what it holds; a Path ending in "/" (or Dir) is a directory.
type File struct {
	Path   string      // absolute path inside the image
	Mode   fs.FileMode // permission bits; 0 means 0644 (0755 for directories)
	Data   []byte      // contents of a regular file
	Source string      // host file whose contents are copied
	Link   string      // symlink target
	Dir    bool
}

// Config is what an image's config says about how to run it.
type Config struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	Ports      []string // "6379/tcp"; a bare number means TCP
	Labels     map[string]string
	WorkingDir string
}

// epoch is the time of every entry and of the config, so the same inputs
// give the same image digest.
var epoch = time.Unix(0, 0).UTC()

// New returns an image of one layer holding files, with cfg as its config.
// The layer is stored uncompressed: unikernel images are small, except
// for test data that compresses badly anyway, and it saves the engines a
// decompression on every load.
func New(files []File, cfg Config) (v1.Image, error) {
	layer, err := layerTar(files)
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, static.NewLayer(layer, types.OCIUncompressedLayer))
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = cfg.Entrypoint
	cf.Config.Cmd = cfg.Cmd
	cf.Config.Env = cfg.Env
	cf.Config.WorkingDir = cfg.WorkingDir
	cf.Config.Labels = cfg.Labels
	if len(cfg.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range cfg.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("set image config: %w", err)
	}
	return img, nil
}

// Unikernel returns the image of the unikernel at spt (checked to be one:
// an ELF carrying runnc's ABI note and a valid manifest), placed at
// /NAME in the image and run as its entrypoint, plus files (Tree lists a
// host folder's). cfg.Entrypoint is set and the LabelUnikernel label
// added; cfg.Cmd become the guest's arguments.
func Unikernel(spt string, files []File, cfg Config) (v1.Image, error) {
	data, err := os.ReadFile(spt)
	if err != nil {
		return nil, fmt.Errorf("read unikernel: %w", err)
	}
	// The memory size only bounds where segments may lie; any size a
	// container could get will do for recognising the file.
	if _, err := tender.CheckELF(data, 1<<40); err != nil {
		return nil, fmt.Errorf("%s is not a runnc unikernel: %w", spt, err)
	}
	entry := "/" + filepath.Base(spt)
	for _, f := range files {
		if path.Clean("/"+f.Path) == entry {
			return nil, fmt.Errorf("the image's files have a %s too, which would hide the unikernel", entry)
		}
	}
	files = append(files[:len(files):len(files)], File{Path: entry, Data: data, Mode: 0o755})
	cfg.Entrypoint = []string{entry}
	labels := map[string]string{LabelUnikernel: "true"}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	cfg.Labels = labels
	return New(files, cfg)
}

// Tree lists the directories, regular files and symlinks under the host
// folder dir as Files placed under prefix in the image. Other kinds of
// file (devices, sockets) are refused: an image cannot carry them usefully.
func Tree(dir, prefix string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: path.Join(prefix, filepath.ToSlash(rel)), Mode: info.Mode().Perm()}
		switch {
		case d.IsDir():
			f.Dir = true
		case info.Mode().IsRegular():
			f.Source = p
		case info.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file, folder or symlink", p)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	return files, nil
}

// layerTar writes files as a tar in path order, adding the parent
// directories not listed, all owned by root with the fixed time epoch.
func layerTar(files []File) ([]byte, error) {
	byPath := map[string]File{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		if p == "/" {
			continue
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("image path %s given twice", p)
		}
		f.Path = p
		byPath[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			parent, ok := byPath[d]
			if !ok {
				byPath[d] = File{Path: d, Dir: true}
			} else if !parent.Dir {
				return nil, fmt.Errorf("image path %s is a file and the folder of %s", d, p)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		f := byPath[p]
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), ModTime: epoch, Mode: int64(f.Mode.Perm()), Format: tar.FormatPAX}
		var data []byte
		switch {
		case f.Dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
			if f.Mode == 0 {
				h.Mode = 0o755
			}
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
		default:
			data = f.Data
			if f.Source != "" {
				var err error
				if data, err = os.ReadFile(f.Source); err != nil {
					return nil, fmt.Errorf("read %s: %w", f.Source, err)
				}
			}
			h.Typeflag, h.Size = tar.TypeReg, int64(len(data))
			if f.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", p, err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("tar %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("tar: %w", err)
	}
	return buf.Bytes(), nil
}
