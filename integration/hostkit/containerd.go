package hostkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PauseImage is the sandbox image `make images` builds (build/images/pause.tar).
const PauseImage = "docker.io/runnc/pause:latest"

// ContainerdSock is the socket of the containerd StartContainerd starts in work.
func ContainerdSock(work string) string { return filepath.Join(work, "containerd.sock") }

// StartContainerd starts Debian's containerd with its root, state, sockets
// and CRI network (a CNI bridge conf on b, host-local addresses kept under
// work) all under work; handler is the README's runnc handler with its
// paths rewritten to the install prefix, given a shim state root under
// work (its default is the machine's /run/containerd/runc). Images of the
// CRI live in namespace k8s.io (Ctr).
func StartContainerd(work, handler string, b *Bridge) (*Daemon, error) {
	handler, err := AddOption(handler, "BinaryName", fmt.Sprintf("Root = %q", filepath.Join(work, "runnc-cri")))
	if err != nil {
		return nil, err
	}
	cni := filepath.Join(work, "cni")
	if err := os.MkdirAll(cni, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`{"cniVersion":"0.4.0","name":"runnc-test","type":"bridge","bridge":%q,
"isGateway":true,"ipMasq":false,"ipam":{"type":"host-local","subnet":%q,"dataDir":%q,"routes":[{"dst":"0.0.0.0/0"}]}}`,
		b.Name, b.Subnet.String(), filepath.Join(work, "cni-ipam"))
	if err := os.WriteFile(filepath.Join(cni, "10-runnc-test.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	sock := ContainerdSock(work)
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.internal.v1.opt"]
  path = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  # The CRI plugin sets each container's oom_score_adj from the pod spec
  # (the sandbox asks for -998); lowering it needs CAP_SYS_RESOURCE, which
  # root on these machines lacks, so clamp it to containerd's own value.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        Root = %q
%s
`, filepath.Join(work, "ctrd"), filepath.Join(work, "ctrd-state"), sock, sock+".ttrpc",
		filepath.Join(work, "ctrd-opt"), PauseImage, cni, filepath.Join(work, "runc-cri"), Indent(handler, "    "))
	cfgPath := filepath.Join(work, "containerd.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	d, err := Start(work, "containerd", "/usr/bin/containerd", "--config", cfgPath, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	if err := d.WaitReady(time.Minute, func() error { return Ctr(work, "default", "version").Run() }); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// Ctr is ctr on the containerd of work, in namespace ns.
func Ctr(work, ns string, args ...string) *exec.Cmd {
	return exec.Command("/usr/bin/ctr", append([]string{"--address", ContainerdSock(work), "--namespace", ns}, args...)...)
}

// CRIClient connects to the CRI plugin of the containerd of work, the API
// kubelet uses.
func CRIClient(work string) (cri.RuntimeServiceClient, func(), error) {
	conn, err := grpc.NewClient("unix://"+ContainerdSock(work), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("dial CRI: %w", err)
	}
	return cri.NewRuntimeServiceClient(conn), func() { conn.Close() }, nil
}

// RemoveAllPods stops and removes every pod sandbox of the containerd of
// work, what a failed test left.
func RemoveAllPods(work string) {
	rs, done, err := CRIClient(work)
	if err != nil {
		return
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list, err := rs.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return
	}
	for _, p := range list.Items {
		rs.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: p.Id})
		rs.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: p.Id})
	}
}
