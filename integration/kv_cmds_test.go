package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The commands tools need (issue 11), each sent to the kv guest and to
// redis-server on the same test network, one connection each, in the same
// order: the replies must be the same bytes. Cases whose answer depends on
// the clock or on chance compare a reduced form (kvCmdCase.how).

// How a kvCmdCase's replies are compared.
const (
	kvSame  = iota // byte for byte
	kvTime         // TIME: two decimal bulk strings, seconds within 5 of each other
	kvTTLIn        // an integer in [lo, hi] from both (lo, hi in args of the case)
)

type kvCmdCase struct {
	args   []string
	how    int
	lo, hi int64
}

func same(args ...string) kvCmdCase { return kvCmdCase{args: args} }

// ttlIn: both answer an integer within [lo, hi] (a TTL that may tick).
func ttlIn(lo, hi int64, args ...string) kvCmdCase {
	return kvCmdCase{args: args, how: kvTTLIn, lo: lo, hi: hi}
}

// kvReadReply reads one RESP2 reply and returns its raw bytes.
func kvReadReply(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return line, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return line, fmt.Errorf("bad reply line %q", line)
	}
	out := append([]byte(nil), line...)
	n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '$':
		if n < 0 {
			return out, nil
		}
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return out, err
		}
		out = append(out, body...)
	case '*':
		for i := 0; i < n; i++ {
			el, err := kvReadReply(r)
			out = append(out, el...)
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// kvPeer is one server under comparison.
type kvPeer struct {
	name string
	c    net.Conn
	r    *bufio.Reader
}

func (p *kvPeer) do(tb testing.TB, args ...string) []byte {
	tb.Helper()
	p.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(p.c, kvBulk(args...)); err != nil {
		tb.Fatalf("%s: %v", p.name, err)
	}
	got, err := kvReadReply(p.r)
	if err != nil {
		tb.Fatalf("%s: %s: %v (read %q)", p.name, strings.Join(args, " "), err, got)
	}
	return got
}

// kvPeers dials the guest and redis-server (started here) from the client
// netns; both start with FLUSHALL.
func kvPeers(t *testing.T) (e *kvEnv, guest, redis *kvPeer) {
	e = startKV(t)
	startRedisServer(t, e.net)
	guest, redis = e.peer(t, "guest", e.addr), e.peer(t, "redis-server", kvRedisAddr(e))
	guest.do(t, "FLUSHALL")
	redis.do(t, "FLUSHALL")
	return e, guest, redis
}

// kvRedisAddr is where kvPeers' redis-server listens.
func kvRedisAddr(e *kvEnv) string { return net.JoinHostPort(e.net.HostIP, "6379") }

// peer opens one more connection, to the guest or to redis-server at addr.
func (e *kvEnv) peer(t *testing.T, name, addr string) *kvPeer {
	t.Helper()
	c, err := e.net.Dial("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return &kvPeer{name: name, c: c, r: bufio.NewReader(c)}
}

func kvInt(b []byte) (int64, bool) {
	s := string(b)
	if !strings.HasPrefix(s, ":") || !strings.HasSuffix(s, "\r\n") {
		return 0, false
	}
	v, err := strconv.ParseInt(s[1:len(s)-2], 10, 64)
	return v, err == nil
}

// kvTimeSecs parses TIME's reply: the seconds, and whether it has the shape.
func kvTimeSecs(b []byte) (int64, bool) {
	parts := strings.Split(string(b), "\r\n")
	// *2, $n, secs, $n, usecs, ""
	if len(parts) != 6 || parts[0] != "*2" {
		return 0, false
	}
	secs, err1 := strconv.ParseInt(parts[2], 10, 64)
	usecs, err2 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil || usecs < 0 || usecs > 999999 ||
		parts[1] != "$"+strconv.Itoa(len(parts[2])) || parts[3] != "$"+strconv.Itoa(len(parts[4])) {
		return 0, false
	}
	return secs, true
}

func runKVCmdCases(t *testing.T, guest, redis *kvPeer, cases []kvCmdCase) {
	t.Helper()
	for _, k := range cases {
		g, r := guest.do(t, k.args...), redis.do(t, k.args...)
		cmd := strings.Join(k.args, " ")
		switch k.how {
		case kvSame:
			if !bytes.Equal(g, r) {
				t.Errorf("%s:\nguest        %q\nredis-server %q", cmd, g, r)
			}
		case kvTime:
			gs, gok := kvTimeSecs(g)
			rs, rok := kvTimeSecs(r)
			if !gok || !rok || gs-rs > 5 || rs-gs > 5 {
				t.Errorf("%s:\nguest        %q\nredis-server %q", cmd, g, r)
			}
		case kvTTLIn:
			gv, gok := kvInt(g)
			rv, rok := kvInt(r)
			if !gok || !rok || gv < k.lo || gv > k.hi || rv < k.lo || rv > k.hi {
				t.Errorf("%s: want an integer in [%d, %d] from both:\nguest        %q\nredis-server %q",
					cmd, k.lo, k.hi, g, r)
			}
		}
	}
}

// TestKVCmds: TIME, GETRANGE/SETRANGE, INCRBYFLOAT, EXPIREAT/PEXPIREAT.
func TestKVCmds(t *testing.T) {
	_, guest, redis := kvPeers(t)
	now := time.Now().Unix()
	in100 := strconv.FormatInt(now+100, 10)
	in100ms := strconv.FormatInt((now+100)*1000, 10)
	past := strconv.FormatInt(now-100, 10)
	cases := []kvCmdCase{
		{args: []string{"TIME"}, how: kvTime},
		same("TIME", "x"),
		// GETRANGE / SUBSTR
		same("SET", "s", "Hello, world"),
		same("GETRANGE", "s", "0", "4"),
		same("GETRANGE", "s", "-5", "-1"),
		same("GETRANGE", "s", "-1", "-5"),
		same("GETRANGE", "s", "5", "2"),
		same("GETRANGE", "s", "-100", "100"),
		same("GETRANGE", "s", "0", "-100"),
		same("GETRANGE", "s", "100", "200"),
		same("GETRANGE", "nosuch", "0", "-1"),
		same("GETRANGE", "s", "a", "1"),
		same("GETRANGE", "s", "0"),
		same("SUBSTR", "s", "7", "-1"),
		// SETRANGE
		same("SETRANGE", "s", "7", "Redis"),
		same("GET", "s"),
		same("SETRANGE", "s", "20", "!"),
		same("GET", "s"),
		same("SETRANGE", "s", "0", ""),
		same("SETRANGE", "fresh", "3", "abc"),
		same("GET", "fresh"),
		same("SETRANGE", "empty", "5", ""),
		same("EXISTS", "empty"),
		same("SETRANGE", "s", "-1", "x"),
		same("SETRANGE", "s", "536870911", "xx"),
		same("RPUSH", "l", "a"),
		same("SETRANGE", "l", "0", "x"),
		same("GETRANGE", "l", "0", "1"),
		// INCRBYFLOAT
		same("SET", "f", "10.50"),
		same("INCRBYFLOAT", "f", "0.1"),
		same("INCRBYFLOAT", "f", "-5"),
		same("INCRBYFLOAT", "f", "5.0e3"),
		same("INCRBYFLOAT", "newf", "3.0"),
		same("INCRBYFLOAT", "newf", "-3"),
		same("GET", "newf"),
		same("INCRBYFLOAT", "f", "abc"),
		same("INCRBYFLOAT", "f", " 1"),
		same("INCRBYFLOAT", "s", "1"),
		same("INCRBYFLOAT", "l", "1"),
		// 2^63 twice: at 2^64 and above the integer digits are printed in
		// full (more in TestKVCmdsIncrByFloat).
		same("SET", "big", "9223372036854775808"),
		same("INCRBYFLOAT", "big", "9223372036854775808"),
		same("INCRBYFLOAT", "big", "9223372036854775808"),
		same("INCRBYFLOAT", "big", "-0.5"),
		same("SET", "i", "3"),
		same("INCRBYFLOAT", "i", "1.5"),
		same("INCRBYFLOAT", "i", "-0.25"),
		same("INCRBYFLOAT", "f", "nan"),
		same("INCRBYFLOAT", "f", "inf"),
		// EXPIREAT / PEXPIREAT
		same("SET", "e", "v"),
		same("EXPIREAT", "e", in100),
		ttlIn(98, 100, "TTL", "e"),
		same("EXPIREAT", "e", in100, "NX"),
		same("EXPIREAT", "e", in100, "XX"),
		same("PEXPIREAT", "e", in100ms, "GT"),
		same("PEXPIREAT", "e", in100ms),
		ttlIn(98000, 100000, "PTTL", "e"),
		same("EXPIREAT", "e", "x"),
		same("EXPIREAT", "e", in100, "YY"),
		same("EXPIREAT", "nosuch", in100),
		same("EXPIREAT", "e", past),
		same("EXISTS", "e"),
		same("SET", "e2", "v"),
		same("PEXPIREAT", "e2", "0"),
		same("EXISTS", "e2"),
		same("EXPIREAT", "e2"),
	}
	runKVCmdCases(t, guest, redis, cases)
}

// kvMembers parses an array of bulk strings.
func kvMembers(b []byte) ([]string, bool) {
	r := bufio.NewReader(bytes.NewReader(b))
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "*") {
		return nil, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line[1:], "\r\n"))
	if err != nil {
		return nil, false
	}
	var out []string
	for i := 0; i < n; i++ {
		el, err := kvReadReply(r)
		if err != nil || len(el) < 4 || el[0] != '$' {
			return nil, false
		}
		_, body, _ := strings.Cut(string(el), "\r\n")
		out = append(out, strings.TrimSuffix(body, "\r\n"))
	}
	return out, true
}

