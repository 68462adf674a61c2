package main

import (
	"fmt"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli"

	"github.com/runnc/runnc/runnc"
)

var featuresCommand = cli.Command{
	Name:  "features",
	Usage: "print the runtime-spec features runnc supports, as JSON",
	Action: func(c *cli.Context) error {
		if err := checkArgs(c, 0, 0); err != nil {
			return err
		}
		t := true
		var caps []string
		for _, cp := range capability.ListKnown() {
			caps = append(caps, "CAP_"+strings.ToUpper(cp.String()))
		}
		f := features.Features{
			OCIVersionMin: "1.0.0",
			OCIVersionMax: specs.Version,
			Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
			MountOptions: []string{"async", "atime", "bind", "defaults", "dev", "diratime", "exec",
				"mand", "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime",
				"nostrictatime", "nosuid", "private", "rbind", "relatime", "remount", "ro",
				"rprivate", "rshared", "rslave", "rw", "shared", "slave", "strictatime", "suid", "sync"},
			Linux: &features.Linux{
				Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"},
				Capabilities: caps,
				Cgroup:       &features.Cgroup{V1: &t, V2: &t, Systemd: &t},
				Seccomp: &features.Seccomp{Enabled: &t,
					Actions:   []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
					Operators: []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"},
					Archs:     []string{"SCMP_ARCH_X86_64"}},
			},
			Annotations: map[string]string{
				"io.github.runnc.process":      "process.args[0] must be a runnc unikernel; it runs under the tender runnc-spt",
				"io.github.runnc.seccomp":      "for unikernels the tender's seven-call filter replaces linux.seccomp; the CRI pod sandbox gets linux.seccomp",
				"io.github.runnc.memory":       fmt.Sprintf("linux.resources.memory.limit sizes the guest (limit minus %d MiB; at least %d MiB)", runnc.TenderOverheadMiB, runnc.MinLimitMiB),
				"io.github.runnc.mem-prefault": "annotation " + runnc.MemPrefaultAnnotation + "=true or runnc --mem-prefault: the guest's memory is allocated when it starts and it never page-faults on it",
				"io.github.runnc.sandbox":      "io.kubernetes.cri.container-type=sandbox runs as a plain process",
				"io.github.runnc.terminate":    "a terminating signal ends a unikernel with SIGKILL",
				"io.github.runnc.net-offload":  "transmit offload (TSO) on the unikernel's tap, on by default where the guest supports it; annotation " + runnc.NetOffloadAnnotation + "=false or runnc --net-offload=false turns it off",
			},
		}
		return printJSON(f)
	},
}
