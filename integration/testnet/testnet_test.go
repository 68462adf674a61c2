package testnet

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/runnc/runnc/internal/syncbuf"
	"github.com/runnc/runnc/netns"
)

func needRoot(t *testing.T) { NeedRoot(t) }

func netnsExists(name string) bool { return netns.Exists(name) }

// A native server in the server netns is reachable from the client netns
// through the bridge, and Close removes both namespaces.
func TestNetNativeServer(t *testing.T) {
	needRoot(t)
	n, err := New("rh5")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for _, ns := range []string{n.Client, n.Server} {
		if !netnsExists(ns) {
			t.Fatalf("netns %s missing after New", ns)
		}
	}

	dir := t.TempDir()
	want := "hello through the bridge\n"
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := n.InServer("/usr/bin/python3", "-m", "http.server", "--bind", n.HostIP,
		"--directory", dir, "8000")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	if err := n.WaitTCP(n.HostIP, 8000, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := n.InClient("curl", "-sS", "--max-time", "5", "http://"+n.HostIP+":8000/f.txt").Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	if string(out) != want {
		t.Fatalf("curl got %q, want %q", out, want)
	}
	// The client netns must not see the host's interfaces: nothing but
	// lo and veth0.
	var links []string
	err = n.DoInClient(func() (err error) {
		links, err = netns.LinkNames()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(links, " ") != "lo veth0" {
		t.Errorf("client netns has links %v, want lo and veth0", links)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{n.Client, n.Server} {
		if netnsExists(ns) {
			t.Errorf("netns %s still exists after Close", ns)
		}
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The tap exists in the server netns and is a port of br0, the bridge that
// carries HostIP.
func TestNetTopology(t *testing.T) {
	needRoot(t)
	n, err := New("rh5")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var ports []string
	var addrs []netlink.Addr
	err = n.DoInServer(func() error {
		br, err := netlink.LinkByName("br0")
		if err != nil {
			return err
		}
		ls, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range ls {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				ports = append(ports, l.Attrs().Name)
			}
		}
		addrs, err = netlink.AddrList(br, netlink.FAMILY_V4)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ports)
	if want := []string{n.Tap, "veth1"}; !slices.Equal(ports, want) {
		t.Errorf("ports of br0: %v, want %v", ports, want)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != n.HostIP+"/24" {
		t.Errorf("br0 has addresses %v, want %s/24", addrs, n.HostIP)
	}
}

// SetLoss drops packets in the client netns and SetLoss(0) undoes it.
func TestSetLoss(t *testing.T) {
	needRoot(t)
	n, err := New("rh5")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ping := func() error {
		return n.InClient("ping", "-c", "3", "-i", "0.2", "-W", "1", "-q", n.HostIP).Run()
	}
	if err := ping(); err != nil {
		t.Fatalf("ping before loss: %v", err)
	}
	// Nearly every packet dropped: three pings all getting through both
	// ways has a probability of about 1e-18.
	if err := n.SetLoss(0.999); err != nil {
		t.Fatal(err)
	}
	if err := ping(); err == nil {
		t.Fatal("ping succeeded with loss 0.999")
	}
	if err := n.SetLoss(0); err != nil {
		t.Fatal(err)
	}
	rules, err := n.InClient("iptables", "-w", "-S").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rules), "statistic") {
		t.Fatalf("rules left after SetLoss(0):\n%s", rules)
	}
	if err := ping(); err != nil {
		t.Fatalf("ping after SetLoss(0): %v", err)
	}
	if err := n.SetLoss(1); err == nil {
		t.Error("SetLoss(1) accepted")
	}
}

// Two Nets with the same name prefix coexist.
func TestTwoNets(t *testing.T) {
	needRoot(t)
	a, err := New("rh5")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New("rh5")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Client == b.Client || a.Server == b.Server {
		t.Fatalf("names collide: %+v %+v", a, b)
	}
}

// A Guest is any process StartGuest launched; its lifecycle does not
// depend on the tender, so exercise it with a stand-in when the tender is
// not built.
func TestGuestLifecycle(t *testing.T) {
	needRoot(t)
	n, err := New("rh5")
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cmd := n.InServer("sh", "-c", "echo started; exec sleep 60")
	g := &Guest{cmd: cmd, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = g.out, g.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g.Pid = cmd.Process.Pid
	go func() { g.err = cmd.Wait(); close(g.done) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(g.Output(), "started") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g.Exited() {
		t.Fatal("exited early")
	}
	out, err := g.Stop()
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if out != "started\n" {
		t.Errorf("output %q", out)
	}
	if !g.Exited() {
		t.Error("not exited after Stop")
	}
	if _, err := g.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := syscall.Kill(g.Pid, 0); err != syscall.ESRCH {
		t.Errorf("pid %d still alive", g.Pid)
	}
}
