package tender

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/solo5/manifest"
)

// BlockSize is the unit of I/O of BLOCK_BASIC devices.
const BlockSize = 512

// blockModule attaches BLOCK_BASIC devices to files:
//
//	--block:NAME=PATH   a regular file or block device; opened read-write,
//	                    or read-only if that is all the caller may do
type blockModule struct {
	paths map[string]string
}

func (m *blockModule) kind() manifest.DeviceType { return manifest.BlockBasic }

func (m *blockModule) option(key, name, value string) (bool, error) {
	if key != "block" {
		return false, nil
	}
	if m.paths == nil {
		m.paths = map[string]string{}
	}
	if _, dup := m.paths[name]; dup {
		return true, fmt.Errorf("--block:%s given twice", name)
	}
	m.paths[name] = value
	return true, nil
}

func (m *blockModule) names() []string {
	var n []string
	for k := range m.paths {
		n = append(n, k)
	}
	return n
}

func (m *blockModule) attach(name string) (*Device, error) {
	path, ok := m.paths[name]
	if !ok {
		return nil, fmt.Errorf("the guest's manifest declares BLOCK_BASIC device %q: attach it with --block:%s=FILE", name, name)
	}
	dev := &Device{Name: name, Type: manifest.BlockBasic, Path: path, BlockSize: BlockSize}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		f, err = os.Open(path)
		dev.ReadOnly = true
	}
	if err != nil {
		return nil, fmt.Errorf("--block:%s: %w", name, err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		err = fmt.Errorf("is a directory")
	}
	var size int64
	if err == nil {
		size, err = f.Seek(0, 2)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--block:%s=%s: %w", name, path, err)
	}
	if size < BlockSize || size%BlockSize != 0 {
		f.Close()
		return nil, fmt.Errorf("--block:%s=%s: size %d is not a positive multiple of the block size %d", name, path, size, BlockSize)
	}
	dev.Capacity = uint64(size)
	dev.file, dev.FD = f, int(f.Fd())
	return dev, nil
}

func (m *blockModule) rules(p *Policy, devs []*Device) {
	for _, d := range devs {
		if d.Type != manifest.BlockBasic {
			continue
		}
		who := "block " + d.Name
		conds := []Cond{
			Arg(0, "fd").Eq(uint64(d.FD)),
			Arg(2, "count").Eq(d.BlockSize),
			Arg(3, "offset").Aligned(d.BlockSize),
			Arg(3, "offset").Le(d.Capacity - d.BlockSize),
		}
		p.Allow("pread64", who, conds...)
		if !d.ReadOnly {
			p.Allow("pwrite64", who, conds...)
		}
	}
}
