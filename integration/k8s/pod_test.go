//go:build k8s

package k8s

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
	"sigs.k8s.io/yaml"

	"github.com/runnc/runnc/integration/hostkit"
)

// needNode fails the test if the node could not be started.
func needNode(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("node not started: %v", setupErr)
	}
}

// kubectlOK runs kubectl, failing the test on error, and returns its
// combined output.
func kubectlOK(t *testing.T, args ...string) string {
	t.Helper()
	out, err := hostkit.RunTimeout(3*time.Minute, kubectl(args...))
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// applyFile writes manifest to a file and runs `kubectl VERB -f` on it.
func applyFile(t *testing.T, verb, name, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectlOK(t, verb, "-f", path)
}

// bind does the scheduler's one job for pod: a Binding to our node (made
// with create: a Binding cannot be read back, as apply would).
func bind(t *testing.T, pod string) {
	t.Helper()
	applyFile(t, "create", pod+"-binding.yaml", fmt.Sprintf(`apiVersion: v1
kind: Binding
metadata:
  name: %s
target:
  apiVersion: v1
  kind: Node
  name: %s
`, pod, nodeName))
}

// podJSON is the parts of a pod's API object the tests read.
type podJSON struct {
	Metadata struct {
		UID string `json:"uid"`
	}
	Spec struct {
		TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds"`
	}
	Status struct {
		Phase             string
		PodIP             string `json:"podIP"`
		ContainerStatuses []struct {
			ContainerID string `json:"containerID"`
		} `json:"containerStatuses"`
	}
}

func getPod(t *testing.T, name string) podJSON {
	t.Helper()
	var p podJSON
	if err := json.Unmarshal([]byte(kubectlOK(t, "get", "pod", name, "-o", "json")), &p); err != nil {
		t.Fatalf("kubectl get pod %s: %v", name, err)
	}
	return p
}

// waitFor polls cond every half second until it returns "" or d passes,
// then fails the test with its last answer.
func waitFor(t *testing.T, d time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %s\nkubelet log:\n%s", what, d, why, hostkit.Tail(kubeletD.Log))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// readmePod is the README's RuntimeClass and kv pod, as written, and the
// pod's name.
func readmePod(t *testing.T) (manifest, name string) {
	t.Helper()
	block, err := hostkit.ReadmeBlock(repo, "runtimeclass")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(block, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("README runtimeclass block has %d documents, want a RuntimeClass and a Pod", len(docs))
	}
	var pod struct {
		Kind     string
		Metadata struct{ Name string }
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &pod); err != nil || pod.Kind != "Pod" {
		t.Fatalf("README runtimeclass block's second document: %v %+v", err, pod)
	}
	return block, pod.Metadata.Name
}

// withCRI calls fn with a CRI client of our containerd.
func withCRI(t *testing.T, fn func(ctx context.Context, rs cri.RuntimeServiceClient)) {
	t.Helper()
	rs, done, err := hostkit.CRIClient(work)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fn(ctx, rs)
}

// criPid is the pid of a container or pod sandbox (CRI verbose info).
func criPid(t *testing.T, sandbox bool, id string) int {
	t.Helper()
	var info map[string]string
	withCRI(t, func(ctx context.Context, rs cri.RuntimeServiceClient) {
		if sandbox {
			st, err := rs.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
			if err != nil {
				t.Fatalf("PodSandboxStatus: %v", err)
			}
			info = st.Info
			return
		}
		st, err := rs.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
		if err != nil {
			t.Fatalf("ContainerStatus: %v", err)
		}
		info = st.Info
	})
	var v struct{ Pid int }
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.Pid == 0 {
		t.Fatalf("CRI info of %s: %v %q", id, err, info["info"])
	}
	return v.Pid
}

// sandboxOf is the id of the ready pod sandbox of the pod with uid.
func sandboxOf(t *testing.T, uid string) string {
	t.Helper()
	var id string
	withCRI(t, func(ctx context.Context, rs cri.RuntimeServiceClient) {
		list, err := rs.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{Filter: &cri.PodSandboxFilter{
			LabelSelector: map[string]string{"io.kubernetes.pod.uid": uid},
			State:         &cri.PodSandboxStateValue{State: cri.PodSandboxState_SANDBOX_READY},
		}})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("ListPodSandbox of pod %s: %v, %d sandboxes", uid, err, len(list.GetItems()))
		}
		id = list.Items[0].Id
	})
	return id
}

