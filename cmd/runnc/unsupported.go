package main

import (
	"fmt"

	"github.com/urfave/cli"
)

// unsupportedCommands are runc verbs a unikernel container cannot do.
func unsupportedCommands() []cli.Command {
	why := map[string]string{
		"exec":       "a unikernel is one process; there is nothing to exec into",
		"pause":      "the guest is not frozen through the cgroup freezer by runnc",
		"resume":     "the guest is not frozen through the cgroup freezer by runnc",
		"checkpoint": "the guest's memory is not checkpointed",
		"restore":    "the guest's memory is not checkpointed",
		"update":     "the guest's memory is fixed when it starts",
	}
	var out []cli.Command
	for _, name := range []string{"exec", "pause", "resume", "checkpoint", "restore", "update"} {
		msg := fmt.Sprintf("%s is not supported for unikernel containers: %s", name, why[name])
		out = append(out, cli.Command{
			Name:            name,
			Usage:           "not supported for unikernel containers",
			SkipFlagParsing: true,
			Action:          func(*cli.Context) error { return fmt.Errorf("%s", msg) },
		})
	}
	return out
}
