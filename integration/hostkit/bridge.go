package hostkit

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Bridge is a Linux bridge in the host namespace with a free /24.
type Bridge struct {
	Name   string
	IP     net.IP // the bridge's own address, .1
	Subnet *net.IPNet
}

// NewBridge makes bridge name with the first 172.29.X.0/24 no route of the
// host uses yet, X from the pid plus offset on, so bridges of one run
// (different offsets) and of runs at once (different pids) seldom try the
// same subnet first.
func NewBridge(name string, offset int) (*Bridge, error) {
	routes, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return nil, fmt.Errorf("ip route: %w", err)
	}
	start := os.Getpid()%200 + offset
	for i := 0; i < 250; i++ {
		x := (start+i)%250 + 1
		cidr := fmt.Sprintf("172.29.%d.0/24", x)
		if bytes.Contains(routes, []byte(fmt.Sprintf("172.29.%d.", x))) {
			continue
		}
		_, subnet, _ := net.ParseCIDR(cidr)
		b := &Bridge{Name: name, IP: net.IPv4(172, 29, byte(x), 1).To4(), Subnet: subnet}
		for _, args := range [][]string{
			{"link", "add", name, "type", "bridge"},
			{"addr", "add", b.IP.String() + "/24", "dev", name},
			{"link", "set", name, "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				b.Remove()
				return nil, fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
			}
		}
		return b, nil
	}
	return nil, errors.New("no free 172.29.X.0/24 for a test bridge")
}

// Remove deletes the bridge if it is there.
func (b *Bridge) Remove() error {
	if err := exec.Command("ip", "link", "show", b.Name).Run(); err != nil {
		return nil
	}
	if out, err := exec.Command("ip", "link", "del", b.Name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip link del %s: %v: %s", b.Name, err, out)
	}
	return nil
}

// RemoveCgroup removes the cgroup folder dir and those below it, deepest
// first (a cgroup folder goes with rmdir once it has no children or tasks).
func RemoveCgroup(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			RemoveCgroup(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}
