package netns

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var repoRoot = func() string {
	r, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return r
}()

func buildOutput(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(repoRoot, "build", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not built (make test): %v", p, err)
	}
	return p
}

// ipCmd runs ip(8) (or another tool) for test setup and checks.
func ipCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testNS makes a fresh named namespace "rn-ROLE-PID-N", removed at the
// end of the test, and returns its name.
func testNS(t *testing.T, role string) string {
	t.Helper()
	name := Name("rn-" + role)
	if _, err := New(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := Delete(name); err != nil {
			t.Error(err)
		}
	})
	ipCmd(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// snapshot is everything Undo must put back, as ip(8) and tc(8) print it.
// It waits for veths' carrier and IPv6 duplicate address detection first, so that
// only what Handoff and Undo did changes it.
func snapshot(t *testing.T, ns string) string {
	t.Helper()
	// A veth's carrier comes on a little after it is set up (and its
	// IPv6 link-local address only then): wait for both.
	settling := func() bool {
		return strings.Contains(ipCmd(t, "ip", "-n", ns, "link", "show", "type", "veth"), "NO-CARRIER") ||
			strings.Contains(ipCmd(t, "ip", "-n", ns, "addr", "show"), "tentative")
	}
	for i := 0; i < 100 && settling(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	var b strings.Builder
	for _, args := range [][]string{
		{"ip", "-n", ns, "-d", "link", "show"},
		{"ip", "-n", ns, "addr", "show"},
		{"ip", "-n", ns, "route", "show", "table", "all"},
		{"tc", "-n", ns, "qdisc", "show"},
	} {
		b.WriteString("$ " + strings.Join(args, " ") + "\n" + ipCmd(t, args...))
	}
	return b.String()
}

// network is a container's eth0 as an engine sets it up: the container
// side in ctr, the other end in host, where the client runs.
type network struct {
	name      string
	setup     func(t *testing.T, host, ctr string)
	ip        string
	prefixLen int
	gateway   string
	mtu       int
}

// A veth whose host end is on a bridge that holds the gateway address.
func bridged(bridge, gwCIDR, ctrCIDR, gw, mac string) func(t *testing.T, host, ctr string) {
	return func(t *testing.T, host, ctr string) {
		ipCmd(t, "ip", "-n", host, "link", "add", bridge, "type", "bridge")
		ipCmd(t, "ip", "-n", host, "addr", "add", gwCIDR, "dev", bridge)
		ipCmd(t, "ip", "-n", host, "link", "set", bridge, "up")
		ipCmd(t, "ip", "-n", host, "link", "add", "vethh", "type", "veth", "peer", "name", "eth0", "netns", ctr)
		ipCmd(t, "ip", "-n", host, "link", "set", "vethh", "master", bridge, "up")
		if mac != "" {
			ipCmd(t, "ip", "-n", ctr, "link", "set", "eth0", "address", mac)
		}
		ipCmd(t, "ip", "-n", ctr, "addr", "add", ctrCIDR, "brd", "+", "dev", "eth0")
		ipCmd(t, "ip", "-n", ctr, "link", "set", "eth0", "up")
		ipCmd(t, "ip", "-n", ctr, "route", "add", "default", "via", gw)
	}
}

var networks = []network{
	{name: "docker-bridge", ip: "172.18.0.2", prefixLen: 16, gateway: "172.18.0.1", mtu: 1500,
		setup: bridged("docker0", "172.18.0.1/16", "172.18.0.2/16", "172.18.0.1", "02:42:ac:12:00:02")},
	{name: "cni-bridge", ip: "10.22.0.5", prefixLen: 24, gateway: "10.22.0.1", mtu: 1500,
		setup: bridged("cni0", "10.22.0.1/24", "10.22.0.5/24", "10.22.0.1", "")},
	// Calico: a /32 on eth0, an on-link route to 169.254.1.1 and the
	// default route through it; the host end of the veth answers ARP for
	// 169.254.1.1 by proxy ARP (the host routes it elsewhere, here through
	// an uplink veth) and routes the /32 to the veth.
	{name: "calico", ip: "192.168.77.5", prefixLen: 32, gateway: "169.254.1.1", mtu: 1440,
		setup: func(t *testing.T, host, ctr string) {
			ipCmd(t, "ip", "-n", host, "link", "add", "up0", "type", "veth", "peer", "name", "up1")
			ipCmd(t, "ip", "-n", host, "addr", "add", "10.99.0.1/24", "dev", "up0")
			ipCmd(t, "ip", "-n", host, "link", "set", "up0", "up")
			ipCmd(t, "ip", "-n", host, "link", "set", "up1", "up")
			ipCmd(t, "ip", "-n", host, "route", "add", "default", "via", "10.99.0.2", "dev", "up0")
			ipCmd(t, "ip", "-n", host, "link", "add", "cali0", "mtu", "1440", "type", "veth", "peer", "name", "eth0", "mtu", "1440", "netns", ctr)
			ipCmd(t, "ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.cali0.proxy_arp=1")
			ipCmd(t, "ip", "-n", host, "link", "set", "cali0", "up")
			ipCmd(t, "ip", "-n", host, "route", "add", "192.168.77.5/32", "dev", "cali0", "scope", "link")
			ipCmd(t, "ip", "-n", ctr, "addr", "add", "192.168.77.5/32", "dev", "eth0")
			ipCmd(t, "ip", "-n", ctr, "link", "set", "eth0", "up")
			ipCmd(t, "ip", "-n", ctr, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
			ipCmd(t, "ip", "-n", ctr, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
		}},
}

const guestUID, guestGID = 1000, 1000

// For each engine's network: Handoff, a kv guest (run as the
// container's user on the tap Handoff made for it) answering redis-cli on
// eth0's address from the other end, then Undo leaving the namespace as
// it was.
func TestHandoff(t *testing.T) {
	tender := buildOutput(t, "bin/runnc-spt")
	kv := buildOutput(t, "unikernels/kv/kv.spt")
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Fatalf("redis-cli not installed (scripts/apt-packages.txt): %v", err)
	}
	for _, nw := range networks {
		t.Run(nw.name, func(t *testing.T) {
			host, ctr := testNS(t, "host"), testNS(t, "ctr")
			nw.setup(t, host, ctr)
			before := snapshot(t, ctr)
			mac := strings.TrimSpace(ipCmd(t, "ip", "netns", "exec", ctr, "cat", "/sys/class/net/eth0/address"))

			g, err := Handoff(Path(ctr), "tap0", guestUID, guestGID)
			if err != nil {
				t.Fatal(err)
			}
			if g == nil {
				t.Fatal("Handoff: nil, want eth0's settings")
			}
			if g.IP != nw.ip || g.PrefixLen != nw.prefixLen || g.Gateway != nw.gateway || g.MAC != mac || g.MTU != nw.mtu || g.Tap != "tap0" {
				t.Errorf("Handoff: %+v; want %s/%d via %s, MAC %s, MTU %d, tap0", g, nw.ip, nw.prefixLen, nw.gateway, mac, nw.mtu)
			}
			// The state the runtime keeps between create and delete.
			js, err := json.Marshal(g)
			if err != nil {
				t.Fatal(err)
			}
			var kept GuestNet
			if err := json.Unmarshal(js, &kept); err != nil {
				t.Fatal(err)
			}

			// The kernel no longer has the address or routes; the tap is
			// the container user's.
			if out := ipCmd(t, "ip", "-n", ctr, "-4", "addr", "show", "dev", "eth0"); strings.Contains(out, "inet ") {
				t.Errorf("eth0 still has an IPv4 address:\n%s", out)
			}
			if out := ipCmd(t, "ip", "-n", ctr, "-4", "route", "show"); strings.TrimSpace(out) != "" {
				t.Errorf("routes left in the kernel:\n%s", out)
			}
			tap := strings.Fields(ipCmd(t, "ip", "netns", "exec", ctr, "sh", "-c",
				"cat /sys/class/net/tap0/owner /sys/class/net/tap0/group /sys/class/net/tap0/mtu"))
			if want := []string{fmt.Sprint(guestUID), fmt.Sprint(guestGID), fmt.Sprint(nw.mtu)}; strings.Join(tap, " ") != strings.Join(want, " ") {
				t.Errorf("tap0 owner, group, MTU: %v, want %v", tap, want)
			}

			runGuest(t, host, ctr, tender, kv, &kept)

			if err := Undo(Path(ctr), &kept); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, ctr); after != before {
				t.Errorf("after Undo the namespace differs.\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if err := Undo(Path(ctr), &kept); err != nil {
				t.Errorf("Undo a second time: %v", err)
			}
			if after := snapshot(t, ctr); after != before {
				t.Errorf("after a second Undo the namespace differs:\n%s", after)
			}
		})
	}
}

// runGuest starts kv in ctr on g's tap as the container's user, and talks
// to it from host with redis-cli.
func runGuest(t *testing.T, host, ctr, tender, kv string, g *GuestNet) {
	t.Helper()
	args := append(g.TenderArgs("service0"), "--", kv)
	args = append(args, g.GuestArgs()...)
	cmd := exec.Command(tender, args...)
	// As the container's user, without CAP_NET_ADMIN: attaching works
	// because the tap is that user's. CAP_DAC_OVERRIDE only because this
	// machine's /dev/net/tun is 0600 (a container gets its own node).
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: guestUID, Gid: guestGID},
		AmbientCaps: []uintptr{unix.CAP_DAC_OVERRIDE},
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := Do(Path(ctr), cmd.Start); err != nil {
		t.Fatalf("start %s: %v", strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("guest %s:\n%s", strings.Join(args, " "), out.String())
		}
	}()

	redis := func(cmdArgs ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a := append([]string{"netns", "exec", host, "redis-cli", "-h", g.IP}, cmdArgs...)
		b, err := exec.CommandContext(ctx, "ip", a...).CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	var reply string
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("guest ended: %v", err)
		default:
		}
		if reply, err = redis("PING"); err == nil && reply == "PONG" {
			break
		}
	}
	if reply != "PONG" {
		t.Fatalf("redis-cli -h %s PING from the host side: %q, %v", g.IP, reply, err)
	}
	if reply, err := redis("SET", "handoff", g.IP); err != nil || reply != "OK" {
		t.Errorf("SET: %q, %v", reply, err)
	}
	if reply, err := redis("GET", "handoff"); err != nil || reply != g.IP {
		t.Errorf("GET: %q, %v; want %q", reply, err, g.IP)
	}
}

// A namespace without eth0 has nothing to hand over.
func TestHandoffNoEth0(t *testing.T) {
	ns := testNS(t, "none")
	before := snapshot(t, ns)
	g, err := Handoff(Path(ns), "tap0", 0, 0)
	if g != nil || err != nil {
		t.Fatalf("Handoff without eth0: %+v, %v; want nil, nil", g, err)
	}
	if after := snapshot(t, ns); after != before {
		t.Errorf("namespace changed:\n%s", after)
	}
	// A namespace that went away with its container has nothing to undo.
	gone := &GuestNet{Tap: "tap0", Link: GuestLink, Addrs: []Addr{{CIDR: "10.0.0.2/24"}}}
	if err := Undo(Path(Name("rn-gone")), gone); err != nil {
		t.Errorf("Undo in a namespace that is gone: %v", err)
	}
}

// A Handoff that cannot finish leaves the namespace as it found it: here
// the tap's name is taken, and eth0 has no address at all.
func TestHandoffFailsCleanly(t *testing.T) {
	host, ctr := testNS(t, "host"), testNS(t, "ctr")
	networks[0].setup(t, host, ctr)
	ipCmd(t, "ip", "-n", ctr, "tuntap", "add", "tap0", "mode", "tap")
	before := snapshot(t, ctr)
	if g, err := Handoff(Path(ctr), "tap0", 0, 0); err == nil || g != nil {
		t.Fatalf("Handoff onto an existing tap0: %+v, %v; want an error", g, err)
	} else {
		t.Logf("error: %v", err)
	}
	if after := snapshot(t, ctr); after != before {
		t.Errorf("a failed Handoff changed the namespace.\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The runtime's own namespace (a container on the host's network) is
	// never handed over.
	if _, err := Handoff("/proc/thread-self/ns/net", "tap9", 0, 0); err == nil || !strings.Contains(err.Error(), "shares the runtime's network namespace") {
		t.Errorf("Handoff of the runtime's own namespace: %v; want a refusal", err)
	}

	ipCmd(t, "ip", "-n", ctr, "addr", "flush", "dev", "eth0")
	if _, err := Handoff(Path(ctr), "tap1", 0, 0); err == nil || !strings.Contains(err.Error(), "no IPv4 address") {
		t.Errorf("Handoff of eth0 without an address: %v; want \"no IPv4 address\"", err)
	}
}
