package tender

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/solo5/manifest"
)

// maxSectorSize bounds --block-sector-size: the filter's alignment test
// looks at the offset's low 32 bits only, and no guest needs more.
const maxSectorSize = 1 << 20

// blockModule attaches BLOCK_BASIC devices to files:
//
//	--block:NAME=PATH              a regular file or block device, read-write
//	--block-ro:NAME=PATH           ... read-only: opened O_RDONLY, and the
//	                               filter allows no pwrite64 on it
//	--block-sector-size:NAME=N     the guest's block_size: a power of two
//	                               from 512 (the default) to 1 MiB; the
//	                               file's size must be a multiple of it
//
// Read-only is its own option, not a suffix of PATH, so that no path can
// be mistaken for a mode; a file that cannot be opened for writing is
// refused, never silently attached read-only.
type blockModule struct{}

func (blockModule) kind() manifest.DeviceType { return manifest.BlockBasic }

// blockSpec returns cfg's spec of device name, adding an empty one.
func (c *Config) blockSpec(name string) *BlockSpec {
	for i := range c.Block {
		if c.Block[i].Name == name {
			return &c.Block[i]
		}
	}
	c.Block = append(c.Block, BlockSpec{Name: name})
	return &c.Block[len(c.Block)-1]
}

func (blockModule) option(cfg *Config, key, name, value string) (bool, error) {
	switch key {
	case "block", "block-ro", "block-sector-size":
	default:
		return false, nil
	}
	s := cfg.blockSpec(name)
	switch key {
	case "block", "block-ro":
		if s.Path != "" {
			return true, fmt.Errorf("--%s:%s: device %s is already attached (--block or --block-ro given twice)", key, name, name)
		}
		if value == "" {
			return true, fmt.Errorf("--%s:%s: want --%s:%s=PATH", key, name, key, name)
		}
		s.Path, s.ReadOnly = value, key == "block-ro"
	case "block-sector-size":
		if s.SectorSize != 0 {
			return true, fmt.Errorf("--block-sector-size:%s given twice", name)
		}
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil || !validSectorSize(n) {
			return true, fmt.Errorf("--block-sector-size:%s=%s: want a power of two from 512 to %d", name, value, maxSectorSize)
		}
		s.SectorSize = n
	}
	return true, nil
}

func validSectorSize(n uint64) bool {
	return n >= 512 && n <= maxSectorSize && n&(n-1) == 0
}

func (blockModule) validate(cfg *Config) error {
	seen := map[string]bool{}
	for _, s := range cfg.Block {
		if seen[s.Name] {
			return fmt.Errorf("--block:%s given twice", s.Name)
		}
		seen[s.Name] = true
		if s.Name == "" {
			return fmt.Errorf("a block device has no name")
		}
		if s.SectorSize != 0 && !validSectorSize(s.SectorSize) {
			return fmt.Errorf("--block-sector-size:%s=%d: want a power of two from 512 to %d", s.Name, s.SectorSize, maxSectorSize)
		}
	}
	return nil
}

func (blockModule) names(cfg *Config) []string {
	var n []string
	for _, s := range cfg.Block {
		n = append(n, s.Name)
	}
	return n
}

func (blockModule) attach(cfg *Config, name string) (*device, error) {
	s := cfg.blockSpec(name)
	if s.Path == "" {
		return nil, fmt.Errorf("the guest's manifest declares BLOCK_BASIC device %q: attach it with --block:%s=FILE (or --block-ro:%s=FILE)", name, name, name)
	}
	opt := "--block:" + name + "=" + s.Path
	flags := os.O_RDWR
	if s.ReadOnly {
		opt = "--block-ro:" + name + "=" + s.Path
		flags = os.O_RDONLY
	}
	bs := s.SectorSize
	if bs == 0 {
		bs = DefaultSectorSize
	}
	dev := &device{Name: name, Type: manifest.BlockBasic, Path: s.Path, BlockSize: bs, ReadOnly: s.ReadOnly}
	f, err := os.OpenFile(s.Path, flags, 0)
	if err != nil {
		var perr *os.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		if !s.ReadOnly && (errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
			return nil, fmt.Errorf("%s: cannot open it for writing (%v); attach it read-only with --block-ro:%s=%s", opt, err, name, s.Path)
		}
		return nil, fmt.Errorf("%s: %w", opt, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("is a directory")
	}
	if err == nil {
		err = lockImage(f, st, s.ReadOnly)
	}
	var size int64
	if err == nil {
		size, err = f.Seek(0, 2)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", opt, err)
	}
	if size < int64(bs) || size%int64(bs) != 0 {
		f.Close()
		return nil, fmt.Errorf("%s: size %d is not a positive multiple of the block size %d", opt, size, bs)
	}
	dev.Capacity = uint64(size)
	dev.file, dev.FD = f, int(f.Fd())
	return dev, nil
}

// lockImage takes a lock on an attached image so that no two guests write
// it at once: exclusive for read-write, shared for read-only. It is a
// flock on the device's own fd, which the guest keeps open across the
// exec, so the lock lasts exactly as long as the guest. (A lock is on the
// inode: two device nodes of one disk do not see each other's.)
func lockImage(f *os.File, st os.FileInfo, readOnly bool) error {
	how := unix.LOCK_EX
	if readOnly {
		how = unix.LOCK_SH
	}
	err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		return fmt.Errorf("lock the image: %w", err)
	}
	holder := "another process"
	if pid := lockHolder(st); pid > 0 {
		holder = fmt.Sprintf("pid %d", pid)
	}
	if readOnly {
		return fmt.Errorf("in use read-write by %s (one writer per image, and no readers alongside it)", holder)
	}
	return fmt.Errorf("in use by %s (one writer per image: it holds a lock on it)", holder)
}

// lockHolder finds the pid holding a flock on the file of st in
// /proc/locks ("1: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF"), or 0.
func lockHolder(st os.FileInfo) int {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	dev := fmt.Sprintf("%02x:%02x:%d", unix.Major(sys.Dev), unix.Minor(sys.Dev), sys.Ino)
	inode := fmt.Sprintf(":%d", sys.Ino)
	byInode := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		// Waiters are marked "->" and are not holders.
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil {
			continue
		}
		if f[5] == dev {
			return pid
		}
		// Some filesystems (btrfs) report another device number in
		// stat than in /proc/locks: fall back to the inode alone.
		if strings.HasSuffix(f[5], inode) {
			byInode = pid
		}
	}
	return byInode
}

func (blockModule) rules(p *policy, devs []*device) {
	for _, d := range devs {
		if d.Type != manifest.BlockBasic {
			continue
		}
		who := "block " + d.Name
		conds := []condition{
			argAt(0, "fd").Eq(uint64(d.FD)),
			argAt(2, "count").Eq(d.BlockSize),
			argAt(3, "offset").Aligned(d.BlockSize),
			argAt(3, "offset").Le(d.Capacity - d.BlockSize),
		}
		p.allow("pread64", who, conds...)
		if !d.ReadOnly {
			p.allow("pwrite64", who, conds...)
		}
	}
}
