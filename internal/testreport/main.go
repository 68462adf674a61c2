// Command testreport reads `go test -json` from stdin, prints what plain
// `go test` would (a line per package, and the output of every test that
// failed or skipped), and fails when a test failed or skipped without
// being on the allowlist given as its argument. It is how `make test`
// refuses a run that passed only because tests skipped themselves.
//
//	go test -json ./... | go run ./internal/testreport scripts/allowed-skips.txt
//
// The allowlist has one skip a line: the package's import path, the test's
// name (subtests as Parent/Sub) and, after them, why skipping it there is
// right; '#' starts a comment. An entry without a reason is an error.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output and build-fail events
}

// allowlist maps "PACKAGE TEST" to the reason its skip is allowed.
type allowlist map[string]string

func readAllowlist(r io.Reader, name string) (allowlist, error) {
	allowed := allowlist{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("%s:%d: want PACKAGE TEST REASON, got %q", name, n, sc.Text())
		}
		allowed[f[0]+" "+f[1]] = strings.Join(f[2:], " ")
	}
	return allowed, sc.Err()
}

// result is what a run of the tests came to.
type result struct {
	passed, failed int
	skips          []string // "PACKAGE TEST: reason", unexpected ones
	allowedSkips   int
	buildFailed    bool
}

// report copies the useful part of the event stream to out and tallies it.
func report(in io.Reader, out io.Writer, allowed allowlist) (*result, error) {
	res := &result{}
	testOut := map[string]*strings.Builder{} // by "PACKAGE TEST"
	dec := json.NewDecoder(in)
	for {
		var e event
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read go test -json: %w", err)
		}
		key := e.Package + " " + e.Test
		switch {
		case e.Action == "build-output":
			fmt.Fprint(out, e.Output)
		case e.Action == "build-fail":
			res.buildFailed = true
		case e.Test == "":
			// Package level: "ok pkg 1.2s", "FAIL pkg", panics, timeouts.
			if e.Action == "output" && e.Output != "PASS\n" && e.Output != "FAIL\n" {
				fmt.Fprint(out, e.Output)
			}
		case e.Action == "output":
			b := testOut[key]
			if b == nil {
				b = &strings.Builder{}
				testOut[key] = b
			}
			b.WriteString(e.Output)
		case e.Action == "pass":
			res.passed++
			delete(testOut, key)
		case e.Action == "fail":
			res.failed++
			fmt.Fprint(out, verbose(testOut[key]))
			delete(testOut, key)
		case e.Action == "skip":
			why := verbose(testOut[key])
			delete(testOut, key)
			if _, ok := allowed[key]; ok {
				res.allowedSkips++
				continue
			}
			fmt.Fprint(out, why)
			res.skips = append(res.skips, fmt.Sprintf("%s: %s", key, skipReason(why)))
		}
	}
	sort.Strings(res.skips)
	return res, nil
}

// verbose drops the "=== RUN"-style lines -json adds, leaving what plain
// go test prints for a test that did not pass.
func verbose(b *strings.Builder) string {
	if b == nil {
		return ""
	}
	var keep []string
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "=== ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "")
}

// skipReason is the message a test gave t.Skip: the lines before its
// "--- SKIP" line, joined.
func skipReason(out string) string {
	var msg []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		msg = append(msg, t)
	}
	if len(msg) == 0 {
		return "(no reason given)"
	}
	return strings.Join(msg, " ")
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go test -json ./... | testreport ALLOWED-SKIPS")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	allowed, err := readAllowlist(f, os.Args[1])
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	res, err := report(os.Stdin, os.Stdout, allowed)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("\ntests: %d passed, %d failed, %d skipped as allowed by %s, %d skipped unexpectedly\n",
		res.passed, res.failed, res.allowedSkips, os.Args[1], len(res.skips))
	if len(res.skips) > 0 {
		fmt.Printf("FAIL: tests skipped that are not on %s (a skipped test tests nothing):\n", os.Args[1])
		for _, s := range res.skips {
			fmt.Printf("  %s\n", s)
		}
	}
	if res.failed > 0 || res.buildFailed || len(res.skips) > 0 {
		os.Exit(1)
	}
}
