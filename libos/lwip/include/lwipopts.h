/*
 * lwIP configuration for libos: one Ethernet netif on a Solo5 NET_BASIC
 * device, no OS (NO_SYS=1), raw API only, single-threaded. IPv4, ARP,
 * ICMP, UDP and TCP; no IPv6, DHCP, DNS or sockets.
 *
 * TCP is tuned for many concurrent, busy connections (redis-benchmark
 * with 50 clients and pipelining, large HTTP responses): full-size
 * segments, receive windows of 16 to 192 segments from a budget the
 * busy connections share (net/tcp.c), a 128-segment send buffer,
 * pools big enough for every connection to have a full window in flight.
 */
#ifndef LIBOS_LWIPOPTS_H
#define LIBOS_LWIPOPTS_H

/* --- system ---------------------------------------------------------- */
#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define LWIP_TIMERS                 1
#define LWIP_SINGLE_NETIF           1

/* --- memory ----------------------------------------------------------
 * Variable-size allocations (PBUF_RAM: all TCP send data, which we copy
 * into lwIP) come from the libos malloc. Fixed-size objects (PCBs,
 * segments, receive pbufs) come from static pools: O(1) and no
 * fragmentation. When the receive pool runs dry the netif falls back to
 * PBUF_RAM, so no pool limit stops reception. */
#define MEM_LIBC_MALLOC             1
#define MEMP_MEM_MALLOC             0
#define MEM_ALIGNMENT               8
#define MEMP_NUM_PBUF               256
#define MEMP_NUM_RAW_PCB            4
#define MEMP_NUM_UDP_PCB            16
/* Connections at most (net/tcp.c lowers the limit to what the heap
 * affords, 16 KiB each). The PCB pool has room beyond it for handshakes
 * under way and connections closing; lwIP reuses the oldest TIME_WAIT
 * PCB when the pool is empty. A PCB is about 280 bytes: the pool costs
 * 2.4 MB of the guest's memory. */
#define LIBOS_MAX_CONNS             8192
#define MEMP_NUM_TCP_PCB            (LIBOS_MAX_CONNS + 512)
#define MEMP_NUM_TCP_PCB_LISTEN     16
#define MEMP_NUM_TCP_SEG            16384
#define MEMP_NUM_REASSDATA          8
#define IP_REASS_MAX_PBUFS          64
#define MEMP_NUM_FRAG_PBUF          64
#define MEMP_NUM_ARP_QUEUE          128
#define PBUF_POOL_SIZE              1024
/* A whole Ethernet frame (1500 MTU, 802.1Q tag) in one pool pbuf. */
#define PBUF_POOL_BUFSIZE           1536

/* --- IPv4, ARP, ICMP, UDP -------------------------------------------- */
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define ARP_TABLE_SIZE              32
#define ARP_QUEUEING                1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define IP_REASSEMBLY               1
#define IP_FRAG                     1
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_UDP                    1
#define LWIP_DHCP                   0
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    0

/* --- TCP -------------------------------------------------------------- */
#define LWIP_TCP                    1
#define TCP_MSS                     1460
/* Window scaling (RFC 7323) lets peers offer us more than 64 KiB, so
 * the send buffer, not the peer's 16-bit window, bounds what is in
 * flight: that is what fast downloads need. (It once looked like it
 * broke the echo tests: net/tcp.c measured pending output with
 * tcp_sndbuf(), which caps at 64 KiB with scaling on, so a connection
 * never looked drained and never closed.) Our own receive window starts
 * at TCP_WND, 16 segments, and then follows net/tcp.c's share of a
 * receive budget common to the busy connections (16 to 192 segments; see
 * recved() there): one uploader gets a large window, 20 at once do not
 * overflow the tap's queue (1000 frames). Scaled by 8, so that 192
 * segments fit the 16-bit field. */
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               3
#define TCP_WND                     (16 * TCP_MSS)
#define TCP_SND_BUF                 (128 * TCP_MSS)
#define TCP_SND_QUEUELEN            ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
/* Only the netconn and socket APIs read it; lwIP wants it in 16 bits. */
#define TCP_SNDLOWAT                (16 * TCP_MSS)
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_PBUFS         64
#define TCP_LISTEN_BACKLOG          0
#define LWIP_TCP_TIMESTAMPS         0
/* Tell the peer which out-of-order segments we hold, so it resends
 * only what was lost (lwIP itself does not act on SACKs it receives). */
#define LWIP_TCP_SACK_OUT           1
/* Finer timer ticks than the default 250 ms. The retransmission
 * timeout is counted in 2*TCP_TMR_INTERVAL ticks and is at least 3 of
 * them (RTO_MIN_TICKS in net/tcp.c, and where lwIP's integer RTT
 * variance settles), so this sets the shortest RTO: 3 * 10 ms, which
 * fires 20-30 ms after the last ACK. Below Linux's 40 ms delayed ACK a
 * timeout sometimes resends needlessly; the resend draws an immediate
 * ACK, which is what a tail loss probe would do, and costs far less
 * than waiting. The timer runs only while a connection has something
 * timed (net/tcp.c, libos_tcp_timer). */
#define TCP_TMR_INTERVAL            5
/* Keepalive per connection (conn_keepalive in libos/net.h), off unless
 * the app turns it on. */
#define LWIP_TCP_KEEPALIVE          1
/* net/tcp.c reads the peer's SACK blocks through a hook; core/random.c
 * makes the initial sequence numbers (RFC 6528). */
#define LWIP_HOOK_FILENAME          "libos_hooks.h"
/* Each TCP segment goes out as one pbuf: one copy into the frame. */
#define LWIP_NETIF_TX_SINGLE_PBUF   1
/* Room in front of every frame lwIP builds for the host's virtio_net_hdr
 * (RUNNC_NET_TX_HEADROOM): with offload, segments go out where they are. */
#define PBUF_LINK_ENCAPSULATION_HLEN 10
/* A large received frame stays in its read buffer (net/netif.c). */
#define LWIP_SUPPORT_CUSTOM_PBUF    1

/* --- netif ------------------------------------------------------------ */
#define LWIP_NETIF_STATUS_CALLBACK  0
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_NETIF_HOSTNAME         0
#define LWIP_NETIF_LOOPBACK         0
#define LWIP_HAVE_LOOPIF            0

/* --- checksums: the tap does no offload; keep lwIP's defaults (compute
 * and check everything) with the fastest generic algorithm. */
#define LWIP_CHKSUM_ALGORITHM       3
/* With transmit offload (net/netif.c) the netif turns off TCP checksum
 * generation and leaves it to the host kernel. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* --- diagnostics ------------------------------------------------------ */
#define LWIP_STATS                  0
#define LWIP_STATS_DISPLAY          0
#define MEMP_OVERFLOW_CHECK         0
#define MEMP_SANITY_CHECK           0

#endif
