package main

import (
	"strings"
	"testing"
)

// A stream as go test -json writes it: one package with a pass, a skip
// and a failure.
const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestA"}
{"Action":"run","Package":"p","Test":"TestB"}
{"Action":"output","Package":"p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: needs root\n"}
{"Action":"output","Package":"p","Test":"TestB","Output":"--- SKIP: TestB (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestB"}
{"Action":"run","Package":"p","Test":"TestC/sub"}
{"Action":"output","Package":"p","Test":"TestC/sub","Output":"    c_test.go:3: broken\n"}
{"Action":"output","Package":"p","Test":"TestC/sub","Output":"--- FAIL: TestC/sub (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestC/sub"}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}
{"Action":"fail","Package":"p"}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"?   \tq\t[no test files]\n"}
{"Action":"skip","Package":"q"}
`

func TestReport(t *testing.T) {
	var out strings.Builder
	res, err := report(strings.NewReader(stream), &out, allowlist{})
	if err != nil {
		t.Fatal(err)
	}
	if res.passed != 1 || res.failed != 1 || res.allowedSkips != 0 {
		t.Errorf("passed %d failed %d allowed skips %d, want 1 1 0", res.passed, res.failed, res.allowedSkips)
	}
	// An unlisted skip is reported with its reason; a package without
	// tests is not a skip.
	if len(res.skips) != 1 || res.skips[0] != "p TestB: b_test.go:9: needs root" {
		t.Errorf("unexpected skips %q, want [p TestB: b_test.go:9: needs root]", res.skips)
	}
	for _, want := range []string{"b_test.go:9: needs root\n--- SKIP: TestB", "c_test.go:3: broken\n--- FAIL: TestC/sub", "FAIL\tp\t0.01s\n", "?   \tq\t[no test files]\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "=== RUN") || strings.Contains(out.String(), "PASS: TestA") {
		t.Errorf("output has what plain go test hides:\n%s", out.String())
	}

	// Listed, the skip is allowed.
	allowed, err := readAllowlist(strings.NewReader("# comment\np TestB the host lacks X; the other path is tested by TestD\n"), "list")
	if err != nil {
		t.Fatal(err)
	}
	res, err = report(strings.NewReader(stream), &out, allowed)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.skips) != 0 || res.allowedSkips != 1 {
		t.Errorf("with TestB listed: unexpected %q, allowed %d; want none and 1", res.skips, res.allowedSkips)
	}
}

// An entry must say why.
func TestAllowlistNeedsReason(t *testing.T) {
	if _, err := readAllowlist(strings.NewReader("p TestB\n"), "list"); err == nil {
		t.Error("an entry without a reason was accepted")
	}
}
