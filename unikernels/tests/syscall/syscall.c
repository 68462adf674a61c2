/*
 * Issues one raw system call chosen on the command line, to show that the
 * seccomp filter kills the guest (SIGSYS) for every call outside the
 * seven and for the seven with arguments outside what the ABI allows. If
 * the guest survives the call it prints SURVIVED and exits 1; the
 * "ok-*" cases are calls the filter must allow, so they show that the
 * guest's own path to the kernel works.
 *
 *   syscall.spt nr N     system call N (decimal or 0x hex), all arguments 0
 *   syscall.spt CASE     one of the named cases below
 *   syscall.spt wait     wait forever (for tests of a running guest)
 *
 * The manifest declares a NET_BASIC "service0" and a BLOCK_BASIC "storage";
 * their host fds come from the boot info. A features note says the guest
 * uses TLS, so that on a CPU without FSGSBASE (or with the tender's
 * RUNNC_SPT_NO_FSGSBASE=1) its filter has the eighth rule, arch_prctl
 * (ARCH_SET_FS, addr < mem_size), whose wrong arguments are tested here too.
 */
#include "test.h"
#include "runnc/abi.h"

extern const struct runnc_boot_info *runnc_boot_info;

#define SYS_read            0
#define SYS_write           1
#define SYS_pread64         17
#define SYS_pwrite64        18
#define SYS_clock_gettime   228
#define SYS_ppoll           271
#define SYS_arch_prctl      158

#define ARCH_SET_FS                 0x1002
#define ARCH_GET_FS                 0x1003

#define CLOCK_REALTIME              0
#define CLOCK_MONOTONIC             1
#define CLOCK_PROCESS_CPUTIME_ID    2
#define CLOCK_BOOTTIME              7
#define POLLIN                      1

static long raw_syscall(long n, long a1, long a2, long a3, long a4, long a5,
        long a6)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ __volatile__("syscall"
            : "=a"(ret)
            : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
            : "rcx", "r11", "memory");
    return ret;
}

static const struct runnc_device *device(uint32_t type)
{
    const struct runnc_boot_info *bi = runnc_boot_info;
    for (uint32_t i = 0; i < bi->ndevices; i++)
        if (bi->devices[i].type == type)
            return &bi->devices[i];
    t_fail("device missing from the boot info");
}

/* A guest that sets a TLS base without __thread variables says so. */
static const struct {
    uint32_t namesz, descsz, type;
    char name[8];
    uint32_t desc;
} tls_note __attribute__((section(".note.runnc.features"), aligned(4), used)) = {
    .namesz = sizeof(RUNNC_NOTE_NAME),
    .descsz = sizeof(uint32_t),
    .type = RUNNC_NOTE_FEATURES,
    .name = RUNNC_NOTE_NAME,
    .desc = RUNNC_FEATURE_TLS,
};