// procStatus is the field of /proc/PID/status.
func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + field + `:\s*(.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("/proc/%d/status has no %s", pid, field)
	}
	return string(m[1])
}

// tenderExe is what /proc/PID/exe of a running guest names: runnc-spt's
// loader.
const tenderExe = "memfd:runnc-loader (deleted)"

// exeOf is the base name of the file pid runs.
func exeOf(pid int) string {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return filepath.Base(exe)
}

// podTraces lists what of the pod with uid is on the host: its links
// (veth on our bridge; taps), its network namespace and mounts (under
// containerd's state), its cgroups, runnc's state of its containers.
func podTraces(uid string, ids []string) []string {
	var found []string
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, " master "+cniB.Name+" ") || strings.Contains(l, ": tap") {
				found = append(found, "link "+strings.Join(strings.Fields(l)[:2], " "))
			}
		}
	}
	for _, mp := range hostkit.Mounts(func(mp string) bool {
		for _, id := range ids {
			if strings.Contains(mp, id) {
				return true
			}
		}
		return false
	}) {
		found = append(found, "mount "+mp)
	}
	netns, _ := filepath.Glob(filepath.Join(work, "ctrd-state", "*", "netns", "*"))
	for _, n := range netns {
		found = append(found, "netns "+n)
	}
	cg, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupRoot() + "/kubepods*/*pod" + uid)
	cg2, _ := filepath.Glob("/sys/fs/cgroup/*/" + cgroupRoot() + "/kubepods*/pod" + uid)
	for _, c := range append(cg, cg2...) {
		found = append(found, "cgroup "+c)
	}
	for _, id := range ids {
		if _, err := os.Stat(filepath.Join(work, "runnc-cri", "k8s.io", id)); err == nil {
			found = append(found, "runnc state "+id)
		}
	}
	return found
}

// TestReadmePod is the README's RuntimeClass and kv pod on the node: the
// pod runs, answers redis-cli on its IP on the CNI bridge, its console is
// in `kubectl logs`, the guest is runnc-spt under its seccomp filter with
// one thread, the sandbox is pause as a plain process, and `kubectl delete`
// ends it without waiting out the grace period, leaving nothing behind.
func TestReadmePod(t *testing.T) {
	needNode(t)
	manifest, name := readmePod(t)
	applyFile(t, "apply", "readme.yaml", manifest)
	t.Cleanup(func() { kubectl("delete", "pod", name, "--ignore-not-found", "--wait", "--timeout", "60s").Run() })
	if h := kubectlOK(t, "get", "runtimeclass", "runnc", "-o", "jsonpath={.handler}"); h != "runnc" {
		t.Fatalf("RuntimeClass runnc has handler %q", h)
	}
	bind(t, name)
	var pod podJSON
	waitFor(t, 2*time.Minute, "pod "+name+" Running", func() string {
		pod = getPod(t, name)
		if pod.Status.Phase != "Running" || pod.Status.PodIP == "" || len(pod.Status.ContainerStatuses) != 1 {
			return fmt.Sprintf("%+v\n%s", pod.Status, kubectlOK(t, "describe", "pod", name))
		}
		return ""
	})
	if !cniB.Subnet.Contains(net.ParseIP(pod.Status.PodIP)) {
		t.Fatalf("pod IP %s is not on the CNI bridge's %s", pod.Status.PodIP, cniB.Subnet)
	}

	addr := pod.Status.PodIP + ":6379"
	if err := hostkit.WaitTCP(addr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := redisCLI(t, pod.Status.PodIP, "SET", "k8s", "runnc"); got != "OK" {
		t.Fatalf("redis-cli SET: %q", got)
	}
	if got := redisCLI(t, pod.Status.PodIP, "GET", "k8s"); got != "runnc" {
		t.Fatalf("redis-cli GET: %q", got)
	}
	if logs := kubectlOK(t, "logs", name); !strings.Contains(logs, "kv: ready") {
		t.Fatalf("kubectl logs %s lacks the guest console (kv: ready):\n%s", name, logs)
	}

	id := strings.TrimPrefix(pod.Status.ContainerStatuses[0].ContainerID, "containerd://")
	pid := criPid(t, false, id)
	// runnc-spt, once it has set the guest up, runs it from its loader,
	// a memfd it names runnc-loader (tender/run.go).
	if name, exe := procStatus(t, pid, "Name"), exeOf(pid); name != "runnc-spt" || exe != tenderExe {
		t.Errorf("the pod's container is %s running %q, want runnc-spt running %q", name, exe, tenderExe)
	}
	if s := procStatus(t, pid, "Seccomp"); s != "2" {
		t.Errorf("runnc-spt Seccomp: %s, want 2 (filter)", s)
	}
	if s := procStatus(t, pid, "Threads"); s != "1" {
		t.Errorf("runnc-spt Threads: %s, want 1", s)
	}
	sandbox := sandboxOf(t, pod.Metadata.UID)
	pausePid := criPid(t, true, sandbox)
	if exe := exeOf(pausePid); exe != "pause" {
		t.Errorf("the pod's sandbox runs %q, want pause as a plain process", exe)
	}
	if traces := podTraces(pod.Metadata.UID, []string{id, sandbox}); len(traces) == 0 {
		t.Fatal("podTraces finds nothing of a running pod: it cannot see leftovers either")
	}

	grace := int64(30)
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	start := time.Now()
	kubectlOK(t, "delete", "pod", name, "--wait", "--timeout", "2m")
	took := time.Since(start)
	t.Logf("kubectl delete pod %s: %v (grace period %d s)", name, took.Round(time.Millisecond), grace)
	if took >= time.Duration(grace)*time.Second {
		t.Errorf("kubectl delete pod took %v, the whole grace period of %d s: the guest did not end on SIGTERM", took, grace)
	}
	waitFor(t, 30*time.Second, "nothing left of pod "+name, func() string {
		return strings.Join(podTraces(pod.Metadata.UID, []string{id, sandbox}), "\n")
	})
	if exeOf(pid) == tenderExe {
		t.Errorf("runnc-spt (pid %d) still runs after the pod was deleted", pid)
	}
}

// TestNonUnikernelPod: a pod with runtimeClassName runnc and an ordinary
// image (busybox) shows runnc's one-line reason in its events.
func TestNonUnikernelPod(t *testing.T) {
	needNode(t)
	reason, err := hostkit.RunncReason(runncBin, t.TempDir(), hostkit.BusyboxFiles, hostkit.BusyboxArgs...)
	if err != nil {
		t.Fatal(err)
	}
	const name = "busybox"
	applyFile(t, "apply", "busybox.yaml", `apiVersion: v1
