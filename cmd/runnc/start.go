package main

import "github.com/urfave/cli"

var startCommand = cli.Command{
	Name:      "start",
	Usage:     "start a created container",
	ArgsUsage: "<container-id>",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		return runtime(c).Start(c.Args().First())
	},
}
