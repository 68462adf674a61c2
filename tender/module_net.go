package tender

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/netns"
	"github.com/runnc/runnc/solo5/manifest"
)

// netModule attaches NET_BASIC devices to taps:
//
//	--net:NAME=IFACE    open the existing tap IFACE (IFF_TAP|IFF_NO_PI)
//	--net:NAME=@FD      use an already open tap fd
//	--net-mac:NAME=MAC  the guest's MAC (default: random, locally administered)
//	--net-offload:NAME  frames carry a virtio_net_hdr (IFF_VNET_HDR), so the
//	                    guest may hand the kernel TCP segments of up to 64 KiB
//	                    to segment and checksum (TSO), and, if the guest says
//	                    it takes them (RUNNC_FEATURE_VNET_RX), the kernel
//	                    hands it TCP segments of up to 64 KiB with checksums
//	                    left partial; off by default because it reaches more
//	                    host kernel code (tun's virtio_net_hdr parsing, GSO
//	                    segmentation)
type netModule struct{}

// vnetHdrLen is the struct virtio_net_hdr the tap expects with
// --net-offload: without num_buffers (TUNSETVNETHDRSZ 10).
const vnetHdrLen = 10

func (netModule) kind() manifest.DeviceType { return manifest.NetBasic }

// netSpec returns cfg's spec of device name, adding an empty one.
func (c *Config) netSpec(name string) *NetSpec {
	for i := range c.Net {
		if c.Net[i].Name == name {
			return &c.Net[i]
		}
	}
	c.Net = append(c.Net, NetSpec{Name: name})
	return &c.Net[len(c.Net)-1]
}

func (netModule) option(cfg *Config, key, name, value string) (bool, error) {
	switch key {
	case "net", "net-mac", "net-offload":
	default:
		return false, nil
	}
	s := cfg.netSpec(name)
	switch key {
	case "net":
		if s.Iface != "" || s.FD != 0 {
			return true, fmt.Errorf("--net:%s given twice", name)
		}
		if strings.HasPrefix(value, "@") {
			fd, err := strconv.Atoi(value[1:])
			if err != nil || fd < 3 {
				return true, fmt.Errorf("--net:%s=%s: want @FD with a file descriptor number of 3 or more (0-2 are stdio)", name, value)
			}
			s.FD = fd
		} else {
			if value == "" {
				return true, fmt.Errorf("--net:%s=%q: not an interface name", name, value)
			}
			s.Iface = value
		}
	case "net-mac":
		if s.MAC != nil {
			return true, fmt.Errorf("--net-mac:%s given twice", name)
		}
		hw, err := parseMAC(value)
		if err != nil {
			return true, fmt.Errorf("--net-mac:%s=%s: not a MAC address", name, value)
		}
		s.MAC = hw[:]
	case "net-offload":
		if value != "" {
			return true, fmt.Errorf("--net-offload:%s takes no value", name)
		}
		if s.Offload {
			return true, fmt.Errorf("--net-offload:%s given twice", name)
		}
		s.Offload = true
	}
	return true, nil
}