// TestKVCmdsSet: SET EXAT/PXAT/GET/KEEPTTL, SRANDMEMBER count, OBJECT
// ENCODING.
func TestKVCmdsSet(t *testing.T) {
	_, guest, redis := kvPeers(t)
	now := time.Now().Unix()
	in100 := strconv.FormatInt(now+100, 10)
	in100ms := strconv.FormatInt((now+100)*1000, 10)
	past := strconv.FormatInt(now-100, 10)
	long := strings.Repeat("x", 45)
	runKVCmdCases(t, guest, redis, []kvCmdCase{
		same("SET", "a", "1", "EXAT", in100),
		ttlIn(98, 100, "TTL", "a"),
		same("SET", "a", "2", "PXAT", in100ms, "GET"),
		ttlIn(98000, 100000, "PTTL", "a"),
		same("SET", "a", "3", "KEEPTTL", "GET"),
		ttlIn(98, 100, "TTL", "a"),
		same("SET", "a", "4", "EXAT", past, "GET"),
		same("EXISTS", "a"),
		same("SET", "a", "5", "PXAT", "0"),
		same("SET", "a", "5", "EXAT", "-1"),
		same("SET", "a", "5", "EXAT", "x"),
		same("SET", "a", "5", "EXAT", in100, "PX", "100"),
		same("SET", "a", "5", "EXAT", in100, "KEEPTTL"),
		same("SET", "a", "5", "KEEPTTL", "PXAT", in100ms),
		same("SET", "a", "5", "EXAT"),
		same("SET", "a", "6", "NX", "EXAT", in100),
		same("SET", "a", "7", "NX", "EXAT", in100, "GET"),
		same("SET", "a", "8", "XX", "PXAT", in100ms, "GET"),
		// SRANDMEMBER: errors and empty cases byte for byte
		same("SADD", "s", "a", "b", "c", "d", "e"),
		same("SRANDMEMBER", "s", "0"),
		same("SRANDMEMBER", "nosuch", "3"),
		same("SRANDMEMBER", "nosuch"),
		same("SRANDMEMBER", "s", "x"),
		same("SRANDMEMBER", "s", "1", "2"),
		same("SRANDMEMBER", "a", "2"),
		// OBJECT ENCODING
		same("SET", "int", "12345"),
		same("SET", "emb", "hello"),
		same("SET", "raw", long),
		same("SET", "neg", "-17"),
		same("SET", "lead", "012"),
		same("OBJECT", "ENCODING", "int"),
		same("OBJECT", "ENCODING", "emb"),
		same("OBJECT", "ENCODING", "raw"),
		same("OBJECT", "ENCODING", "neg"),
		same("OBJECT", "ENCODING", "lead"),
		same("OBJECT", "ENCODING", "nosuch"),
		same("OBJECT", "ENCODING"),
		same("OBJECT", "NOSUCH", "x"),
		same("RPUSH", "l", "a", "b"),
		same("OBJECT", "ENCODING", "l"),
		same("SADD", "is", "1", "2", "-3"),
		same("OBJECT", "ENCODING", "is"),
		same("OBJECT", "ENCODING", "s"),
		same("HSET", "h", "f", "v"),
		same("OBJECT", "ENCODING", "h"),
		same("HSET", "hbig", "f", long+long),
		same("OBJECT", "ENCODING", "hbig"),
		same("ZADD", "z", "1", "m"),
		same("OBJECT", "ENCODING", "z"),
		same("ZADD", "zbig", "1", long+long),
		same("OBJECT", "ENCODING", "zbig"),
	})
	// SRANDMEMBER with a count is random: compare sizes and membership.
	set := map[string]bool{"a": true, "b": true, "c": true, "d": true, "e": true}
	for _, count := range []int{3, 5, 10, -3, -10} {
		for _, p := range []*kvPeer{guest, redis} {
			got, ok := kvMembers(p.do(t, "SRANDMEMBER", "s", strconv.Itoa(count)))
			want := count
			if want < 0 {
				want = -want
			} else if want > len(set) {
				want = len(set)
			}
			seen := map[string]bool{}
			for _, m := range got {
				if !set[m] || (count > 0 && seen[m]) {
					ok = false
				}
				seen[m] = true
			}
			if !ok || len(got) != want {
				t.Errorf("%s: SRANDMEMBER s %d: %q, want %d members of the set%s", p.name, count, got, want,
					map[bool]string{true: ", distinct", false: ""}[count > 0])
			}
		}
	}
}

