package netns

import (
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TapOption changes how OpenTap opens a tap.
type TapOption int

const (
	// VnetHdr opens the tap with IFF_VNET_HDR: every frame carries a
	// struct virtio_net_hdr.
	VnetHdr TapOption = iota + 1
	// NonBlock opens the fd O_NONBLOCK.
	NonBlock
)

// OpenTap attaches to the existing tap name in the calling thread's
// namespace (IFF_TAP|IFF_NO_PI, plus IFF_VNET_HDR with VnetHdr) and returns
// its fd, close-on-exec. The tap must exist: a name that is not a tap, or
// a tap in use, is an error rather than a new device.
func OpenTap(name string, opts ...TapOption) (*os.File, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return nil, fmt.Errorf("open tap %q: %w", name, err)
	}
	flags := uint16(unix.IFF_TAP | unix.IFF_NO_PI)
	oflags := unix.O_RDWR | unix.O_CLOEXEC
	for _, o := range opts {
		switch o {
		case VnetHdr:
			flags |= unix.IFF_VNET_HDR
		case NonBlock:
			oflags |= unix.O_NONBLOCK
		default:
			return nil, fmt.Errorf("open tap %s: unknown option %d", name, o)
		}
	}
	// Without this check TUNSETIFF would create a fresh, unconfigured tap
	// of that name (given CAP_NET_ADMIN).
	if _, err := ifQuery(name, unix.SIOCGIFINDEX); err != nil {
		return nil, fmt.Errorf("open tap %s: no such interface: %w", name, err)
	}
	fd, err := unix.Open("/dev/net/tun", oflags, 0)
	if err != nil {
		return nil, fmt.Errorf("open tap %s: open /dev/net/tun: %w", name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open tap %s: attach (TUNSETIFF): %w (is it a tap, and not in use?)", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// TapInfo returns the interface name and the IFF_* flags of the tun/tap
// fd (TUNGETIFF); an fd that is not an attached tun/tap is an error.
func TapInfo(fd int) (name string, flags uint16, err error) {
	ifr, err := unix.NewIfreq("")
	if err != nil {
		return "", 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.TUNGETIFF, ifr); err != nil {
		return "", 0, fmt.Errorf("fd %d is not a tap: %w", fd, err)
	}
	return ifr.Name(), ifr.Uint16(), nil
}

// CreateTap creates the persistent tap name (IFF_TAP|IFF_NO_PI) owned by
// uid and gid, who may then attach to it without privileges, and sets it
// up. A link of that name must not exist.
func CreateTap(name string, uid, gid int) error {
	if uid < 0 || gid < 0 {
		return fmt.Errorf("create tap %s: owner %d:%d: want a uid and gid", name, uid, gid)
	}
	tap := &netlink.Tuntap{
		LinkAttrs: netlink.LinkAttrs{Name: name},
		Mode:      netlink.TUNTAP_MODE_TAP,
		Flags:     netlink.TUNTAP_NO_PI | netlink.TUNTAP_ONE_QUEUE | netlink.TUNTAP_TUN_EXCL,
		Owner:     uint32(uid),
		Group:     uint32(gid),
	}
	if err := netlink.LinkAdd(tap); err != nil {
		return fmt.Errorf("create tap %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(tap); err != nil {
		netlink.LinkDel(tap)
		return fmt.Errorf("create tap %s: set up: %w", name, err)
	}
	return nil
}
