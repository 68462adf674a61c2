package integration

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"testing"
)

// TestKVInputBudget: kv takes memory for a request as its bytes arrive,
// not when a client announces a length, and caps what one client may send.
// With 64 MiB, six clients that announce 8 MB values and stall used to pin
// about 50 MiB between them, and another client's 4 MiB SET then lost its
// connection; now that SET succeeds and reads back identical, and a value
// past the input budget (a quarter of the heap) is dropped and refused.
func TestKVInputBudget(t *testing.T) {
	e := startKV(t, "--mem=64")

	for i := 0; i < 6; i++ {
		c := e.dial(t)
		req := fmt.Sprintf("*3\r\n$3\r\nSET\r\n$7\r\nstall:%d\r\n$8000000\r\n%s", i, bytes.Repeat([]byte("s"), 1000))
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatalf("stalled client %d: %v", i, err)
		}
	}
	// A round trip on a new connection: the guest has read the stalled
	// clients' segments, which reached its tap before this SYN.
	kvExchange(t, e.dial(t), "PING\r\n", "+PONG\r\n")

	value := make([]byte, 4<<20)
	if _, err := rand.Read(value); err != nil {
		t.Fatal(err)
	}
	c := e.dial(t)
	bigExchange(t, c, "SET big <4 MiB>", kvBulk("SET", "big", string(value)), []byte("+OK\r\n"))
	bigExchange(t, c, "GET big", kvBulk("GET", "big"),
		append(append([]byte(fmt.Sprintf("$%d\r\n", len(value))), value...), '\r', '\n'))

	// 20 MB is within the protocol's 512 MB but past a quarter of 64 MiB:
	// read and dropped as it arrives, and answered -OOM on a connection
	// that goes on.
	c2 := e.dial(t)
	bigExchange(t, c2, "SET k <20 MB>", kvBulk("SET", "k", string(bytes.Repeat([]byte("x"), 20000000))),
		[]byte("-OOM command not allowed when used memory > 'maxmemory'.\r\n"))
	kvExchange(t, c2, kvBulk("EXISTS", "k"), ":0\r\n")
	kvExchange(t, c, "PING\r\n", "+PONG\r\n")
}

// bigExchange is kvExchange for requests and replies too large to quote:
// what names the request in failures.
func bigExchange(t *testing.T, c io.ReadWriter, what, req string, want []byte) {
	t.Helper()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: read %d of %d bytes (%v), starting %.80q, want %.80q",
			what, n, len(want), err, got[:n], want)
	}
}
