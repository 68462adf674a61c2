package hap

import (
	"sort"
	"strings"
	"testing"
)

// testBaseline is hap/baseline.json's shape with small numbers.
func testBaseline() *Baseline {
	return &Baseline{
		Allowed:    []string{"read", "write", "pread64", "pwrite64", "ppoll", "clock_gettime", "exit_group"},
		Exceptions: []Exception{{Call: "arch_prctl", Guests: []string{"tls"}, Why: "TLS without FSGSBASE"}},
		Policies: map[string][]string{"hello": {
			"read           never",
			"write          fd == 1 [console]",
			"exit_group     always [exit]",
		}},
		FunctionTolerance: 0.1,
		Workloads:         map[string]Workload{"kv": {UniqueFunctions: 100, Functions: names(100)}},
	}
}

func names(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, "f"+string(rune('a'+i/26))+string(rune('a'+i%26)))
	}
	return out
}

const helloPolicy = `read           never
write          fd == 1 [console]
pread64        never
pwrite64       never
clock_gettime  clock == 1 [monotonic clock] || clock == 0 [wall clock]
exit_group     always [exit]
ppoll          nfds <= 0 && sigmask == NULL [solo5_yield]
`

// findings joins the growth messages, one a line.
func findings(gs []Growth) string {
	var b strings.Builder
	for _, g := range gs {
		b.WriteString(g.String() + "\n")
	}
	return b.String()
}

func TestCheckPolicy(t *testing.T) {
	b := testBaseline()
	if gs := b.CheckPolicy("hello", helloPolicy); len(gs) != 0 {
		t.Errorf("the tender's own policy fails the gate:\n%s", findings(gs))
	}
	eighth := helloPolicy + "mmap           always [loader]\n"
	gs := b.CheckPolicy("hello", eighth)
	if len(gs) != 1 || gs[0].Name != "mmap" || !strings.Contains(gs[0].String(), "mmap") {
		t.Errorf("an eighth call passed or was not named: %q", findings(gs))
	}
	t.Logf("eighth call: %s", findings(gs))
	widened := strings.Replace(helloPolicy, "fd == 1 [console]", "fd == 1 [console] || fd == 2 [stderr]", 1)
	if gs := b.CheckPolicy("hello", widened); len(gs) != 1 || gs[0].Name != "write" {
		t.Errorf("widened write conditions: %q", findings(gs))
	}
	tls := helloPolicy + "arch_prctl     code == 4098 && addr <= 1234 [tls]\n"
	if gs := b.CheckPolicy("tls", tls); len(gs) != 0 {
		t.Errorf("the documented TLS exception fails for the tls guest:\n%s", findings(gs))
	}
	if gs := b.CheckPolicy("hello", tls); len(gs) != 1 || gs[0].Name != "arch_prctl" {
		t.Errorf("arch_prctl for a guest without the exception: %q", findings(gs))
	}
}

func TestCheckProfile(t *testing.T) {
	b := testBaseline()
	ok := &Profile{
		Allowed:     []AllowedCall{{"read", false}, {"write", false}, {"exit_group", true}},
		Syscalls:    map[string]int{"execve": 1, "mmap": 20, "read": 5, "write": 7},
		UnderFilter: map[string]int{"read": 5, "write": 7},
	}
	if gs := b.CheckProfile("hello", "hello", ok); len(gs) != 0 {
		t.Errorf("a profile within the seven fails (the tender's own setup must not count):\n%s", findings(gs))
	}
	outside := *ok
	outside.UnderFilter = map[string]int{"read": 5, "write": 7, "getpid": 3}
	gs := b.CheckProfile("hello", "hello", &outside)
	if len(gs) != 1 || gs[0].Name != "getpid" || !strings.Contains(gs[0].String(), "3 times") {
		t.Errorf("a call outside the seven: %q", findings(gs))
	}
	t.Logf("call outside the seven: %s", findings(gs))
	allowed := *ok
	allowed.Allowed = append(allowed.Allowed, AllowedCall{"mmap", true})
	if gs := b.CheckProfile("hello", "hello", &allowed); len(gs) != 1 || gs[0].Name != "mmap" {
		t.Errorf("an eighth call in the installed filter: %q", findings(gs))
	}

	fns := func(n int, extra ...string) *Profile {
		p := *ok
		p.Functions = append(names(n), extra...)
		p.UniqueFunctions = len(p.Functions)
		return &p
	}
	if gs := b.CheckProfile("kv", "kv", fns(100, "tun_get_user [tun]", "a", "b", "c", "d", "e", "f", "g", "h", "i")); len(gs) != 0 {
		t.Errorf("110 functions against 100 + 10%%: %q", findings(gs))
	}
	gs = b.CheckProfile("kv", "kv", fns(100, "tun_get_user [tun]", "skb_gso_segment", "a", "b", "c", "d", "e", "f", "g", "h", "i"))
	text := findings(gs)
	if !strings.Contains(text, "111 unique kernel functions, baseline 100") || !strings.Contains(text, "skb_gso_segment is new") || !strings.Contains(text, "tun_get_user [tun] is new (tun)") {
		t.Errorf("growth beyond the tolerance not reported by name:\n%s", text)
	}
	if gs := b.CheckProfile("kv", "kv", &Profile{Syscalls: map[string]int{"read": 1}}); len(gs) != 0 {
		t.Errorf("no function layer (lockdown) must not fail: %q", findings(gs))
	}
}

func TestRepositoryBaseline(t *testing.T) {
	b, err := ReadBaseline("baseline.json")
	if err != nil {
		t.Fatal(err)
	}
	want := "clock_gettime exit_group ppoll pread64 pwrite64 read write"
	got := append([]string(nil), b.Allowed...)
	sort.Strings(got)
	if strings.Join(got, " ") != want {
		t.Errorf("baseline allows %v, want the seven: %s", got, want)
	}
	if len(b.Exceptions) != 1 || b.Exceptions[0].Call != "arch_prctl" || strings.Join(b.Exceptions[0].Guests, " ") != "tls" {
		t.Errorf("exceptions: %+v, want arch_prctl for the tls guest only", b.Exceptions)
	}
	if b.FunctionTolerance <= 0 || b.FunctionTolerance > 0.5 {
		t.Errorf("function tolerance %v: not a small positive fraction", b.FunctionTolerance)
	}
}
