//go:build k8s

package k8s

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/runnc/runnc/integration/hostkit"
	"github.com/runnc/runnc/integration/testnet"
)

func TestMain(m *testing.M) { os.Exit(mainRun(m)) }

func mainRun(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "k8s: the Kubernetes node test needs root")
		return 1
	}
	tag = strconv.Itoa(os.Getpid())
	var err error
	if repo, err = testnet.ModuleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// Short: unix socket paths must stay under 108 bytes.
	if work, err = os.MkdirTemp("", "rnk"+tag+"."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	before := snapshot()
	setupErr = setup()
	if setupErr != nil {
		fmt.Fprintf(os.Stderr, "k8s: setup: %v\n%s", setupErr, daemonLogs())
	}
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "k8s: teardown:", err)
		code = 1
	}
	for _, r := range restore(before) {
		fmt.Fprintln(os.Stderr, "k8s: restored", r)
	}
	after := snapshot()
	if changed := append(after.Since(before), prefixed("gone ", before.Since(after))...); len(changed) > 0 {
		fmt.Fprintf(os.Stderr, "k8s: the host differs from before the node started:\n  %s\n", strings.Join(changed, "\n  "))
		code = 1
	} else {
		fmt.Fprintf(os.Stderr, "k8s: the host is as before (%s)\n", after.Counts(kinds...))
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "k8s: daemon logs kept in %s\n", work)
	} else {
		os.RemoveAll(work)
	}
	return code
}

func prefixed(p string, ss []string) []string {
	for i := range ss {
		ss[i] = p + ss[i]
	}
	return ss
}

// kinds are the kinds of host state snapshot records.
var kinds = []string{"sysctl", "iptables", "nft", "link", "netns", "mount", "cgroup", "file", "process"}

// sysctls are the kernel settings the kubelet sets at start (its
// "kernel tunables") and the bridge plugin's forwarding switch.
var sysctls = []string{"kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory", "net.ipv4.ip_forward"}

// kubeletDirs are the folders at the machine's default paths the kubelet
// writes to whatever it is told (its log links and its default root) and
// kubectl's home; restore removes what is new in them. sharedDirs are
// those other daemons on the machine use too: containerd's shims' sockets,
// libcni's cache; restore removes only folders they got, once empty.
// snapshot lists everything in both.
var (
	kubeletDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/root/.kube"}
	sharedDirs  = []string{"/run/containerd", "/var/lib/cni"}
)

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}

// snapshot records what of the host the node could change.
func snapshot() hostkit.State {
	s := hostkit.State{}
	for _, name := range sysctls {
		v, err := os.ReadFile(sysctlPath(name))
		if err != nil {
			s.Add("sysctl", name+": "+err.Error())
			continue
		}
		s.Add("sysctl", name+"="+strings.TrimSpace(string(v)))
	}
	for _, l := range iptablesLines() {
		s.Add("iptables", l)
	}
	for _, t := range nftTables() {
		s.Add("nft", t)
	}
	// Other processes on the machine make links and mounts of their own
	// meanwhile; count only the kinds ours make: the host ends of veth
	// pairs (the bridge plugin's are veth*), taps, our bridge.
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 1 {
				name := strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":")
				if strings.HasPrefix(name, "veth") || strings.HasPrefix(name, "tap") || strings.HasSuffix(name, tag) {
					s.Add("link", name)
				}
			}
		}
	}
	// The CNI plugins' names; other tests on the machine make their own.
	if ns, err := filepath.Glob("/run/netns/cni-*"); err == nil {
		for _, n := range ns {
			s.Add("netns", n)
		}
	}
	for _, mp := range hostkit.Mounts(watchedMount) {
		s.Add("mount", mp)
	}
	for _, pat := range []string{"kubepods*", cgroupRoot()} {
		tops, _ := filepath.Glob("/sys/fs/cgroup/*/" + pat)
		for _, top := range tops {
			filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					s.Add("cgroup", p)
				}
				return nil
			})
		}
	}
	for _, dir := range append(kubeletDirs, sharedDirs...) {
		if _, err := os.Lstat(dir); err != nil {
			continue
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil {
				s.Add("file", p)
			}
			return nil
		})
	}
	for _, p := range hostkit.ProcessesWith(work, "") {
		s.Add("process", p)
	}
	return s
}

func watchedMount(mp string) bool {
	for _, p := range append([]string{work, "/var/lib/containerd"}, append(kubeletDirs, sharedDirs...)...) {
		if mp == p || strings.HasPrefix(mp, p+"/") {
			return true
		}
	}
	return strings.HasPrefix(mp, "/run/netns/cni-")
}

