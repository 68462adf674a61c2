//go:build k8s

package k8s

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runnc/runnc/integration/hostkit"
)

// nodeName is the node's name: `kubectl logs` reaches the kubelet through
// the API server by the node's address, and localhost needs no DNS.
const nodeName = "localhost"

// The node every test shares, started once by TestMain.
var (
	repo     string // module root
	work     string // everything the daemons write lives under here
	k8sBin   string // kubelet, kube-apiserver, kubectl (RUNNC_K8S_BIN)
	runncBin string // the installed runnc
	tag      string // "<pid>", in every name the tests give the host

	cniB                            *hostkit.Bridge
	etcd, apiserver, ctrd, kubeletD *hostkit.Daemon

	// setupErr is why the node could not be started; every test fails
	// with it instead of each finding its own way to fail.
	setupErr error
)

// cgroupRoot is the cgroup parent of the kubelet's pods (kubepods/ goes
// under it), so nothing it makes is at the top of a hierarchy.
func cgroupRoot() string { return "runnc-k8s-" + tag }

func setup() error {
	k8sBin = os.Getenv("RUNNC_K8S_BIN")
	for _, c := range []string{"kubelet", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(k8sBin, c)); err != nil {
			return fmt.Errorf("%w: set RUNNC_K8S_BIN to the folder scripts/k8s-build.sh prints (make k8s-test does)", err)
		}
	}
	images := filepath.Join(repo, "build", "images")
	for _, a := range []string{"kv", "busybox", "pause"} {
		if _, err := os.Stat(filepath.Join(images, a+".tar")); err != nil {
			return fmt.Errorf("%w: run make images first", err)
		}
	}
	prefix := filepath.Join(work, "prefix")
	runncBin = filepath.Join(prefix, "bin", "runnc")
	if out, err := exec.Command("make", "-s", "-C", repo, "install", "PREFIX="+prefix).CombinedOutput(); err != nil {
		return fmt.Errorf("make install: %v: %s", err, out)
	}
	var err error
	if cniB, err = hostkit.NewBridge("rnk"+tag, 71); err != nil {
		return err
	}
	if err := startEtcd(); err != nil {
		return err
	}
	token, err := startAPIServer()
	if err != nil {
		return err
	}
	if err := writeKubeconfig(token); err != nil {
		return err
	}
	handler, err := hostkit.ReadmeBlock(repo, "containerd-toml")
	if err != nil {
		return err
	}
	if ctrd, err = hostkit.StartContainerd(work, hostkit.Installed(handler, prefix), cniB); err != nil {
		return err
	}
	for _, a := range []string{"kv", "busybox", "pause"} {
		if out, err := hostkit.Ctr(work, "k8s.io", "images", "import", filepath.Join(images, a+".tar")).CombinedOutput(); err != nil {
			return fmt.Errorf("ctr images import %s: %v: %s", a, err, out)
		}
	}
	if err := startKubelet(); err != nil {
		return err
	}
	return nil
}

// etcdURL is where etcd serves the API server.
var etcdURL string

// startEtcd starts Debian's etcd on two free ports of 127.0.0.1.
func startEtcd() error {
	client, err := hostkit.FreePort()
	if err != nil {
		return err
	}
	peer, err := hostkit.FreePort()
	if err != nil {
		return err
	}
	etcdURL = fmt.Sprintf("http://127.0.0.1:%d", client)
	cu := etcdURL
	pu := fmt.Sprintf("http://127.0.0.1:%d", peer)
	etcd, err = hostkit.Start(work, "etcd", "/usr/bin/etcd", "--name", "node", "--data-dir", filepath.Join(work, "etcd"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu,
		"--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu, "--initial-cluster", "node="+pu,
		"--log-level", "warn")
	if err != nil {
		return err
	}
	return etcd.WaitReady(time.Minute, func() error { return hostkit.WaitTCP(fmt.Sprintf("127.0.0.1:%d", client), time.Second) })
}

var apiPort int

// startAPIServer starts kube-apiserver on etcd with a random static token
// for the test and the kubelet, AlwaysAllow authorization, a service
// account key made here, and a self-signed serving certificate it makes
// itself. With no controller manager there is no service account token
// to mount (ServiceAccount admission off) and nobody to keep the
// kubernetes Service's endpoints (no reconciler).
func startAPIServer() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	tokens := filepath.Join(work, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	saKey := filepath.Join(work, "sa.key")
	if err := os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", err
	}
	if apiPort, err = hostkit.FreePort(); err != nil {
		return "", err
	}
	apiserver, err = hostkit.Start(work, "kube-apiserver", filepath.Join(k8sBin, "kube-apiserver"),
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", strconv.Itoa(apiPort),
		"--cert-dir", filepath.Join(work, "apiserver-pki"),
		"--token-auth-file", tokens, "--authorization-mode", "AlwaysAllow",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--endpoint-reconciler-type", "none",
		"--disable-admission-plugins", "ServiceAccount",
		"--kubelet-preferred-address-types", "Hostname",
		"--enable-priority-and-fairness=false", "--profiling=false")
	if err != nil {
		return "", err
	}
	return token, nil
}

