package integration

import (
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/integration/testnet"
)

// tcpRecvQueue is TCP_RECV_QUEUE of linux/tcp.h (x/sys lacks it).
const tcpRecvQueue = 1

// peerISN returns the initial sequence number the peer of c chose: with
// the socket in repair mode (CAP_NET_ADMIN), TCP_QUEUE_SEQ of the receive
// queue is rcv_nxt, which is ISN+1 while nothing has been received.
func peerISN(c *net.TCPConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var seq int
	var serr error
	err = raw.Control(func(fd uintptr) {
		s := int(fd)
		if serr = unix.SetsockoptInt(s, unix.SOL_TCP, unix.TCP_REPAIR, 1); serr != nil {
			serr = fmt.Errorf("TCP_REPAIR on: %w", serr)
			return
		}
		defer unix.SetsockoptInt(s, unix.SOL_TCP, unix.TCP_REPAIR, unix.TCP_REPAIR_OFF)
		if serr = unix.SetsockoptInt(s, unix.SOL_TCP, unix.TCP_REPAIR_QUEUE, tcpRecvQueue); serr != nil {
			serr = fmt.Errorf("TCP_REPAIR_QUEUE: %w", serr)
			return
		}
		if seq, serr = unix.GetsockoptInt(s, unix.SOL_TCP, unix.TCP_QUEUE_SEQ); serr != nil {
			serr = fmt.Errorf("TCP_QUEUE_SEQ: %w", serr)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, fmt.Errorf("read the peer's ISN of %s: %w", c.LocalAddr(), err)
	}
	return uint32(seq) - 1, nil
}

// isnFrom connects to the guest from local port port of the client netns
// (0: any), reads the ISN of the guest's SYN-ACK and closes.
func isnFrom(t *testing.T, n *testnet.Net, port int) uint32 {
	t.Helper()
	var c net.Conn
	err := n.DoInClient(func() error {
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(n.ClientIP), Port: port}}
		var err error
		c, err = d.Dial("tcp", net.JoinHostPort(n.GuestIP, "6379"))
		return err
	})
	if err != nil {
		t.Fatalf("connect to kv from port %d: %v", port, err)
	}
	defer c.Close()
	isn, err := peerISN(c.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	return isn
}

// near reports whether two sequence numbers lie within 2^24 of each
// other, either way round: true for one ISN in 128 against an unrelated
// random one, always for ISNs that a counter or a clock makes.
func near(a, b uint32) bool {
	d := int32(a - b)
	return d > -(1<<24) && d < 1<<24
}

// TestTCPISN: the kv guest's TCP initial sequence numbers follow RFC
// 6528, a 4-microsecond clock plus a hash of the 4-tuple keyed by the
// tender's entropy (libos/core/random.c), so an off-path attacker can
// predict neither the next connection's ISN from his own nor another
// guest's. Two kv guests boot at once on two test networks with the same
// addresses; the client connects to each from the same ports.
//
//   - One guest's ISNs on consecutive connections are unrelated: lwIP's
//     own ISN (6510 plus its TCP ticks) or a clock alone puts each within a
//     few thousand of the last.
//   - The two guests' ISNs for the same 4-tuple, a few milliseconds
//     apart, are unrelated: a hash without a per-boot secret, or a
//     counter started at the same value, makes them close.
func TestTCPISN(t *testing.T) {
	a, b := startKV(t), startKV(t)
	const conns = 12
	var isnA, isnB []uint32
	for i := 0; i < conns; i++ {
		port := 41000 + i
		isnA = append(isnA, isnFrom(t, a.net, port))
		isnB = append(isnB, isnFrom(t, b.net, port))
	}
	row := ""
	for i := range isnA {
		row += fmt.Sprintf("\n  port %d: %10d %10d", 41000+i, isnA[i], isnB[i])
	}
	t.Logf("ISNs of guest A and guest B by client port:%s", row)

	// Under a random ISN each pair is near with probability 1/128: more
	// than 3 of 12 near by chance happens about once in 500,000 runs.
	const most = 3
	seq := 0
	for i := 1; i < conns; i++ {
		if near(isnA[i], isnA[i-1]) {
			seq++
		}
	}
	if seq > most {
		t.Errorf("%d of %d consecutive ISNs of one guest lie within 2^24 of the one before: predictable from a client's own connections", seq, conns-1)
	}
	same := 0
	for i := range isnA {
		if near(isnA[i], isnB[i]) {
			same++
		}
	}
	if same > most {
		t.Errorf("for %d of %d 4-tuples the two guests' ISNs lie within 2^24 of each other: not keyed per boot", same, conns)
	}
}
