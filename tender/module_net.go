package tender

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/solo5/manifest"
)

// netModule attaches NET_BASIC devices to taps:
//
//	--net:NAME=IFACE    open the existing tap IFACE (IFF_TAP|IFF_NO_PI)
//	--net:NAME=@FD      use an already open tap fd
//	--net-mac:NAME=MAC  the guest's MAC (default: random, locally administered)
//	--net-offload:NAME  frames carry a virtio_net_hdr (IFF_VNET_HDR), so the
//	                    guest may hand the kernel TCP segments of up to 64 KiB
//	                    to segment and checksum (TSO); off by default because
//	                    it reaches more host kernel code (tun's virtio_net_hdr
//	                    parsing, GSO segmentation)
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
	for _, s := range cfg.Net {
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

type ifreq struct {
	name  [unix.IFNAMSIZ]byte
	flags uint16
	_     [22]byte
}

func (netModule) attach(cfg *Config, name string) (*Device, error) {
	s := cfg.netSpec(name)
	if s.Iface == "" && s.FD == 0 {
		return nil, fmt.Errorf("the guest's manifest declares NET_BASIC device %q: attach it with --net:%s=TAP", name, name)
	}
	spec := s.Iface
	if spec == "" {
		spec = fmt.Sprintf("@%d", s.FD)
	}
	offload := s.Offload
	dev := &Device{Name: name, Type: manifest.NetBasic, MTU: 1500, VnetHDR: offload}
	var f *os.File
	if s.Iface == "" {
		fd := s.FD
		var req ifreq
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNGETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
			return nil, fmt.Errorf("--net:%s=%s: fd %d is not a tap: %v", name, spec, fd, e)
		}
		if req.flags&unix.IFF_TAP == 0 || req.flags&unix.IFF_NO_PI == 0 {
			return nil, fmt.Errorf("--net:%s=%s: fd %d is not a tap opened with IFF_TAP|IFF_NO_PI", name, spec, fd)
		}
		if req.flags&unix.IFF_VNET_HDR != 0 && !offload {
			return nil, fmt.Errorf("--net:%s=%s: fd %d is a tap opened with IFF_VNET_HDR: give --net-offload:%s to use it (or open it without)", name, spec, fd, name)
		}
		if offload && req.flags&unix.IFF_VNET_HDR == 0 {
			return nil, fmt.Errorf("--net:%s=%s: --net-offload:%s needs the tap fd opened with IFF_VNET_HDR", name, spec, name)
		}
		if offload {
			if err := setVnetHdr(fd); err != nil {
				return nil, fmt.Errorf("--net:%s=%s: %w", name, spec, err)
			}
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("--net:%s=%s: %w", name, spec, err)
		}
		f = os.NewFile(uintptr(fd), spec)
		dev.Iface = strings.TrimRight(string(req.name[:]), "\x00")
	} else {
		if _, err := ifaceQuery(spec, unix.SIOCGIFINDEX); err != nil {
			return nil, fmt.Errorf("--net:%s=%s: no such interface (create the tap first, e.g. ip tuntap add %s mode tap)", name, spec, spec)
		}
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("--net:%s=%s: open /dev/net/tun: %w", name, spec, err)
		}
		var req ifreq
		copy(req.name[:], spec)
		req.flags = unix.IFF_TAP | unix.IFF_NO_PI
		if offload {
			req.flags |= unix.IFF_VNET_HDR
		}
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
			unix.Close(fd)
			return nil, fmt.Errorf("--net:%s=%s: attach tap: %v (is it a tap, and not in use?)", name, spec, e)
		}
		if offload {
			if err := setVnetHdr(fd); err != nil {
				unix.Close(fd)
				return nil, fmt.Errorf("--net:%s=%s: %w", name, spec, err)
			}
		}
		f = os.NewFile(uintptr(fd), "/dev/net/tun:"+spec)
		dev.Iface = spec
	}
	dev.file, dev.FD = f, int(f.Fd())
	mtu, err := tapMTU(dev.FD, dev.Iface)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--net:%s=%s: %w", name, spec, err)
	}
	dev.MTU = mtu
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

// setVnetHdr sets the header to the 10-byte struct virtio_net_hdr and
// turns every offload towards the guest off: the kernel then hands the
// guest only whole, checksummed frames (with a header saying nothing),
// while the guest may still ask for segmentation of what it sends.
func setVnetHdr(fd int) error {
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
		return fmt.Errorf("set the tap's vnet header size: %w", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETOFFLOAD, 0); e != 0 {
		return fmt.Errorf("turn the tap's receive offloads off: %v", e)
	}
	return nil
}

// ifaceQuery asks the kernel about interface name in the caller's network
// namespace (SIOCGIFINDEX, SIOCGIFMTU) and returns the number it answers.
func ifaceQuery(name string, req uint) (uint32, error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(s)
	r, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(s, req, r); err != nil {
		return 0, err
	}
	return r.Uint32(), nil
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

// tapMTU reads the MTU of the tap behind fd, looked up in the network
// namespace the tap lives in (an @FD tap may come from another one).
func tapMTU(fd int, iface string) (uint64, error) {
	nsfd, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNGETDEVNETNS, 0)
	if e != 0 {
		return 0, fmt.Errorf("find the tap's network namespace: %v", e)
	}
	defer unix.Close(int(nsfd))
	type result struct {
		mtu int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread enters the tap's namespace and is never unlocked, so
		// it exits with this goroutine instead of serving others.
		runtime.LockOSThread()
		if err := unix.Setns(int(nsfd), unix.CLONE_NEWNET); err != nil {
			ch <- result{0, fmt.Errorf("enter the tap's network namespace: %w", err)}
			return
		}
		mtu, err := ifaceQuery(iface, unix.SIOCGIFMTU)
		if err != nil {
			ch <- result{0, fmt.Errorf("look up tap %s: %w", iface, err)}
			return
		}
		ch <- result{int(mtu), nil}
	}()
	r := <-ch
	if r.err == nil && (r.mtu < 68 || r.mtu > 65535) {
		r.err = fmt.Errorf("tap %s has MTU %d", iface, r.mtu)
	}
	return uint64(r.mtu), r.err
}

func (netModule) rules(p *Policy, devs []*Device) {
	nnet := 0
	for _, d := range devs {
		if d.Type != manifest.NetBasic {
			continue
		}
		nnet++
		who := "net " + d.Name
		p.Allow("read", who, Arg(0, "fd").Eq(uint64(d.FD)))
		p.Allow("write", who, Arg(0, "fd").Eq(uint64(d.FD)))
	}
	// ppoll is the wait of solo5_yield: the fd array is guest memory BPF
	// cannot read, so bound its length and forbid a signal mask.
	p.Allow("ppoll", "solo5_yield", Arg(1, "nfds").Le(uint64(nnet)), Arg(3, "sigmask").Eq(0))
}
