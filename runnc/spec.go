package runnc

import (
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/runnc/runnc/runnc/rootfs"
	"github.com/runnc/runnc/solo5/manifest"
	"github.com/runnc/runnc/tender"
)

// hasDevice says whether the unikernel's manifest declares a device of t.
func (b *bundle) hasDevice(t manifest.DeviceType) string {
	if b.manifest == nil {
		return ""
	}
	for _, d := range b.manifest.Devices {
		if d.Type == t {
			return d.Name
		}
	}
	return ""
}

// rewrite turns the spec's process into the tender holding the unikernel
// (see the package doc); spt is runnc-spt on the host, image the rootfs
// image or "", netDir the host directory seen as /.runnc/net.
func (b *bundle) rewrite(spt, image, netDir string) {
	s, p := b.spec, b.spec.Process
	cfg := tender.Config{
		MemMB:       b.guestMiB,
		MemPrefault: b.prefault,
		Kernel:      b.guest,
		Args:        append(envArgs(p.Env), p.Args[1:]...),
		ArgsFile:    ctrArgs,
	}
	if image != "" {
		cfg.Block = []tender.BlockSpec{{Name: rootfsDev, Path: ctrImage, ReadOnly: true}}
	}
	p.Args = append([]string{ctrSpt}, cfg.Argv()...)
	p.Env = []string{}
	// The tender needs no capability: the tap is its own, the image and
	// /dev/net/tun are readable by anyone, and no_new_privs lets it
	// install its filter.
	p.Capabilities = &specs.LinuxCapabilities{}
	p.NoNewPrivileges = true
	// The engine's seccomp profile is dropped: the tender's seven-call
	// filter is narrower than any profile, and a second filter would add
	// kernel code to every guest call.
	s.Linux.Seccomp = nil

	ro := []string{"bind", "ro", "nosuid", "nodev"}
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: ctrSpt, Type: "bind", Source: spt, Options: ro},
		specs.Mount{Destination: ctrNetDir, Type: "bind", Source: netDir, Options: append(ro, "noexec")})
	if image != "" {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: ctrImage, Type: "bind", Source: image, Options: append(ro, "noexec")})
	}
	if b.hasDevice(manifest.NetBasic) != "" {
		mode := os.FileMode(0o666)
		zero := uint32(0)
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{
			Path: tunPath, Type: "c", Major: 10, Minor: 200, FileMode: &mode, UID: &zero, GID: &zero})
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		maj, min := int64(10), int64(200)
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{
			Allow: true, Type: "c", Major: &maj, Minor: &min, Access: "rwm"})
	}
}

// envArgs passes process.env to the guest as --env=K=V words, which libos
// takes off the command line (libos/core/main.c). The command line is
// split at blanks, so '%', blanks and newlines are %-escaped.
func envArgs(env []string) []string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "\t", "%09", "\n", "%0A")
	var out []string
	for _, e := range env {
		if strings.Contains(e, "=") {
			out = append(out, "--env="+r.Replace(e))
		}
	}
	return out
}

// imageExtras are the engine's files the bundle mounts into /etc, which
// the guest sees in its image too.
func (b *bundle) imageExtras() []rootfs.File {
	var out []rootfs.File
	for _, m := range b.spec.Mounts {
		switch m.Destination {
		case "/etc/resolv.conf", "/etc/hosts", "/etc/hostname":
			if fi, err := os.Stat(m.Source); err == nil && fi.Mode().IsRegular() {
				out = append(out, rootfs.File{Path: m.Destination, Source: m.Source})
			}
		}
	}
	return out
}
