/*
 * NET_BASIC: answers ARP requests for its IPv4 address and ICMP echo
 * requests sent to it, forever; the test pings it from the host and stops
 * it with SIGKILL. Usage: net.spt --ipv4=A.B.C.D
 *
 * It reads only when solo5_yield() reports the device ready, as upstream
 * Solo5's tests do. If its tap is deleted, the bindings report it ready
 * once and the read fails: it says so and exits 1.
 */
#include "test.h"

#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_ARP   0x0806
#define ARP_REQUEST     1
#define ARP_REPLY       2
#define IPPROTO_ICMP    1
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO       8

static uint8_t frame[2048];
static uint8_t mac[SOLO5_NET_ALEN];
static uint8_t ipv4[4];

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static void copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    while (n--)
        *dst++ = *src++;
}

static int equal(const uint8_t *a, const uint8_t *b, size_t n)
{
    while (n--)
        if (*a++ != *b++)
            return 0;
    return 1;
}

/* The Internet checksum (RFC 1071) of (n) bytes. */
static uint16_t checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (; n > 1; p += 2, n -= 2)
        sum += get16(p);
    if (n)
        sum += (uint32_t)p[0] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Parses "--ipv4=A.B.C.D" from the command line. */
static int parse_ipv4(const char *cmdline)
{
    for (const char *s = cmdline; *s; s++) {
        const char *p = t_prefix(s, "--ipv4=");
        if (p == NULL || (s != cmdline && s[-1] != ' '))
            continue;
        for (int i = 0; i < 4; i++) {
            unsigned v = 0, digits = 0;
            for (; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
                v = v * 10 + (unsigned)(*p - '0');
            if (digits == 0 || v > 255)
                return 0;
            ipv4[i] = (uint8_t)v;
            if (i < 3 && *p++ != '.')
                return 0;
        }
        if (*p != '\0' && *p != ' ')
            return 0;
        return 1;
    }
    return 0;
}

/* Turns the ARP request in (frame) into our reply; its length or 0. */
static size_t arp(size_t len)
{
    uint8_t *a = frame + SOLO5_NET_HLEN;
    if (len < SOLO5_NET_HLEN + 28 || get16(a) != 1 || get16(a + 2) != ETHERTYPE_IPV4 ||
            a[4] != 6 || a[5] != 4 || get16(a + 6) != ARP_REQUEST ||
            !equal(a + 24, ipv4, 4))
        return 0;
    put16(a + 6, ARP_REPLY);
    copy(a + 18, a + 8, 10);        /* target = sender (mac, ip) */
    copy(a + 8, mac, 6);
    copy(a + 14, ipv4, 4);
    copy(frame, a + 18, 6);         /* to the requester */
    copy(frame + 6, mac, 6);
    return SOLO5_NET_HLEN + 28;
}

/* Turns the ICMP echo request in (frame) into our reply; its length or 0. */
static size_t icmp(size_t len)
{
    uint8_t *ip = frame + SOLO5_NET_HLEN;
    if (len < SOLO5_NET_HLEN + 20 || ip[0] >> 4 != 4)
        return 0;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4, total = get16(ip + 2);
    if (ihl < 20 || total < ihl + 8 || SOLO5_NET_HLEN + total > len ||
            ip[9] != IPPROTO_ICMP || !equal(ip + 16, ipv4, 4) ||
            checksum(ip, ihl) != 0)
        return 0;
    uint8_t *icmp = ip + ihl;
    size_t icmp_len = total - ihl;
    if (icmp[0] != ICMP_ECHO || checksum(icmp, icmp_len) != 0)
        return 0;

    copy(frame, frame + 6, 6);
    copy(frame + 6, mac, 6);
    copy(ip + 16, ip + 12, 4);
    copy(ip + 12, ipv4, 4);
    ip[8] = 64;                     /* TTL */
    put16(ip + 10, 0);
    put16(ip + 10, checksum(ip, ihl));
    icmp[0] = ICMP_ECHO_REPLY;
    put16(icmp + 2, 0);
    put16(icmp + 2, checksum(icmp, icmp_len));
    return SOLO5_NET_HLEN + total;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    solo5_handle_t h;
    struct solo5_net_info ni;

    t_puts("\n**** Solo5 standalone test_net ****\n\n");
    if (!parse_ipv4(si->cmdline))
        t_fail("usage: net.spt --ipv4=A.B.C.D");
    CHECK(solo5_net_acquire("service0", &h, &ni) == SOLO5_R_OK);
    CHECK(ni.mtu >= 576 && ni.mtu + SOLO5_NET_HLEN <= sizeof frame);
    copy(mac, ni.mac_address, sizeof mac);

    t_puts("Serving ping on ");
    for (int i = 0; i < 4; i++) {
        t_putu(ipv4[i]);
        t_puts(i < 3 ? "." : ", mtu ");
    }
    t_putu(ni.mtu);
    t_puts("\n");

    for (;;) {
        solo5_handle_set_t ready = 0;
        solo5_yield(solo5_clock_monotonic() + 1000000000ULL, &ready);
        if (!(ready & (1ULL << h)))
            continue;
        for (;;) {
            size_t len = 0;
            solo5_result_t r = solo5_net_read(h, frame, sizeof frame, &len);
            if (r == SOLO5_R_AGAIN)
                break;
            if (r == SOLO5_R_EUNSPEC) {
                t_puts("net: the device failed (its tap is gone?)\n");
                return SOLO5_EXIT_FAILURE;
            }
            CHECK(r == SOLO5_R_OK);
            size_t out = 0;
            if (len >= SOLO5_NET_HLEN && get16(frame + 12) == ETHERTYPE_ARP)
                out = arp(len);
            else if (len >= SOLO5_NET_HLEN && get16(frame + 12) == ETHERTYPE_IPV4)
                out = icmp(len);
            if (out)
                CHECK(solo5_net_write(h, frame, out) == SOLO5_R_OK);
        }
    }
}
