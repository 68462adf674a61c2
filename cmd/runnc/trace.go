package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/runnc/runnc/hap"
	"github.com/urfave/cli"
)

var traceCommand = cli.Command{
	Name:  "trace",
	Usage: "measure what a container, a process or a command reaches in the host kernel",
	ArgsUsage: `[CONTAINER-ID | --pid PID | -- COMMAND [ARGS...]]

Prints three layers: the system calls the installed seccomp filter allows
(decoded from the process), the system calls it made (tracefs
raw_syscalls, following forks) and the kernel functions it ran (ftrace's
function tracer, interrupt work left out; kernels in lockdown refuse it,
and then "make hap-lab" measures them in a VM). Tracing ends when the
target exits, after --duration, when the --load command ends, or on
SIGINT/SIGTERM. A command's own output goes to stderr.`,
	Flags: []cli.Flag{
		cli.IntFlag{Name: "pid", Usage: "trace this process and its descendants"},
		cli.DurationFlag{Name: "duration", Usage: "stop after this long (e.g. 30s)"},
		cli.StringFlag{Name: "load", Usage: "shell command to run once tracing is on; tracing stops when it ends"},
		cli.BoolFlag{Name: "json", Usage: "print the profile as JSON"},
		cli.StringFlag{Name: "output, o", Usage: "also write the JSON profile to this file"},
		cli.StringFlag{Name: "name", Usage: "name the target in the profile"},
		cli.BoolFlag{Name: "no-functions", Usage: "do not trace kernel functions"},
		cli.StringFlag{Name: "baseline", Usage: "check the profile against this baseline file; exit 1 if it grew"},
		cli.StringFlag{Name: "workload", Usage: "the baseline's workload entry to compare with"},
		cli.StringFlag{Name: "guest", Usage: "the guest, for the baseline's per-guest exceptions"},
	},
	Action: func(c *cli.Context) error {
		opts := hap.Options{Pid: c.Int("pid"), Duration: c.Duration("duration"),
			Load: c.String("load"), Name: c.String("name"), Functions: !c.Bool("no-functions")}
		switch {
		case opts.Pid > 0 && c.NArg() > 0:
			return errors.New("trace: give a container id, --pid or -- COMMAND, not several")
		case opts.Pid > 0:
		case c.NArg() == 0:
			return errors.New("trace: what to trace? a container id, --pid PID or -- COMMAND")
		case len(os.Args) > 0 && dashDash(os.Args):
			opts.Command = c.Args()
		case c.NArg() == 1:
			pid, err := hap.ContainerPid(c.GlobalString("root"), c.Args().First())
			if err != nil {
				return err
			}
			opts.Pid = pid
			if opts.Name == "" {
				opts.Name = "container " + c.Args().First()
			}
		default:
			return errors.New("trace: one container id, or -- before a command")
		}
		var base *hap.Baseline
		if path := c.String("baseline"); path != "" {
			var err error
			if base, err = hap.ReadBaseline(path); err != nil {
				return err
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		prof, err := hap.Measure(ctx, opts)
		if prof == nil {
			return err
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "runnc: trace: %v\n", err)
		}
		js, jerr := json.MarshalIndent(prof, "", "  ")
		if jerr != nil {
			return jerr
		}
		if path := c.String("output"); path != "" {
			if werr := os.WriteFile(path, append(js, '\n'), 0o644); werr != nil {
				return fmt.Errorf("trace: %w", werr)
			}
		}
		if c.Bool("json") {
			fmt.Printf("%s\n", js)
		} else {
			prof.WriteTable(os.Stdout)
		}
		if base != nil {
			growth := base.CheckProfile(c.String("workload"), c.String("guest"), prof)
			for _, g := range growth {
				fmt.Fprintf(os.Stderr, "runnc: trace: grew: %s\n", g)
			}
			if len(growth) > 0 {
				return cli.NewExitError(fmt.Sprintf("runnc: trace: the profile outgrew %s (%d findings)", c.String("baseline"), len(growth)), 1)
			}
		}
		if err != nil {
			return cli.NewExitError("", 1)
		}
		return nil
	},
}

// dashDash says whether the command line has a "--", after which cli
// leaves the arguments (a command and its options) alone.
func dashDash(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return true
		}
	}
	return false
}
