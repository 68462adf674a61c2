/*
 * The plan: everything the loader stub needs to start a guest, prepared
 * and checked by the Go tender (tender/run.go mirrors this layout) and
 * passed to the stub through an inherited fd. The stub decides nothing.
 */
#ifndef RUNNC_PLAN_H
#define RUNNC_PLAN_H

#include <stdint.h>

#define PLAN_MAGIC          0x6e616c70636e6e72ULL  /* "rnncplan" */
#define PLAN_MAX_REGIONS    20
#define PLAN_MAX_KEEP       72
#define PLAN_MAX_FILTER     4096  /* the kernel's BPF_MAXINSNS */

struct plan_region {        /* an mprotect of part of guest memory */
    uint64_t addr;
    uint64_t len;
    uint32_t prot;          /* PROT_READ 1 | PROT_WRITE 2 | PROT_EXEC 4 */
    uint32_t reserved;
};

struct plan_insn {          /* struct sock_filter */
    uint16_t code;
    uint8_t jt, jf;
    uint32_t k;
};

struct plan {
    uint64_t magic;
    int32_t mem_fd;         /* guest memory image: file offset == address */
    uint32_t nregions;
    uint64_t mem_start;     /* map [mem_start, mem_end) read/write */
    uint64_t mem_end;
    uint64_t entry;         /* guest entry point */
    uint64_t stack_top;     /* initial %rsp */
    uint64_t boot_info;     /* initial %rdi */
    uint32_t nkeep;         /* fds kept open, sorted ascending */
    uint32_t filter_len;    /* seccomp program length */
    struct plan_region regions[PLAN_MAX_REGIONS];
    int32_t keep[PLAN_MAX_KEEP];
    struct plan_insn filter[PLAN_MAX_FILTER];
};

_Static_assert(sizeof(struct plan) == 33600, "plan layout is shared with tender/run.go");

#endif