// kvScanAll runs a full SCAN iteration with the given options and returns
// the keys and how many times each came.
func kvScanAll(t *testing.T, p *kvPeer, opts ...string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := "0"
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatalf("%s: SCAN %v does not end", p.name, opts)
		}
		reply := p.do(t, append([]string{"SCAN", cursor}, opts...)...)
		r := bufio.NewReader(bytes.NewReader(reply))
		if line, _ := r.ReadString('\n'); line != "*2\r\n" {
			t.Fatalf("%s: SCAN %s: %q", p.name, cursor, reply)
		}
		cur, err := kvReadReply(r)
		rest, err2 := io.ReadAll(r)
		keys, ok := kvMembers(rest)
		if err != nil || err2 != nil || !ok {
			t.Fatalf("%s: SCAN %s: %q", p.name, cursor, reply)
		}
		_, body, _ := strings.Cut(string(cur), "\r\n")
		cursor = strings.TrimSuffix(body, "\r\n")
		for _, k := range keys {
			seen[k]++
		}
		if cursor == "0" {
			return seen
		}
	}
}

// TestKVCmdsTTLIdle: TTLs count the time the server slept. kv reads the
// clock once per round of its event loop, when it wakes, not per request:
// a request after 500 ms of quiet must see those 500 ms, so a 100 s PTTL
// is down by at least that much (to 99,510 ms at most: 500 less the two
// readings' truncation to whole milliseconds and the time from a round's
// clock read to its reading of the frame), a 300 ms PX key is gone, and
// after 700 ms more a 1 s SETEX key too, while a key given 100 s again
// with PEXPIRE after the first pause has lost the second, on the guest as
// on redis-server. The
// timeout option's idle clock is checked by TestHostileKVConfig.
func TestKVCmdsTTLIdle(t *testing.T) {
	_, guest, redis := kvPeers(t)
	runKVCmdCases(t, guest, redis, []kvCmdCase{
		same("SET", "long", "v", "PX", "100000"),
		same("SET", "short", "v", "PX", "300"),
		same("SETEX", "second", "1", "v"),
	})
	time.Sleep(500 * time.Millisecond)
	runKVCmdCases(t, guest, redis, []kvCmdCase{
		ttlIn(1, 99510, "PTTL", "long"),
		same("GET", "short"),
		same("PEXPIRE", "long", "100000"),
	})
	time.Sleep(700 * time.Millisecond)
	runKVCmdCases(t, guest, redis, []kvCmdCase{
		same("EXISTS", "second"),
		same("GET", "short"),
		ttlIn(1, 99310, "PTTL", "long"),
	})
}

