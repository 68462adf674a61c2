/* Clocks and solo5_yield(): clock_gettime and ppoll on the net devices. */
#include "spt.h"

#define CLOCK_REALTIME  0
#define CLOCK_MONOTONIC 1
#define POLLIN          0x0001
#define POLLERR         0x0008
#define POLLHUP         0x0010
#define POLLNVAL        0x0020

struct spt_timespec { long tv_sec, tv_nsec; };
struct spt_pollfd { int fd; short events, revents; };

static solo5_time_t clock_ns(int clock)
{
    struct spt_timespec ts;
    if (spt_syscall3(SYS_clock_gettime, clock, (long)&ts, 0) != 0)
        solo5_abort();
    return (solo5_time_t)ts.tv_sec * 1000000000ULL + (solo5_time_t)ts.tv_nsec;
}

solo5_time_t solo5_clock_monotonic(void) { return clock_ns(CLOCK_MONOTONIC); }
solo5_time_t solo5_clock_wall(void) { return clock_ns(CLOCK_REALTIME); }

void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set)
{
    const struct runnc_boot_info *bi = runnc_boot_info;
    struct spt_pollfd fds[RUNNC_MAX_DEVICES];
    solo5_handle_t handle[RUNNC_MAX_DEVICES];
    int nfds = 0;

    solo5_handle_set_t ready = 0;
    for (uint32_t i = 0; i < bi->ndevices; i++) {
        if (bi->devices[i].type != RUNNC_DEV_NET_BASIC || spt_net_gone(i))
            continue;
        fds[nfds].fd = bi->devices[i].fd;
        fds[nfds].events = POLLIN;
        fds[nfds].revents = 0;
        handle[nfds++] = i;
    }

    solo5_time_t now = solo5_clock_monotonic();
    solo5_time_t wait = deadline > now ? deadline - now : 0;
    struct spt_timespec ts = {
        .tv_sec = (long)(wait / 1000000000ULL),
        .tv_nsec = (long)(wait % 1000000000ULL),
    };
    long n = spt_syscall4(SYS_ppoll, (long)fds, nfds, (long)&ts, 0);

    for (int i = 0; n > 0 && i < nfds; i++) {
        if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            /* Its tap is gone (net.c): ready this once, so that a read
             * reports the error, then no longer polled. */
            spt_net_set_gone(handle[i]);
            ready |= 1ULL << handle[i];
        } else if (fds[i].revents & POLLIN) {
            ready |= 1ULL << handle[i];
        }
    }
    if (ready_set)
        *ready_set = ready;
}
