//go:build engines

package engines

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
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

// criClient connects to our containerd's CRI plugin, the API kubelet uses.
func criClient() (cri.RuntimeServiceClient, func(), error) { return hostkit.CRIClient(work) }

func criCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// The parts of the README's RuntimeClass and Pod that kubelet turns into
// CRI calls.
type runtimeClass struct {
	Kind     string
	Metadata struct{ Name string }
	Handler  string
}

type podSpec struct {
	Kind     string
	Metadata struct{ Name string }
	Spec     struct {
		RuntimeClassName string `json:"runtimeClassName"`
		Containers       []struct {
			Name  string
			Image string
			Ports []struct {
				ContainerPort int `json:"containerPort"`
			}
			Resources struct {
				Limits map[string]string
			}
		}
	}
}

func readRuntimeClass(t *testing.T) (runtimeClass, podSpec) {
	t.Helper()
	block, err := readmeBlock("runtimeclass")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(block, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("README runtimeclass block has %d documents, want a RuntimeClass and a Pod", len(docs))
	}
	var rc runtimeClass
	var pod podSpec
	if err := yaml.Unmarshal([]byte(docs[0]), &rc); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &pod); err != nil {
		t.Fatal(err)
	}
	if rc.Kind != "RuntimeClass" || pod.Kind != "Pod" || len(pod.Spec.Containers) != 1 {
		t.Fatalf("README runtimeclass block: %+v %+v", rc, pod)
	}
	if pod.Spec.RuntimeClassName != rc.Metadata.Name {
		t.Fatalf("README pod uses RuntimeClass %q, the README defines %q", pod.Spec.RuntimeClassName, rc.Metadata.Name)
	}
	return rc, pod
}

// bytesOf parses a Kubernetes memory quantity of the forms the README uses.
func bytesOf(q string) (int64, error) {
	for suffix, mult := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			return v * mult, err
		}
	}
	return strconv.ParseInt(q, 10, 64)
}

// pod is a sandbox the test made through CRI, removed when the test ends.
type pod struct {
	id     string
	config *cri.PodSandboxConfig
	ip     string
	logDir string
}

func runPod(t *testing.T, rs cri.RuntimeServiceClient, name, handler string) *pod {
	t.Helper()
	ctx, cancel := criCtx()
	defer cancel()
	logDir := filepath.Join(work, "pods", name)
	cfg := &cri.PodSandboxConfig{
		Metadata:     &cri.PodSandboxMetadata{Name: name, Uid: name + "-" + tag, Namespace: "default"},
		Hostname:     name,
		LogDirectory: logDir,
		Linux: &cri.LinuxPodSandboxConfig{
			CgroupParent: "/" + criCgroup() + "/" + name,
			SecurityContext: &cri.LinuxSandboxSecurityContext{
				NamespaceOptions: &cri.NamespaceOption{Network: cri.NamespaceMode_POD, Pid: cri.NamespaceMode_CONTAINER, Ipc: cri.NamespaceMode_POD},
			},
		},
	}
	resp, err := rs.RunPodSandbox(ctx, &cri.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		t.Fatalf("RunPodSandbox (handler %s): %v", handler, err)
	}
	p := &pod{id: resp.PodSandboxId, config: cfg, logDir: logDir}
	t.Cleanup(func() {
		ctx, cancel := criCtx()
		defer cancel()
		rs.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.id})
		rs.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.id})
	})
	st, err := rs.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: p.id})
	if err != nil {
		t.Fatalf("PodSandboxStatus: %v", err)
	}
	if st.Status.State != cri.PodSandboxState_SANDBOX_READY || st.Status.Network == nil || st.Status.Network.Ip == "" {
		t.Fatalf("pod sandbox not ready with an IP: %v", st.Status)
	}
	p.ip = st.Status.Network.Ip
	return p
}

// startContainer creates and starts a container in p; the error is the
// one CRI returned, for the tests that expect one.
func startContainer(rs cri.RuntimeServiceClient, p *pod, cfg *cri.ContainerConfig) (string, error) {
	ctx, cancel := criCtx()
	defer cancel()
	cr, err := rs.CreateContainer(ctx, &cri.CreateContainerRequest{PodSandboxId: p.id, Config: cfg, SandboxConfig: p.config})
	if err != nil {
		return "", fmt.Errorf("CreateContainer: %w", err)
	}
	if _, err := rs.StartContainer(ctx, &cri.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
		return cr.ContainerId, fmt.Errorf("StartContainer: %w", err)
	}
	return cr.ContainerId, nil
}

