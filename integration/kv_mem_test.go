package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnc/runnc/integration/testnet"
)

// kv's memory behaviour next to redis-server's (issue 11): the
// keyspace statistics and CLIENT LIST, maxmemory-policy allkeys-lru, and
// -OOM on every path that needs memory. Long runs are in
// hostile_long_test.go.

// kvInfoField reads one numeric field of INFO from a peer.
func kvInfoField(tb testing.TB, p *kvPeer, section, field string) int64 {
	tb.Helper()
	info := string(p.do(tb, "INFO", section))
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(field) + `:(\d+)\r$`).FindStringSubmatch(info)
	if m == nil {
		tb.Fatalf("%s: INFO %s has no %s:\n%s", p.name, section, field, info)
	}
	v, _ := strconv.ParseInt(m[1], 10, 64)
	return v
}

// keyspace_hits and keyspace_misses count the lookups of read commands
// exactly as redis-server does; CLIENT LIST names every client with its
// real address and the server's.
func TestKVMemStats(t *testing.T) {
	e, guest, redis := kvPeers(t)
	for _, p := range []*kvPeer{guest, redis} {
		p.do(t, "CONFIG", "RESETSTAT")
		for _, args := range [][]string{
			{"SET", "a", "1"}, {"RPUSH", "l", "x", "y"}, {"HSET", "h", "f", "v"},
			{"GET", "a"}, {"GET", "nope"}, {"MGET", "a", "nope", "a"},
			{"EXISTS", "a", "nope"}, {"LRANGE", "l", "0", "-1"}, {"LRANGE", "nol", "0", "-1"},
			{"HGET", "h", "f"}, {"HGET", "noh", "f"}, {"STRLEN", "a"}, {"TYPE", "nope"},
			{"INCR", "n"}, {"SET", "a", "2"}, {"DEL", "nope"}, {"LLEN", "l"},
		} {
			p.do(t, args...)
		}
	}
	for _, f := range []string{"keyspace_hits", "keyspace_misses"} {
		g, r := kvInfoField(t, guest, "stats", f), kvInfoField(t, redis, "stats", f)
		if g != r || g == 0 {
			t.Errorf("%s: guest %d, redis-server %d", f, g, r)
		}
	}

	for _, p := range []*kvPeer{guest, redis} {
		server := p.c.RemoteAddr().String()
		other, err := e.net.Dial("tcp", server, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		kvExchange(t, other, kvBulk("CLIENT", "SETNAME", "other"), "+OK\r\n")
		list := string(p.do(t, "CLIENT", "LIST"))
		for _, c := range []net.Conn{p.c, other} {
			want := fmt.Sprintf(" addr=%s laddr=%s ", c.LocalAddr(), server)
			if !strings.Contains(list, want) {
				t.Errorf("%s: CLIENT LIST lacks %q:\n%s", p.name, want, list)
			}
		}
		if !regexp.MustCompile(` name=other .* cmd=client\|setname `).MatchString(list) {
			t.Errorf("%s: CLIENT LIST lacks the other client's name and command:\n%s", p.name, list)
		}
		info := string(p.do(t, "CLIENT", "INFO"))
		if want := fmt.Sprintf(" addr=%s ", p.c.LocalAddr()); !strings.Contains(info, want) || strings.Contains(info, "name=other") {
			t.Errorf("%s: CLIENT INFO: %q, want only the caller", p.name, info)
		}
	}
}

// kvFillLRU SETs cold:N (10-byte values) in batches of 5000 and reads the
// hot keys back after each batch, so they stay the most recently used;
// it returns the first reply that was not +OK.
func kvFillLRU(tb testing.TB, c net.Conn, cold, hot int) string {
	tb.Helper()
	br := bufio.NewReader(c)
	const batch = 5000
	for done := 0; done < cold; done += batch {
		var req strings.Builder
		for i := 0; i < batch; i++ {
			req.WriteString(kvBulk("SET", fmt.Sprintf("cold:%d", done+i), "vvvvvvvvvv"))
		}
		for i := 0; i < hot; i++ {
			req.WriteString(kvBulk("GET", fmt.Sprintf("hot:%d", i)))
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := io.WriteString(c, req.String()); err != nil {
			tb.Fatalf("fill: %v", err)
		}
		for i := 0; i < batch+hot; i++ {
			reply, err := kvReadReply(br)
			if err != nil {
				tb.Fatalf("fill: reply %d: %v (the connection dropped)", done+i, err)
			}
			if i < batch && string(reply) != "+OK\r\n" {
				return string(reply)
			}
		}
	}
	return ""
}

// maxmemory-policy allkeys-lru: with memory full, writes keep succeeding
// while the least recently used keys go (evicted_keys counts them), and
// keys in use survive, as on redis-server with the same maxmemory.
// noeviction, the default, then refuses writes again.
func TestKVMemLRU(t *testing.T) {
	testnet.NeedRoot(t)
	spt := testnet.BuildOutput(t, "build/unikernels/kv/kv.spt")
	testnet.BuildOutput(t, "build/bin/runnc-spt")
	n, _ := testnet.StartService(t, "rm1", []string{"--mem=32"}, spt, "", 6379,
		"--maxmemory=16mb", "--maxmemory-policy=allkeys-lru")
	startRedisServer(t, n)
	const oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
	const hot, cold = 1000, 300000
	for _, s := range []struct{ name, addr string }{
		{"redis-server", net.JoinHostPort(n.HostIP, "6379")},
		{"guest", net.JoinHostPort(n.GuestIP, "6379")},
	} {
		t.Run(s.name, func(t *testing.T) {
			c, err := n.Dial("tcp", s.addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p := &kvPeer{name: s.name, c: c, r: bufio.NewReader(c)}
			if s.name == "redis-server" {
				p.do(t, "CONFIG", "SET", "maxmemory", "16mb", "maxmemory-policy", "allkeys-lru")
			}
			if got := string(p.do(t, "CONFIG", "GET", "maxmemory-policy")); got != "*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n" {
				t.Errorf("CONFIG GET maxmemory-policy: %q", got)
			}
			for i := 0; i < hot; i++ {
				p.do(t, "SET", fmt.Sprintf("hot:%d", i), "hhhhhhhhhh")
			}
			p.do(t, "CONFIG", "RESETSTAT")
			if refusal := kvFillLRU(t, c, cold, hot); refusal != "" {
				t.Fatalf("a write with allkeys-lru at maxmemory: %q", refusal)
			}
			evicted := kvInfoField(t, p, "stats", "evicted_keys")
			used := kvInfoField(t, p, "memory", "used_memory")
			keys, _ := kvInt(p.do(t, "DBSIZE"))
			hotLeft, kept := 0, ""
			for i := 0; i < hot; i++ {
				if k := fmt.Sprintf("hot:%d", i); string(p.do(t, "EXISTS", k)) == ":1\r\n" {
					hotLeft++
					kept = k
				}
			}
			t.Logf("%s: %d keys, %d evicted, used_memory %d, %d of %d hot keys left",
				s.name, keys, evicted, used, hotLeft, hot)
			// INFO's own replies may evict a few more (redis-server too).
			if evicted == 0 || keys+evicted > cold+hot || keys+evicted < (cold+hot)*99/100 {
				t.Errorf("%d keys and %d evicted after %d writes", keys, evicted, cold+hot)
			}
			if used > (16<<20)*101/100 {
				t.Errorf("used_memory %d above maxmemory 16mb", used)
			}
			// Evicting at random would keep about a third of the hot keys
			// (the share of keys that fit); the guest's LRU must keep 80%.
			// redis-server's figure is only logged: its LRU clock ticks in
			// seconds, so keys used within the same second tie, and on a
			// loaded machine it kept 761 (875 on the next run).
			if s.name == "guest" && hotLeft < hot*80/100 {
				t.Errorf("%d of %d keys in use survived the eviction", hotLeft, hot)
			}
			// Reads and deletes go on; noeviction refuses writes again.
			p.do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction")
			if _, refusal := kvFill(t, c, "more", 2000000); refusal != oom {
				t.Errorf("noeviction at the limit: %q, want %q", refusal, oom)
			}
			if got := string(p.do(t, "GET", kept)); kept != "" && got != "$10\r\nhhhhhhhhhh\r\n" {
				t.Errorf("GET %s when full: %q", kept, got)
			}
			p.do(t, "FLUSHALL")
			if got := string(p.do(t, "CONFIG", "SET", "maxmemory-policy", "volatile-lfu")); s.name == "guest" &&
				!strings.HasPrefix(got, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')") {
				t.Errorf("CONFIG SET maxmemory-policy volatile-lfu: %q, want an error", got)
			}
			if got := string(p.do(t, "CONFIG", "SET", "maxmemory-policy", "bogus")); !strings.HasPrefix(got,
				"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following:") {
				t.Errorf("CONFIG SET maxmemory-policy bogus: %q", got)
			}
			p.do(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
		})
	}
}

// kvAnswer sends one request and reads its reply with a generous limit,
// failing the test if the connection drops instead.
func kvAnswer(tb testing.TB, p *kvPeer, req string) string {
	tb.Helper()
	p.c.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := io.WriteString(p.c, req); err != nil {
		tb.Fatalf("%s: write: %v", p.name, err)
	}
	got, err := kvReadReply(p.r)
	if err != nil {
		tb.Fatalf("%s: no answer (%v) after %.60q: the connection dropped", p.name, err, req)
	}
	return string(got)
}

const kvOOM = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

// kvMemPeer is one server under a memory test, redialled for each case:
// redis-server keeps a client's grown query buffer until the client goes.
type kvMemPeer struct {
	t          *testing.T
	e          *kvEnv
	name, addr string
	limit      int // most small keys to try
	p          *kvPeer
}

// newKVMemPeer dials the server, empties it, and gives redis-server the
// maxmemory the guest has.
func newKVMemPeer(t *testing.T, e *kvEnv, name, addr, redisMaxmemory string, limit int) *kvMemPeer {
	m := &kvMemPeer{t: t, e: e, name: name, addr: addr, limit: limit}
	m.dial()
	m.p.do(t, "FLUSHALL")
	if name == "redis-server" {
		m.p.do(t, "CONFIG", "SET", "maxmemory", redisMaxmemory)
	}
	return m
}

func (m *kvMemPeer) dial() {
	if m.p != nil {
		m.p.c.Close()
	}
	c := dialFor(m.t, m.e.net, m.addr, 10*time.Minute)
	m.p = &kvPeer{name: m.name, c: c, r: bufio.NewReader(c)}
}

// capacity counts the small keys that fit until -OOM, on a new
// connection, and leaves the server empty, answering PING.
func (m *kvMemPeer) capacity(what string) int {
	m.t.Helper()
	m.dial()
	m.p.do(m.t, "FLUSHALL")
	n, refusal := kvFill(m.t, m.p.c, "small", m.limit)
	if refusal != kvOOM {
		m.t.Fatalf("%s: small keys: %d, then %q", what, n, refusal)
	}
	m.dial()
	m.p.do(m.t, "FLUSHALL")
	if got := kvAnswer(m.t, m.p, "PING\r\n"); got != "+PONG\r\n" {
		m.t.Fatalf("%s: PING: %q", what, got)
	}
	return n
}

// same checks as many small keys fit after a case as before it (1%) in
// the guest. redis-server's figure is logged only: jemalloc's
// fragmentation after big values moves it by about 1% from run to run,
// and the promise under test is the guest's.
func (m *kvMemPeer) same(what string, before int) {
	m.t.Helper()
	n := m.capacity("after " + what)
	if n >= before*99/100 && n <= before*101/100 {
		return
	}
	if m.name == "redis-server" {
		m.t.Logf("after %s: %d small keys fit in redis-server, before %d", what, n, before)
		return
	}
	m.t.Errorf("after %s: %d small keys fit, before %d", what, n, before)
}

// kvMemEach runs body against redis-server (with maxmemory
// redisMaxmemory) and the guest, each with the small keys that fit
// (at most limit) counted first.
func kvMemEach(t *testing.T, e *kvEnv, redisMaxmemory string, limit int,
	body func(t *testing.T, m *kvMemPeer, first int)) {
	for _, s := range []struct{ name, addr string }{
		{"redis-server", net.JoinHostPort(e.net.HostIP, "6379")},
		{"guest", e.addr},
	} {
		t.Run(s.name, func(t *testing.T) {
			m := newKVMemPeer(t, e, s.name, s.addr, redisMaxmemory, limit)
			body(t, m, m.capacity("before"))
		})
	}
}

// kvSetUntilOOM stores big:0, big:1, ... (size bytes each, sent by set)
// until -OOM, and checks that at least one was stored and reads back.
func kvSetUntilOOM(t *testing.T, p *kvPeer, size int, set func(key string) string) {
	t.Helper()
	stored := 0
	for ; ; stored++ {
		got := set(fmt.Sprintf("big:%d", stored))
		if got == kvOOM {
			break
		}
		if got != "+OK\r\n" || stored > 100 {
			t.Fatalf("SET of a %d-byte value, %d stored: %q", size, stored, got)
		}
	}
	t.Logf("%s: %d values of %d bytes, then -OOM", p.name, stored, size)
	if got := kvAnswer(t, p, kvBulk("STRLEN", "big:0")); got != fmt.Sprintf(":%d\r\n", size) {
		t.Errorf("STRLEN big:0 when full: %q", got)
	}
}

// Every path that needs memory answers -OOM (or the data) at --mem=32,
// never a silent close, next to redis-server with maxmemory 24mb: big
// values, a list grown until full, and LRANGE of a 10 MB list (streamed
// as the client reads it). After each case the server still answers
// PING and as many small keys fit as before.
func TestKVMemPaths(t *testing.T) {
	e := startKV(t, "--mem=32")
	startRedisServer(t, e.net)
	kvMemEach(t, e, "24mb", 2000000, func(t *testing.T, m *kvMemPeer, first int) {
		// Big values until full.
		big := strings.Repeat("b", 4<<20)
		kvSetUntilOOM(t, m.p, len(big), func(key string) string {
			return kvAnswer(t, m.p, kvBulk("SET", key, big))
		})
		// A value larger than the whole memory: refused, not stored.
		huge := kvAnswer(t, m.p, kvBulk("SET", "huge", strings.Repeat("h", 40<<20)))
		if huge != kvOOM {
			t.Errorf("SET of 40 MB: %q, want %q", huge, kvOOM)
		}
		m.same("big values", first)

		// One list grown until full.
		var elems []string
		for i := 0; i < 1000; i++ {
			elems = append(elems, fmt.Sprintf("%0100d", i))
		}
		push := kvBulk(append([]string{"RPUSH", "list"}, elems...)...)
		var pushed int
		for {
			got := kvAnswer(t, m.p, push)
			if got == kvOOM {
				break
			}
			if !strings.HasPrefix(got, ":") {
				t.Fatalf("RPUSH after %d elements: %q", pushed, got)
			}
			pushed += len(elems)
		}
		t.Logf("%s: a list of %d elements, then -OOM", m.name, pushed)
		if got := kvAnswer(t, m.p, kvBulk("LLEN", "list")); got != fmt.Sprintf(":%d\r\n", pushed) {
			t.Errorf("LLEN when full: %q, want %d", got, pushed)
		}
		m.same("list growth", first)

		// LRANGE of a 10 MB list: the data, and the server goes on.
		for i := 0; i < 100; i++ {
			if got := kvAnswer(t, m.p, push); got != fmt.Sprintf(":%d\r\n", (i+1)*len(elems)) {
				t.Fatalf("RPUSH for the 10 MB list: %q", got)
			}
		}
		for round := 0; round < 2; round++ {
			got := kvAnswer(t, m.p, kvBulk("LRANGE", "list", "0", "-1"))
			want := fmt.Sprintf("*%d\r\n", 100*len(elems))
			if !strings.HasPrefix(got, want) || len(got) != len(want)+100*len(elems)*(100+2+6) ||
				!strings.HasSuffix(got, "$100\r\n"+elems[len(elems)-1]+"\r\n") {
				t.Fatalf("LRANGE of the 10 MB list: %d bytes: %.60q", len(got), got)
			}
		}
		// Pipelined behind it, in order.
		got := kvAnswer(t, m.p, kvBulk("LRANGE", "list", "0", "-1")+kvBulk("LLEN", "list")+"PING\r\n")
		if !strings.HasPrefix(got, "*100000\r\n") {
			t.Fatalf("LRANGE pipelined: %.60q", got)
		}
		if got := kvAnswer(t, m.p, ""); got != ":100000\r\n" {
			t.Errorf("LLEN behind LRANGE: %q", got)
		}
		if got := kvAnswer(t, m.p, ""); got != "+PONG\r\n" {
			t.Errorf("PING behind LRANGE: %q", got)
		}
		m.same("LRANGE", first)

		// HGETALL of a 6 MB hash with memory full of small keys:
		// redis-server answers the data; the guest the data or
		// -OOM when it cannot hold the reply, never a close.
		hset := []string{"HSET", "hash"}
		for i := 0; i < 1000; i++ {
			hset = append(hset, "", elems[i])
		}
		for i := 0; i < 60; i++ {
			for j := 0; j < 1000; j++ {
				hset[2+2*j] = fmt.Sprintf("f%d", i*1000+j)
			}
			if got := kvAnswer(t, m.p, kvBulk(hset...)); got != ":1000\r\n" {
				t.Fatalf("HSET for the 6 MB hash: %q", got)
			}
		}
		if n, refusal := kvFill(t, m.p.c, "fill", 2000000); refusal != kvOOM {
			t.Fatalf("filling around the hash: %d, then %q", n, refusal)
		}
		got = kvAnswer(t, m.p, kvBulk("HGETALL", "hash"))
		t.Logf("%s: HGETALL with memory full: %d bytes, %.40q", m.name, len(got), got)
		if got != kvOOM && (!strings.HasPrefix(got, "*120000\r\n") || len(got) < 6000000) {
			t.Errorf("HGETALL with memory full: %d bytes: %.60q", len(got), got)
		}
		if got := kvAnswer(t, m.p, "PING\r\n"); got != "+PONG\r\n" {
			t.Errorf("PING after HGETALL: %q", got)
		}
		m.same("HGETALL", first)
	})
}

// A streamed reply is the value as it was when the command ran, as
// redis-server's is: another client deleting or rewriting the key, or the
// key being evicted, while the reply is still going out changes nothing
// in it.
func TestKVMemStreamSnapshot(t *testing.T) {
	e, guest, redis := kvPeers(t)
	var elems []string
	for i := 0; i < 1000; i++ {
		elems = append(elems, fmt.Sprintf("%0100d", i))
	}
	value := strings.Repeat("v", 20<<20)
	for _, p := range []*kvPeer{redis, guest} {
		t.Run(p.name, func(t *testing.T) {
			// 200k elements: 21 MB, more than the client's socket buffers
			// take, so the guest is still streaming when the others write.
			for i := 0; i < 200; i++ {
				p.do(t, append([]string{"RPUSH", "list"}, elems...)...)
			}
			p.do(t, "SET", "str", value)
			p.do(t, "SET", "exp", value)
			reader := func(req string) net.Conn {
				c, err := e.net.Dial("tcp", p.c.RemoteAddr().String(), 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				if _, err := io.WriteString(c, req+"PING\r\n"); err != nil {
					t.Fatal(err)
				}
				return c
			}
			list := reader(kvBulk("LRANGE", "list", "0", "-1"))
			str := reader(kvBulk("GET", "str"))
			exp := reader(kvBulk("GET", "exp"))
			time.Sleep(200 * time.Millisecond)
			if got := string(p.do(t, "DEL", "list")); got != ":1\r\n" {
				t.Errorf("DEL list: %q", got)
			}
			p.do(t, "RPUSH", "list", "new")
			if got := string(p.do(t, "APPEND", "str", "more")); got != fmt.Sprintf(":%d\r\n", len(value)+4) {
				t.Errorf("APPEND str: %q", got)
			}
			// Evicted (no command names it): everything goes.
			p.do(t, "CONFIG", "SET", "maxmemory-policy", "allkeys-random", "maxmemory", "1mb")
			p.do(t, "PING")
			p.do(t, "CONFIG", "SET", "maxmemory-policy", "noeviction", "maxmemory", "0")
			if got := string(p.do(t, "DBSIZE")); got != ":0\r\n" {
				t.Errorf("DBSIZE after evicting all: %q", got)
			}
			// New data, likely where the old value was (the request's
			// buffer fits in its block).
			p.do(t, "SET", "other", strings.Repeat("w", len(value)-4096))

			var want strings.Builder
			fmt.Fprintf(&want, "*%d\r\n", 200*len(elems))
			for i := 0; i < 200; i++ {
				for _, el := range elems {
					fmt.Fprintf(&want, "$%d\r\n%s\r\n", len(el), el)
				}
			}
			want.WriteString("+PONG\r\n")
			for _, r := range []struct {
				what string
				c    net.Conn
				want string
			}{
				{"LRANGE", list, want.String()},
				{"GET", str, fmt.Sprintf("$%d\r\n%s\r\n+PONG\r\n", len(value), value)},
				{"GET then eviction", exp, fmt.Sprintf("$%d\r\n%s\r\n+PONG\r\n", len(value), value)},
			} {
				got := make([]byte, len(r.want))
				r.c.SetReadDeadline(time.Now().Add(time.Minute))
				n, err := io.ReadFull(r.c, got)
				if err != nil || string(got) != r.want {
					i := 0
					for i < n && got[i] == r.want[i] {
						i++
					}
					t.Errorf("%s while others write: %d of %d bytes (%v), first difference at %d", r.what, n, len(r.want), err, i)
				}
			}
			p.do(t, "FLUSHALL")
		})
	}
}
