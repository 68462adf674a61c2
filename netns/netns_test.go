package netns

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const prefix = "rhn"

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "netns tests need root (network namespaces, taps)")
		os.Exit(1)
	}
	if err := RemoveStale(prefix); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(m.Run())
}

// newNS creates a fresh namespace, deleted when the test ends.
func newNS(t *testing.T) (name, path string) {
	t.Helper()
	return Temp(t, prefix)
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// A new namespace holds only a loopback link; Do runs in it and leaves no
// thread of the process there; Delete removes it.
func TestNewDoDelete(t *testing.T) {
	self := nsInode(t, "/proc/thread-self/ns/net")
	name, path := newNS(t)
	if path != "/run/netns/"+name {
		t.Fatalf("New returned %s, want /run/netns/%s", path, name)
	}
	if nsInode(t, path) == self {
		t.Fatalf("%s is the test's own namespace", path)
	}
	if _, err := New(name); err == nil {
		t.Fatalf("New(%s) twice succeeded", name)
	}
	var links []string
	var inside uint64
	err := Do(path, func() error {
		inside = nsInode(t, "/proc/thread-self/ns/net")
		var err error
		links, err = LinkNames()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside != nsInode(t, path) {
		t.Errorf("Do ran in netns inode %d, want %d", inside, nsInode(t, path))
	}
	if strings.Join(links, ",") != "lo" {
		t.Errorf("links in a new namespace: %v, want [lo]", links)
	}
	if want := errors.New("from fn"); !errors.Is(Do(path, func() error { return want }), want) {
		t.Error("Do did not return fn's error")
	}
	// Do's threads are discarded, not reused: soon every thread of the
	// process is back to the test's namespace (a locked thread exits
	// shortly after its goroutine does).
	for deadline := time.Now().Add(5 * time.Second); ; {
		stray := threadsOutside(t, self)
		if len(stray) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("threads %v are in another netns after Do returned", stray)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := Delete(name); err != nil {
		t.Fatal(err)
	}
	if Exists(name) {
		t.Fatalf("%s exists after Delete", name)
	}
	if err := Do(path, func() error { return nil }); err == nil {
		t.Fatal("Do in a deleted namespace succeeded")
	}
	if err := Delete(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Delete twice: %v, want not exist", err)
	}
}

// threadsOutside lists the process's threads not in netns inode ns,
// except the main thread: when a locked goroutine ends on it, Go parks
// ("wedges") it for good instead of ending the process's first thread, so
// it may stay in a namespace but never runs Go code again.
func threadsOutside(t *testing.T, ns uint64) []string {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var stray []string
	for _, task := range tasks {
		if task.Name() == strconv.Itoa(os.Getpid()) {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/self/task/"+task.Name()+"/ns/net", &st) == nil && st.Ino != ns {
			stray = append(stray, task.Name())
		}
	}
	return stray
}

// A process started with Command runs in the namespace.
func TestCommand(t *testing.T) {
	_, path := newNS(t)
	out, err := Command(path, "readlink", "/proc/self/ns/net").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("net:[%d]", nsInode(t, path))
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("child's netns %s, want %s", got, want)
	}
}

// The test network in small: namespace a with veth0 10.77.0.1, namespace
// b with a bridge (10.77.0.3) joining veth1 and a tap. A datagram from a
// to the unknown 10.77.0.2 makes a broadcast ARP request that crosses the
// veth pair and the bridge and is read from the tap OpenTap attached to.
func TestVethBridgeTap(t *testing.T) {
	_, a := newNS(t)
	_, b := newNS(t)
	err := Do(a, func() error {
		for _, err := range []error{
			LinkUp("lo"),
			AddVeth("veth0", "veth1", b),
			AddAddr("veth0", "10.77.0.1/24"),
			LinkUp("veth0"),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var tap *os.File
	err = Do(b, func() error {
		for _, err := range []error{
			AddBridge("br0"),
			AddAddr("br0", "10.77.0.3/24"),
			CreateTap("tap0", 0, 0),
			SetMaster("veth1", "br0"),
			SetMaster("tap0", "br0"),
			LinkUp("veth1"),
		} {
			if err != nil {
				return err
			}
		}
		var err error
		tap, err = OpenTap("tap0")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()

	name, flags, err := TapInfo(int(tap.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if name != "tap0" || flags&(unix.IFF_TAP|unix.IFF_NO_PI|unix.IFF_VNET_HDR) != unix.IFF_TAP|unix.IFF_NO_PI {
		t.Fatalf("TapInfo: %q flags %#x, want tap0 with IFF_TAP|IFF_NO_PI only", name, flags)
	}

	// The bridge's own address answers over the veth pair.
	t0 := time.Now()
	defer func() { t.Logf("bridge and tap answered in %v", time.Since(t0)) }()
	err = Do(a, func() error {
		c, err := net.DialTimeout("tcp", "10.77.0.3:9", 5*time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("something listens on 10.77.0.3:9")
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("dial the bridge: %w, want connection refused", err)
		}
		u, err := net.Dial("udp4", "10.77.0.2:9")
		if err != nil {
			return err
		}
		defer u.Close()
		_, err = u.Write([]byte("x"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tap.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	for {
		n, err := tap.Read(buf)
		if err != nil {
			t.Fatalf("read the tap: %v (no ARP request for 10.77.0.2 arrived)", err)
		}
		f := buf[:n]
		// Ethernet: ethertype ARP, opcode request, target 10.77.0.2.
		if n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1 && bytes.Equal(f[38:42], []byte{10, 77, 0, 2}) {
			break
		}
	}
}

// CreateTap makes a persistent tap owned by the given user, up; OpenTap
// refuses names that are not taps and never creates one; VnetHdr shows in
// the flags; SetMTU and MTU agree.
func TestTapOwnerAndRefusals(t *testing.T) {
	_, path := newNS(t)
	err := Do(path, func() error {
		if err := CreateTap("tap0", 4242, 4343); err != nil {
			return err
		}
		if err := CreateTap("tap0", 4242, 4343); err == nil {
			return errors.New("CreateTap of an existing tap succeeded")
		}
		l, err := netlink.LinkByName("tap0")
		if err != nil {
			return err
		}
		tt, ok := l.(*netlink.Tuntap)
		if !ok {
			return fmt.Errorf("tap0 is a %s", l.Type())
		}
		if tt.Owner != 4242 || tt.Group != 4343 || tt.Mode != netlink.TUNTAP_MODE_TAP {
			return fmt.Errorf("tap0: owner %d group %d mode %v, want 4242 4343 tap", tt.Owner, tt.Group, tt.Mode)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			return errors.New("tap0 is not up")
		}
		if _, err := OpenTap("nosuchtap"); err == nil || !strings.Contains(err.Error(), "no such interface") {
			return fmt.Errorf("OpenTap of a missing tap: %v, want no such interface", err)
		}
		if _, err := netlink.LinkByName("nosuchtap"); err == nil {
			return errors.New("OpenTap created nosuchtap")
		}
		if _, err := OpenTap("lo"); err == nil {
			return errors.New("OpenTap(lo) succeeded")
		}
		f, err := OpenTap("tap0", VnetHdr, NonBlock)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, flags, err := TapInfo(int(f.Fd())); err != nil || flags&unix.IFF_VNET_HDR == 0 {
			return fmt.Errorf("TapInfo of a VnetHdr tap: flags %#x, %v", flags, err)
		}
		if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
			return fmt.Errorf("NonBlock tap fd is blocking (%v)", err)
		}
		if _, _, err := TapInfo(0); err == nil {
			return errors.New("TapInfo of stdin succeeded")
		}
		if err := SetMTU("tap0", 1400); err != nil {
			return err
		}
		if mtu, err := MTU("tap0"); err != nil || mtu != 1400 {
			return fmt.Errorf("MTU after SetMTU 1400: %d, %v", mtu, err)
		}
		if err := DeleteLink("tap0"); err != nil {
			return err
		}
		if _, err := MTU("tap0"); err == nil {
			return errors.New("tap0 still exists after DeleteLink")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// RemoveStale deletes namespaces of dead processes and keeps ours.
func TestRemoveStale(t *testing.T) {
	ours, _ := newNS(t)
	// Not a pid any process can have (above the kernel's 2^22 limit).
	stale := fmt.Sprintf("%s-%d-1", prefix, 1<<23)
	if _, err := New(stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if Exists(stale) {
			Delete(stale)
		}
	})
	if err := RemoveStale(prefix); err != nil {
		t.Fatal(err)
	}
	if Exists(stale) {
		t.Errorf("%s survived RemoveStale", stale)
	}
	if !Exists(ours) {
		t.Errorf("RemoveStale removed %s, a namespace of this process", ours)
	}
}