// iptablesLines are the chains and rules of iptables-save and
// ip6tables-save, each as "FAMILY TABLE LINE" (family "4" or "6").
func iptablesLines() []string {
	var lines []string
	for fam, cmd := range map[string]string{"4": "iptables-save", "6": "ip6tables-save"} {
		out, err := exec.Command(cmd).Output()
		if err != nil {
			lines = append(lines, fam+" "+cmd+": "+err.Error())
			continue
		}
		table := ""
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "*"):
				table = l[1:]
			case strings.HasPrefix(l, "-A"):
				lines = append(lines, fam+" "+table+" "+l)
			case strings.HasPrefix(l, ":"):
				// The chain, not its counters.
				lines = append(lines, fam+" "+table+" "+strings.Fields(l)[0])
			}
		}
	}
	sort.Strings(lines)
	return lines
}

// nftTables lists the nftables tables as "FAMILY NAME": iptables-nft
// makes the tables (filter, nat, mangle) whose chains the kubelet first
// uses, and they stay when the chains are gone.
func nftTables() []string {
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		return []string{"nft list tables: " + err.Error()}
	}
	var tables []string
	for _, l := range strings.Split(string(out), "\n") {
		if t, ok := strings.CutPrefix(l, "table "); ok {
			tables = append(tables, t)
		}
	}
	return tables
}

// restore puts back what the stopped node changed on the host by design
// and returns what it put back: the kubelet's sysctls and the bridge
// plugin's forwarding, the kubelet's iptables chains and rules and the
// nftables tables they made, the folders it made at machine paths, its
// cgroups, and mounts under work.
func restore(before hostkit.State) []string {
	var done []string
	for _, name := range sysctls {
		for old := range before["sysctl"] {
			v, ok := strings.CutPrefix(old, name+"=")
			if !ok {
				continue
			}
			cur, err := os.ReadFile(sysctlPath(name))
			if err == nil && strings.TrimSpace(string(cur)) != v {
				if err := os.WriteFile(sysctlPath(name), []byte(v), 0o644); err == nil {
					done = append(done, fmt.Sprintf("sysctl %s=%s (was %s)", name, v, strings.TrimSpace(string(cur))))
				}
			}
		}
	}
	done = append(done, restoreIptables(before)...)
	for _, t := range nftTables() {
		if !before["nft"][t] {
			args := append([]string{"delete", "table"}, strings.Fields(t)...)
			if out, err := exec.Command("nft", args...).CombinedOutput(); err != nil {
				done = append(done, fmt.Sprintf("FAILED nft %s: %v %s", strings.Join(args, " "), err, out))
			} else {
				done = append(done, "nft "+strings.Join(args, " "))
			}
		}
	}
	for _, mp := range hostkit.UnmountUnder(work) {
		done = append(done, "umount "+mp)
	}
	tops, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupRoot())
	for _, top := range tops {
		hostkit.RemoveCgroup(top)
	}
	if len(tops) > 0 {
		done = append(done, "cgroups /sys/fs/cgroup/*/"+cgroupRoot())
	}
	// What is new in the kubelet's folders, and new empty folders in the
	// shared ones, deepest first, so a folder the node made goes once it
	// is empty.
	var made []string
	walk := func(dir string, onlyDirs bool) {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !before["file"][p] && (!onlyDirs || d.IsDir()) {
				made = append(made, p)
			}
			return nil
		})
	}
	for _, dir := range kubeletDirs {
		walk(dir, false)
	}
	for _, dir := range sharedDirs {
		walk(dir, true)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(made)))
	for _, p := range made {
		if os.Remove(p) == nil {
			done = append(done, "rm "+p)
		}
	}
	return done
}

// restoreIptables deletes the kubelet's rules and then its chains (those
// that name a KUBE-* chain) new since before, in their table and family;
// other rules are not the node's to remove.
func restoreIptables(before hostkit.State) []string {
	var done, chains []string
	for _, l := range iptablesLines() {
		if before["iptables"][l] || !strings.Contains(l, "KUBE-") {
			continue
		}
		f := strings.SplitN(l, " ", 3)
		fam, table, rule := f[0], f[1], f[2]
		bin := map[string]string{"4": "iptables", "6": "ip6tables"}[fam]
		if strings.HasPrefix(rule, ":") {
			chains = append(chains, bin+" -t "+table+" -X "+rule[1:])
			continue
		}
		// The rule as iptables-save quotes it: a shell splits it back.
		del := bin + " -w -t " + table + " -D " + strings.TrimPrefix(rule, "-A ")
		if out, err := exec.Command("bash", "-c", del).CombinedOutput(); err == nil {
			done = append(done, del)
		} else {
			done = append(done, fmt.Sprintf("FAILED %s: %v %s", del, err, out))
		}
	}
	for _, c := range chains {
		if exec.Command("bash", "-c", c).Run() == nil {
			done = append(done, c)
		}
	}
	return done
}

// cgroupDirs is the folder name in every cgroup v1 hierarchy of the host
// (the kubelet's cgroupfs driver uses each).
func cgroupDirs(name string) []string {
	var dirs []string
	hs, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hs {
		if filepath.Base(h) != "unified" {
			dirs = append(dirs, filepath.Join(h, name))
		}
	}
	return dirs
}
