/*
 * The lwIP network interface on a Solo5 NET_BASIC device: Ethernet
 * frames in and out through solo5_net_read()/solo5_net_write().
 *
 * Transmit offload (a device attached with --net-offload): TCP segments
 * larger than the MTU go to the host kernel whole, which cuts them into
 * MTU-sized ones (TSO), and every TCP checksum is left to it. lwIP makes
 * big segments because net/tcp.c raises each connection's MSS; it must
 * not fragment them at the IP layer, so the netif's MTU here is the
 * largest IPv4 packet and this file fragments what is not TCP itself.
 */
#include <stdlib.h>
#include <string.h>
#include <solo5.h>
#include <libos/libos.h>
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/etharp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/ip4_frag.h"
#include "lwip/prot/ip4.h"
#include "netif/ethernet.h"
#include <runnc/net_offload.h>
#include "../core/libos_priv.h"

static struct netif nif;
static solo5_handle_t handle;
static const char *device;      /* its name, for messages */
static int ready;
static int failed;              /* the device is gone: see libos_netif_poll */
/* Largest frame the device may hand us (its MTU plus the header). */
static size_t frame_max;
/* Output frames built from a pbuf chain are copied here. */
static uint8_t *txbuf;
/* Transmit offload on: the device's MTU (nif.mtu is then 65535). */
static u16_t offload_mtu;

/* Sends an IPv4 packet larger than the device's MTU (not TCP: ICMP, UDP)
 * as fragments: lwIP's own fragmentation, with the real MTU. */
static err_t fragment(struct netif *n, struct pbuf *p)
{
    ip4_addr_t dest;
    err_t err;

    if (pbuf_remove_header(p, SIZEOF_ETH_HDR))
        return ERR_BUF;
    const struct ip_hdr *ip = p->payload;
    ip4_addr_copy(dest, ip->dest);
    n->mtu = offload_mtu;
    err = ip4_frag(p, n, &dest);
    n->mtu = 0xffff;
    pbuf_add_header(p, SIZEOF_ETH_HDR);
    return err;
}

/* With offload: a TCP/IPv4 frame goes out with its checksum (and, if it is
 * larger than the MTU, its segmentation) left to the host kernel. The
 * checksum field gets what virtio's CHECKSUM_PARTIAL wants: the sum of the
 * pseudo-header, folded, not inverted. lwIP clears the field before every
 * (re)transmission, so writing into its segment is safe. */
static err_t offload_output(uint8_t *frame, size_t len)
{
    uint8_t *ip = frame + SIZEOF_ETH_HDR;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4;
    size_t iplen = (size_t)ip[2] << 8 | ip[3];

    if (ihl < IP_HLEN || iplen < ihl + 20 || SIZEOF_ETH_HDR + iplen > len)
        return ERR_VAL;
    uint32_t sum = 6 + (uint32_t)(iplen - ihl);
    for (int i = 12; i < 20; i += 2)
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    uint8_t *tcp = ip + ihl;
    tcp[16] = (uint8_t)(sum >> 8);
    tcp[17] = (uint8_t)sum;
    unsigned mss = 0;
    if (len > frame_max)
        mss = libos_tcp_wire_mss(ip);
    if (runnc_net_write_tso(handle, frame, SIZEOF_ETH_HDR + iplen,
                (uint16_t)mss, (uint16_t)(SIZEOF_ETH_HDR + ihl), 16) !=
            SOLO5_R_OK)
        return ERR_IF;
    return ERR_OK;
}

/* True for an Ethernet frame of an unfragmented TCP/IPv4 packet. */
static int is_tcp4(const uint8_t *f, size_t len)
{
    const uint8_t *ip = f + SIZEOF_ETH_HDR;
    return len >= SIZEOF_ETH_HDR + IP_HLEN && f[12] == 0x08 && f[13] == 0 &&
        (ip[0] >> 4) == 4 && ip[9] == IP_PROTO_TCP &&
        ((ip[6] & 0x3f) | ip[7]) == 0;     /* no MF, offset 0 */
}

static err_t solo5_linkoutput(struct netif *n, struct pbuf *p)
{
    uint8_t *frame = p->payload;

    if (offload_mtu) {
        /* The Ethernet and IP headers are in the first pbuf (lwIP adds
         * them in front of the payload's). */
        if (p->len >= SIZEOF_ETH_HDR + IP_HLEN &&
                is_tcp4(frame, p->len)) {
            if (p->next != NULL) {
                pbuf_copy_partial(p, txbuf, p->tot_len, 0);
                frame = txbuf;
            }
            return offload_output(frame, p->tot_len);
        }
        if (p->tot_len > frame_max && p->len >= SIZEOF_ETH_HDR &&
                frame[12] == 0x08 && frame[13] == 0)
            return fragment(n, p);
    }
    if (p->tot_len > frame_max)
        return ERR_BUF;
    if (p->next != NULL) {
        pbuf_copy_partial(p, txbuf, p->tot_len, 0);
        frame = txbuf;
    }
    if (solo5_net_write(handle, frame, p->tot_len) != SOLO5_R_OK)
        return ERR_IF;
    return ERR_OK;
}