func (netModule) validate(cfg *Config) error {
	seen := map[string]bool{}
	// One tap backs one device: a second device on the same fd or tap
	// would share (and steal) its frames.
	byFD, byIface := map[int]string{}, map[string]string{}
	for _, s := range cfg.Net {
		if other, dup := byFD[s.FD]; dup && s.Iface == "" && s.FD != 0 {
			return fmt.Errorf("--net:%s=@%d: fd %d is already device %s's tap", s.Name, s.FD, s.FD, other)
		}
		if other, dup := byIface[s.Iface]; dup && s.Iface != "" {
			return fmt.Errorf("--net:%s=%s: tap %s is already device %s's", s.Name, s.Iface, s.Iface, other)
		}
		if s.Iface == "" {
			byFD[s.FD] = s.Name
		} else {
			byIface[s.Iface] = s.Name
		}
		if seen[s.Name] {
			return fmt.Errorf("--net:%s given twice", s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.Name == "":
			return fmt.Errorf("a net device has no name")
		case s.Iface != "" && s.FD != 0:
			return fmt.Errorf("--net:%s: give a tap's name or an fd, not both", s.Name)
		case s.Iface == "" && s.FD != 0 && s.FD < 3:
			return fmt.Errorf("--net:%s=@%d: want @FD with a file descriptor number of 3 or more (0-2 are stdio)", s.Name, s.FD)
		case len(s.Iface) >= unix.IFNAMSIZ:
			return fmt.Errorf("--net:%s=%q: not an interface name", s.Name, s.Iface)
		case s.MAC != nil && len(s.MAC) != 6:
			return fmt.Errorf("--net-mac:%s=%s: not a 48-bit MAC address", s.Name, s.MAC)
		case s.MAC != nil && s.MAC[0]&1 != 0:
			return fmt.Errorf("--net-mac:%s=%s: a multicast address cannot be a guest's MAC", s.Name, s.MAC)
		}
	}
	return nil
}

func (netModule) names(cfg *Config) []string {
	var n []string
	for _, s := range cfg.Net {
		n = append(n, s.Name)
	}
	return n
}

// checkFeatures refuses --net-offload for a guest whose bindings do not
// announce vnet_hdr support: older bindings would take the header for the
// start of every frame.
func checkFeatures(cfg *Config, img *Image) error {
	for _, s := range cfg.Net {
		if s.Offload && img.Features&featureVnetHDR == 0 {
			return fmt.Errorf("--net-offload:%s: the guest's bindings do not support offload (no vnet_hdr feature note): rebuild it with this runnc's toolchain, or drop the option", s.Name)
		}
	}
	return nil
}

func (netModule) attach(cfg *Config, name string) (*device, error) {
	s := cfg.netSpec(name)
	if s.Iface == "" && s.FD == 0 {
		return nil, fmt.Errorf("the guest's manifest declares NET_BASIC device %q: attach it with --net:%s=TAP", name, name)
	}
	opt := "--net:" + name + "=" + s.Iface
	if s.Iface == "" {
		opt = fmt.Sprintf("--net:%s=@%d", name, s.FD)
	}
	dev := &device{Name: name, Type: manifest.NetBasic, VnetHDR: s.Offload}
	f, iface, err := openTap(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opt, err)
	}
	dev.file, dev.FD, dev.Iface = f, int(f.Fd()), iface
	if dev.MTU, err = tapMTU(dev.FD, iface, s.Iface != ""); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", opt, err)
	}
	if s.MAC != nil {
		copy(dev.MAC[:], s.MAC)
	} else {
		if _, err := unix.Getrandom(dev.MAC[:], 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("net %s: random MAC: %w", name, err)
		}
		dev.MAC[0] = dev.MAC[0]&0xfe | 0x02 // unicast, locally administered
	}
	return dev, nil
}

// openTap opens the tap of s (by name, or checks the fd given) non-blocking,
// with the vnet header set up for offload, and returns it and its name.
// Nothing here needs privileges for a tap the caller owns.
func openTap(s *NetSpec) (*os.File, string, error) {
	var f *os.File
	iface := s.Iface
	if iface == "" {
		fd := s.FD
		var flags uint16
		var err error
		if iface, flags, err = netns.TapInfo(fd); err != nil {
			return nil, "", err
		}
		switch {
		case flags&unix.IFF_TAP == 0 || flags&unix.IFF_NO_PI == 0:
			return nil, "", fmt.Errorf("fd %d is not a tap opened with IFF_TAP|IFF_NO_PI", fd)
		case flags&unix.IFF_VNET_HDR != 0 && !s.Offload:
			return nil, "", fmt.Errorf("fd %d is a tap opened with IFF_VNET_HDR: give --net-offload:%s to use it (or open it without)", fd, s.Name)
		case s.Offload && flags&unix.IFF_VNET_HDR == 0:
			return nil, "", fmt.Errorf("--net-offload:%s needs the tap fd opened with IFF_VNET_HDR", s.Name)
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, "", err
		}
		f = os.NewFile(uintptr(fd), fmt.Sprintf("@%d", fd))
	} else {
		opts := []netns.TapOption{netns.NonBlock}
		if s.Offload {
			opts = append(opts, netns.VnetHdr)
		}
		var err error
		if f, err = netns.OpenTap(iface, opts...); err != nil {
			return nil, "", err
		}
	}
	if s.Offload {
		if err := setVnetHdr(int(f.Fd())); err != nil {
			f.Close()
			return nil, "", err
		}
	} else if err := offloadsOff(int(f.Fd())); err != nil {
		f.Close()
		return nil, "", err
	}
	return f, iface, nil
}

// setVnetHdr sets the header to the 10-byte struct virtio_net_hdr and
// turns every offload towards the guest off: the kernel then hands the
// guest only whole, checksummed frames (with a header saying nothing),
// while the guest may still ask for segmentation of what it sends.
// offloadReceive turns some on again for guests that take them.
func setVnetHdr(fd int) error {
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
		return fmt.Errorf("set the tap's vnet header size: %w", err)
	}
	if err := offloadsOff(fd); err != nil {
		return fmt.Errorf("the tap's receive offloads: %w", err)
	}
	return nil
}

