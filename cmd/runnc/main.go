// Command runnc is an OCI runtime for unikernel containers, runc-compatible
// on the command line: engines call it as they call runc. The container's
// process is the tender runnc-spt holding the unikernel named by
// process.args[0]; see package runnc for the whole path.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"

	"github.com/runnc/runnc/runnc"
)

// version is set by the Makefile (-X main.version=...).
var version = "dev"

func main() {
	app := cli.NewApp()
	app.Name = "runnc"
	app.Usage = "OCI runtime for unikernel containers (runc-compatible command line)"
	app.Version = version
	app.Flags = []cli.Flag{
		cli.StringFlag{Name: "root", Value: "/run/runnc", Usage: "directory for container state"},
		cli.StringFlag{Name: "log", Usage: "log file (default: stderr)"},
		cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
		cli.BoolFlag{Name: "debug", Usage: "debug logging"},
		cli.BoolFlag{Name: "systemd-cgroup", Usage: "manage cgroups through systemd"},
		cli.BoolTFlag{Name: "net-offload", Usage: "give unikernels that support it transmit offload (TSO) on their tap; --net-offload=false turns it off (annotation " + runnc.NetOffloadAnnotation + " per container)"},
		cli.BoolFlag{Name: "mem-prefault", Usage: "allocate and map each unikernel's memory when it starts, so it never page-faults on it (a smaller host attack surface; all of it resident from the start); annotation " + runnc.MemPrefaultAnnotation + " per container"},
	}
	app.Commands = []cli.Command{
		createCommand,
		startCommand,
		runCommand,
		stateCommand,
		killCommand,
		deleteCommand,
		listCommand,
		psCommand,
		featuresCommand,
		specCommand,
		versionCommand,
		traceCommand,
		imageCommand,
	}
	app.Commands = append(app.Commands, unsupportedCommands()...)
	app.Before = setupLog
	// Errors are printed once, by fatal, not by cli.
	cli.ErrWriter = os.Stderr
	app.ExitErrHandler = func(*cli.Context, error) {}
	if err := app.Run(os.Args); err != nil {
		fatal(err)
	}
}

// setupLog sends logrus to --log in --log-format; containerd's shim reads
// the last error line of a JSON log ({"level","msg","time"}).
func setupLog(c *cli.Context) error {
	if c.GlobalBool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}
	switch f := c.GlobalString("log-format"); f {
	case "text":
	case "json":
		logrus.SetFormatter(&logrus.JSONFormatter{})
	default:
		return fmt.Errorf("--log-format %q: want text or json", f)
	}
	if p := c.GlobalString("log"); p != "" {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("--log %s: %w", p, err)
		}
		logrus.SetOutput(f)
	}
	return nil
}

// fatal reports err as one line on stderr and in the log, and exits 1.
func fatal(err error) {
	var ec exitCode
	if errors.As(err, &ec) {
		os.Exit(int(ec))
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if logrus.StandardLogger().Out != os.Stderr {
		logrus.Error(msg)
	}
	fmt.Fprintln(os.Stderr, "runnc: "+msg)
	os.Exit(1)
}

// exitCode is returned by run to exit with the guest's status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// runtime is runnc.Runtime from the global flags.
func runtime(c *cli.Context) *runnc.Runtime {
	return &runnc.Runtime{
		Root:          c.GlobalString("root"),
		SystemdCgroup: c.GlobalBool("systemd-cgroup"),
		Spt:           findSpt(),
		NoNetOffload:  !c.GlobalBoolT("net-offload"),
		MemPrefault:   c.GlobalBool("mem-prefault"),
	}
}

// findSpt finds runnc-spt: $RUNNC_SPT, next to this binary, or on PATH.
func findSpt() string {
	if p := os.Getenv("RUNNC_SPT"); p != "" {
		return p
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "runnc-spt")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(d, "runnc-spt")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// checkArgs checks the number of positional arguments.
func checkArgs(c *cli.Context, min, max int) error {
	if n := c.NArg(); n < min || n > max {
		if min == max {
			return fmt.Errorf("%s: want %d argument(s), got %d (see runnc %s --help)", c.Command.Name, min, n, c.Command.Name)
		}
		return fmt.Errorf("%s: want %d to %d arguments, got %d (see runnc %s --help)", c.Command.Name, min, max, n, c.Command.Name)
	}
	return nil
}