static err_t solo5_netif_init(struct netif *n)
{
    n->name[0] = 's';
    n->name[1] = '0';
    n->output = etharp_output;
    n->linkoutput = solo5_linkoutput;
    n->hwaddr_len = ETH_HWADDR_LEN;
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
        NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    return ERR_OK;
}

int libos_netif_up(const struct libos_netcfg *cfg)
{
    struct solo5_net_info info;

    device = cfg->device;
    if (solo5_net_acquire(cfg->device, &handle, &info) != SOLO5_R_OK) {
        libos_log("libos: cannot acquire network device '%s' "
                "(is it a NET_BASIC device in the manifest and attached?)\n",
                cfg->device);
        return -1;
    }
    if (cfg->mtu > info.mtu) {
        libos_log("libos: --mtu=%u is above the device's MTU %u\n",
                cfg->mtu, (unsigned)info.mtu);
        return -1;
    }
    frame_max = info.mtu + SOLO5_NET_HLEN;
    /* Offload only where every MSS lwIP may advertise (TCP_MSS) fits
     * the MTU: lwIP computes it from the netif's MTU, 65535 here. */
    if (runnc_net_offload(handle) && info.mtu >= TCP_MSS + IP_HLEN + 20 &&
            info.mtu <= 0xffff && (cfg->mtu == 0 || cfg->mtu == info.mtu))
        offload_mtu = (u16_t)info.mtu;
    txbuf = malloc(offload_mtu ? RUNNC_NET_TSO_MAX : frame_max);
    if (txbuf == NULL) {
        libos_log("libos: out of memory for the network\n");
        return -1;
    }

    lwip_init();
    ip4_addr_t addr, mask, gw;
    ip4_addr_set_u32(&addr, cfg->addr);
    ip4_addr_set_u32(&mask, cfg->mask);
    ip4_addr_set_u32(&gw, cfg->gw);
    if (netif_add(&nif, &addr, &mask, &gw, NULL, solo5_netif_init,
                ethernet_input) == NULL) {
        libos_log("libos: cannot add the network interface\n");
        return -1;
    }
    memcpy(nif.hwaddr, info.mac_address, ETH_HWADDR_LEN);
    nif.mtu = (u16_t)(cfg->mtu ? cfg->mtu : info.mtu);
    if (offload_mtu) {
        nif.mtu = 0xffff;
        NETIF_SET_CHECKSUM_CTRL(&nif,
                NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP);
    }
    netif_set_default(&nif);
    netif_set_link_up(&nif);
    netif_set_up(&nif);
    ready = 1;

    const uint8_t *m = info.mac_address, *a = (const uint8_t *)&cfg->addr;
    libos_log("libos: %s %02x:%02x:%02x:%02x:%02x:%02x mtu %u "
            "ipv4 %u.%u.%u.%u/%d%s\n", cfg->device,
            m[0], m[1], m[2], m[3], m[4], m[5],
            offload_mtu ? (unsigned)offload_mtu : (unsigned)nif.mtu,
            a[0], a[1], a[2], a[3],
            __builtin_popcount(cfg->mask),
            offload_mtu ? " tso" : "");
    return 0;
}

int libos_netif_ready(void)
{
    return ready;
}

unsigned libos_netif_offload_mss(void)
{
    return offload_mtu ? offload_mtu - IP_HLEN - 20u : 0;
}

solo5_handle_t libos_netif_handle(void)
{
    return handle;
}

int libos_netif_failed(void)
{
    return failed;
}

/* The device failed for good: every connection and listener is dropped
 * (their closed() callbacks run from libos_tcp_service()), and the loop
 * stops. A RST cannot reach the peers through a device that is gone; they
 * find out by their own timeouts, as after a cable pull. */
static void fail(void)
{
    failed = 1;
    libos_log("libos: network device '%s' failed (its tap is gone?): "
            "closing every connection and stopping\n", device);
    while (tcp_active_pcbs != NULL)
        tcp_abort(tcp_active_pcbs);
    while (tcp_listen_pcbs.listen_pcbs != NULL)
        tcp_close((struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs);
}

int libos_netif_poll(int budget)
{
    int n;

    if (failed)
        return -1;
    for (n = 0; n < budget; n++) {
        /* Pool pbufs are fast; when the pool is empty (segments held
         * for reordering or by paused connections) use the heap rather
         * than leave frames unread. */
        struct pbuf *p = NULL;
        if (frame_max <= PBUF_POOL_BUFSIZE)
            p = pbuf_alloc(PBUF_RAW, (u16_t)frame_max, PBUF_POOL);
        if (p != NULL && p->len < frame_max) {
            pbuf_free(p);
            p = NULL;
        }
        if (p == NULL)
            p = pbuf_alloc(PBUF_RAW, (u16_t)frame_max, PBUF_RAM);
        if (p == NULL)
            break;
        size_t len = 0;
        solo5_result_t r = solo5_net_read(handle, p->payload, frame_max, &len);
        if (r != SOLO5_R_OK) {
            pbuf_free(p);
            if (r == SOLO5_R_AGAIN)
                break;
            /* Not a frame short: the device itself failed (the bindings
             * keep a deleted tap failed). Polling it again would spin. */
            fail();
            return -1;
        }
        pbuf_realloc(p, (u16_t)len);
        if (nif.input(p, &nif) != ERR_OK)
            pbuf_free(p);
    }
    return n;
}