// TestKVCmdsScan: SCAN (MATCH, COUNT, TYPE, redis-cli --scan) returns the
// keys redis-server returns for the same data, each exactly once, and
// MEMORY USAGE answers where redis-server does.
func TestKVCmdsScan(t *testing.T) {
	e, guest, redis := kvPeers(t)
	var load []kvCmdCase
	for i := 0; i < 300; i++ {
		load = append(load, same("SET", fmt.Sprintf("key:%d", i), "v"))
	}
	for i := 0; i < 20; i++ {
		load = append(load, same("RPUSH", fmt.Sprintf("list:%d", i), "a"),
			same("SADD", fmt.Sprintf("set:%d", i), "a"),
			same("HSET", fmt.Sprintf("hash:%d", i), "f", "v"),
			same("ZADD", fmt.Sprintf("zset:%d", i), "1", "m"))
	}
	load = append(load, same("DBSIZE"),
		same("SCAN", "x"), same("SCAN", "0", "COUNT", "0"), same("SCAN", "0", "COUNT", "x"),
		same("SCAN", "0", "MATCH"), same("SCAN", "0", "NOSUCH", "1"),
		same("SELECT", "5"), same("SCAN", "0"), same("SELECT", "0"),
		same("MEMORY", "USAGE", "nosuch"), same("MEMORY", "USAGE"),
		same("MEMORY", "USAGE", "key:1", "SAMPLES"), same("MEMORY", "USAGE", "key:1", "SAMPLES", "x"),
		same("MEMORY", "NOSUCH"))
	runKVCmdCases(t, guest, redis, load)
	for _, opts := range [][]string{nil, {"COUNT", "1"}, {"COUNT", "1000"},
		{"MATCH", "key:1*"}, {"MATCH", "*:1?", "COUNT", "3"}, {"TYPE", "list"},
		{"TYPE", "zset", "MATCH", "zset:1*"}, {"TYPE", "nosuch"}} {
		g, r := kvScanAll(t, guest, opts...), kvScanAll(t, redis, opts...)
		for k, n := range g {
			if n != 1 || r[k] != 1 {
				t.Errorf("SCAN %v: key %q came %d times from the guest, %d from redis-server", opts, k, n, r[k])
			}
		}
		for k := range r {
			if g[k] == 0 {
				t.Errorf("SCAN %v: key %q missing from the guest", opts, k)
			}
		}
	}
	// redis-cli --scan lists every key once; DBSIZE agrees.
	keys := strings.Split(strings.TrimSpace(string(e.cli(t, nil, "--scan"))), "\n")
	uniq := map[string]bool{}
	for _, k := range keys {
		uniq[k] = true
	}
	if len(keys) != 380 || len(uniq) != 380 {
		t.Errorf("redis-cli --scan: %d lines, %d distinct, want 380", len(keys), len(uniq))
	}
	if got := string(e.cli(t, nil, "--scan", "--pattern", "set:*")); strings.Count(got, "\n") != 20 {
		t.Errorf("redis-cli --scan --pattern set:*: %q", got)
	}
	// MEMORY USAGE: an integer for every type (redis-server's figure is its
	// allocator's, so only the kind of reply is compared).
	for _, k := range []string{"key:1", "list:1", "set:1", "hash:1", "zset:1"} {
		g, r := guest.do(t, "MEMORY", "USAGE", k), redis.do(t, "MEMORY", "USAGE", k, "SAMPLES", "0")
		if gv, ok := kvInt(g); !ok || gv < int64(len(k)) {
			t.Errorf("guest: MEMORY USAGE %s: %q", k, g)
		}
		if _, ok := kvInt(r); !ok {
			t.Errorf("redis-server: MEMORY USAGE %s: %q", k, r)
		}
	}
}

// TestKVCmdsMulti: MULTI/EXEC/DISCARD queue and run as redis-server's.
func TestKVCmdsMulti(t *testing.T) {
	_, guest, redis := kvPeers(t)
	runKVCmdCases(t, guest, redis, []kvCmdCase{
		same("EXEC"), same("DISCARD"),
		same("MULTI"), same("SET", "a", "1"), same("INCR", "a"), same("LPUSH", "a", "x"),
		same("GET", "a"), same("EXEC"),
		same("GET", "a"),
		same("MULTI"), same("MULTI"), same("SET", "b", "1"), same("DISCARD"),
		same("EXISTS", "b"), same("EXEC"),
		same("MULTI"), same("SET", "b", "1"), same("NOSUCHCMD", "x"), same("EXEC"),
		same("EXISTS", "b"),
		same("MULTI"), same("SET", "b"), same("SET", "b", "2"), same("EXEC"),
		same("EXISTS", "b"),
		same("MULTI"), same("EXEC"),
		same("MULTI"), same("SET", "c", "x y\r\nz"), same("GETRANGE", "c", "0", "-1"),
		same("SCAN", "0", "MATCH", "c"), same("EXEC"),
	})
}

// A step of a two-client case: which connection sends it (0 or 1), or a
// pause (args == nil) for keys to expire.
type kvStep struct {
	conn  int
	args  []string
	pause time.Duration
}

func on(conn int, args ...string) kvStep { return kvStep{conn: conn, args: args} }

// runKVSteps runs steps on two connections to the guest and two to
// redis-server; each reply must be the same bytes from both.
func runKVSteps(t *testing.T, guest, redis [2]*kvPeer, steps []kvStep) {
	t.Helper()
	for i, st := range steps {
		if st.args == nil {
			time.Sleep(st.pause)
			continue
		}
		g, r := guest[st.conn].do(t, st.args...), redis[st.conn].do(t, st.args...)
		if !bytes.Equal(g, r) {
			t.Errorf("step %d, client %d: %s:\nguest        %q\nredis-server %q",
				i, st.conn, strings.Join(st.args, " "), g, r)
		}
	}
}

