package echo

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/hap"
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
	if !strings.Contains(g.out.String(), " tso") || !strings.Contains(g.out.String(), " rx-offload") {
		t.Fatalf("the guest did not turn transmit and receive offload on; output:\n%s", g.out.String())
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

// With offload the host hands the guest what its TCP stack sent as one
// segment of up to 64 KiB, not MTU-sized frames: echoing 16 MiB takes a
// fraction of the tap reads one read per wire segment would (16 MiB /
// 1448 is about 11,600), and the bytes come back identical.
func TestEchoRxOffload(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	g := startEcho(t, n, offload)
	const size = 16 << 20
	tr, err := hap.TraceSyscalls(g.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	err = echoOne(n, net.JoinHostPort(guestIP, "7"), 7, size, time.Now().Add(60*time.Second))
	counts, terr := tr.Stop()
	if err != nil {
		t.Fatalf("echo 16 MiB: %v", err)
	}
	if terr != nil {
		t.Fatal(terr)
	}
	t.Logf("guest syscalls echoing 16 MiB: %v (lost events: %d)", counts, tr.Lost())
	if segs := size / 1448; counts["read"] == 0 || counts["read"] > segs/4 {
		t.Errorf("the guest made %d reads for 16 MiB (%d wire segments): want at most %d, as large frames", counts["read"], segs, segs/4)
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
	buf, stop := startListening(t, cmd, cmd.Start)
	defer stop()
	tap.Close() // the guest holds its own copy
	if err := echoOne(n, net.JoinHostPort(guestIP, "7"), 3, 256<<10, time.Now().Add(20*time.Second)); err != nil {
		t.Errorf("echo over an @FD vnet_hdr tap: %v\n%s", err, buf.String())
	}
}

// The option changes nothing in the seccomp filter: the BPF program the
// kernel holds for a running guest is the same, instruction for
// instruction, with and without it.
func TestOffloadFilterUnchanged(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	plain := installedFilter(t, n)
	off := installedFilter(t, n, offload)
	// The filter checks the architecture, the seven calls and their
	// arguments: a program much shorter than this was not read whole.
	if len(plain) < 20 {
		t.Fatalf("the guest's filter has %d instructions: %v", len(plain), plain)
	}
	if len(plain) != len(off) {
		t.Errorf("the filter has %d instructions with %s, %d without", len(off), offload, len(plain))
	}
	for i := range min(len(plain), len(off)) {
		if plain[i] != off[i] {
			t.Errorf("instruction %d differs with %s: %+v, without: %+v", i, offload, off[i], plain[i])
		}
	}
	t.Logf("the installed filter: %d instructions with and without %s", len(plain), offload)
}

// installedFilter starts the echo guest on n's tap with the tender
// options opts, reads the seccomp program the kernel installed for it
// (PTRACE_SECCOMP_GET_FILTER, as root) and stops it.
func installedFilter(t *testing.T, n *testNet, opts ...string) []unix.SockFilter {
	t.Helper()
	root := repoRoot(t)
	argv := append([]string{"--net:service0=" + n.tap}, opts...)
	argv = append(argv, filepath.Join(root, "build/unikernels/echo/echo.spt"), "--ipv4="+guestIP+"/24")
	cmd := exec.Command(filepath.Join(root, "build/bin/runnc-spt"), argv...)
	// startListening has no goroutine wait for the guest: a waiting
	// thread of this process could take the ptrace stop for itself.
	_, stop := startListening(t, cmd, func() error { return n.do(cmd.Start) })
	defer stop()
	prog, err := seccompFilter(cmd.Process.Pid)
	if err != nil {
		t.Fatalf("read the filter of the guest %v: %v", opts, err)
	}
	return prog
}

// startListening starts the echo guest cmd with start (cmd.Start, perhaps
// inside a namespace) and waits until it listens. stop kills it and waits
// for it; until then nothing waits for it.
func startListening(t *testing.T, cmd *exec.Cmd, start func() error) (out *syncbuf.Buffer, stop func()) {
	t.Helper()
	out = &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		cmd.Process.Kill()
		cmd.Wait()
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "echo: listening"); {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("%s did not start:\n%s", cmd, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out, stop
}

// seccompFilter returns the one seccomp filter of process pid, which it
// attaches to with ptrace and leaves stopped.
func seccompFilter(pid int) ([]unix.SockFilter, error) {
	// ptrace requests must come from the thread that attached.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceAttach(pid); err != nil {
		return nil, fmt.Errorf("ptrace attach %d: %w", pid, err)
	}
	defer unix.PtraceDetach(pid)
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil || !ws.Stopped() {
		return nil, fmt.Errorf("wait for %d to stop: %v (status %v)", pid, err, ws)
	}
	get := func(index int, prog []unix.SockFilter) (int, error) {
		var p unsafe.Pointer
		if len(prog) > 0 {
			p = unsafe.Pointer(&prog[0])
		}
		n, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(index), uintptr(p), 0, 0)
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
	n, err := get(0, nil)
	if err != nil {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER %d: %w", pid, err)
	}
	prog := make([]unix.SockFilter, n)
	if _, err := get(0, prog); err != nil {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER %d: %w", pid, err)
	}
	// Index 0 is the last filter installed; there must be no other.
	if _, err := get(1, nil); err != unix.ENOENT {
		return nil, fmt.Errorf("pid %d has a second seccomp filter (or cannot tell: %v)", pid, err)
	}
	return prog, nil
}

// The tap's offloads belong to the device, not to the open file: a guest
// without --net-offload on a persistent tap that a guest with it used
// before still gets whole, checksummed frames. Before the tender turned
// them off on every open, the kernel kept handing the second guest 64 KiB
// segments it could not read, and the transfer stalled (the HAP lab's
// bulk workloads hung this way).
func TestEchoPlainAfterOffload(t *testing.T) {
	needRoot(t)
	n := newNet(t)
	first := startEcho(t, n, offload)
	if err := echoOne(n, net.JoinHostPort(guestIP, "7"), 3, 1<<20, time.Now().Add(30*time.Second)); err != nil {
		t.Fatalf("echo 1 MiB with offload: %v", err)
	}
	first.cmd.Process.Kill()
	<-first.done
	startEcho(t, n)
	if err := echoOne(n, net.JoinHostPort(guestIP, "7"), 4, 4<<20, time.Now().Add(30*time.Second)); err != nil {
		t.Fatalf("echo 4 MiB without offload, on the tap an offloading guest used: %v", err)
	}
}
