// Package runnc turns an OCI bundle into a running unikernel container on
// runc's libcontainer: the container's process is the tender (runnc-spt),
// the unikernel is process.args[0] resolved inside the rootfs.
//
// # The path of create, start, kill and delete
//
// create: the bundle's config.json is read and args[0] is looked up inside
// the rootfs. A unikernel (an ELF carrying the RUNNC ABI note) gets a
// rewritten process: args become
//
//	/.runnc/runnc-spt --mem=MB --args-file=/.runnc/net/args [--block:rootfs=/.runnc/rootfs.iso] -- GUEST [--env=K=V ...] ARGS...
//
// with runnc-spt, the rootfs image and a per-container directory of the state
// dir bind-mounted read-only under /.runnc, /dev/net/tun added when the
// manifest declares a net device, every capability set emptied and
// noNewPrivileges set. libcontainer then starts its init (`runnc init`) in
// the spec's namespaces and cgroup, runs the engine's prestart and
// createRuntime hooks (Docker and CNI make eth0 there) and leaves the init
// waiting on the exec fifo. Only now can runnc look at eth0: it hands it
// over (netns.Handoff: a tap owned by the container's user, eth0's address,
// gateway and MAC taken for the guest) and writes the tender's late options
// to the args file (--net:service0=TAP, --net-mac, and after "--" the
// guest's --ipv4 and --ipv4-gateway). The settings thus reach the guest at
// start, not in process.args at create.
//
// start: libcontainer's init execs the tender, which reads the args file,
// opens the tap and the image, builds its seven-call filter and jumps into
// the guest.
//
// # Which stage holds which capability when
//
//   - runnc create (host, root, all capabilities): builds the image, sets
//     up libcontainer, runs the hooks through it, and in the container's
//     network namespace creates the tap and moves eth0's address. The tap is
//     made persistent and owned by the container's uid/gid, so opening it
//     later needs no capability.
//   - runnc init (libcontainer's init, in the container's namespaces): holds
//     the bounding set it needs for mounts and pivot_root, then, before the
//     exec fifo, drops to the process's capability sets, which runnc made
//     empty (effective, permitted, inheritable, ambient and bounding) and
//     sets no_new_privs.
//   - runnc-spt (the tender, pid 1 of the container): runs with no
//     capability at all: it opens /dev/net/tun (0666) and attaches to the
//     tap it owns, opens the read-only image, and installs the seccomp
//     filter (allowed without CAP_SYS_ADMIN because no_new_privs is set).
//   - the guest: the same process after the loader stub: no capabilities,
//     seven system calls.
//
// # Signals
//
// The guest has no signal handlers and is pid 1 of its pid namespace, where
// the kernel drops every signal whose action is the default, except SIGKILL
// and SIGSTOP from an ancestor namespace. So `runnc kill` turns a signal
// whose default action ends a process (SIGTERM, SIGINT, SIGHUP, SIGQUIT,
// SIGUSR1, ...) into SIGKILL for unikernel containers: the guest ends at
// once and the container's exit status is 137. Signals that would not end
// a process (SIGCHLD, SIGWINCH, SIGCONT, ...) are passed on unchanged, and
// dropped by the kernel as for any pid 1. The guest's own exit status
// (solo5_exit, 255 for abort, 159 for a seccomp kill) is the tender
// process's, hence the container's.
//
// # Memory
//
// linux.resources.memory.limit is the cgroup's limit and sizes the guest:
// the guest gets the limit minus TenderOverheadMiB, the most the tender
// itself holds before it hands over (its Go runtime and the loader). Without
// a limit the guest gets DefaultGuestMiB (memory is touched on demand, so
// this costs nothing until used); a limit below MinLimitMiB is refused.
//
// # The CRI pod sandbox
//
// A container annotated as the pod sandbox (io.kubernetes.cri.container-type
// or io.kubernetes.cri-o.ContainerType = sandbox) runs its process (pause)
// unchanged as a plain libcontainer container; any other non-unikernel
// entrypoint is refused at create.
package runnc
