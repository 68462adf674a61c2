// Command runnc-netns is package netns for shell scripts (the demo): it
// makes a named network namespace with a tap for a guest, runs a command
// inside it, and removes it, with the same code the tender, the runtime
// and the tests use.
//
//	runnc-netns add NAME TAP CIDR   namespace NAME, lo up, tap TAP up with address CIDR
//	runnc-netns exec NAME CMD ARGS  exec CMD in NAME (same pid, like ip netns exec)
//	runnc-netns del NAME            remove NAME and everything in it
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/runnc/runnc/netns"
)

const usage = `usage: runnc-netns add NAME TAP CIDR
       runnc-netns exec NAME CMD [ARGS...]
       runnc-netns del NAME`

func main() {
	args := os.Args[1:]
	var err error
	switch {
	case len(args) == 4 && args[0] == "add":
		err = add(args[1], args[2], args[3])
	case len(args) >= 3 && args[0] == "exec":
		err = execIn(args[1], args[2:])
	case len(args) == 2 && args[0] == "del":
		err = netns.Delete(args[1])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "runnc-netns: %v\n", err)
		os.Exit(1)
	}
}

func add(name, tap, cidr string) error {
	path, err := netns.New(name)
	if err != nil {
		return err
	}
	err = netns.Do(path, func() error {
		if err := netns.LinkUp("lo"); err != nil {
			return err
		}
		if err := netns.CreateTap(tap, 0, 0); err != nil {
			return err
		}
		return netns.AddAddr(tap, cidr)
	})
	if err != nil {
		netns.Delete(name)
	}
	return err
}

// execIn replaces this process with argv, from a thread inside the
// namespace: execve keeps the calling thread's namespaces and the pid.
func execIn(name string, argv []string) error {
	bin, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	return netns.Do(netns.Path(name), func() error {
		return fmt.Errorf("exec %s: %w", bin, syscall.Exec(bin, argv, os.Environ()))
	})
}
