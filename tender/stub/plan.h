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

/* flags */
#define PLAN_PREFAULT       1     /* populate all guest memory before the jump */

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
    uint32_t flags;         /* PLAN_* below */
    uint32_t reserved;      /* zero */
    struct plan_region regions[PLAN_MAX_REGIONS];
    int32_t keep[PLAN_MAX_KEEP];
    struct plan_insn filter[PLAN_MAX_FILTER];
};

_Static_assert(sizeof(struct plan) == 33608, "plan layout is shared with tender/run.go");

/*
 * Exit statuses of the loader when a step before the jump fails: it prints
 * "runnc-spt: loader: STEP: errno N" (the last two without errno) and exits
 * with the step's own status. It never enters the guest after a failure.
 */
#define LOADER_USAGE            100 /* argv[1] is not a plan fd */
#define LOADER_READ_PLAN        101
#define LOADER_BAD_PLAN         102 /* short, wrong magic, or out of bounds */
#define LOADER_CLOSE_PLAN       103
#define LOADER_MAP_GUEST        104
#define LOADER_PROTECT_GUEST    105
#define LOADER_CLOSE_MEM        106
#define LOADER_CLOSE_FDS        107
#define LOADER_SIGACTION        108
#define LOADER_SIGPROCMASK      109
#define LOADER_NO_CORE          110 /* prlimit64(RLIMIT_CORE, 0) */
#define LOADER_SET_NAME         111 /* prctl(PR_SET_NAME) */
#define LOADER_NO_NEW_PRIVS     112
#define LOADER_MAP_LAST_STEP    113 /* the page of the last step */
#define LOADER_UNMAP            114 /* everything but guest, loader, last step */
#define LOADER_UNMAP_LOADER     115 /* the loader itself, from the last step */
#define LOADER_SECCOMP          116 /* install the filter, from the last step */
#define LOADER_PREFAULT         117 /* madvise(MADV_POPULATE_WRITE) of guest memory */

#endif
