// Package rootfs makes the read-only ISO 9660 image (with Rock Ridge
// names) of a container's rootfs that the guest reads as its block device
// "rootfs", written in Go with no external tool.
//
// Images live in a cache directory, keyed by a walk of the rootfs (names,
// types, modes, owners, sizes, mtimes, symlink targets) and the content of
// the extra files the engine adds (/etc/resolv.conf, /etc/hosts,
// /etc/hostname). A container that finds its key in the cache reuses the
// image; each container is recorded as a holder of its image, and the
// last holder's Release removes it:
//
//	CACHE/lock                 flock(2)ed by Build and Release
//	CACHE/KEY.iso              the image (read-only)
//	CACHE/KEY.holders/ID       one empty file per container using it
//
// Symlinks are written as they are, Rock Ridge SL entries with the
// target as the rootfs has it; the library OS follows them inside the
// image (absolute targets start at its root, a target climbing above the
// root is refused). Device nodes, fifos and sockets are left out.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// File is a host file put into the image at Path, replacing what the
// rootfs has there.
type File struct {
	Path   string // absolute path inside the image, e.g. /etc/resolv.conf
	Source string // host file
}

// Build returns the image of rootfsDir plus extra, from cacheDir or newly
// written there, and records holder (a container id) as one of its users.
// A holder that held another image moves to this one (and the other is
// removed if nobody else uses it). Concurrent Builds, in one process or
// many, are safe: they take turns on the cache's lock, so the same image
// is written once.
func Build(cacheDir, rootfsDir string, extra []File, holder string) (imagePath string, err error) {
	if err := checkHolder(holder); err != nil {
		return "", err
	}
	root, err := scan(rootfsDir)
	if err != nil {
		return "", err
	}
	for _, f := range extra {
		if err := addExtra(root, f); err != nil {
			return "", err
		}
	}
	sortByName(root)
	k := key(root)

	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return "", fmt.Errorf("image cache %s: %w", cacheDir, err)
	}
	unlock, err := lock(cacheDir)
	if err != nil {
		return "", err
	}
	defer unlock()

	img := filepath.Join(cacheDir, k+".iso")
	if err := dropHolder(cacheDir, holder, k); err != nil {
		return "", err
	}
	if _, err := os.Stat(img); errors.Is(err, os.ErrNotExist) {
		if err := removeTemps(cacheDir); err != nil {
			return "", err
		}
		if err := writeFile(img, root); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", fmt.Errorf("image %s: %w", img, err)
	}
	holders := filepath.Join(cacheDir, k+".holders")
	if err := os.MkdirAll(holders, 0o700); err != nil {
		return "", fmt.Errorf("image holders %s: %w", holders, err)
	}
	if err := os.WriteFile(filepath.Join(holders, holder), nil, 0o600); err != nil {
		return "", fmt.Errorf("record holder %s: %w", holder, err)
	}
	return img, nil
}

// Release drops holder from the image it uses, and removes the image if
// no holder is left. Releasing a holder that holds nothing is not an
// error, so delete can run it twice.
func Release(cacheDir, holder string) error {
	if err := checkHolder(holder); err != nil {
		return err
	}
	if _, err := os.Stat(cacheDir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	unlock, err := lock(cacheDir)
	if err != nil {
		return err
	}
	defer unlock()
	return dropHolder(cacheDir, holder, "")
}

// dropHolder removes holder from every image but keep's, and removes the
// images left without holders. Called with the lock held.
func dropHolder(cacheDir, holder, keep string) error {
	held, err := filepath.Glob(filepath.Join(cacheDir, "*.holders", holder))
	if err != nil {
		return err
	}
	for _, h := range held {
		dir := filepath.Dir(h)
		k := strings.TrimSuffix(filepath.Base(dir), ".holders")
		if k == keep {
			continue
		}
		if err := os.Remove(h); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("drop holder %s: %w", holder, err)
		}
		left, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("image holders %s: %w", dir, err)
		}
		if len(left) > 0 {
			continue
		}
		if err := os.Remove(filepath.Join(cacheDir, k+".iso")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove image: %w", err)
		}
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("remove image holders: %w", err)
		}
	}
	return nil
}

// checkHolder refuses holder names that are not one file name.
func checkHolder(holder string) error {
	if holder == "" || holder == "." || holder == ".." || strings.ContainsAny(holder, "/\x00") {
		return fmt.Errorf("image holder %q: want a container id", holder)
	}
	return nil
}

// lock takes the cache's lock; the returned function gives it back.
func lock(cacheDir string) (func(), error) {
	p := filepath.Join(cacheDir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("image cache lock %s: %w", p, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image cache lock %s: %w", p, err)
	}
	return func() { f.Close() }, nil
}

const tempSuffix = ".tmp"

// removeTemps removes images a Build that died left half written. Called
// with the lock held: no live Build is writing one.
func removeTemps(cacheDir string) error {
	temps, err := filepath.Glob(filepath.Join(cacheDir, "*"+tempSuffix+"*"))
	if err != nil {
		return err
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove stale image %s: %w", t, err)
		}
	}
	return nil
}

// writeFile writes the image to a temporary file next to img and renames
// it into place, so img is always whole.
func writeFile(img string, root *node) error {
	f, err := os.CreateTemp(filepath.Dir(img), filepath.Base(img)+tempSuffix+"*")
	if err != nil {
		return fmt.Errorf("create image: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename, nothing is there
	if err := writeImage(f, root); err != nil {
		f.Close()
		return fmt.Errorf("write image of %s: %w", img, err)
	}
	if err := f.Chmod(0o444); err != nil {
		f.Close()
		return fmt.Errorf("write image %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write image %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write image %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, img); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}
