// Command runnc-spt is runnc's Solo5-spt-like tender: it runs one unikernel
// in this process under a seccomp filter of seven system calls (eight for
// a guest that uses TLS on a CPU without FSGSBASE).
//
//	runnc-spt [--mem=MB] [--mem-prefault] [--net:NAME=IFACE|@FD] [--net-mac:NAME=MAC]
//	          [--net-offload:NAME] [--block:NAME=PATH] [--block-ro:NAME=PATH]
//	          [--block-sector-size:NAME=N] [--args-file=PATH] [--print-filter]
//	          [--] KERNEL [ARGS...]
package main

import (
	"fmt"
	"os"

	"github.com/runnc/runnc/tender"
)

const usage = `usage: runnc-spt [OPTIONS] [--] KERNEL [ARGS...]

Runs the unikernel KERNEL in this process; ARGS, joined by spaces, are its
command line. The guest's exit status is this command's exit status.

  --mem=MB              guest memory in MiB (default 512)
  --mem-prefault        allocate and map all guest memory before the guest
                        runs: it never page-faults on it, and the host's
                        page-fault path leaves the attack profile; all of
                        it is resident from the start, hence opt-in
  --net:NAME=IFACE      attach the guest's NET_BASIC device NAME to tap IFACE
  --net:NAME=@FD        ... to an already open tap file descriptor FD
  --net-mac:NAME=MAC    the guest's MAC on NAME (default: random)
  --net-offload:NAME    let the guest hand NAME's tap TCP segments of up to
                        64 KiB for the kernel to segment and checksum (TSO;
                        reaches more host kernel code, hence opt-in)
  --block:NAME=PATH     attach BLOCK_BASIC device NAME to file PATH, read-write
  --block-ro:NAME=PATH  ... read-only: opened O_RDONLY, no pwrite64 in the filter
  --block-sector-size:NAME=N
                        NAME's block size: a power of two from 512 (default)
                        to 1048576; PATH's size must be a multiple of it
  --args-file=PATH      read more options from PATH, one a line, then a line
                        "--" and arguments appended to ARGS (runnc writes it
                        once the container's network exists)
  --print-filter        print the seccomp policy for these devices and exit

Environment (for tests only):
  RUNNC_SPT_NO_FSGSBASE=1  act as if the CPU lacked FSGSBASE: a guest that
                        uses TLS then gets arch_prctl(ARCH_SET_FS) in its filter
`

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		fmt.Print(usage)
		return
	}
	cfg, printFilter, err := tender.ParseArgs(args)
	if err != nil {
		fail(err)
	}
	cfg.NoFSGSBase = os.Getenv(tender.NoFSGSBaseEnv) == "1"
	p, err := tender.Prepare(cfg)
	if err != nil {
		fail(err)
	}
	if printFilter {
		fmt.Print(p.FilterText())
		return
	}
	fail(p.Exec())
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "runnc-spt: %v\n", err)
	os.Exit(1)
}
