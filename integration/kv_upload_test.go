package integration

import (
	"testing"

	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/netns"
)

// TestKVUploaders has 20 clients SET 1 MB values at once, without offload
// (where every segment is a frame in the tap's queue): the receive windows
// the guest gives them share one budget (libos/net/tcp.c), so what they
// may have in flight together fits the tap's queue, which drops nothing,
// and every SET succeeds (redis-benchmark fails on an error reply).
func TestKVUploaders(t *testing.T) {
	e := startKV(t)
	before := tapTxDropped(t, e.net)
	runRedisBenchmarkTests(t, e.net, e.net.GuestIP,
		[]string{"-q", "-c", "20", "-d", "1048576", "-n", "200", "-t", "set"}, []string{"SET"})
	if d := tapTxDropped(t, e.net) - before; d != 0 {
		t.Errorf("the tap dropped %d frames on their way to the guest while 20 clients uploaded: the windows overflowed its queue", d)
	}
}

// tapTxDropped is what n's tap dropped towards the guest (its queue was
// full).
func tapTxDropped(t *testing.T, n *testnet.Net) uint64 {
	t.Helper()
	var v uint64
	err := n.DoInServer(func() (err error) {
		v, err = netns.TxDropped(n.Tap)
		return err
	})
	if err != nil {
		t.Fatalf("read the tap's drops: %v", err)
	}
	return v
}
