package runnc

// Stand-ins for runnc/rootfs and netns.Handoff/Undo, which another branch
// writes (see the package doc for what they do). They drive genisoimage,
// ip and tc; they are removed when the Go packages land.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// imageFile is one extra file of the rootfs image.
type imageFile struct{ Path, Source string }

// guestNet is what the guest takes over from eth0.
type guestNet struct {
	Tap, IP   string
	PrefixLen int
	Gateway   string
	MAC       string
}

func buildImage(cacheDir, rootfsDir string, extra []imageFile, holder string) (string, error) {
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return "", err
	}
	out := filepath.Join(cacheDir, holder+".iso")
	args := []string{"-quiet", "-R", "-o", out, "-graft-points", "/=" + rootfsDir}
	for _, f := range extra {
		args = append(args, f.Path+"="+f.Source)
	}
	if b, err := exec.Command("genisoimage", args...).CombinedOutput(); err != nil {
		os.Remove(out)
		return "", fmt.Errorf("rootfs image: %v: %s", err, strings.TrimSpace(string(b)))
	}
	return out, nil
}

func releaseImage(cacheDir, holder string) error {
	err := os.Remove(filepath.Join(cacheDir, holder+".iso"))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

func nsRun(nsPath string, args ...string) (string, error) {
	b, err := exec.Command("nsenter", append([]string{"--net=" + nsPath}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

func netHandoff(nsPath, tap string, uid, gid int) (*guestNet, error) {
	link, err := nsRun(nsPath, "ip", "-o", "link", "show", "dev", "eth0")
	if err != nil {
		return nil, nil // no eth0
	}
	g := &guestNet{Tap: tap}
	f := strings.Fields(link)
	mtu := "1500"
	for i := range f[:len(f)-1] {
		switch f[i] {
		case "link/ether":
			g.MAC = f[i+1]
		case "mtu":
			mtu = f[i+1]
		}
	}
	addr, err := nsRun(nsPath, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		return nil, err
	}
	f = strings.Fields(addr)
	for i := range f {
		if f[i] == "inet" && i+1 < len(f) {
			ip, n, err := net.ParseCIDR(f[i+1])
			if err != nil {
				return nil, err
			}
			g.IP = ip.String()
			g.PrefixLen, _ = n.Mask.Size()
			break
		}
	}
	if g.IP == "" {
		return nil, fmt.Errorf("eth0 has no IPv4 address")
	}
	rt, _ := nsRun(nsPath, "ip", "-4", "route", "show", "default")
	if f := strings.Fields(rt); len(f) >= 3 && f[1] == "via" {
		g.Gateway = f[2]
	}
	for _, c := range [][]string{
		{"ip", "tuntap", "add", "dev", tap, "mode", "tap", "user", strconv.Itoa(uid), "group", strconv.Itoa(gid)},
		{"ip", "link", "set", tap, "mtu", mtu, "up"},
		{"ip", "addr", "flush", "dev", "eth0"},
		{"tc", "qdisc", "add", "dev", "eth0", "ingress"},
		{"tc", "filter", "add", "dev", "eth0", "parent", "ffff:", "protocol", "all", "u32", "match", "u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", tap},
		{"tc", "qdisc", "add", "dev", tap, "ingress"},
		{"tc", "filter", "add", "dev", tap, "parent", "ffff:", "protocol", "all", "u32", "match", "u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", "eth0"},
	} {
		if _, err := nsRun(nsPath, c...); err != nil {
			netUndo(nsPath, g)
			return nil, err
		}
	}
	return g, nil
}

func netUndo(nsPath string, g *guestNet) error {
	if g == nil {
		return nil
	}
	if _, err := os.Stat(nsPath); err != nil {
		return nil // the namespace is gone, and with it the tap
	}
	nsRun(nsPath, "ip", "link", "del", g.Tap)
	nsRun(nsPath, "tc", "qdisc", "del", "dev", "eth0", "ingress")
	nsRun(nsPath, "ip", "addr", "add", fmt.Sprintf("%s/%d", g.IP, g.PrefixLen), "dev", "eth0")
	if g.Gateway != "" {
		nsRun(nsPath, "ip", "route", "add", "default", "via", g.Gateway, "dev", "eth0", "onlink")
	}
	return nil
}
