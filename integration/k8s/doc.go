// Package k8s runs runnc as the runtime of a real single-node Kubernetes
// cluster started by the tests themselves: Debian's etcd and containerd,
// kube-apiserver and kubelet of the release scripts/k8s-build.sh pins
// (built from the Go module proxy into a cache outside the repository),
// and Debian's CNI bridge plugin. The README's RuntimeClass and pod are
// applied with kubectl as written; the test binds the pods to the node
// itself (there is no scheduler or controller manager).
//
// Every daemon gets private ports, sockets and folders under one temporary
// directory; the kubelet's pods go under a cgroup parent of its own. What
// the kubelet and the CNI plugin change on the host regardless (sysctls,
// its KUBE-* iptables chains, /var/log/containers, ...) is recorded before
// the node starts, put back after it stopped, and compared: a run that
// leaves anything changed fails.
//
// The tests carry the build tag "k8s"; run them, as root, with
//
//	make k8s-test
//
// which installs the Debian packages (scripts/k8s-deps.sh), builds the
// Kubernetes binaries once (scripts/k8s-build.sh), the images (`make
// images`), and runs `go test -tags k8s` with RUNNC_K8S_BIN naming the
// binaries' folder.
package k8s
