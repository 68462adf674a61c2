package hostkit

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
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

// Mounts lists the mount points of this mount namespace that match keeps.
func Mounts(keep func(mountpoint string) bool) []string {
	var mps []string
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); len(f) > 4 && keep(f[4]) {
			mps = append(mps, f[4])
		}
	}
	return mps
}

// UnmountUnder detaches every mount below dir, deepest first, and returns
// those it detached.
func UnmountUnder(dir string) []string {
	mps := Mounts(func(mp string) bool { return strings.HasPrefix(mp, dir+"/") })
	sort.Sort(sort.Reverse(sort.StringSlice(mps)))
	var done []string
	for _, mp := range mps {
		if syscall.Unmount(mp, syscall.MNT_DETACH) == nil {
			done = append(done, mp)
		}
	}
	return done
}

// ProcessesWith lists the processes (but this one) whose command line
// mentions path or, when cgroupMark is not empty, whose cgroup path
// contains cgroupMark, as "PID COMMAND LINE".
func ProcessesWith(path, cgroupMark string) []string {
	var found []string
	self := strconv.Itoa(os.Getpid())
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil || p.Name() == self {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		cgroup, _ := os.ReadFile("/proc/" + p.Name() + "/cgroup")
		if bytes.Contains(cmdline, []byte(path)) || (cgroupMark != "" && bytes.Contains(cgroup, []byte(cgroupMark))) {
			found = append(found, p.Name()+" "+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
		}
	}
	return found
}
