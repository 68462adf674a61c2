package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of the index entry that name the image: containerd's
// importer reads the first, OCI tools the second.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// dockerManifest is one entry of the manifest.json `docker save` writes
// and `docker load` reads.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// WriteArchive writes img, named ref (e.g. "runnc/kv:latest"), to the tar
// file at path. The tar is an OCI image layout (oci-layout, index.json,
// blobs/sha256/...) with Docker's manifest.json beside it pointing at the
// same blobs, the shape `docker save` has had since Docker 25: Docker 20
// reads only manifest.json, containerd and Podman prefer the OCI index.
func WriteArchive(path, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name %q: %w", ref, err)
	}
	// containerd wants the fully qualified name; Docker's short form is
	// what users type and what `docker load` prints.
	full := tag.Context().RegistryStr() + "/" + tag.RepositoryStr() + ":" + tag.TagStr()
	if tag.Context().RegistryStr() == name.DefaultRegistry {
		full = "docker.io/" + tag.RepositoryStr() + ":" + tag.TagStr()
	}

	type blob struct {
		digest v1.Hash
		open   func() (io.ReadCloser, error)
		size   int64
	}
	var blobs []blob
	addBytes := func(b []byte) (v1.Hash, error) {
		h, _, err := v1.SHA256(bytesReader(b))
		if err != nil {
			return h, err
		}
		blobs = append(blobs, blob{h, func() (io.ReadCloser, error) { return bytesReader(b), nil }, int64(len(b))})
		return h, nil
	}

	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	cfgDigest, err := addBytes(rawConfig)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("image layers: %w", err)
	}
	dm := dockerManifest{Config: blobPath(cfgDigest), RepoTags: []string{ref}}
	for i, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return fmt.Errorf("layer %d digest: %w", i, err)
		}
		size, err := l.Size()
		if err != nil {
			return fmt.Errorf("layer %d size: %w", i, err)
		}
		blobs = append(blobs, blob{d, l.Compressed, size})
		dm.Layers = append(dm.Layers, blobPath(d))
	}
	rawManifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("image manifest: %w", err)
	}
	mDigest, err := addBytes(rawManifest)
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return fmt.Errorf("image media type: %w", err)
	}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   mt,
			Digest:      mDigest,
			Size:        int64(len(rawManifest)),
			Annotations: map[string]string{annotationContainerdName: full, annotationRefName: full},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return err
	}
	dockerJSON, err := json.Marshal([]dockerManifest{dm})
	if err != nil {
		return err
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tw := tar.NewWriter(out)
	writeFile := func(name string, size int64, r io.Reader) error {
		h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: epoch}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		return nil
	}
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	if err := writeFile("oci-layout", int64(len(layout)), bytesReader(layout)); err != nil {
		return err
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	for _, b := range blobs {
		rc, err := b.open()
		if err != nil {
			return fmt.Errorf("open blob %s: %w", b.digest, err)
		}
		err = writeFile(blobPath(b.digest), b.size, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	if err := writeFile("index.json", int64(len(indexJSON)), bytesReader(indexJSON)); err != nil {
		return err
	}
	if err := writeFile("manifest.json", int64(len(dockerJSON)), bytesReader(dockerJSON)); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

func bytesReader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
