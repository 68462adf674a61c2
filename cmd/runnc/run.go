package main

import "github.com/urfave/cli"

var runCommand = cli.Command{
	Name:      "run",
	Usage:     "create and start a container; without --detach, wait and exit with its status",
	ArgsUsage: "<container-id>",
	Flags:     append(append([]cli.Flag{}, createFlags...), cli.BoolFlag{Name: "detach, d", Usage: "do not wait for the container"}),
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		status, err := runtime(c).Run(createOpts(c), c.Bool("detach"))
		if err != nil {
			return err
		}
		if status != 0 {
			return exitCode(status)
		}
		return nil
	},
}
