// Package engines runs runnc under real container engines started by the
// tests themselves: dockerd (`--runtime=runnc`), Podman (`--runtime`),
// containerd with `ctr run` and with its CRI plugin driven the way kubelet
// drives it for a RuntimeClass. Each daemon gets a private socket, data
// root, exec root, pid file, bridge and cgroup parent, never the machine's
// defaults; the tests stop the daemons by pid and check that no bridge,
// netns, mount, cgroup, iptables rule or process they made is left.
//
// The tests carry the build tag "engines" so `make test` stays quick and
// starts no daemon; run them, as root, with
//
//	make engine-test
//
// which installs Debian's docker.io, containerd, podman and runc if
// missing, builds the images (`make images`), installs runnc into a
// temporary PREFIX with `make install` and runs `go test -tags engines`.
// The README's engine snippets (daemon.json, containerd config, Podman,
// RuntimeClass) are read from the README by the tests and used as written.
package engines
