package netns

// The hand-over of a container's eth0 to its guest, in the shape of
// gVisor's runsc/sandbox/network.go: first read everything (eth0's
// address, prefix, MAC, MTU and routes) into plain data, then change the
// namespace one step at a time, then pass the data on (the guest's
// --ipv4/--ipv4-gateway and the tender's --net-mac); Undo goes back in
// reverse order. GuestNet is plain data (JSON), so the runtime can keep
// it in its state between create and delete.
//
// How the tap meets eth0: tc, not a bridge. An ingress qdisc on each of
// eth0 and the tap carries one u32 match-all filter whose mirred action
// redirects every frame to the other device's egress: eth0 -> tap ->
// guest, guest -> tap -> eth0. The kernel's IP stack, bridge code and
// netfilter (Docker loads br_netfilter, which would run iptables on
// bridged frames) never see the guest's traffic; there is no MAC learning
// and no bridge device to leak. It needs cls_u32 and act_mirred only (not
// act_gact, which this kernel lacks). The guest answers ARP and IP on
// eth0's address with eth0's MAC, so the engine's port publishing, the
// CNI routes pointing at that MAC and address, and Calico's proxy ARP all
// keep working unchanged. eth0's IPv4 addresses and routes are taken off
// the kernel's stack, so it neither answers on that address nor sends
// from it.
//
// Who may call it: Handoff and Undo enter the namespace (CAP_SYS_ADMIN)
// and change links, addresses, routes and qdiscs (CAP_NET_ADMIN), so they
// run in the runtime, before the container's process drops its
// capabilities. The tender needs neither: the tap belongs to the
// container's user, who attaches to it by name with no capability. uid
// and gid are as the caller sees them (host ids when the container has a
// user namespace).

