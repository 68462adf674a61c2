/*
 * lwIP hooks for libos (LWIP_HOOK_FILENAME): lwIP includes this from
 * its TCP sources, after its own headers.
 */
#ifndef LIBOS_LWIP_HOOKS_H
#define LIBOS_LWIP_HOOKS_H

struct tcp_pcb;
struct tcp_hdr;
struct pbuf;
struct ip4_addr;

/* net/tcp.c: reads the SACK blocks of every segment that arrives for
 * one of our connections (lwIP 2.1 ignores them), for loss recovery.
 * Never drops the segment. */
signed char libos_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr,
        unsigned short optlen, unsigned short opt1len, unsigned char *opt2,
        struct pbuf *p);

#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
    libos_tcp_inpacket((pcb), (hdr), (optlen), (opt1len), (opt2), (p))

/* core/random.c: RFC 6528 initial sequence numbers, a 4 us clock plus a
 * keyed hash of the connection's addresses and ports (lwIP's own is a
 * counter anyone can predict). IPv4 only: ip_addr_t is struct ip4_addr. */
unsigned int libos_tcp_isn(const struct ip4_addr *local_ip,
        unsigned short local_port, const struct ip4_addr *remote_ip,
        unsigned short remote_port);

#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
    libos_tcp_isn((local_ip), (local_port), (remote_ip), (remote_port))

#endif
