package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli"
)

var psCommand = cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "<container-id>",
	Flags:     []cli.Flag{cli.StringFlag{Name: "format, f", Value: "table", Usage: "table or json"}},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 1, 1); err != nil {
			return err
		}
		pids, err := runtime(c).Ps(c.Args().First())
		if err != nil {
			return err
		}
		switch f := c.String("format"); f {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return printJSON(pids)
		case "table":
			fmt.Println("PID\tCMD")
			for _, p := range pids {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
				fmt.Printf("%d\t%s\n", p, strings.TrimSpace(string(comm)))
			}
			return nil
		default:
			return fmt.Errorf("--format %q: want table or json", f)
		}
	},
}
