/*
 * Internals of the spt bindings: raw system calls and the boot info.
 *
 * The bindings reach the host only through the seven calls the tender's
 * seccomp filter allows (read, write, pread64, pwrite64, ppoll,
 * clock_gettime, exit_group), and arch_prctl(ARCH_SET_FS) when the boot
 * info says RUNNC_BOOT_TLS_ARCH_PRCTL; anything else kills the guest.
 */
#ifndef SPT_H
#define SPT_H

#include "solo5.h"
#include "runnc/abi.h"

#define SYS_read            0
#define SYS_write           1
#define SYS_pread64         17
#define SYS_pwrite64        18
#define SYS_clock_gettime   228
#define SYS_exit_group      231
#define SYS_ppoll           271
#define SYS_arch_prctl      158

#define SPT_ARCH_SET_FS     0x1002

#define SPT_EAGAIN          11
#define SPT_EBADFD          77
#define SPT_ENOBUFS         105

static inline long spt_syscall3(long n, long a1, long a2, long a3)
{
    long ret;
    __asm__ __volatile__("syscall"
            : "=a"(ret)
            : "a"(n), "D"(a1), "S"(a2), "d"(a3)
            : "rcx", "r11", "memory");
    return ret;
}

static inline long spt_syscall4(long n, long a1, long a2, long a3, long a4)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    __asm__ __volatile__("syscall"
            : "=a"(ret)
            : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
            : "rcx", "r11", "memory");
    return ret;
}

/* Set once at start; read-only page. */
extern const struct runnc_boot_info *runnc_boot_info;

/* The device behind (handle) if it has type (type) and was acquired. */
const struct runnc_device *spt_device(solo5_handle_t handle, uint32_t type);
/* Find device (name) of (type) in the manifest and mark it acquired. */
solo5_result_t spt_acquire(const char *name, uint32_t type,
        solo5_handle_t *handle, const struct runnc_device **dev);

void spt_console_puts(const char *s);

/* net.c: a net device whose tap is gone (deleted: ppoll reports POLLERR or
 * POLLHUP, reads and writes EBADFD) stays gone. solo5_yield() polls it no
 * more, so that nothing spins on it, and reads and writes fail. */
bool spt_net_gone(solo5_handle_t handle);
void spt_net_set_gone(solo5_handle_t handle);

#endif
