// Command runnc is the OCI runtime for unikernels. Until the lifecycle
// verbs land, it carries `runnc trace` only.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli"
)

func main() {
	app := cli.NewApp()
	app.Name = "runnc"
	app.Usage = "OCI runtime for unikernels"
	app.Flags = []cli.Flag{
		cli.StringFlag{Name: "root", Value: "/run/runnc", Usage: "root directory for storage of container state"},
	}
	app.Commands = []cli.Command{traceCommand}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "runnc: %v\n", err)
		os.Exit(1)
	}
}
