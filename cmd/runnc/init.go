package main

import (
	"os"

	// devices lets libcontainer's cgroup managers set device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	// nsenter joins the namespaces in C before the Go runtime starts.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// `runnc init` is libcontainer's init, started by create inside the
// container; it never reaches main.
func init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
}
