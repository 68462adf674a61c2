package netns

import (
	"fmt"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The functions below act on links of the calling thread's namespace: call
// them inside Do for another one.

// LinkUp sets link name up.
func LinkUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// WaitOperUp waits up to timeout for link name to be operationally up.
// A link set up is not yet passing packets: the kernel turns its carrier
// on and activates its queue from a delayed work item (linkwatch, up to a
// second later, more on a loaded machine), and until then what is sent on
// it is dropped.
func WaitOperUp(name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := netlink.LinkByName(name)
		if err != nil {
			return fmt.Errorf("wait for %s to be up: %w", name, err)
		}
		state := l.Attrs().OperState
		if state == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link %s is %s after %v, want up", name, state, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// AddVeth creates the veth pair name/peer and moves peer into the
// namespace at peerNS (a Path or /proc/PID/ns/net); with peerNS empty both
// ends stay here. Both ends are left down.
func AddVeth(name, peer, peerNS string) error {
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}
	if peerNS != "" {
		f, err := os.Open(peerNS)
		if err != nil {
			return fmt.Errorf("add veth %s: %w", name, err)
		}
		defer f.Close()
		v.PeerNamespace = netlink.NsFd(f.Fd())
	}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("add veth %s peer %s: %w", name, peer, err)
	}
	return nil
}

// AddBridge creates bridge name (no STP, so its ports forward at once),
// up.
func AddBridge(name string) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("add bridge %s: %w", name, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		netlink.LinkDel(br)
		return fmt.Errorf("add bridge %s: set up: %w", name, err)
	}
	return nil
}

// SetMaster enslaves link name to bridge master.
func SetMaster(name, master string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", name, master, err)
	}
	m, err := netlink.LinkByName(master)
	if err != nil {
		return fmt.Errorf("attach %s to %s: %w", name, master, err)
	}
	if err := netlink.LinkSetMaster(l, m); err != nil {
		return fmt.Errorf("attach %s to %s: %w", name, master, err)
	}
	return nil
}

// AddAddr adds the address cidr ("10.0.0.1/24") to link name.
func AddAddr(name, cidr string) error {
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("add address %s to %s: %w", cidr, name, err)
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("add address %s to %s: %w", cidr, name, err)
	}
	if err := netlink.AddrAdd(l, a); err != nil {
		return fmt.Errorf("add address %s to %s: %w", cidr, name, err)
	}
	return nil
}

// SetMTU sets link name's MTU.
func SetMTU(name string, mtu int) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("set %s mtu %d: %w", name, mtu, err)
	}
	if err := netlink.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set %s mtu %d: %w", name, mtu, err)
	}
	return nil
}

// MTU returns link name's MTU.
func MTU(name string) (int, error) {
	mtu, err := ifQuery(name, unix.SIOCGIFMTU)
	if err != nil {
		return 0, fmt.Errorf("mtu of %s: %w", name, err)
	}
	return int(mtu), nil
}

// ifQuery asks the kernel about link name with an interface ioctl
// (SIOCGIFINDEX, SIOCGIFMTU), which needs no privileges and no netlink
// socket, and returns the number it answers.
func ifQuery(name string, req uint) (uint32, error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(s, req, ifr); err != nil {
		return 0, err
	}
	return ifr.Uint32(), nil
}

// LinkNames lists the names of the links, in index order.
func LinkNames() ([]string, error) {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.Attrs().Name
	}
	return names, nil
}

// DeleteLink removes link name (for a veth, both ends).
func DeleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// TxDropped is how many frames link name (in the current namespace)
// dropped on transmit; for a tap, frames towards its reader that found its
// queue full.
func TxDropped(name string) (uint64, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("find %s: %w", name, err)
	}
	if l.Attrs().Statistics == nil {
		return 0, fmt.Errorf("%s has no statistics", name)
	}
	return l.Attrs().Statistics.TxDropped, nil
}