func containerStatus(t *testing.T, rs cri.RuntimeServiceClient, id string) *cri.ContainerStatus {
	t.Helper()
	ctx, cancel := criCtx()
	defer cancel()
	st, err := rs.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		t.Fatalf("ContainerStatus: %v", err)
	}
	return st.Status
}

// waitExited polls ContainerStatus until the container exited.
func waitExited(t *testing.T, rs cri.RuntimeServiceClient, id string) *cri.ContainerStatus {
	t.Helper()
	for i := 0; i < 300; i++ {
		if st := containerStatus(t, rs, id); st.State == cri.ContainerState_CONTAINER_EXITED {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container %s did not exit in 30 s", id)
	return nil
}

// TestCRIRuncPeer: the CRI path works with runc, the default handler, so
// a failure of the runnc case is runnc's.
func TestCRIRuncPeer(t *testing.T) {
	needEngines(t)
	rs, done, err := criClient()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	p := runPod(t, rs, "peer", "")
	id, err := startContainer(rs, p, &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: "echo"},
		Image:    &cri.ImageSpec{Image: "docker.io/runnc/busybox:latest"},
		Command:  []string{"sh", "-c", "echo peer; exit 3"},
		LogPath:  "echo.log",
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rs, id); st.ExitCode != 3 {
		t.Fatalf("busybox under runc exited %d, want 3", st.ExitCode)
	}
	if log, _ := os.ReadFile(filepath.Join(p.logDir, "echo.log")); !strings.Contains(string(log), " stdout F peer") {
		t.Fatalf("CRI log file: %q", log)
	}
}

// TestCRIPod is kubelet's path for the README's RuntimeClass and pod: a
// sandbox with the runnc handler (pause as a plain process), the kv
// container answering redis-cli on the pod IP, its status and its CRI log,
// an aborting guest's exit code, and nothing left once the pod is removed.
func TestCRIPod(t *testing.T) {
	needRunnc(t)
	rc, spec := readRuntimeClass(t)
	c := spec.Spec.Containers[0]
	mem, err := bytesOf(c.Resources.Limits["memory"])
	if err != nil {
		t.Fatal(err)
	}
	rs, done, err := criClient()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	before := snapshot()

	p := runPod(t, rs, spec.Metadata.Name, rc.Handler)
	// The sandbox runs pause itself, as a plain process, not a tender.
	ctx, cancel := criCtx()
	defer cancel()
	st, err := rs.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: p.id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Pid            int
		RuntimeHandler string
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.Pid == 0 {
		t.Fatalf("PodSandboxStatus info: %v %q", err, st.Info["info"])
	}
	// The runtime's start returns once the init was released, which may be
	// a moment before it has exec'd pause.
	var exe string
	for i := 0; i < 50 && filepath.Base(exe) != "pause"; i++ {
		time.Sleep(100 * time.Millisecond)
		exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", info.Pid))
	}
	if info.RuntimeHandler != rc.Handler || filepath.Base(exe) != "pause" {
		t.Fatalf("sandbox under handler %q runs %q, want pause under %q", info.RuntimeHandler, exe, rc.Handler)
	}
	kv, err := startContainer(rs, p, &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: c.Name},
		Image:    &cri.ImageSpec{Image: c.Image},
		LogPath:  c.Name + ".log",
		Linux:    &cri.LinuxContainerConfig{Resources: &cri.LinuxContainerResources{MemoryLimitInBytes: mem}},
	})
	if err != nil {
		t.Fatal(err)
	}
	port := c.Ports[0].ContainerPort
	if err := hostkit.WaitTCP(fmt.Sprintf("%s:%d", p.ip, port), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := redisCLI(t, p.ip, port, "PING"); got != "PONG" {
		t.Fatalf("redis-cli to the pod IP: %q", got)
	}
	// The pod's memory limit reaches the guest, as with docker run -m.
	m := regexp.MustCompile(`total_system_memory:(\d+)`).FindStringSubmatch(redisCLI(t, p.ip, port, "INFO", "memory"))
	if m == nil {
		t.Fatal("INFO memory has no total_system_memory")
	}
	if heap, _ := strconv.ParseInt(m[1], 10, 64); heap <= 0 || heap > mem {
		t.Errorf("guest heap %d bytes with a %d-byte memory limit", heap, mem)
	}
	if st := containerStatus(t, rs, kv); st.State != cri.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("kv status %v, want running", st.State)
	}
	logPath := filepath.Join(p.logDir, c.Name+".log")
	if log, _ := os.ReadFile(logPath); !strings.Contains(string(log), " stdout F kv: ready") {
		t.Fatalf("CRI log %s lacks the guest console in CRI format:\n%s", logPath, log)
	}

	ab, err := startContainer(rs, p, &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: "abort"},
		Image:    &cri.ImageSpec{Image: "docker.io/runnc/abort:latest"},
		LogPath:  "abort.log",
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitExited(t, rs, ab); st.ExitCode != 255 {
		t.Fatalf("aborting guest: ContainerStatus exit code %d, want 255", st.ExitCode)
	}

	if _, err := rs.StopContainer(ctx, &cri.StopContainerRequest{ContainerId: kv, Timeout: 10}); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	// As under Docker: the signal's status, SIGTERM's or SIGKILL's.
	if st := containerStatus(t, rs, kv); st.State != cri.ContainerState_CONTAINER_EXITED || (st.ExitCode != 143 && st.ExitCode != 137) {
		t.Fatalf("kv after StopContainer: %v exit %d, want exited 143 or 137", st.State, st.ExitCode)
	}
	if _, err := rs.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatalf("StopPodSandbox: %v", err)
	}
	if _, err := rs.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.id}); err != nil {
		t.Fatalf("RemovePodSandbox: %v", err)
	}
	os.RemoveAll(p.logDir) // kubelet's to remove, not the runtime's
	if leaks := snapshot().Since(before); len(leaks) > 0 {
		t.Fatalf("StopPodSandbox and RemovePodSandbox left:\n%s", strings.Join(leaks, "\n"))
	}
}

