package main

import "github.com/urfave/cli"

var deleteCommand = cli.Command{
	Name:      "delete",
	Usage:     "delete a stopped container and everything it held",
	ArgsUsage: "<container-id>",
	Flags:     []cli.Flag{cli.BoolFlag{Name: "force, f", Usage: "kill the container first if it runs"}},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		return runtime(c).Delete(c.Args().First(), c.Bool("force"))
	},
}