func kubeconfig() string { return filepath.Join(work, "kubeconfig") }

// writeKubeconfig writes the kubeconfig of the test's kubectl and of the
// kubelet and waits until the API server answers through it. The API
// server's certificate is its own self-signed one, so not verified: the
// connection never leaves 127.0.0.1.
func writeKubeconfig(token string) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: node
  cluster:
    server: https://127.0.0.1:%d
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: node
  context: {cluster: node, user: admin}
current-context: node
`, apiPort, token)
	if err := os.WriteFile(kubeconfig(), []byte(cfg), 0o600); err != nil {
		return err
	}
	return apiserver.WaitReady(2*time.Minute, func() error {
		out, err := kubectl("get", "--raw", "/readyz").CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		// The default namespace is made by the API server shortly after
		// it is ready; the pods go there.
		if out, err := kubectl("get", "namespace", "default").CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
}

// kubectl is the built kubectl on our API server, its caches under work.
func kubectl(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(k8sBin, "kubectl"), append([]string{"--kubeconfig", kubeconfig()}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+work, "KUBECACHEDIR="+filepath.Join(work, "kubectl-cache"))
	return cmd
}

var kubeletPort int

// startKubelet starts the kubelet on our containerd with its root, certs,
// pod logs and pods' cgroups in folders of the test, its API on a free
// port of 127.0.0.1, and waits until the node is Ready. The API server
// reaches it for logs by the node's Hostname address, localhost; its
// InternalIP (which must not be loopback) is our bridge's.
func startKubelet() error {
	// The kubelet makes kubepods/ under cgroupRoot but needs the root
	// itself in every hierarchy it uses.
	for _, dir := range cgroupDirs(cgroupRoot()) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if filepath.Base(filepath.Dir(dir)) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, f), v, 0o644)
				}
				if err != nil {
					return fmt.Errorf("cpuset of %s: %w", dir, err)
				}
			}
		}
	}
	var err error
	if kubeletPort, err = hostkit.FreePort(); err != nil {
		return err
	}
	// Eviction thresholds near zero: a busy shared machine must not make
	// the kubelet evict the test's pods.
	cfg := fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
cgroupRoot: /%s
failSwapOn: false
failCgroupV1: false
podLogsDir: %s
evictionHard: {memory.available: 1Mi, nodefs.available: 1%%, nodefs.inodesFree: 1%%, imagefs.available: 1%%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
syncFrequency: 10s
fileCheckFrequency: 10s
`, kubeletPort, hostkit.ContainerdSock(work), cgroupRoot(), filepath.Join(work, "pod-logs"))
	cfgPath := filepath.Join(work, "kubelet.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	root := filepath.Join(work, "kubelet")
	kubeletD, err = hostkit.Start(work, "kubelet", filepath.Join(k8sBin, "kubelet"),
		"--config", cfgPath, "--kubeconfig", kubeconfig(),
		"--root-dir", root, "--cert-dir", filepath.Join(root, "pki"),
		"--hostname-override", nodeName, "--node-ip", cniB.IP.String(), "--v", "2")
	if err != nil {
		return err
	}
	return kubeletD.WaitReady(3*time.Minute, func() error {
		out, err := kubectl("get", "node", nodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "True" {
			return fmt.Errorf("node %s not Ready: %v %s", nodeName, err, out)
		}
		return nil
	})
}

// teardown deletes what pods a failed test left, then stops the daemons
// by pid, the kubelet first.
func teardown() error {
	var errs []error
	if kubeletD != nil {
		if out, err := hostkit.RunTimeout(2*time.Minute, kubectl("delete", "pods", "--all", "--wait", "--timeout", "90s")); err != nil {
			errs = append(errs, fmt.Errorf("kubectl delete pods --all: %v: %s", err, out))
		}
		errs = append(errs, kubeletD.Stop())
	}
	if ctrd != nil {
		hostkit.RemoveAllPods(work)
		errs = append(errs, ctrd.Stop())
	}
	for _, d := range []*hostkit.Daemon{apiserver, etcd} {
		if d != nil {
			errs = append(errs, d.Stop())
		}
	}
	if cniB != nil {
		errs = append(errs, cniB.Remove())
	}
	return errors.Join(errs...)
}

// daemonLogs is the end of every daemon's log, for a failed setup.
func daemonLogs() string {
	var b strings.Builder
	for _, d := range []*hostkit.Daemon{etcd, apiserver, ctrd, kubeletD} {
		if d != nil {
			fmt.Fprintf(&b, "--- %s (%s):\n%s\n", d.Name, d.Log, hostkit.Tail(d.Log))
		}
	}
	return b.String()
}
