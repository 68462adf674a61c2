package echo

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/internal/syncbuf"
	"github.com/runnc/runnc/netns"
)

const offload = "--net-offload:service0"

// With --net-offload the guest hands the kernel TCP segments larger than
// the MTU to cut (TSO) and leaves TCP checksums to it: everything the
// plain test checks still holds, byte for byte, and large pings (which
// the guest must fragment itself) are answered.
func TestEchoOffload(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	g := startEcho(t, n, offload)
	if !strings.Contains(g.out.String(), " tso") {
		t.Fatalf("the guest did not turn offload on; output:\n%s", g.out.String())
	}
	for _, size := range []string{"56", "4000"} {
		if out, err := n.exec("ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", size, guestIP).CombinedOutput(); err != nil {
			t.Fatalf("ping -s %s %s: %v\n%s", size, guestIP, err, out)
		}
	}
	elapsed := echoMany(t, n, nConns, connSize, 60*time.Second)
	mb := float64(nConns*connSize) / 1e6
	t.Logf("offload: echoed %.1f MB over %d connections in %v: %.1f MB/s", mb, nConns, elapsed.Round(time.Millisecond), mb/elapsed.Seconds())
	t0 := time.Now()
	if err := source(n, 16<<20, time.Now().Add(60*time.Second)); err != nil {
		t.Errorf("source 16 MiB: %v", err)
	} else {
		t.Logf("offload: streamed 16 MiB from the guest in %v: %.1f MB/s", time.Since(t0).Round(time.Millisecond), 16.0*(1<<20)/1e6/time.Since(t0).Seconds())
	}
}

// Offload under 5% loss each way. The host drops what it receives per
// packet as the kernel sees it: a segment the guest sent in one piece is
// dropped whole, so losses come in bursts of up to TSO_FACTOR segments.
func TestEchoOffloadLoss(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n, offload)
	n.setLoss(t, 0.05)
	t0 := time.Now()
	if err := source(n, 16<<20, time.Now().Add(180*time.Second)); err != nil {
		t.Errorf("source 16 MiB with loss: %v", err)
	} else {
		t.Logf("offload, 5%% loss: streamed 16 MiB in %v", time.Since(t0).Round(time.Millisecond))
	}
	elapsed := echoMany(t, n, nConns, connSize, 180*time.Second)
	t.Logf("offload, 5%% loss: echoed %d x %d bytes in %v", nConns, connSize, elapsed.Round(time.Millisecond))
}

// The same 16 MiB stream under loss without offload, for comparison.
func TestEchoLossStream(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	startEcho(t, n)
	n.setLoss(t, 0.05)
	t0 := time.Now()
	if err := source(n, 16<<20, time.Now().Add(180*time.Second)); err != nil {
		t.Errorf("source 16 MiB with loss: %v", err)
	} else {
		t.Logf("plain, 5%% loss: streamed 16 MiB in %v", time.Since(t0).Round(time.Millisecond))
	}
}

// openVnetTap opens n's tap with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR from
// inside the namespace, as an engine passing an @FD might.
func openVnetTap(t *testing.T, n *testNet) *os.File {
	t.Helper()
	var f *os.File
	err := n.do(func() (err error) {
		f, err = netns.OpenTap(n.tap, netns.VnetHdr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A tap fd opened with IFF_VNET_HDR is refused without --net-offload
// (the guest would take the header for frame data) and works with it.
func TestOffloadVnetFD(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	root := repoRoot(t)
	spt := filepath.Join(root, "build/bin/runnc-spt")
	kernel := filepath.Join(root, "build/unikernels/echo/echo.spt")
	tap := openVnetTap(t, n)
	guestArgs := []string{kernel, "--ipv4=" + guestIP + "/24"}

	cmd := exec.Command(spt, append([]string{"--net:service0=@3"}, guestArgs...)...)
	cmd.ExtraFiles = []*os.File{tap}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "IFF_VNET_HDR: give --net-offload:service0") {
		t.Errorf("vnet_hdr tap without --net-offload: %v, output %q; want a refusal naming the option", err, out)
	}

	cmd = exec.Command(spt, append([]string{"--net:service0=@3", offload}, guestArgs...)...)
	cmd.ExtraFiles = []*os.File{tap}
	buf := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	tap.Close() // the guest holds its own copy
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "echo: listening") {
		if time.Now().After(deadline) {
			t.Fatalf("guest did not start; output:\n%s", buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := echoOne(n, net.JoinHostPort(guestIP, "7"), 3, 256<<10, time.Now().Add(20*time.Second)); err != nil {
		t.Errorf("echo over an @FD vnet_hdr tap: %v\n%s", err, buf.String())
	}
}

// The option changes no rule of the seccomp filter: the guest still
// only reads and writes its tap.
func TestOffloadFilterUnchanged(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	root := repoRoot(t)
	spt := filepath.Join(root, "build/bin/runnc-spt")
	kernel := filepath.Join(root, "build/unikernels/echo/echo.spt")
	plain, err := n.exec(spt, "--print-filter", "--net:service0="+n.tap, kernel).CombinedOutput()
	if err != nil {
		t.Fatalf("--print-filter: %v\n%s", err, plain)
	}
	off, err := n.exec(spt, "--print-filter", "--net:service0="+n.tap, offload, kernel).CombinedOutput()
	if err != nil {
		t.Fatalf("--print-filter %s: %v\n%s", offload, err, off)
	}
	if string(plain) != string(off) {
		t.Errorf("the filter differs with %s:\n%s\nwithout:\n%s", offload, off, plain)
	}
	if !strings.Contains(string(plain), "write") {
		t.Errorf("--print-filter printed no policy:\n%s", plain)
	}
}
