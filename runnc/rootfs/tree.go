package rootfs

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// node is one name in the image: a directory, a regular file or a
// symlink, read from the rootfs (or an extra file) into plain data before
// anything is written.
type node struct {
	name     string // Rock Ridge name; "" for the root
	mode     uint32 // POSIX st_mode, type bits included
	uid, gid uint32
	mtime    time.Time
	size     int64
	source   string // host file holding a regular file's bytes
	data     []byte // or the bytes themselves (extra files)
	link     string // symlink target (written as Rock Ridge SL)
	dataOf   *node  // a second name for this file's data (a hard link)
	parent   *node
	children []*node // directories: by Rock Ridge name while scanning

	// Filled in by the layout.
	isoID   []byte // ISO 9660 identifier in the parent directory
	lba     uint32 // first sector of the extent
	dirSize uint32 // directories: bytes of the extent
	number  uint16 // directories: path table number
}

func (n *node) isDir() bool     { return n.mode&syscall.S_IFMT == syscall.S_IFDIR }
func (n *node) isSymlink() bool { return n.mode&syscall.S_IFMT == syscall.S_IFLNK }
func (n *node) isFile() bool    { return n.mode&syscall.S_IFMT == syscall.S_IFREG }

// extent is the node whose data this record points at.
func (n *node) extent() *node {
	if n.dataOf != nil {
		return n.dataOf
	}
	return n
}

func (n *node) child(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// scan reads the rootfs at dir into a tree. Device nodes, fifos and
// sockets are left out: the guest has no use for them.
func scan(dir string) (*node, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("rootfs %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("rootfs %s: not a directory", dir)
	}
	root := fromInfo("", st)
	links := map[[2]uint64]*node{} // (dev, inode) of regular files seen
	if err := scanDir(root, dir, links); err != nil {
		return nil, err
	}
	return root, nil
}

func fromInfo(name string, fi fs.FileInfo) *node {
	n := &node{name: name, mtime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		n.mode, n.uid, n.gid = st.Mode, st.Uid, st.Gid
	}
	return n
}

func scanDir(d *node, dir string, links map[[2]uint64]*node) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read rootfs directory %s: %w", dir, err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		n := fromInfo(e.Name(), fi)
		n.parent = d
		switch n.mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			n.size = 0
			if err := scanDir(n, p, links); err != nil {
				return err
			}
		case syscall.S_IFREG:
			if n.size > maxFileSize {
				return fmt.Errorf("%s: %d bytes, more than an ISO9660 extent holds (4 GiB)", p, n.size)
			}
			n.source = p
			st := fi.Sys().(*syscall.Stat_t)
			id := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[id]; ok {
				n.dataOf = first
			} else {
				links[id] = n
			}
		case syscall.S_IFLNK:
			if n.link, err = os.Readlink(p); err != nil {
				return fmt.Errorf("read symlink %s: %w", p, err)
			}
			n.size = 0
		default:
			continue
		}
		d.children = append(d.children, n)
	}
	return nil
}

// addExtra puts the content of f at f.Path, replacing what the rootfs has
// there and making missing directories.
func addExtra(root *node, f File) error {
	clean := path.Clean("/" + f.Path)
	if clean == "/" || !strings.HasPrefix(f.Path, "/") {
		return fmt.Errorf("extra file %q: want an absolute path of a file in the image", f.Path)
	}
	data, err := os.ReadFile(f.Source)
	if err != nil {
		return fmt.Errorf("extra file %s: %w", f.Path, err)
	}
	fi, err := os.Stat(f.Source)
	if err != nil {
		return fmt.Errorf("extra file %s: %w", f.Path, err)
	}
	parts := strings.Split(clean[1:], "/")
	d := root
	for _, name := range parts[:len(parts)-1] {
		c := d.child(name)
		switch {
		case c == nil:
			c = &node{name: name, mode: syscall.S_IFDIR | 0o755, mtime: fi.ModTime(), parent: d}
			d.children = append(d.children, c)
		case !c.isDir():
			return fmt.Errorf("extra file %s: %s is not a directory in the rootfs", f.Path, name)
		}
		d = c
	}
	name := parts[len(parts)-1]
	n := &node{name: name, mode: syscall.S_IFREG | uint32(fi.Mode().Perm()), mtime: fi.ModTime(),
		size: int64(len(data)), data: data, parent: d}
	for i, c := range d.children {
		if c.name == name {
			if c.isDir() {
				return fmt.Errorf("extra file %s: a directory in the rootfs", f.Path)
			}
			n.uid, n.gid = c.uid, c.gid
			d.children[i] = n
			return nil
		}
	}
	d.children = append(d.children, n)
	return nil
}

// walk calls fn for every node, parents before children.
func walk(n *node, fn func(*node)) {
	fn(n)
	for _, c := range n.children {
		walk(c, fn)
	}
}

// sortByName orders every directory's children by name, so the key and
// the image do not depend on the order directories were read in.
func sortByName(root *node) {
	walk(root, func(n *node) {
		sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
	})
}

// keyVersion changes whenever the image format does, so caches made by
// older writers are not reused.
const keyVersion = "runnc-rootfs-iso 2"

// key (of a tree sorted by name) is a digest of everything the image is made from: every name,
// type, mode, owner, size, mtime and symlink target of the rootfs, and
// the content of the extra files. The rootfs files' content is not read:
// a changed file changes its size or mtime.
func key(root *node) string {
	h := sha256.New()
	h.Write([]byte(keyVersion))
	var walkKey func(n *node, p string)
	walkKey = func(n *node, p string) {
		keyNode(h, n, p)
		for _, c := range n.children {
			walkKey(c, p+"/"+c.name)
		}
	}
	walkKey(root, "")
	return fmt.Sprintf("%x", h.Sum(nil))[:32]
}

func keyNode(h hash.Hash, n *node, p string) {
	var b [8 * 5]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(n.mode))
	binary.LittleEndian.PutUint64(b[8:], uint64(n.uid)<<32|uint64(n.gid))
	binary.LittleEndian.PutUint64(b[16:], uint64(n.size))
	binary.LittleEndian.PutUint64(b[24:], uint64(n.mtime.UnixNano()))
	binary.LittleEndian.PutUint64(b[32:], uint64(len(p)))
	h.Write(b[:])
	h.Write([]byte(p))
	h.Write([]byte{0})
	h.Write([]byte(n.link))
	h.Write([]byte{0})
	if n.data != nil {
		sum := sha256.Sum256(n.data)
		h.Write(sum[:])
	}
	if n.dataOf != nil {
		// A hard link: which file it shares data with is part of the layout.
		h.Write([]byte(pathOf(n.dataOf)))
	}
	h.Write([]byte{0})
}

func pathOf(n *node) string {
	if n.parent == nil {
		return "/"
	}
	return strings.TrimSuffix(pathOf(n.parent), "/") + "/" + n.name
}
