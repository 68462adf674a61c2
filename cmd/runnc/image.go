package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli"

	"github.com/runnc/runnc/image"
)

// imageCommand turns a unikernel and a folder into an image archive that
// docker load, podman load and ctr images import read.
var imageCommand = cli.Command{
	Name:      "image",
	Usage:     "write an image archive of a unikernel and a folder of its files",
	ArgsUsage: "UNIKERNEL [FOLDER [ARGS...]]",
	Description: `The unikernel becomes /NAME (its file name) in the image and its
entrypoint, the folder's contents the image's root, ARGS the default
arguments. The archive (an OCI layout with Docker's manifest.json) loads with
docker load -i, podman load -i and ctr images import.`,
	Flags: []cli.Flag{
		cli.StringFlag{Name: "name", Usage: "image name, e.g. myapp:latest (default: the unikernel's name)"},
		cli.StringFlag{Name: "output, o", Usage: "archive to write (default: NAME.tar)"},
		cli.StringSliceFlag{Name: "port, p", Usage: "port to expose, e.g. 8080/tcp (repeatable)"},
		cli.StringSliceFlag{Name: "env, e", Usage: "environment variable K=V (repeatable)"},
		cli.StringSliceFlag{Name: "label, l", Usage: "label K=V (repeatable)"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() < 1 {
			return fmt.Errorf("image: want a UNIKERNEL (see runnc image --help)")
		}
		spt := c.Args().First()
		base := strings.TrimSuffix(filepath.Base(spt), filepath.Ext(spt))
		name := c.String("name")
		if name == "" {
			name = base + ":latest"
		}
		out := c.String("output")
		if out == "" {
			out = base + ".tar"
		}
		cfg := image.Config{Ports: c.StringSlice("port"), Env: c.StringSlice("env"), Labels: map[string]string{}}
		for _, l := range c.StringSlice("label") {
			k, v, ok := strings.Cut(l, "=")
			if !ok || k == "" {
				return fmt.Errorf("image: --label %q: want KEY=VALUE", l)
			}
			cfg.Labels[k] = v
		}
		var files []image.File
		if c.NArg() > 1 {
			var err error
			if files, err = image.Tree(c.Args().Get(1), "/"); err != nil {
				return fmt.Errorf("image: %w", err)
			}
			cfg.Cmd = c.Args()[2:]
		}
		img, err := image.Unikernel(spt, files, cfg)
		if err != nil {
			return fmt.Errorf("image: %w", err)
		}
		if err := image.WriteArchive(out, name, img); err != nil {
			return fmt.Errorf("image: %w", err)
		}
		fmt.Printf("wrote %s (%s)\n", out, name)
		return nil
	},
}