import (
	"errors"
	"fmt"
	"net"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// GuestLink is the container's link handed to the guest.
const GuestLink = "eth0"

// GuestNet is what Handoff read and did: the guest's settings, and what
// Undo needs to put the namespace back.
type GuestNet struct {
	Tap       string // the tap made for the guest (tender: --net:NAME=Tap)
	IP        string // eth0's IPv4 address (guest: --ipv4=IP/PrefixLen)
	PrefixLen int
	Gateway   string // default gateway, "" if none (guest: --ipv4-gateway)
	MAC       string // eth0's MAC (tender: --net-mac:NAME=MAC)
	MTU       int    // eth0's MTU, given to the tap too

	Link   string  // eth0
	Addrs  []Addr  // IPv4 addresses taken off eth0
	Routes []Route // IPv4 routes through eth0 taken away, in the order read
}

// Addr is an IPv4 address of a link, as plain data.
type Addr struct {
	CIDR      string // "10.0.0.2/24"
	Broadcast string `json:",omitempty"`
	Label     string `json:",omitempty"`
	Scope     int
	Flags     int
}

// Route is an IPv4 route, as plain data.
type Route struct {
	Dst      string `json:",omitempty"` // "" for the default route
	Gw       string `json:",omitempty"`
	Src      string `json:",omitempty"`
	Scope    int
	Protocol int
	Priority int
	Table    int
	Type     int
	Tos      int
	Flags    int
	MTU      int `json:",omitempty"`
	AdvMSS   int `json:",omitempty"`
}

// GuestArgs are the library OS's options for the guest's network.
func (g *GuestNet) GuestArgs() []string {
	args := []string{fmt.Sprintf("--ipv4=%s/%d", g.IP, g.PrefixLen)}
	if g.Gateway != "" {
		args = append(args, "--ipv4-gateway="+g.Gateway)
	}
	return args
}

// TenderArgs are runnc-spt's options attaching the tap as net device dev.
func (g *GuestNet) TenderArgs(dev string) []string {
	return []string{"--net:" + dev + "=" + g.Tap, "--net-mac:" + dev + "=" + g.MAC}
}

// Handoff, in the network namespace at nsPath, after the engine's hooks
// configured eth0: reads eth0's IPv4 address, prefix, default gateway,
// MAC and MTU; creates the persistent tap tapName owned by uid:gid;
// connects tap and eth0 with tc redirects; and takes eth0's addresses and
// routes off the kernel's stack, so that the guest alone answers there.
// Without an eth0 it returns nil, nil. On failure, what it did is undone.
func Handoff(nsPath, tapName string, uid, gid int) (*GuestNet, error) {
	if same, err := sameNetns(nsPath, "/proc/thread-self/ns/net"); err != nil {
		return nil, err
	} else if same {
		// A container on the host's network (docker --network host): its
		// eth0 is the host's, and must stay the host's.
		return nil, fmt.Errorf("the container shares the runtime's network namespace (%s): refusing to hand that namespace's %s to a guest", nsPath, GuestLink)
	}
	var g *GuestNet
	err := Do(nsPath, func() error {
		var err error
		if g, err = readGuestNet(tapName); err != nil || g == nil {
			return err
		}
		// Each step cleans up after itself when it fails; the steps
		// before it are undone here.
		if err := g.makeTap(uid, gid); err != nil {
			return err
		}
		if err := g.redirect(); err != nil {
			return errors.Join(err, deleteLink(g.Tap))
		}
		if err := g.takeAddrs(); err != nil {
			return errors.Join(err, g.undo())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hand %s over to the guest: %w", GuestLink, err)
	}
	return g, nil
}

// Undo, in the namespace at nsPath, puts back what Handoff changed, in
// reverse order: eth0's addresses and routes, then removes the redirects
// and the tap. What is already back (or gone) is left alone, so Undo may
// run twice; a namespace that no longer exists has nothing to undo.
func Undo(nsPath string, g *GuestNet) error {
	if g == nil {
		return nil
	}
	err := Do(nsPath, g.undo)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("give %s back: %w", GuestLink, err)
	}
	return nil
}

// sameNetns reports whether two namespace files are the same namespace.
func sameNetns(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("netns %s: %w", a, err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("netns %s: %w", b, err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// --- reading -----------------------------------------------------------------

func readGuestNet(tapName string) (*GuestNet, error) {
	link, err := netlink.LinkByName(GuestLink)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", GuestLink, err)
	}
	attrs := link.Attrs()
	g := &GuestNet{Tap: tapName, Link: GuestLink, MAC: attrs.HardwareAddr.String(), MTU: attrs.MTU}
	if len(attrs.HardwareAddr) != 6 {
		return nil, fmt.Errorf("%s has no Ethernet address (%q)", GuestLink, g.MAC)
	}

	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", GuestLink, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no IPv4 address: the engine's network hooks did not configure it", GuestLink)
	}
	for _, a := range addrs {
		pa := Addr{CIDR: a.IPNet.String(), Label: a.Label, Scope: a.Scope, Flags: a.Flags}
		if a.Broadcast != nil {
			pa.Broadcast = a.Broadcast.String()
		}
		g.Addrs = append(g.Addrs, pa)
	}
	// The first address is the primary one, the source the kernel would use.
	g.IP = addrs[0].IP.String()
	g.PrefixLen, _ = addrs[0].Mask.Size()

	routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{LinkIndex: attrs.Index, Table: unix.RT_TABLE_UNSPEC},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("routes through %s: %w", GuestLink, err)
	}
	for _, r := range routes {
		if r.Table == unix.RT_TABLE_LOCAL {
			continue // the kernel's own, made and removed with the addresses
		}
		pr := Route{Scope: int(r.Scope), Protocol: int(r.Protocol), Priority: r.Priority, Table: r.Table,
			Type: r.Type, Tos: r.Tos, Flags: r.Flags, MTU: r.MTU, AdvMSS: r.AdvMSS}
		if r.Dst != nil {
			pr.Dst = r.Dst.String()
		}
		if r.Gw != nil {
			pr.Gw = r.Gw.String()
		}
		if r.Src != nil {
			pr.Src = r.Src.String()
		}
		if isDefault(pr) && pr.Gw != "" && r.Table == unix.RT_TABLE_MAIN && g.Gateway == "" {
			// Docker's and CNI's "default via GW", or Calico's
			// "default via 169.254.1.1" next to its on-link route.
			g.Gateway = pr.Gw
		}
		g.Routes = append(g.Routes, pr)
	}
	return g, nil
}

func isDefault(r Route) bool { return r.Dst == "" || r.Dst == "0.0.0.0/0" }

// --- changing the namespace, step by step -------------------------------------

// makeTap creates the guest's tap, owned by the container's user, with
// eth0's MTU, up.
func (g *GuestNet) makeTap(uid, gid int) error {
	if err := CreateTap(g.Tap, uid, gid); err != nil {
		return err
	}
	tap, err := netlink.LinkByName(g.Tap)
	if err == nil {
		err = netlink.LinkSetMTU(tap, g.MTU)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("tap %s: set MTU %d: %w", g.Tap, g.MTU, err), deleteLink(g.Tap))
	}
	return nil
}

