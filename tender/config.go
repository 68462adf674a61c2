package tender

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Config is what the tender is asked to do: the guest, its memory and its
// devices. runnc-spt fills it from its command line (ParseArgs); a Go
// caller such as the runtime builds it directly, and Argv renders it back
// to a runnc-spt command line.
type Config struct {
	MemMB int // guest memory in MiB (DefaultMemMB if 0)
	// MemPrefault (--mem-prefault) allocates and maps all of guest memory
	// before the guest runs: the guest then never takes a page fault on
	// it, and the host's page-fault path leaves its attack profile; the
	// memory is resident (and charged to the container) from the start.
	MemPrefault bool
	Kernel      string
	Args        []string // the guest's command line, joined by spaces
	Net         []NetSpec
	Block       []BlockSpec
	// ArgsFile names a file of more options read when runnc-spt starts
	// (--args-file; see readArgsFile). ParseArgs reads it at once and
	// leaves this empty.
	ArgsFile string
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
//	[--mem=MB] [--mem-prefault] [--net:NAME=IFACE|@FD] [--net-mac:NAME=MAC] [--net-offload:NAME]
//	[--block:NAME=PATH] [--block-ro:NAME=PATH] [--block-sector-size:NAME=N]
//	[--args-file=PATH] [--print-filter] [--] KERNEL [ARGS...]
//
// A --KEY:NAME option without "=VALUE" reaches its module with an empty value.
func ParseArgs(argv []string) (cfg *Config, printFilter bool, err error) {
	cfg = &Config{MemMB: DefaultMemMB}
	var late []string // guest arguments from --args-file, after ARGS
	seenArgsFile := false
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
		case strings.HasPrefix(a, "--args-file="):
			if seenArgsFile {
				return nil, false, fmt.Errorf("--args-file given twice")
			}
			seenArgsFile = true
			opts, guest, err := readArgsFile(strings.TrimPrefix(a, "--args-file="))
			if err != nil {
				return nil, false, err
			}
			late = guest
			// The file's options are parsed as if given here.
			argv = append(append(append([]string{}, argv[:i+1]...), opts...), argv[i+1:]...)
		case a == "--print-filter":
			printFilter = true
		case strings.HasPrefix(a, "--mem="):
			n, err := strconv.Atoi(strings.TrimPrefix(a, "--mem="))
			if err != nil || n < 2 || n > maxMemMB {
				return nil, false, fmt.Errorf("%s: want a size in MiB from 2 to %d", a, maxMemMB)
			}
			cfg.MemMB = n
		case a == "--mem-prefault":
			cfg.MemPrefault = true
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
	cfg.Kernel, cfg.Args = argv[i], append(argv[i+1:len(argv):len(argv)], late...)
	if err := cfg.validate(); err != nil {
		return nil, false, err
	}
	return cfg, printFilter, nil
}

// Argv renders cfg as runnc-spt's arguments (without the program name):
// ParseArgs(cfg.Argv()) gives back cfg.
func (c *Config) Argv() []string {
	a := []string{fmt.Sprintf("--mem=%d", c.memMB())}
	if c.MemPrefault {
		a = append(a, "--mem-prefault")
	}
	if c.ArgsFile != "" {
		a = append(a, "--args-file="+c.ArgsFile)
	}
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

// readArgsFile reads the options runnc writes once the container's
// network exists, after the engine's hooks ran and so after the tender's
// argv was fixed: one word a line, tender options first, then a line "--"
// and arguments appended to the guest's command line.
func readArgsFile(path string) (opts, guest []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--args-file: %w", err)
	}
	inGuest := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case l == "":
		case l == "--" && !inGuest:
			inGuest = true
		case inGuest:
			guest = append(guest, l)
		case !strings.HasPrefix(l, "--") || strings.HasPrefix(l, "--args-file="):
			return nil, nil, fmt.Errorf("--args-file %s: %q is not a tender option", path, l)
		default:
			opts = append(opts, l)
		}
	}
	return opts, guest, nil
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
