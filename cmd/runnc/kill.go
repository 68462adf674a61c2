package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var killCommand = cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container; a terminating signal ends a unikernel at once",
	ArgsUsage: "<container-id> [signal]",
	Flags:     []cli.Flag{cli.BoolFlag{Name: "all, a", Usage: "signal every process of the container"}},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 2); err != nil {
			return err
		}
		name := c.Args().Get(1)
		if name == "" {
			name = "SIGTERM"
		}
		sig, err := parseSignal(name)
		if err != nil {
			return err
		}
		return runtime(c).Kill(c.Args().First(), sig, c.Bool("all"))
	},
}

// parseSignal takes a number, a name, or a name without SIG.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("unknown signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