// deleteLink deletes link name if it exists.
func deleteLink(name string) error {
	err := DeleteLink(name)
	if errors.As(err, &netlink.LinkNotFoundError{}) {
		return nil
	}
	return err
}

// redirect sends every frame eth0 receives out of the tap (to the guest),
// and every frame the guest writes out of eth0.
func (g *GuestNet) redirect() error {
	eth, err := netlink.LinkByName(g.Link)
	if err != nil {
		return fmt.Errorf("find %s: %w", g.Link, err)
	}
	tap, err := netlink.LinkByName(g.Tap)
	if err != nil {
		return fmt.Errorf("find tap %s: %w", g.Tap, err)
	}
	if err := redirectIngress(eth, tap); err != nil {
		return err
	}
	if err := redirectIngress(tap, eth); err != nil {
		return errors.Join(err, netlink.QdiscDel(ingressQdisc(eth)))
	}
	return nil
}

func ingressQdisc(l netlink.Link) *netlink.Ingress {
	return &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: l.Attrs().Index,
		Handle:    netlink.MakeHandle(0xffff, 0),
		Parent:    netlink.HANDLE_INGRESS,
	}}
}

// redirectIngress adds an ingress qdisc to from with a match-all u32
// filter redirecting to to's egress.
func redirectIngress(from, to netlink.Link) error {
	name := from.Attrs().Name
	if err := netlink.QdiscAdd(ingressQdisc(from)); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s already has an ingress qdisc (someone else's tc rules): not touching it", name)
		}
		return fmt.Errorf("add ingress qdisc to %s: %w", name, err)
	}
	// From here on the qdisc is ours: take it away again on failure.
	filter := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: from.Attrs().Index,
			Parent:    netlink.MakeHandle(0xffff, 0),
			Priority:  1,
			Protocol:  unix.ETH_P_ALL,
		},
		// No selector: netlink makes u32's match-all key.
		Actions: []netlink.Action{netlink.NewMirredAction(to.Attrs().Index)},
	}
	if err := netlink.FilterAdd(filter); err != nil {
		err = fmt.Errorf("redirect %s to %s (tc u32 + mirred): %w", name, to.Attrs().Name, err)
		return errors.Join(err, netlink.QdiscDel(ingressQdisc(from)))
	}
	return nil
}

// takeAddrs removes eth0's routes (those through a gateway first, then
// the on-link ones the gateways need) and then its addresses.
func (g *GuestNet) takeAddrs() error {
	eth, err := netlink.LinkByName(g.Link)
	if err != nil {
		return fmt.Errorf("find %s: %w", g.Link, err)
	}
	for _, r := range byScope(g.Routes, false) {
		nr, err := r.netlink(eth)
		if err != nil {
			return err
		}
		if err := netlink.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("remove route %s: %w", r, err)
		}
	}
	for i := len(g.Addrs) - 1; i >= 0; i-- {
		a, err := g.Addrs[i].netlink(eth)
		if err != nil {
			return err
		}
		if err := netlink.AddrDel(eth, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove address %s from %s: %w", g.Addrs[i].CIDR, g.Link, err)
		}
	}
	return nil
}

