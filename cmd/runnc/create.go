package main

import (
	"github.com/urfave/cli"

	"github.com/runnc/runnc/runnc"
)

var createFlags = []cli.Flag{
	cli.StringFlag{Name: "bundle, b", Value: ".", Usage: "path to the bundle"},
	cli.StringFlag{Name: "console-socket", Usage: "AF_UNIX socket that receives the pty master"},
	cli.StringFlag{Name: "pid-file", Usage: "file to write the init's pid to"},
	cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root"},
	cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring"},
	cli.IntFlag{Name: "preserve-fds", Usage: "pass N more fds (3...) to the container"},
}

func createOpts(c *cli.Context) runnc.CreateOpts {
	return runnc.CreateOpts{
		ID:            c.Args().First(),
		Bundle:        c.String("bundle"),
		PidFile:       c.String("pid-file"),
		ConsoleSocket: c.String("console-socket"),
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
		PreserveFDs:   c.Int("preserve-fds"),
	}
}

var createCommand = cli.Command{
	Name:      "create",
	Usage:     "create a container; its process waits for start",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		return runtime(c).Create(createOpts(c))
	},
}
