// Package tender starts a Solo5-style unikernel the way Solo5's spt tender
// does, with runnc's own loader: it checks the guest ELF and its manifest,
// attaches the devices the manifest declares (one module per device kind),
// builds the seccomp filter of the seven allowed calls from one table, lays
// out guest memory and the boot info, and execs a small freestanding loader
// stub that maps the guest, installs the filter and jumps to it. The guest
// then runs in the process the tender was started as, single-threaded, with
// no Go runtime left in its address space.
package tender
