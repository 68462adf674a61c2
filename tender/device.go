package tender

import (
	"fmt"
	"os"
	"sort"

	"github.com/runnc/runnc/solo5/manifest"
)

// device is an attached host resource backing one manifest device.
type device struct {
	Name string
	Type manifest.DeviceType
	FD   int // host fd the guest uses; inherited across the exec

	// NET_BASIC
	Iface string
	MAC   [6]byte
	MTU   uint64
	// VnetHDR: every frame on the tap carries a 10-byte struct
	// virtio_net_hdr, which lets the guest ask for segmentation and
	// checksum offload on transmit (--net-offload).
	VnetHDR bool
	// VnetRX: the tap's offloads towards the guest are on (the guest
	// takes 64 KiB frames and partial checksums, RUNNC_DEVF_VNET_RX).
	VnetRX bool

	// BLOCK_BASIC
	Path      string
	Capacity  uint64
	BlockSize uint64
	ReadOnly  bool

	file *os.File // keeps the fd open
}

// A module handles one device kind: its command-line options (into the
// Config's specs), attaching the host side, and its part of the seccomp
// policy. Adding a device kind means adding one module.
type module interface {
	// kind is the manifest type this module attaches.
	kind() manifest.DeviceType
	// option takes "--KEY:NAME=VALUE" into cfg; handled is false if KEY
	// is not the module's.
	option(cfg *Config, key, name, value string) (handled bool, err error)
	// validate checks the module's specs in cfg.
	validate(cfg *Config) error
	// names lists the device names cfg gives this module.
	names(cfg *Config) []string
	// attach opens the host side of manifest device name.
	attach(cfg *Config, name string) (*device, error)
	// rules adds this module's conditions to the policy.
	rules(p *policy, devs []*device)
}

func modules() []module { return []module{netModule{}, blockModule{}} }

// attachAll attaches every device of the manifest, in manifest order, and
// refuses options naming devices the manifest does not declare.
func attachAll(cfg *Config, m *manifest.Manifest) ([]*device, error) {
	mods := modules()
	declared := map[string]manifest.DeviceType{}
	for _, d := range m.Devices {
		declared[d.Name] = d.Type
	}
	for _, mod := range mods {
		given := mod.names(cfg)
		sort.Strings(given)
		for _, n := range given {
			if t, ok := declared[n]; !ok || t != mod.kind() {
				return nil, fmt.Errorf("device %q is given on the command line but the guest's manifest declares no %s device of that name", n, mod.kind())
			}
		}
	}
	var devs []*device
	for _, d := range m.Devices {
		var mod module
		for _, x := range mods {
			if x.kind() == d.Type {
				mod = x
			}
		}
		if mod == nil {
			closeAll(devs)
			return nil, fmt.Errorf("manifest device %q has type %s, which this tender cannot attach", d.Name, d.Type)
		}
		dev, err := mod.attach(cfg, d.Name)
		if err != nil {
			closeAll(devs)
			return nil, err
		}
		devs = append(devs, dev)
	}
	return devs, nil
}

func closeAll(devs []*device) {
	for _, d := range devs {
		if d.file != nil {
			d.file.Close()
		}
	}
}