// TestKVCmdsWatch: WATCH/UNWATCH with MULTI/EXEC, one client watching and
// another writing, on the guest and on redis-server: EXEC answers nil
// after a watched key was written, deleted or expired, and runs otherwise
// (writes that change nothing, other databases, keys that had expired
// before WATCH).
func TestKVCmdsWatch(t *testing.T) {
	e, g0, r0 := kvPeers(t)
	guest := [2]*kvPeer{g0, e.peer(t, "guest (2nd client)", e.addr)}
	redis := [2]*kvPeer{r0, e.peer(t, "redis-server (2nd client)", kvRedisAddr(e))}
	// tx: client 0 watches key, client 1 runs write, client 0's
	// transaction follows (EXEC nil if write touched key).
	tx := func(key string, write ...string) []kvStep {
		return []kvStep{on(0, "WATCH", key), on(1, write...), on(0, "MULTI"),
			on(0, "INCR", "tx"), on(0, "EXEC")}
	}
	steps := []kvStep{
		on(0, "WATCH"), on(0, "UNWATCH", "x"), on(0, "UNWATCH"),
		on(0, "MULTI"), on(0, "WATCH", "k"), on(0, "SET", "a", "1"), on(0, "EXEC"),
		on(0, "MULTI"), on(0, "WATCH"), on(0, "EXEC"),
		on(0, "MULTI"), on(0, "UNWATCH"), on(0, "EXEC"),
		// Written by another client: nil; the watches are gone after EXEC.
		on(0, "SET", "k", "v"),
		on(0, "WATCH", "k", "other"), on(1, "SET", "k", "v2"), on(0, "MULTI"),
		on(0, "SET", "r", "x"), on(0, "EXEC"), on(0, "GET", "r"),
		on(1, "SET", "k", "v3"), on(0, "MULTI"), on(0, "SET", "r", "y"), on(0, "EXEC"),
		// Untouched, or written by the watching client itself.
		on(0, "WATCH", "k"), on(0, "MULTI"), on(0, "INCR", "n"), on(0, "EXEC"),
		on(0, "WATCH", "k"), on(0, "SET", "k", "mine"), on(0, "MULTI"), on(0, "EXEC"),
		// UNWATCH, DISCARD and EXEC clear the watches; EXEC without MULTI
		// does not.
		on(0, "WATCH", "k"), on(1, "SET", "k", "1"), on(0, "UNWATCH"), on(0, "MULTI"),
		on(0, "GET", "k"), on(0, "EXEC"),
		on(0, "WATCH", "k"), on(0, "MULTI"), on(0, "DISCARD"), on(1, "SET", "k", "2"),
		on(0, "MULTI"), on(0, "GET", "k"), on(0, "EXEC"),
		on(0, "WATCH", "k"), on(0, "EXEC"), on(1, "SET", "k", "3"), on(0, "MULTI"),
		on(0, "GET", "k"), on(0, "EXEC"),
		// A transaction that writes a key another client watches.
		on(0, "WATCH", "k"), on(1, "WATCH", "k"), on(0, "MULTI"), on(0, "SET", "k", "4"),
		on(0, "EXEC"), on(1, "MULTI"), on(1, "GET", "k"), on(1, "EXEC"),
		// Another database, and an absent key flushed: no change.
		on(0, "WATCH", "k", "absent"), on(1, "SELECT", "1"), on(1, "SET", "k", "db1"),
		on(1, "FLUSHDB"), on(1, "SELECT", "0"), on(1, "DEL", "absent"), on(0, "MULTI"),
		on(0, "GET", "k"), on(0, "EXEC"),
		// An EXECABORT clears them too.
		on(0, "WATCH", "k"), on(0, "MULTI"), on(0, "NOSUCH"), on(0, "EXEC"),
		on(1, "SET", "k", "5"), on(0, "MULTI"), on(0, "GET", "k"), on(0, "EXEC"),
		// Setup for the writes below.
		on(1, "MSET", "s1", "a", "s2", "b", "num", "1", "f", "1.5"),
		on(1, "RPUSH", "list", "a", "b", "c"), on(1, "SADD", "set", "a", "b", "c"), on(1, "SADD", "one", "x"),
		on(1, "HSET", "hash", "f", "1", "g", "2"), on(1, "ZADD", "zset", "1", "a", "2", "b", "3", "c"),
		on(1, "SET", "ttl", "v", "EX", "1000"),
	}
	// Every kind of write: EXEC answers nil.
	for _, w := range [][]string{
		{"SET", "s1", "x"}, {"SET", "new1", "x", "NX"}, {"SETEX", "s1", "100", "y"},
		{"GETSET", "s1", "z"}, {"APPEND", "s1", "!"}, {"INCR", "num"}, {"DECRBY", "num", "5"},
		{"INCRBYFLOAT", "f", "1"}, {"SETRANGE", "s1", "1", "ab"}, {"MSET", "s2", "1", "x", "2"},
		{"MSETNX", "new2", "1"}, {"SETNX", "new3", "1"}, {"GETDEL", "s2"},
		{"EXPIRE", "s1", "100"}, {"PEXPIRE", "s1", "0"}, {"PERSIST", "ttl"},
		{"RENAME", "num", "num2"}, {"RENAME", "num2", "num"}, {"RENAMENX", "num", "fresh"},
		{"DEL", "fresh"}, {"LPUSH", "list", "x"}, {"RPOP", "list"}, {"LSET", "list", "0", "y"},
		{"SADD", "set", "d"}, {"SREM", "set", "d"}, {"SPOP", "one"}, // one member: not random
		{"HSET", "hash", "f", "1"}, {"HSETNX", "hash", "h", "3"}, {"HDEL", "hash", "h"},
		{"HINCRBY", "hash", "f", "1"}, {"ZADD", "zset", "5", "a"}, {"ZADD", "zset", "1", "d"},
		{"ZINCRBY", "zset", "1", "a"}, {"ZREM", "zset", "d"}, {"ZPOPMIN", "zset"},
	} {
		key := w[1]
		if w[0] == "RENAME" || w[0] == "RENAMENX" {
			steps = append(steps, tx(w[2], w...)...) // the destination
			w = []string{w[0], w[2], w[1]}           // and back, for the source
			if w[0] == "RENAMENX" {
				w[0] = "RENAME"
			}
		}
		steps = append(steps, tx(key, w...)...)
	}
	// Writes that change nothing: EXEC runs.
	for _, w := range [][]string{
		{"SET", "s1", "x", "NX"}, {"SET", "nosuch", "x", "XX"}, {"SETNX", "s1", "y"},
		{"MSETNX", "s1", "1", "nosuch", "2"}, {"SETRANGE", "s1", "0", ""},
		{"DEL", "nosuch"}, {"EXPIRE", "nosuch", "10"}, {"PERSIST", "s1"},
		{"EXPIRE", "s1", "100", "NX"}, {"RENAME", "s1", "s1"}, {"RENAMENX", "s1", "num"},
		{"LPUSHX", "nosuch", "x"}, {"RPOP", "nosuch"}, {"LPOP", "list", "0"},
		{"SADD", "set", "a"}, {"SREM", "set", "nosuch"}, {"SPOP", "nosuch"},
		{"HSETNX", "hash", "f", "9"}, {"HDEL", "hash", "nosuch"},
		{"ZADD", "zset", "3", "c"}, {"ZADD", "zset", "NX", "9", "c"}, {"ZADD", "zset", "XX", "1", "nosuch"},
		{"ZINCRBY", "zset", "0", "c"}, {"ZREM", "zset", "nosuch"}, {"ZPOPMIN", "nosuch"},
		{"GET", "s1"}, {"LRANGE", "list", "0", "-1"}, {"FLUSHDB", "x"},
	} {
		steps = append(steps, tx(w[1], w...)...)
	}
	steps = append(steps,
		// FLUSHDB and FLUSHALL touch the watched keys that exist.
		on(1, "SET", "k", "1"), on(0, "WATCH", "k"), on(1, "FLUSHDB"), on(0, "MULTI"),
		on(0, "GET", "k"), on(0, "EXEC"),
		on(1, "SET", "k", "1"), on(0, "WATCH", "k"), on(1, "FLUSHALL"), on(0, "MULTI"),
		on(0, "GET", "k"), on(0, "EXEC"),
		// A key that expires after WATCH has changed (whether or not it
		// was deleted yet); one that had expired before has not.
		on(1, "SET", "e", "v", "PX", "100"), on(0, "WATCH", "e"),
		kvStep{pause: 300 * time.Millisecond}, on(0, "MULTI"), on(0, "GET", "e"), on(0, "EXEC"),
		on(1, "SET", "e", "v", "PX", "50"), kvStep{pause: 200 * time.Millisecond},
		on(0, "WATCH", "e"), kvStep{pause: 200 * time.Millisecond},
		on(0, "MULTI"), on(0, "GET", "e"), on(0, "EXEC"),
		on(1, "SET", "e", "v", "PX", "50"), on(0, "WATCH", "e"), on(1, "PERSIST", "e"),
		on(0, "MULTI"), on(0, "GET", "e"), on(0, "EXEC"),
	)
	runKVSteps(t, guest, redis, steps)
}

