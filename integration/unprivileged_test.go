package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/integration/testnet"
	"github.com/runnc/runnc/internal/syncbuf"
	"github.com/runnc/runnc/netns"
)

// nobody is the unprivileged user the tender runs as here.
const nobody = 65534

// TestKVUnprivileged runs the kv guest as an unprivileged user with no
// capabilities at all, on a tap that user owns, attached by name and as
// an already open fd (@FD), and talks to it with redis-cli. The tender
// then cannot enter the tap's namespace (TUNGETDEVNETNS, setns): it must
// find the MTU in its own. The process's credentials are checked in
// /proc/PID/status while it serves.
func TestKVUnprivileged(t *testing.T) {
	testnet.NeedRoot(t)
	spt := testnet.BuildOutput(t, "build/bin/runnc-spt")
	kv := testnet.BuildOutput(t, "build/unikernels/kv/kv.spt")
	n, err := testnet.New("rh9")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	const tap = "tapu"
	if err := netns.Do(netns.Path(n.Server), func() error {
		if err := netns.CreateTap(tap, nobody, nobody); err != nil {
			return err
		}
		return netns.SetMaster(tap, "br0")
	}); err != nil {
		t.Fatal(err)
	}
	tun := tunNode(t)

	for _, c := range []struct {
		name string
		net  string
		fd   func() *os.File
	}{
		{"by name", "--net:service0=" + tap, nil},
		{"@FD", "--net:service0=@3", func() *os.File {
			var f *os.File
			if err := netns.Do(netns.Path(n.Server), func() error {
				var err error
				f, err = netns.OpenTap(tap)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return f
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(spt, c.net, kv, fmt.Sprintf("--ipv4=%s/%d", n.GuestIP, testnet.Prefix), "--ipv4-gateway="+n.ClientIP)
			out := &syncbuf.Buffer{}
			cmd.Stdout, cmd.Stderr = out, out
			if c.fd != nil {
				f := c.fd()
				defer f.Close()
				cmd.ExtraFiles = []*os.File{f}
			}
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Credential:  &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}},
				AmbientCaps: nil,
			}
			startWithTun(t, cmd, netns.Path(n.Server), tun)
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

			if err := n.WaitTCP(n.GuestIP, 6379, 30*time.Second); err != nil {
				t.Fatalf("kv as uid %d: %v\n%s", nobody, err, out.String())
			}
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				fmt.Sprintf("Uid:\t%d\t%d\t%d\t%d", nobody, nobody, nobody, nobody),
				"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000",
				"CapEff:\t0000000000000000", "CapAmb:\t0000000000000000",
				"Seccomp:\t2",
			} {
				if !strings.Contains(string(status), want+"\n") {
					t.Errorf("/proc/%d/status lacks %q:\n%s", cmd.Process.Pid, want, status)
				}
			}
			reply := kvRun(t, n.InClient("redis-cli", "-h", n.GuestIP, "PING"), nil, time.Minute)
			if string(reply) != "PONG\n" {
				t.Errorf("redis-cli PING: %q, want PONG\n%s", reply, out.String())
			}
		})
	}
}

// tunNode makes a character device node for the tun driver (10, 200)
// usable by everyone, as /dev/net/tun is on a stock Debian host (crw-rw-rw-;
// this machine's is root-only). startWithTun puts it in a private mount
// namespace of the test's process only.
func tunNode(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "tun")
	if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(10, 200))); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	return p
}

// startWithTun starts cmd in the network namespace at nsPath and in a
// private mount namespace where /dev/net/tun is the node tun: netns.Do's
// thread, which is never returned to the scheduler, also unshares its
// mount namespace, and a child inherits its forking thread's namespaces.
func startWithTun(t *testing.T, cmd *exec.Cmd, nsPath, tun string) {
	err := netns.Do(nsPath, func() error {
		if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("unshare: %w", err)
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make / private: %w", err)
		}
		if err := unix.Mount(tun, "/dev/net/tun", "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s on /dev/net/tun: %w", tun, err)
		}
		return cmd.Start()
	})
	if err != nil {
		t.Fatal(err)
	}
}