// offloadsOff turns every offload towards the guest off on a tap read
// without a vnet header. The offloads belong to the device, not the open
// file: a persistent tap keeps what an earlier tender with --net-offload
// set, and the kernel would then hand this guest 64 KiB segments and
// partial checksums with no header to say so (frames it drops: the
// connections stall).
func offloadsOff(fd int) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETOFFLOAD, 0); e != 0 {
		return fmt.Errorf("turn the tap's offloads off: %v", e)
	}
	return nil
}

// rxOffloads are the tap's offloads towards a guest that takes large
// frames: partial checksums (TUN_F_CSUM, which the others need) and TCP
// segments over IPv4 (TUN_F_TSO4). Not TSO6: the guests speak IPv4 only,
// and an IPv6 segment could exceed the largest frame they read.
const rxOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4

// offloadReceive turns the tap's offloads towards the guest on for every
// device attached with --net-offload when the guest announces that it
// reads large frames (RUNNC_FEATURE_VNET_RX): the host kernel then hands
// it what its own stack or GRO built, up to 64 KiB a frame, instead of
// cutting it into MTU-sized ones (and the guest makes a read per 64 KiB,
// not per 1.5 KiB). Older guests keep whole, checksummed frames.
func offloadReceive(devs []*device, img *Image) error {
	if img.Features&featureVnetRX == 0 {
		return nil
	}
	for _, d := range devs {
		if d.Type != manifest.NetBasic || !d.VnetHDR {
			continue
		}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.FD), unix.TUNSETOFFLOAD, rxOffloads); e != 0 {
			return fmt.Errorf("--net-offload:%s: turn the tap's receive offloads on: %v", d.Name, e)
		}
		d.VnetRX = true
	}
	return nil
}

// parseMAC reads a 48-bit MAC written as six hex pairs separated by ':'.
func parseMAC(s string) ([6]byte, error) {
	var mac [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return mac, fmt.Errorf("not a MAC address")
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil || len(p) != 2 {
			return mac, fmt.Errorf("not a MAC address")
		}
		mac[i] = byte(v)
	}
	return mac, nil
}

// tapMTU reads the MTU of the tap behind fd. A tap opened by name is in
// the tender's network namespace, where looking it up needs no
// privileges. An @FD tap may come from another namespace: the tender looks
// it up there when it may (TUNGETDEVNETNS and setns need CAP_NET_ADMIN and
// CAP_SYS_ADMIN); without those it takes the interface of the tap's name in
// its own namespace, where a caller without privileges opened it, and
// refuses if there is none.
func tapMTU(fd int, iface string, byName bool) (uint64, error) {
	var mtu int
	var err error
	if byName {
		mtu, err = netns.MTU(iface)
	} else {
		mtu, err = fdTapMTU(fd, iface)
	}
	if err != nil {
		return 0, err
	}
	if mtu < 68 || mtu > 65535 {
		return 0, fmt.Errorf("tap %s has MTU %d", iface, mtu)
	}
	return uint64(mtu), nil
}

func fdTapMTU(fd int, iface string) (int, error) {
	nsfd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNGETDEVNETNS, 0)
	if e == 0 {
		defer unix.Close(int(nsfd))
		var mtu int
		err := netns.Do(fmt.Sprintf("/proc/self/fd/%d", nsfd), func() error {
			var err error
			mtu, err = netns.MTU(iface)
			return err
		})
		if err == nil || !errors.Is(err, unix.EPERM) {
			return mtu, err
		}
	} else if e != unix.EPERM {
		return 0, fmt.Errorf("find the tap's network namespace: %v", e)
	}
	mtu, err := netns.MTU(iface)
	if err != nil {
		return 0, fmt.Errorf("tap %s is not in this network namespace, and finding its own needs CAP_NET_ADMIN: %w", iface, err)
	}
	return mtu, nil
}

func (netModule) rules(p *policy, devs []*device) {
	nnet := 0
	for _, d := range devs {
		if d.Type != manifest.NetBasic {
			continue
		}
		nnet++
		who := "net " + d.Name
		p.allow("read", who, argAt(0, "fd").Eq(uint64(d.FD)))
		p.allow("write", who, argAt(0, "fd").Eq(uint64(d.FD)))
	}
	// ppoll is the wait of solo5_yield: the fd array is guest memory BPF
	// cannot read, so bound its length and forbid a signal mask.
	p.allow("ppoll", "solo5_yield", argAt(1, "nfds").Le(uint64(nnet)), argAt(3, "sigmask").Eq(0))
}