// TestKVCmdsZRange: ZRANGE BYSCORE/BYLEX/REV/LIMIT, ZRANGEBYSCORE,
// ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX, ZCOUNT and ZLEXCOUNT,
// bounds of every form and bad input, byte for byte against redis-server.
func TestKVCmdsZRange(t *testing.T) {
	_, guest, redis := kvPeers(t)
	cases := []kvCmdCase{
		same("ZADD", "z", "-inf", "ninf", "-2.5", "neg", "0", "zero", "1", "a", "1", "b",
			"2", "c", "3.5", "d", "10", "e", "1e300", "huge", "+inf", "pinf"),
		same("ZADD", "lex", "0", "a", "0", "aa", "0", "ab", "0", "b", "0", "ba", "0", "c",
			"0", "d", "0", "", "0", "é", "0", "\x00z", "0", "z\x00"),
		same("SET", "str", "x"),
	}
	scoreRanges := [][2]string{
		{"-inf", "+inf"}, {"1", "2"}, {"(1", "2"}, {"1", "(2"}, {"(1", "(2"},
		{"(1", "(1"}, {"1", "1"}, {"2", "1"}, {"-inf", "0"}, {"(-inf", "(+inf"},
		{"inf", "inf"}, {"-INF", "Infinity"}, {"0x1", "0x2"}, {" 1", "  3.5"},
		{"", "1"}, {"(", "1"}, {"1e2", "1e400"}, {"-1e400", "1e-400"}, {"1.", ".5e1"},
		{"3.5", "10"}, {"(3.5", "+inf"},
		{"nan", "1"}, {"1", "x"}, {"1 ", "2"}, {"1\x00x", "2"}, {"(1\x00", "2"}, {"((1", "2"}, {"1", "[2"}, {"1e", "2"},
	}
	for _, rg := range scoreRanges {
		cases = append(cases,
			same("ZRANGEBYSCORE", "z", rg[0], rg[1]),
			same("ZRANGEBYSCORE", "z", rg[0], rg[1], "WITHSCORES"),
			same("ZREVRANGEBYSCORE", "z", rg[1], rg[0], "WITHSCORES"),
			same("ZRANGE", "z", rg[0], rg[1], "BYSCORE"),
			same("ZRANGE", "z", rg[1], rg[0], "BYSCORE", "REV", "WITHSCORES"),
			same("ZCOUNT", "z", rg[0], rg[1]))
	}
	lexRanges := [][2]string{
		{"-", "+"}, {"[a", "[b"}, {"(a", "[b"}, {"[a", "(b"}, {"(a", "(b"}, {"[aa", "[aa"},
		{"(aa", "[aa"}, {"[b", "[a"}, {"-", "[b"}, {"(b", "+"}, {"-", "-"}, {"+", "+"},
		{"+", "-"}, {"[", "[a"}, {"(", "+"}, {"[é", "+"}, {"-", "(\x00zz"}, {"[z", "+"},
		{"a", "[b"}, {"[a", "b"}, {"", "+"}, {"-x", "+"}, {"+x", "+"}, {"-", "++"}, {"-\x00", "+\x00x"},
	}
	for _, rg := range lexRanges {
		cases = append(cases,
			same("ZRANGEBYLEX", "lex", rg[0], rg[1]),
			same("ZREVRANGEBYLEX", "lex", rg[1], rg[0]),
			same("ZRANGE", "lex", rg[0], rg[1], "BYLEX"),
			same("ZRANGE", "lex", rg[1], rg[0], "BYLEX", "REV"),
			same("ZLEXCOUNT", "lex", rg[0], rg[1]))
	}
	for _, lim := range [][2]string{{"0", "3"}, {"2", "2"}, {"1", "-1"}, {"0", "0"},
		{"-1", "2"}, {"9", "1"}, {"10", "5"}, {"100", "1"}, {"3", "100"}, {"x", "1"}, {"1", "1.5"}} {
		cases = append(cases,
			same("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", lim[0], lim[1]),
			same("ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES", "LIMIT", lim[0], lim[1]),
			same("ZRANGE", "z", "(0", "10", "BYSCORE", "LIMIT", lim[0], lim[1], "WITHSCORES"),
			same("ZRANGE", "z", "10", "(0", "BYSCORE", "REV", "LIMIT", lim[0], lim[1]),
			same("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", lim[0], lim[1]),
			same("ZREVRANGEBYLEX", "lex", "+", "[a", "LIMIT", lim[0], lim[1]),
			same("ZRANGE", "lex", "[a", "(d", "BYLEX", "LIMIT", lim[0], lim[1]))
	}
	cases = append(cases,
		// ranks, REV
		same("ZRANGE", "z", "0", "2", "REV"), same("ZRANGE", "z", "-3", "-1", "REV", "WITHSCORES"),
		same("ZRANGE", "z", "0", "-1", "WITHSCORES"), same("ZREVRANGE", "z", "1", "3"),
		same("ZRANGE", "z", "5", "2"), same("ZRANGE", "z", "0", "1", "LIMIT", "0", "-1"),
		// option errors, in redis-server's order
		same("ZRANGE", "z", "0", "1", "LIMIT", "0", "1"),
		same("ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"),
		same("ZRANGE", "z", "0", "1", "LIMIT", "0"), same("ZRANGE", "z", "0", "1", "LIMIT"),
		same("ZRANGE", "z", "0", "1", "REV", "REV"), same("ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"),
		same("ZRANGE", "z", "0", "1", "BYSCORE", "BYSCORE"), same("ZRANGE", "z", "0", "1", "NOSUCH"),
		same("ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"),
		same("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"),
		same("ZRANGEBYSCORE", "z", "0", "1", "REV"), same("ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"),
		same("ZREVRANGEBYSCORE", "z", "1", "0", "REV"), same("ZRANGEBYLEX", "lex", "-", "+", "BYLEX"),
		same("ZREVRANGE", "z", "0", "1", "REV"), same("ZREVRANGE", "z", "0", "1", "BYSCORE"),
		same("ZRANGE", "z", "a", "1"), same("ZRANGE", "z", "x", "y", "BYSCORE"),
		same("ZRANGE", "z", "x", "y", "BYLEX"), same("ZRANGE", "z", "x", "y", "BYSCORE", "LIMIT", "a", "1"),
		same("ZRANGE", "z", "0", "1", "WITHSCORES", "LIMIT", "x", "1", "NOSUCH"),
		same("ZRANGE", "z", "0", "1", "NOSUCH", "LIMIT", "x", "1"),
		// absent keys and other types
		same("ZRANGEBYSCORE", "nosuch", "0", "1"), same("ZRANGEBYLEX", "nosuch", "-", "+"),
		same("ZCOUNT", "nosuch", "0", "1"), same("ZLEXCOUNT", "nosuch", "-", "+"),
		same("ZRANGEBYSCORE", "str", "0", "1"), same("ZRANGEBYLEX", "str", "-", "+"),
		same("ZCOUNT", "str", "0", "1"), same("ZLEXCOUNT", "str", "-", "+"),
		same("ZRANGEBYSCORE", "str", "x", "1"), same("ZLEXCOUNT", "str", "x", "+"),
		same("ZRANGEBYSCORE", "nosuch", "0", "1", "LIMIT", "-1", "1"),
		// arity
		same("ZRANGEBYLEX", "lex", "-"), same("ZREVRANGEBYLEX", "lex"),
		same("ZLEXCOUNT", "lex", "-"), same("ZLEXCOUNT", "lex", "-", "+", "x"),
		same("ZCOUNT", "z", "0"), same("ZRANGEBYSCORE", "z", "0"),
	)
	runKVCmdCases(t, guest, redis, cases)
	// A bigger set (skiplist encoding in redis-server) with shared scores.
	var big []string
	for i := 0; i < 300; i++ {
		big = append(big, strconv.Itoa(i%7), fmt.Sprintf("m%03d", i))
	}
	var lexbig []string
	for i := 0; i < 300; i++ {
		lexbig = append(lexbig, "0", fmt.Sprintf("k%03d", i))
	}
	cases = []kvCmdCase{same(append([]string{"ZADD", "big"}, big...)...),
		same(append([]string{"ZADD", "lexbig"}, lexbig...)...)}
	for _, rg := range [][2]string{{"2", "4"}, {"(2", "(4"}, {"-inf", "(1"}, {"6", "+inf"}, {"(6", "+inf"}} {
		cases = append(cases, same("ZRANGEBYSCORE", "big", rg[0], rg[1], "LIMIT", "5", "20"),
			same("ZREVRANGEBYSCORE", "big", rg[1], rg[0], "WITHSCORES", "LIMIT", "3", "7"),
			same("ZCOUNT", "big", rg[0], rg[1]))
	}
	for _, rg := range [][2]string{{"[k100", "(k200"}, {"(k299", "+"}, {"-", "[k000"}, {"[k05", "[k06"}} {
		cases = append(cases, same("ZRANGEBYLEX", "lexbig", rg[0], rg[1], "LIMIT", "10", "15"),
			same("ZREVRANGEBYLEX", "lexbig", rg[1], rg[0], "LIMIT", "0", "4"),
			same("ZLEXCOUNT", "lexbig", rg[0], rg[1]))
	}
	runKVCmdCases(t, guest, redis, cases)
}

