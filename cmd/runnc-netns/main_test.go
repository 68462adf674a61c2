package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/runnc/runnc/netns"
)

// The test binary is the tool when this is set, so the tests run it as the
// demo does.
const asTool = "RUNNC_NETNS_TEST_AS_TOOL"

func TestMain(m *testing.M) {
	if os.Getenv(asTool) != "" {
		os.Args = append([]string{"runnc-netns"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func tool(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asTool+"=1")
	return cmd
}

// add makes the namespace with the tap and its address, exec runs a
// command inside it with the tool's own pid, del removes it.
func TestAddExecDel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (network namespaces, taps): run make test as root")
	}
	name := netns.Name("rhd")
	if out, err := tool("add", name, "tap0", "10.0.9.1/24").CombinedOutput(); err != nil {
		t.Fatalf("add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if netns.Exists(name) {
			netns.Delete(name)
		}
	})
	var st unix.Stat_t
	if err := unix.Stat(netns.Path(name), &st); err != nil {
		t.Fatal(err)
	}
	cmd := tool("exec", name, "sh", "-c", "echo $$; readlink /proc/self/ns/net")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 2 || lines[0] != fmt.Sprint(cmd.Process.Pid) || lines[1] != fmt.Sprintf("net:[%d]", st.Ino) {
		t.Errorf("exec printed %q, want the tool's pid %d and net:[%d]", out, cmd.Process.Pid, st.Ino)
	}
	err = netns.Do(netns.Path(name), func() error {
		mtu, err := netns.MTU("tap0")
		if err != nil || mtu != 1500 {
			return fmt.Errorf("tap0: mtu %d, %v", mtu, err)
		}
		links, err := netns.LinkNames()
		if err != nil || strings.Join(links, " ") != "lo tap0" {
			return fmt.Errorf("links %v (%v), want lo tap0", links, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if out, err := tool("del", name).CombinedOutput(); err != nil {
		t.Fatalf("del: %v: %s", err, out)
	}
	if netns.Exists(name) {
		t.Errorf("%s exists after del", name)
	}
	if out, err := tool("del", name).CombinedOutput(); err == nil || !strings.HasPrefix(string(out), "runnc-netns: delete netns "+name) {
		t.Errorf("del of a missing namespace: %v, %q; want a one-line error", err, out)
	}
}