// undo reverses the steps: addresses and routes back onto eth0, eth0's
// redirect removed, the tap (with its redirect) deleted. It carries on
// past errors so that as much as possible is restored.
func (g *GuestNet) undo() error {
	var errs []error
	eth, err := netlink.LinkByName(g.Link)
	if err != nil && !errors.As(err, &netlink.LinkNotFoundError{}) {
		errs = append(errs, fmt.Errorf("find %s: %w", g.Link, err))
	}
	if eth != nil {
		for _, a := range g.Addrs {
			na, err := a.netlink(eth)
			if err == nil {
				err = netlink.AddrAdd(eth, na)
			}
			if err != nil && !errors.Is(err, unix.EEXIST) {
				errs = append(errs, fmt.Errorf("restore address %s on %s: %w", a.CIDR, g.Link, err))
			}
		}
		for _, r := range byScope(g.Routes, true) {
			nr, err := r.netlink(eth)
			if err == nil {
				err = netlink.RouteAdd(nr)
			}
			if err != nil && !errors.Is(err, unix.EEXIST) {
				errs = append(errs, fmt.Errorf("restore route %s: %w", r, err))
			}
		}
		err := netlink.QdiscDel(ingressQdisc(eth))
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("remove the ingress qdisc of %s: %w", g.Link, err))
		}
	}
	if err := deleteLink(g.Tap); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// byScope orders routes so that a gateway's on-link route comes before the
// routes through that gateway (narrowest scope first), or the reverse.
func byScope(routes []Route, linkFirst bool) []Route {
	rs := append([]Route(nil), routes...)
	sort.SliceStable(rs, func(i, j int) bool {
		if linkFirst {
			return rs[i].Scope > rs[j].Scope
		}
		return rs[i].Scope < rs[j].Scope
	})
	return rs
}

func (a Addr) netlink(l netlink.Link) (*netlink.Addr, error) {
	na, err := netlink.ParseAddr(a.CIDR)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", a.CIDR, err)
	}
	na.Label, na.Scope, na.Flags, na.LinkIndex = a.Label, a.Scope, a.Flags, l.Attrs().Index
	// 0.0.0.0 tells netlink to send no broadcast rather than make one up.
	na.Broadcast = net.IPv4zero.To4()
	if a.Broadcast != "" {
		if na.Broadcast = net.ParseIP(a.Broadcast).To4(); na.Broadcast == nil {
			return nil, fmt.Errorf("broadcast address %q: not an IPv4 address", a.Broadcast)
		}
	}
	return na, nil
}

func (r Route) netlink(l netlink.Link) (*netlink.Route, error) {
	nr := &netlink.Route{LinkIndex: l.Attrs().Index, Scope: netlink.Scope(r.Scope),
		Protocol: netlink.RouteProtocol(r.Protocol), Priority: r.Priority, Table: r.Table,
		Type: r.Type, Tos: r.Tos, Flags: r.Flags, MTU: r.MTU, AdvMSS: r.AdvMSS}
	var err error
	if r.Dst != "" {
		if _, nr.Dst, err = net.ParseCIDR(r.Dst); err != nil {
			return nil, fmt.Errorf("route destination %q: %w", r.Dst, err)
		}
	}
	if r.Gw != "" {
		if nr.Gw = net.ParseIP(r.Gw); nr.Gw == nil {
			return nil, fmt.Errorf("route gateway %q: not an address", r.Gw)
		}
	}
	if r.Src != "" {
		if nr.Src = net.ParseIP(r.Src); nr.Src == nil {
			return nil, fmt.Errorf("route source %q: not an address", r.Src)
		}
	}
	return nr, nil
}

func (r Route) String() string {
	s := r.Dst
	if s == "" {
		s = "default"
	}
	if r.Gw != "" {
		s += " via " + r.Gw
	}
	return s
}
