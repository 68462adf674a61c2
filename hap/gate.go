package hap

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Baseline is the attack profile a sandbox must not outgrow: the calls its
// filter may allow (and under which conditions), and per workload the
// kernel functions it reached when the baseline was taken. hap/baseline.json
// is runnc's; users write their own for their unikernels and point
// `runnc trace --baseline` at it.
type Baseline struct {
	About string `json:"about,omitempty"`
	// Allowed: the calls any guest may be allowed and may make.
	Allowed []string `json:"allowed"`
	// Exceptions: more calls, for the named guests only.
	Exceptions []Exception `json:"exceptions,omitempty"`
	// Policies: per guest, the tender's --print-filter lines for a fixed
	// set of devices, conditions included.
	Policies map[string][]string `json:"policies,omitempty"`
	// FunctionTolerance: how much a workload's unique kernel function
	// count may exceed its baseline, as a fraction (0.1 = 10%).
	FunctionTolerance float64             `json:"function_tolerance"`
	Workloads         map[string]Workload `json:"workloads,omitempty"`
}

// Exception allows one more call to some guests, with the reason.
type Exception struct {
	Call   string   `json:"call"`
	Guests []string `json:"guests"`
	Why    string   `json:"why"`
}

// Workload is the baseline of one measured workload: the largest count
// of unique kernel functions make hap-lab has measured for it, and the
// functions those runs reached (their union; a run that outgrows the
// count is told which of its functions are new).
type Workload struct {
	UniqueFunctions int      `json:"unique_functions,omitempty"`
	Functions       []string `json:"functions,omitempty"`
	// Syscalls: the calls the workload may make; empty means Allowed.
	Syscalls []string `json:"syscalls,omitempty"`
}

// Growth is one way a profile outgrew its baseline.
type Growth struct {
	Layer  string // allowed, syscalls, functions
	Name   string // the call or function, or "" for a count
	Detail string
}

func (g Growth) String() string {
	if g.Name == "" {
		return fmt.Sprintf("%s: %s", g.Layer, g.Detail)
	}
	return fmt.Sprintf("%s: %s %s", g.Layer, g.Name, g.Detail)
}

// ReadBaseline reads a baseline file.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	if len(b.Allowed) == 0 {
		return nil, fmt.Errorf("baseline %s: no allowed calls", path)
	}
	return &b, nil
}

// allows says whether guest may be allowed call, and if by an exception,
// which.
func (b *Baseline) allows(guest, call string) bool {
	for _, a := range b.Allowed {
		if a == call {
			return true
		}
	}
	for _, e := range b.Exceptions {
		if e.Call != call {
			continue
		}
		for _, g := range e.Guests {
			if g == guest {
				return true
			}
		}
	}
	return false
}

// CheckPolicy checks a tender's --print-filter output for guest: every
// call must be allowed (or an exception for that guest), and where the
// baseline has this guest's policy, each call's conditions must be the
// same. A call that is gone is not growth.
func (b *Baseline) CheckPolicy(guest, printed string) []Growth {
	var gs []Growth
	want := map[string]string{}
	for _, line := range b.Policies[guest] {
		name, cond := splitPolicyLine(line)
		want[name] = cond
	}
	for _, line := range strings.Split(strings.TrimSpace(printed), "\n") {
		name, cond := splitPolicyLine(line)
		if name == "" || cond == "never" {
			continue
		}
		if !b.allows(guest, name) {
			gs = append(gs, Growth{"allowed", name, fmt.Sprintf("is in the filter of %s (%s) and not allowed by the baseline", guest, cond)})
			continue
		}
		if w, ok := want[name]; ok && !sameConds(w, cond) {
			gs = append(gs, Growth{"allowed", name, fmt.Sprintf("conditions of %s changed: baseline %q, now %q", guest, w, cond)})
		}
	}
	return gs
}

// splitPolicyLine splits "write          fd == 1 [console]".
func splitPolicyLine(line string) (name, cond string) {
	line = strings.TrimSpace(line)
	name, cond, _ = strings.Cut(line, " ")
	return name, strings.TrimSpace(cond)
}

var deviceFd = regexp.MustCompile(`fd == ([3-9]|[1-9][0-9]+)\b`)

// sameConds compares two policy conditions, a device's fd number aside:
// the tender's devices get the lowest free fds, which depend on what the
// caller left open; stdio (the console is fd 1) must match exactly.
func sameConds(a, b string) bool {
	return deviceFd.ReplaceAllString(a, "fd == DEV") == deviceFd.ReplaceAllString(b, "fd == DEV")
}

// CheckProfile checks a measured profile of guest running workload: its
// decoded filter and its exercised system calls (under the filter, when
// the trace saw one) must stay within what the baseline allows, and its
// unique kernel functions, when measured and when the baseline has the
// workload, within the tolerance. Growth is reported by name.
func (b *Baseline) CheckProfile(workload, guest string, p *Profile) []Growth {
	var gs []Growth
	for _, a := range p.Allowed {
		if !b.allows(guest, a.Name) {
			gs = append(gs, Growth{"allowed", a.Name, "is in the installed filter and not allowed by the baseline"})
		}
	}
	w, haveW := b.Workloads[workload]
	may := func(call string) bool {
		if haveW && len(w.Syscalls) > 0 {
			for _, s := range w.Syscalls {
				if s == call {
					return true
				}
			}
			return false
		}
		return b.allows(guest, call)
	}
	calls := p.Syscalls
	if len(p.UnderFilter) > 0 {
		calls = p.UnderFilter
	}
	for _, name := range SyscallNames(calls) {
		if !may(name) {
			gs = append(gs, Growth{"syscalls", name, fmt.Sprintf("made %d times, outside the baseline", calls[name])})
		}
	}
	if p.Functions != nil && haveW && w.UniqueFunctions > 0 {
		limit := int(float64(w.UniqueFunctions) * (1 + b.FunctionTolerance))
		if p.UniqueFunctions > limit {
			gs = append(gs, Growth{"functions", "", fmt.Sprintf("%s reached %d unique kernel functions, baseline %d + %.0f%% = %d",
				workload, p.UniqueFunctions, w.UniqueFunctions, 100*b.FunctionTolerance, limit)})
			gs = append(gs, newFunctions(w.Functions, p.Functions)...)
		}
	}
	return gs
}

// newFunctions lists the functions of now that were not in base.
func newFunctions(base, now []string) []Growth {
	old := map[string]bool{}
	for _, f := range base {
		old[f] = true
	}
	var gs []Growth
	for _, f := range now {
		if !old[f] {
			gs = append(gs, Growth{"functions", f, "is new (" + Subsystem(f) + ")"})
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].Name < gs[j].Name })
	return gs
}
