package integration

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
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

// TestKVLargeArgs: bulk strings of 16 KiB and more that arrive in pieces
// are assembled in memory of their own (resp.c) and kept by SET and MSET
// as the value; every other command reads them like any argument. Each
// request goes out in small writes with pauses, so the guest sees it cut
// in the middle of headers, values and the CRLF behind them; the replies
// must be what a request in one piece gets.
func TestKVLargeArgs(t *testing.T) {
	e := startKV(t, "--mem=64")
	c := e.dial(t)
	big := func(n int, seed byte) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed + byte(i%251)
		}
		return string(b)
	}
	a, b, k := big(100000, 1), big(16384, 7), big(20000, 'k')
	slow := func(what, req, want string) {
		t.Helper()
		for sent := 0; len(req) > 0; {
			n := 7001
			if sent > 256<<10 {
				n = 1 << 20 // the rest of a request past the budget
			}
			if n > len(req) {
				n = len(req)
			}
			if _, err := io.WriteString(c, req[:n]); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			req, sent = req[n:], sent+n
			time.Sleep(2 * time.Millisecond)
		}
		got := make([]byte, len(want))
		if n, err := io.ReadFull(c, got); err != nil || string(got) != want {
			t.Fatalf("%s: read %d of %d bytes (%v), starting %.80q, want %.80q", what, n, len(want), err, got[:n], want)
		}
	}
	bulk := func(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

	// MSET of large and small values, the same key twice (the second wins).
	slow("MSET", kvBulk("MSET", "a", a, "s", "small", "b", b, "a2", a, "b", b+"x"), "+OK\r\n")
	slow("MGET", kvBulk("MGET", "a", "s", "b", "a2"),
		"*4\r\n"+bulk(a)+bulk("small")+bulk(b+"x")+bulk(a))
	// A large key, a large value appended and pushed (copied, not taken),
	// SET over an existing string, SET ... GET.
	slow("SET large key", kvBulk("SET", k, b), "+OK\r\n")
	slow("GET large key", kvBulk("GET", k), bulk(b))
	slow("APPEND", kvBulk("APPEND", "s", a), fmt.Sprintf(":%d\r\n", 5+len(a)))
	slow("RPUSH", kvBulk("RPUSH", "l", a, b), ":2\r\n")
	slow("LRANGE", kvBulk("LRANGE", "l", "0", "-1"), "*2\r\n"+bulk(a)+bulk(b))
	slow("SET GET", kvBulk("SET", "a", b, "GET"), bulk(a))
	slow("GET a", kvBulk("GET", "a"), bulk(b))
	// Queued in MULTI, run by EXEC after the request's memory was freed.
	slow("MULTI", kvBulk("MULTI"), "+OK\r\n")
	slow("SET queued", kvBulk("SET", "q", a), "+QUEUED\r\n")
	slow("EXEC", kvBulk("EXEC"), "*1\r\n+OK\r\n")
	slow("GET q", kvBulk("GET", "q"), bulk(a))
	// Pipelined: two large SETs and a GET behind them in one stream.
	slow("pipeline", kvBulk("SET", "p", a)+kvBulk("SET", "p", b)+kvBulk("GET", "p"),
		"+OK\r\n+OK\r\n"+bulk(b))
	// A request past the input budget after a large value was assembled:
	// dropped as it arrives and refused, and the connection goes on.
	slow("MSET past the budget", kvBulk("MSET", "x", a, "y", strings.Repeat("y", 20000000)),
		"-OOM command not allowed when used memory > 'maxmemory'.\r\n")
	slow("EXISTS x", kvBulk("EXISTS", "x", "y"), ":0\r\n")
}
