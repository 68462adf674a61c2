/*
 * Interfaces between the parts of libos (core, net); not for apps.
 */
#ifndef LIBOS_PRIV_H
#define LIBOS_PRIV_H

#include <stdint.h>
#include <stddef.h>
#include <solo5.h>

/* The network options from the cmdline, checked. Addresses are in
 * network byte order. */
struct libos_netcfg {
    const char *device;     /* NET_BASIC device name */
    uint32_t addr;
    uint32_t mask;
    uint32_t gw;            /* 0: no gateway */
    unsigned mtu;           /* 0: the device's */
};

/* net/netif.c: bring up lwIP on the device; 0 or -1 (logged). */
int libos_netif_up(const struct libos_netcfg *cfg);
/* Nonzero once libos_netif_up() succeeded. */
int libos_netif_ready(void);
/* The device's handle, for solo5_yield()'s ready set. */
solo5_handle_t libos_netif_handle(void);
/* Read and process up to budget frames; returns how many were read, or -1
 * once the device has failed for good (logged once, every connection and
 * listener closed). */
int libos_netif_poll(int budget);
/* Nonzero once the device failed: the unikernel exits 1 (core/main.c). */
int libos_netif_failed(void);
/* With transmit offload (--net-offload): the largest TCP payload one frame
 * may carry on the wire (MTU - 40); 0 without offload. */
unsigned libos_netif_offload_mss(void);
/* net/tcp.c: the wire MSS of the connection a TCP frame (IPv4 header at
 * ip) belongs to, for the kernel to cut it by; 0 if unknown. */
unsigned libos_tcp_wire_mss(const unsigned char *ip);

/* net/tcp.c: run deferred connection work (flush queued output, resumed
 * input, writable/closed callbacks, closes). Returns nonzero if work is
 * left for another round right away. */
int libos_tcp_service(void);
/* Keeps lwIP's TCP clock (tcp_ticks) on time while its timer is off. */
void libos_tcp_clock(uint64_t now_ms);
/* Turns lwIP's TCP timer on if a connection has something timed soon
 * (sys_timeouts_sleeptime() then counts it); else returns the
 * milliseconds until a keepalive or TIME_WAIT is due, which the loop
 * sleeps at most. UINT64_MAX: no such bound. */
uint64_t libos_tcp_timer(uint64_t now_ms);
/* net/tcp.c: input a SYN that ended a TIME_WAIT during the last frame's
 * input, now that lwIP is done with that frame. */
void libos_tcp_reinput(void);
/* Nonzero while listeners, connections or closing lwIP PCBs exist. */
int libos_tcp_busy(void);

/* core/sys.c: the boot time libos_now_ms() counts from. */
void libos_clock_init(void);
/* core/random.c: keys the generator (libos_random) from the tender's
 * seed, or the clock under an older tender; before lwIP starts. */
void libos_rand_seed(void);
uint64_t libos_now_ns(void);
/* The monotonic clock (ns) at ms milliseconds since boot (libos_now_ms). */
uint64_t libos_ms_to_ns(uint64_t ms);

#endif
