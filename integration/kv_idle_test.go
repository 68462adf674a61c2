package integration

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/hap"
	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/internal/proc"
	"github.com/runnc/runnc/netns"
	"github.com/vishvananda/netlink"
)

// ping sends PING on c and wants +PONG back.
func ping(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatalf("PING: %v", err)
	}
	line, err := r.ReadString('\n')
	if err != nil || line != "+PONG\r\n" {
		t.Fatalf("PING: %q, %v", line, err)
	}
}

// traceIdle opens n connections to the kv guest, lets each make one
// round trip, then traces the guest for d with no traffic. It returns the
// syscall counts and the guest's CPU time over d, after checking every
// connection still answers.
func traceIdle(t *testing.T, e *kvEnv, n int, d time.Duration) (map[string]int, time.Duration) {
	t.Helper()
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	for i := range conns {
		conns[i] = e.dial(t)
		readers[i] = bufio.NewReader(conns[i])
		ping(t, conns[i], readers[i])
	}
	// The client namespace's kernel would re-check the guest's MAC once its
	// neighbour entry goes stale (a unicast ARP probe 5 s after the next
	// use, which the guest rightly answers): pin the entry the pings just
	// confirmed, so that the frames counted are the guest's own.
	pinNeighbour(t, e.net.Client, e.net.GuestIP)
	// Let delayed ACKs and the like finish before the quiet time.
	time.Sleep(200 * time.Millisecond)

	cpu0, err := proc.CPUTime(e.guest.Pid)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := hap.TraceSyscalls(e.guest.Pid)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	counts, err := tr.Stop()
	if err != nil {
		t.Fatal(err)
	}
	cpu1, err := proc.CPUTime(e.guest.Pid)
	if err != nil {
		t.Fatal(err)
	}
	for i := range conns {
		ping(t, conns[i], readers[i])
	}
	return counts, cpu1 - cpu0
}

// pinNeighbour makes the neighbour entry for ip in the named namespace
// permanent, so the kernel sends no ARP probes for it.
func pinNeighbour(t *testing.T, ns, ip string) {
	t.Helper()
	want := net.ParseIP(ip)
	err := netns.Do(netns.Path(ns), func() error {
		neighs, err := netlink.NeighList(0, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("list neighbours: %w", err)
		}
		for _, nb := range neighs {
			if nb.IP.Equal(want) && len(nb.HardwareAddr) != 0 {
				nb.State = netlink.NUD_PERMANENT
				if err := netlink.NeighSet(&nb); err != nil {
					return fmt.Errorf("pin neighbour %s: %w", ip, err)
				}
				return nil
			}
		}
		return fmt.Errorf("no neighbour entry for %s", ip)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// TestKVIdle: a kv guest with 100 open, idle connections sleeps in ppoll.
// lwIP's ARP and reassembly timers wake it once a second (a ppoll return
// and two clock reads each), and the host's own frames (IPv6 neighbour
// discovery and the like) a few times more; a TCP timer ticking every
// 5 ms while connections are open would make 2000 wakeups in the 10 s,
// each at least a ppoll and a clock read.
func TestKVIdle(t *testing.T) {
	e := startKV(t)
	counts, cpu := traceIdle(t, e, 100, 10*time.Second)
	t.Logf("idle 10 s with 100 connections: guest syscalls %v (total %d), CPU time %v",
		counts, total(counts), cpu)
	checkOnlySeven(t, counts)
	if n := total(counts); n > 200 {
		t.Errorf("idle guest made %d syscalls in 10 s (%v), want at most 200", n, counts)
	}
	// Nothing to say to idle peers without keepalive.
	if counts["write"] != 0 {
		t.Errorf("idle guest wrote %d frames without keepalive: %v", counts["write"], counts)
	}
}

// TestKVKeepalive: with --tcp-keepalive=1 the guest probes an idle client
// about once a second (Linux answers each probe), the connection stays up,
// and between probes the guest still sleeps.
func TestKVKeepalive(t *testing.T) {
	testnet.NeedRoot(t)
	spt := testnet.BuildOutput(t, "build/unikernels/kv/kv.spt")
	testnet.BuildOutput(t, "build/bin/runnc-spt")
	n, g := testnet.StartService(t, "rk9", nil, spt, "", 6379, "--tcp-keepalive=1")
	e := &kvEnv{net: n, guest: g, addr: net.JoinHostPort(n.GuestIP, "6379")}

	counts, cpu := traceIdle(t, e, 1, 4*time.Second)
	t.Logf("keepalive 1 s, idle 4 s: guest syscalls %v, CPU time %v", counts, cpu)
	checkOnlySeven(t, counts)
	// Idle 1 s, then a probe a second: 3 or 4 in 4 s.
	if w := counts["write"]; w < 2 || w > 8 {
		t.Errorf("guest wrote %d frames in 4 s of keepalive at 1 s, want 2 to 8 probes", w)
	}
	// A timer ticking every 5 ms would be 800 wakeups.
	if n := total(counts); n > 200 {
		t.Errorf("guest with keepalive made %d syscalls in 4 s (%v): the TCP timer ticks while it waits", n, counts)
	}
	if out := g.Output(); strings.Contains(out, "bad --tcp-keepalive") {
		t.Fatal(out)
	}
}