// TestKVCmdsShutdown: SHUTDOWN's errors as redis-server's; then
// `redis-cli SHUTDOWN NOSAVE` prints and exits as it does against
// redis-server, every connection is closed, and the tender exits 0.
func TestKVCmdsShutdown(t *testing.T) {
	e, guest, redis := kvPeers(t)
	runKVCmdCases(t, guest, redis, []kvCmdCase{
		same("SET", "k", "v"),
		same("SHUTDOWN", "ABORT"), same("SHUTDOWN", "NOSAVE", "SAVE"), same("SHUTDOWN", "ABORT", "NOW"),
		same("SHUTDOWN", "NOW", "ABORT"), same("SHUTDOWN", "x"), same("SHUTDOWN", "SAVE", "NOSUCH"),
		same("MULTI"), same("SHUTDOWN"), same("SET", "a", "1"), same("EXEC"),
		same("MULTI"), same("SHUTDOWN", "NOSUCH"), same("EXEC"),
		same("EXISTS", "a"), same("GET", "k"),
	})
	// An idle client, and one with 5 MB of replies still to read when the
	// SHUTDOWN comes: it gets them all, then the close.
	idle := e.dial(t)
	busy := e.dial(t)
	// A small receive buffer keeps most of the replies in the guest.
	if tc, ok := busy.(*net.TCPConn); ok {
		tc.SetReadBuffer(64 * 1024)
	}
	big := strings.Repeat("v", 256*1024)
	kvExchange(t, busy, kvBulk("SET", "big", big), "+OK\r\n")
	cli := func(addr string) (string, error) {
		host, _, _ := net.SplitHostPort(addr)
		var out bytes.Buffer
		cmd := e.net.InClient("redis-cli", "-h", host, "-p", "6379", "SHUTDOWN", "NOSAVE")
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	rOut, rErr := cli(kvRedisAddr(e))
	io.WriteString(busy, strings.Repeat(kvBulk("GET", "big"), 20))
	time.Sleep(300 * time.Millisecond)
	gOut, gErr := cli(e.addr)
	if gOut != rOut || (gErr == nil) != (rErr == nil) {
		t.Errorf("redis-cli SHUTDOWN NOSAVE: guest %q (%v), redis-server %q (%v)", gOut, gErr, rOut, rErr)
	}
	for _, c := range []net.Conn{idle, busy} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	if got, err := io.ReadAll(idle); err != nil || len(got) != 0 {
		t.Errorf("idle client: read %q, %v; want the connection closed", got, err)
	}
	want := strings.Repeat(fmt.Sprintf("$%d\r\n%s\r\n", len(big), big), 20)
	if got, err := io.ReadAll(busy); err != nil || string(got) != want {
		t.Errorf("pipelining client: read %d bytes (%v), want its %d bytes of replies then the close",
			len(got), err, len(want))
	}
	out, err := e.guest.Wait(10 * time.Second)
	if err != nil {
		t.Errorf("tender after SHUTDOWN: %v, want exit status 0\n%s", err, out)
	}
	if !strings.Contains(out, "SHUTDOWN") {
		t.Errorf("guest console does not log the SHUTDOWN:\n%s", out)
	}
}

// TestKVCmdsIncrByFloat: INCRBYFLOAT parses (strtold) and prints ("%.17Lf"
// trimmed) long doubles exactly as redis-server does, on edge cases and on
// a deterministic stream of random increments.
func TestKVCmdsIncrByFloat(t *testing.T) {
	_, guest, redis := kvPeers(t)
	cases := []kvCmdCase{
		same("SET", "a", "0.1"), same("INCRBYFLOAT", "a", "0.2"), same("INCRBYFLOAT", "a", "0.7"),
		same("INCRBYFLOAT", "b", "1e300"), same("INCRBYFLOAT", "b", "1e300"), same("GET", "b"),
		same("INCRBYFLOAT", "c", "3.0000000000000000001"), same("INCRBYFLOAT", "c", "1e-20"),
		same("INCRBYFLOAT", "d", "-1e-30"), same("GET", "d"), same("INCRBYFLOAT", "d", "1e-18"),
		same("INCRBYFLOAT", "d", "-5e-18"), same("INCRBYFLOAT", "d", "0.000000000000000005"),
		same("INCRBYFLOAT", "e", "0x10"), same("INCRBYFLOAT", "e", "0x1.8p-1"),
		same("INCRBYFLOAT", "e", "123456789012345678901234567890"),
		same("INCRBYFLOAT", "e", "-123456789012345678901234567890.5"),
		same("INCRBYFLOAT", "f", "1.18973149535723176502e4932"), same("INCRBYFLOAT", "f", "1e4932"),
		same("INCRBYFLOAT", "f", "-1e4930"), same("STRLEN", "f"),
		same("INCRBYFLOAT", "g", "3.6e-4951"), same("INCRBYFLOAT", "g", "1e-5000"),
		same("INCRBYFLOAT", "g", "1e5000"), same("INCRBYFLOAT", "g", "-1e5000"),
		same("INCRBYFLOAT", "g", "1.5\x00junk"), same("INCRBYFLOAT", "g", " 1"),
		same("INCRBYFLOAT", "g", "\n1"), same("INCRBYFLOAT", "g", "1 "), same("INCRBYFLOAT", "g", ""),
		same("INCRBYFLOAT", "g", "infinity"), same("INCRBYFLOAT", "g", "-nan"),
		same("INCRBYFLOAT", "g", "1e"), same("INCRBYFLOAT", "g", ".5"), same("INCRBYFLOAT", "g", "5."),
		same("SET", "h", "0.00000000000000000390625"), same("INCRBYFLOAT", "h", "0"),
		same("SET", "h", "0.0000000000000000048828125"), same("INCRBYFLOAT", "h", "0"),
		same("SET", "h", "2.5e-17"), same("INCRBYFLOAT", "h", "0"),
		same("SET", "h", "0.99999999999999999999"), same("INCRBYFLOAT", "h", "0"),
	}
	// Random increments on a few keys.
	for i, num := range kvDecimals(0x9e3779b97f4a7c15, 400, 24, 30) {
		cases = append(cases, same("INCRBYFLOAT", fmt.Sprintf("r%d", i%5), num))
	}
	runKVCmdCases(t, guest, redis, cases)
}

// TestKVCmdsZAddScores: scores parse as redis-server parses them (strtod,
// correctly rounded, hex and inf accepted; spaces, NaN, overflow and
// underflow to zero refused) and print the same ("%.17g").
func TestKVCmdsZAddScores(t *testing.T) {
	_, guest, redis := kvPeers(t)
	var cases []kvCmdCase
	for _, score := range []string{"0x10", "0x1.8p-3", " 1", "1 ", "\t1", "1e400", "-1e400",
		"1e-400", "4.9e-324", "2.5e-324", "2.4e-324", "1.5\x00", "", "+inf", "-Infinity", "inf",
		"nan", "-nan", "1e", ".5", "5.", "+.5e-1", "0.1000000000000000055511151231257827021181583404541015625",
		"123456789012345678901234567890", "9007199254740993", "9007199254740993.000000000000000000001",
		"1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
		"2.2250738585072011e-308", "0.30000000000000004", "-0", "0e999999"} {
		cases = append(cases, same("ZADD", "z", score, "m"), same("ZSCORE", "z", "m"),
			same("ZINCRBY", "y", score, "m"))
	}
	for _, score := range kvDecimals(0x243f6a8885a308d3, 300, 30, 320) {
		cases = append(cases, same("ZADD", "r", score, "m"), same("ZSCORE", "r", "m"))
	}
	runKVCmdCases(t, guest, redis, cases)
}

// kvDecimals returns count decimal numbers from a fixed seed: 1 to
// maxDigits digits with a point somewhere, half of them negative, two
// thirds with an exponent within +-maxExp.
func kvDecimals(seed uint64, count, maxDigits, maxExp int) []string {
	next := func(n int) int {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int(seed % uint64(n))
	}
	var out []string
	for i := 0; i < count; i++ {
		digits := make([]byte, 1+next(maxDigits))
		for j := range digits {
			digits[j] = byte('0' + next(10))
		}
		point := next(len(digits) + 1)
		num := string(digits[:point]) + "." + string(digits[point:])
		if next(2) == 0 {
			num = "-" + num
		}
		if next(3) != 0 {
			num += fmt.Sprintf("e%d", next(2*maxExp+1)-maxExp)
		}
		out = append(out, num)
	}
	return out
}
