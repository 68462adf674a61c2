package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"
)

var specCommand = cli.Command{
	Name:  "spec",
	Usage: "write a sample config.json for a unikernel bundle",
	Flags: []cli.Flag{
		cli.StringFlag{Name: "bundle, b", Value: ".", Usage: "bundle to write config.json in"},
		cli.StringFlag{Name: "unikernel", Value: "/app.spt", Usage: "the unikernel's path in the rootfs"},
	},
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		s := specconv.Example()
		s.Process.Terminal = false
		s.Process.Args = []string{c.String("unikernel")}
		s.Hostname = "runnc"
		lim := int64(64 << 20)
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &lim}
		path := filepath.Join(c.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists; remove it first", path)
		}
		b, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(b, '\n'), 0o644)
	},
}