static uint8_t buf[8192];
struct timespec { long tv_sec, tv_nsec; };
struct pollfd { int fd; short events, revents; };

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *c = si->cmdline, *rest;
    const struct runnc_device *net = device(RUNNC_DEV_NET_BASIC);
    const struct runnc_device *blk = device(RUNNC_DEV_BLOCK_BASIC);
    long nfd = net->fd, bfd = blk->fd;
    long bs = (long)blk->block_size, cap = (long)blk->capacity;
    long mem = (long)runnc_boot_info->mem_size;
    struct timespec ts = { 0, 0 };
    struct pollfd fds[2] = { { net->fd, POLLIN, 0 }, { net->fd, POLLIN, 0 } };
    uint64_t sigmask = 0;
    long r;

    t_puts("syscall: ");
    t_puts(c);
    t_puts("\n");
    if ((rest = t_prefix(c, "nr ")) != NULL) {
        uint64_t n;
        if (t_parse_u64(rest, &n) == NULL)
            t_fail("usage: syscall.spt nr N");
        r = raw_syscall((long)n, 0, 0, 0, 0, 0, 0);
    }
    /* Outside the allowed arguments: must be killed. */
    else if (t_strcmp(c, "write-fd2") == 0)
        r = raw_syscall(SYS_write, 2, (long)"x\n", 2, 0, 0, 0);
    else if (t_strcmp(c, "write-fd0") == 0)
        r = raw_syscall(SYS_write, 0, (long)"x\n", 2, 0, 0, 0);
    else if (t_strcmp(c, "write-blk") == 0)
        r = raw_syscall(SYS_write, bfd, (long)buf, bs, 0, 0, 0);
    else if (t_strcmp(c, "read-fd0") == 0)
        r = raw_syscall(SYS_read, 0, (long)buf, 1, 0, 0, 0);
    else if (t_strcmp(c, "read-blk") == 0)
        r = raw_syscall(SYS_read, bfd, (long)buf, bs, 0, 0, 0);
    else if (t_strcmp(c, "clock-cputime") == 0)
        r = raw_syscall(SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, (long)&ts, 0, 0, 0, 0);
    else if (t_strcmp(c, "clock-boottime") == 0)
        r = raw_syscall(SYS_clock_gettime, CLOCK_BOOTTIME, (long)&ts, 0, 0, 0, 0);
    else if (t_strcmp(c, "pread-size") == 0)
        r = raw_syscall(SYS_pread64, bfd, (long)buf, bs - 1, 0, 0, 0);
    else if (t_strcmp(c, "pread-double") == 0)
        r = raw_syscall(SYS_pread64, bfd, (long)buf, 2 * bs, 0, 0, 0);
    else if (t_strcmp(c, "pread-offset") == 0)
        r = raw_syscall(SYS_pread64, bfd, (long)buf, bs, bs / 2, 0, 0);
    else if (t_strcmp(c, "pread-past-end") == 0)
        r = raw_syscall(SYS_pread64, bfd, (long)buf, bs, cap, 0, 0);
    else if (t_strcmp(c, "pread-negative") == 0)
        r = raw_syscall(SYS_pread64, bfd, (long)buf, bs, -bs, 0, 0);
    else if (t_strcmp(c, "pread-net") == 0)
        r = raw_syscall(SYS_pread64, nfd, (long)buf, bs, 0, 0, 0);
    else if (t_strcmp(c, "pwrite-size") == 0)
        r = raw_syscall(SYS_pwrite64, bfd, (long)buf, bs + 1, 0, 0, 0);
    else if (t_strcmp(c, "pwrite-offset") == 0)
        r = raw_syscall(SYS_pwrite64, bfd, (long)buf, bs, 1, 0, 0);
    else if (t_strcmp(c, "pwrite-past-end") == 0)
        r = raw_syscall(SYS_pwrite64, bfd, (long)buf, bs, cap, 0, 0);
    else if (t_strcmp(c, "pwrite-fd1") == 0)
        r = raw_syscall(SYS_pwrite64, 1, (long)buf, bs, 0, 0, 0);
    else if (t_strcmp(c, "ppoll-sigmask") == 0)
        r = raw_syscall(SYS_ppoll, (long)fds, 1, (long)&ts, (long)&sigmask, 8, 0);
    else if (t_strcmp(c, "ppoll-nfds") == 0)
        r = raw_syscall(SYS_ppoll, (long)fds, 2, (long)&ts, 0, 0, 0);
    else if (t_strcmp(c, "arch_prctl-get") == 0)
        r = raw_syscall(SYS_arch_prctl, ARCH_GET_FS, (long)buf, 0, 0, 0, 0);
    else if (t_strcmp(c, "arch_prctl-gs") == 0)
        r = raw_syscall(SYS_arch_prctl, 0x1001 /* ARCH_SET_GS */, (long)buf, 0, 0, 0, 0);
    else if (t_strcmp(c, "arch_prctl-end") == 0)
        r = raw_syscall(SYS_arch_prctl, ARCH_SET_FS, mem, 0, 0, 0, 0);
    else if (t_strcmp(c, "arch_prctl-high") == 0)
        r = raw_syscall(SYS_arch_prctl, ARCH_SET_FS, (1L << 32) | (long)buf, 0, 0, 0, 0);
    else if (t_strcmp(c, "arch_prctl-code-high") == 0)
        r = raw_syscall(SYS_arch_prctl, (1L << 32) | ARCH_SET_FS, (long)buf, 0, 0, 0, 0);
    /* Within the allowed arguments: must survive. */
    else if (t_strcmp(c, "ok-write-fd1") == 0)
        r = raw_syscall(SYS_write, 1, (long)"ok\n", 3, 0, 0, 0);
    else if (t_strcmp(c, "ok-clock-monotonic") == 0)
        r = raw_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0, 0);
    else if (t_strcmp(c, "ok-clock-realtime") == 0)
        r = raw_syscall(SYS_clock_gettime, CLOCK_REALTIME, (long)&ts, 0, 0, 0, 0);
    else if (t_strcmp(c, "ok-pread") == 0)
        r = raw_syscall(SYS_pread64, bfd, (long)buf, bs, cap - bs, 0, 0);
    else if (t_strcmp(c, "ok-pwrite") == 0)
        r = raw_syscall(SYS_pwrite64, bfd, (long)buf, bs, 0, 0, 0);
    else if (t_strcmp(c, "ok-ppoll") == 0)
        r = raw_syscall(SYS_ppoll, (long)fds, 1, (long)&ts, 0, 0, 0);
    else if (t_strcmp(c, "ok-read-net") == 0)
        r = raw_syscall(SYS_read, nfd, (long)buf, sizeof buf, 0, 0, 0);
    /* Stays running (for tests of what a running guest holds). */
    else if (t_strcmp(c, "wait") == 0) {
        solo5_handle_set_t ready;
        t_puts("waiting\n");
        for (;;)
            solo5_yield(solo5_clock_monotonic() + 1000000000ULL, &ready);
    }
    /* Through the bindings: a write to a read-only device is an error. */
    else if (t_strcmp(c, "block-write") == 0) {
        solo5_handle_t h;
        struct solo5_block_info info;
        if (solo5_block_acquire("storage", &h, &info) != SOLO5_R_OK)
            t_fail("solo5_block_acquire");
        r = solo5_block_write(h, 0, buf, info.block_size);
    }
    else if (t_strcmp(c, "ok-arch_prctl") == 0)
        r = raw_syscall(SYS_arch_prctl, ARCH_SET_FS, mem - 1, 0, 0, 0, 0);
    else
        t_fail("usage: syscall.spt nr N | CASE");

    t_puts("SURVIVED, returned ");
    if (r < 0) {
        t_puts("-");
        t_putu((uint64_t)-r);
    } else
        t_putu((uint64_t)r);
    t_puts("\n");
    return SOLO5_EXIT_FAILURE;
}
