package hostkit

import (
	"fmt"
	"sort"
	"strings"
)

// State is what of the host a test could leave behind: for each kind
// (link, mount, cgroup, ...), a set of names, recorded before and after.
type State map[string]map[string]bool

// Add records name under kind.
func (s State) Add(kind, name string) {
	if s[kind] == nil {
		s[kind] = map[string]bool{}
	}
	s[kind][name] = true
}

// Since lists, as "kind: name", what s has that before had not.
func (s State) Since(before State) []string {
	var out []string
	for kind, names := range s {
		for n := range names {
			if !before[kind][n] {
				out = append(out, kind+": "+n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Counts says how many names of each of kinds s holds.
func (s State) Counts(kinds ...string) string {
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", len(s[k]), k))
	}
	return strings.Join(parts, ", ") + " of the watched kinds, before and after"
}
