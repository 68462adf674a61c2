// Package tender starts a Solo5-style unikernel the way Solo5's spt tender
// does, with runnc's own loader: it checks the guest ELF and its manifest,
// attaches the devices the manifest declares (one module per device kind),
// builds the seccomp filter of the seven allowed calls (eight for a guest
// that uses TLS on a CPU without FSGSBASE) from one table, lays out guest
// memory and the boot info, and execs a small freestanding loader stub that
// maps the guest, installs the filter and jumps to it. The guest then runs
// in the process the tender was started as, single-threaded, with no Go
// runtime left in its address space.
//
// runnc-spt fills a Config from its command line (ParseArgs); a Go caller
// such as the runtime builds one from device specs and either runs it here
// (Prepare, then Prepared.Exec) or renders it back to runnc-spt's
// arguments (Config.Argv) to exec the tender elsewhere. CheckELF and
// LoadKernel tell a runnc unikernel from anything else.
package tender