// TestCRIErrors: a non-unikernel image and a corrupt unikernel in a runnc
// pod fail with the runtime's own reason in the CRI error.
func TestCRIErrors(t *testing.T) {
	needRunnc(t)
	rs, done, err := criClient()
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	p := runPod(t, rs, "errors", "runnc")
	reason := busyboxReason(t)
	_, err = startContainer(rs, p, &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: "busybox"},
		Image:    &cri.ImageSpec{Image: "docker.io/runnc/busybox:latest"},
		Command:  []string{"echo", "hi"},
	})
	if err == nil || !strings.Contains(err.Error(), reason) {
		t.Errorf("busybox in a runnc pod: %v, want runnc's reason %q", err, reason)
	}
	archive, reason := corruptImage(t, "runnc/corrupt-cri:latest")
	if out, err := ctrCmd("k8s.io", "images", "import", archive).CombinedOutput(); err != nil {
		t.Fatalf("ctr import: %v\n%s", err, out)
	}
	t.Cleanup(func() { ctrCmd("k8s.io", "images", "rm", "docker.io/runnc/corrupt-cri:latest").Run() })
	_, err = startContainer(rs, p, &cri.ContainerConfig{
		Metadata: &cri.ContainerMetadata{Name: "corrupt"},
		Image:    &cri.ImageSpec{Image: "docker.io/runnc/corrupt-cri:latest"},
	})
	if err == nil || !strings.Contains(err.Error(), reason) {
		t.Errorf("corrupt unikernel in a runnc pod: %v, want runnc's reason %q", err, reason)
	}
}

// TestCtrRun: ctr with runc's shim and runnc as the shim's binary.
func TestCtrRun(t *testing.T) {
	needRunnc(t)
	out, err := hostkit.RunTimeout(time.Minute, ctrCmd("k8s.io", "run", "--rm", "--runtime", "io.containerd.runc.v2",
		"--runc-binary", runncBin, "--cgroup", "/"+ctrCgroup()+"/hello",
		"docker.io/runnc/hello:latest", "hello-"+tag))
	if err != nil || !strings.Contains(out, "Hello, World") {
		t.Fatalf("ctr run hello under runnc: %v\n%s", err, out)
	}
}
