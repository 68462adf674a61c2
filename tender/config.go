package tender

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Config is what the tender is asked to do: the guest, its memory and its
// devices. runnc-spt fills it from its command line (ParseArgs); a Go
// caller such as the runtime builds it directly, and Argv renders it back
// to a runnc-spt command line.
type Config struct {
	MemMB  int // guest memory in MiB (DefaultMemMB if 0)
	Kernel string
	Args   []string // the guest's command line, joined by spaces
	Net    []NetSpec
	Block  []BlockSpec
	// NoFSGSBase makes the tender act as if the CPU lacked FSGSBASE (for
	// tests; runnc-spt sets it from NoFSGSBaseEnv, Argv does not render it).
	NoFSGSBase bool
}

// NetSpec attaches a NET_BASIC device to a tap, named (Iface, in the
// tender's network namespace) or already open (FD, inherited by the
// tender).
type NetSpec struct {
	Name    string
	Iface   string
	FD      int              // used when Iface is empty; 3 or more
	MAC     net.HardwareAddr // nil: random, locally administered
	Offload bool             // --net-offload: virtio_net_hdr and TSO
}

// BlockSpec attaches a BLOCK_BASIC device to a file.
type BlockSpec struct {
	Name       string
	Path       string
	ReadOnly   bool   // open O_RDONLY; the filter allows no pwrite64
	SectorSize uint64 // the guest's block_size; 0 means DefaultSectorSize
}

// DefaultMemMB is guest memory when --mem is not given (as Solo5).
const DefaultMemMB = 512

// maxMemMB keeps guest memory far below the stub (0x6f0000000000).
const maxMemMB = 64 << 10

// DefaultSectorSize is a block device's block_size without
// --block-sector-size (as Solo5).
const DefaultSectorSize = 512

// ParseArgs parses a Solo5-spt-like command line:
//
//	[--mem=MB] [--net:NAME=IFACE|@FD] [--net-mac:NAME=MAC] [--net-offload:NAME]
//	[--block:NAME=PATH] [--block-ro:NAME=PATH] [--block-sector-size:NAME=N]
//	[--print-filter] [--] KERNEL [ARGS...]
//
// A --KEY:NAME option without "=VALUE" reaches its module with an empty value.
func ParseArgs(argv []string) (cfg *Config, printFilter bool, err error) {
	cfg = &Config{MemMB: DefaultMemMB}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "--") {
			break
		}
		switch {
		case a == "--print-filter":
			printFilter = true
		case strings.HasPrefix(a, "--mem="):
			n, err := strconv.Atoi(strings.TrimPrefix(a, "--mem="))
			if err != nil || n < 2 || n > maxMemMB {
				return nil, false, fmt.Errorf("%s: want a size in MiB from 2 to %d", a, maxMemMB)
			}
			cfg.MemMB = n
		default:
			key, rest, ok := strings.Cut(a[2:], ":")
			name, value, _ := strings.Cut(rest, "=")
			if !ok || name == "" {
				return nil, false, fmt.Errorf("unknown option %s (see runnc-spt --help)", a)
			}
			handled := false
			for _, m := range modules() {
				h, err := m.option(cfg, key, name, value)
				if err != nil {
					return nil, false, err
				}
				handled = handled || h
			}
			if !handled {
				return nil, false, fmt.Errorf("unknown option %s (see runnc-spt --help)", a)
			}
		}
	}
	if i >= len(argv) {
		return nil, false, fmt.Errorf("no KERNEL given (see runnc-spt --help)")
	}
	cfg.Kernel, cfg.Args = argv[i], argv[i+1:]
	if err := cfg.validate(); err != nil {
		return nil, false, err
	}
	return cfg, printFilter, nil
}

// Argv renders cfg as runnc-spt's arguments (without the program name):
// ParseArgs(cfg.Argv()) gives back cfg.
func (c *Config) Argv() []string {
	a := []string{fmt.Sprintf("--mem=%d", c.memMB())}
	for _, n := range c.Net {
		if n.Iface != "" {
			a = append(a, "--net:"+n.Name+"="+n.Iface)
		} else {
			a = append(a, fmt.Sprintf("--net:%s=@%d", n.Name, n.FD))
		}
		if n.MAC != nil {
			a = append(a, "--net-mac:"+n.Name+"="+n.MAC.String())
		}
		if n.Offload {
			a = append(a, "--net-offload:"+n.Name)
		}
	}
	for _, b := range c.Block {
		opt := "--block:"
		if b.ReadOnly {
			opt = "--block-ro:"
		}
		a = append(a, opt+b.Name+"="+b.Path)
		if b.SectorSize != 0 {
			a = append(a, fmt.Sprintf("--block-sector-size:%s=%d", b.Name, b.SectorSize))
		}
	}
	return append(append(a, "--", c.Kernel), c.Args...)
}

func (c *Config) memMB() int {
	if c.MemMB == 0 {
		return DefaultMemMB
	}
	return c.MemMB
}

// validate checks what ParseArgs cannot have checked for a Config built
// in Go, in the words of the options that set it.
func (c *Config) validate() error {
	if n := c.memMB(); n < 2 || n > maxMemMB {
		return fmt.Errorf("--mem=%d: want a size in MiB from 2 to %d", n, maxMemMB)
	}
	if c.Kernel == "" {
		return fmt.Errorf("no KERNEL given (see runnc-spt --help)")
	}
	for _, m := range modules() {
		if err := m.validate(c); err != nil {
			return err
		}
	}
	return nil
}