kind: Pod
metadata:
  name: busybox
spec:
  runtimeClassName: runnc
  restartPolicy: Never
  containers:
  - name: busybox
    image: docker.io/runnc/busybox:latest
    imagePullPolicy: Never
    command: ["echo", "hi"]
`)
	t.Cleanup(func() { kubectl("delete", "pod", name, "--ignore-not-found", "--wait", "--timeout", "60s").Run() })
	bind(t, name)
	var events string
	waitFor(t, 2*time.Minute, "runnc's reason in the events of kubectl describe pod "+name, func() string {
		describe := kubectlOK(t, "describe", "pod", name)
		_, events, _ = strings.Cut(describe, "\nEvents:")
		if !strings.Contains(events, reason) {
			return "no " + strconv.Quote(reason) + " in the events of:\n" + describe
		}
		return ""
	})
	for _, l := range strings.Split(events, "\n") {
		if strings.Contains(l, reason) {
			t.Logf("event: %s", strings.TrimSpace(l))
			break
		}
	}
	start := time.Now()
	kubectlOK(t, "delete", "pod", name, "--wait", "--timeout", "2m")
	t.Logf("kubectl delete pod %s: %v", name, time.Since(start).Round(time.Millisecond))
}

func redisCLI(t *testing.T, host string, args ...string) string {
	t.Helper()
	out, err := hostkit.RunTimeout(30*time.Second, exec.Command("redis-cli", append([]string{"-h", host, "-p", "6379"}, args...)...))
	if err != nil {
		t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}
