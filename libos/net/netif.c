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
 *
 * Receive offload (the same option; this file announces that libos takes
 * large frames, RUNNC_FEATURE_VNET_RX): the host hands us TCP segments of
 * up to 64 KiB as its own stack or GRO built them, one read each, with
 * checksums it vouches for or left partial. A large frame stays in the
 * buffer it was read into, which becomes a pbuf (no copy); lwIP takes a
 * TCP segment of any size that fits an IPv4 packet.
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
#include <runnc/abi.h>
#include "../core/libos_priv.h"

/* libos reads with runnc_net_read_offload(): the tender may turn the
 * tap's receive offloads on. */
static const struct {
    uint32_t namesz, descsz, type;
    char name[8];
    uint32_t desc;
} rx_note __attribute__((section(".note.runnc.features"), aligned(4), used)) = {
    .namesz = sizeof(RUNNC_NOTE_NAME),
    .descsz = sizeof(uint32_t),
    .type = RUNNC_NOTE_FEATURES,
    .name = RUNNC_NOTE_NAME,
    .desc = RUNNC_FEATURE_VNET_RX,
};

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
/* The device has a vnet header: frames are read with
 * runnc_net_read_offload() into rxb, and with receive offload
 * (rx_large) they may be up to RUNNC_NET_TSO_MAX bytes. */
static int rx_vnet, rx_large;

/* A receive buffer: a frame read into data + RUNNC_NET_RX_HEADROOM that
 * is too large to copy becomes a custom pbuf of its IPv4 packet, freed
 * with the buffer. */
struct rxbuf {
    struct pbuf_custom pc;      /* first: pbuf_free() hands us &pc.pbuf */
    uint8_t data[] __attribute__((aligned(16)));
};
static struct rxbuf *rxb;       /* the next frame is read into it */
static size_t rxb_size;         /* of its data */
/* Frames up to this long are copied into pbufs of their own size, so
 * that a small one does not hold a 64 KiB buffer while it waits in a
 * receive queue. */
#define RX_COPY_MAX     (16 * 1024)

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
static err_t offload_output(uint8_t *frame, size_t len, int inplace)
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
    size_t size = SIZEOF_ETH_HDR + iplen;
    uint16_t start = (uint16_t)(SIZEOF_ETH_HDR + ihl);
    solo5_result_t r = inplace ?
        runnc_net_write_tso_inplace(handle, frame, size, (uint16_t)mss, start, 16) :
        runnc_net_write_tso(handle, frame, size, (uint16_t)mss, start, 16);
    return r == SOLO5_R_OK ? ERR_OK : ERR_IF;
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
                return offload_output(txbuf, p->tot_len, 0);
            }
            /* A segment lwIP built has room for the host's header in
             * front (PBUF_LINK_ENCAPSULATION_HLEN): no copy. */
            if (pbuf_add_header(p, RUNNC_NET_TX_HEADROOM) == 0) {
                pbuf_remove_header(p, RUNNC_NET_TX_HEADROOM);
                return offload_output(frame, p->tot_len, 1);
            }
            return offload_output(frame, p->tot_len, 0);
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
    if (runnc_net_offload(handle)) {
        rx_vnet = 1;
        rx_large = runnc_net_rx_offload(handle);
        rxb_size = rx_large ? RUNNC_NET_RX_BUF :
            RUNNC_NET_RX_HEADROOM + frame_max;
    }
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
            "ipv4 %u.%u.%u.%u/%d%s%s\n", cfg->device,
            m[0], m[1], m[2], m[3], m[4], m[5],
            offload_mtu ? (unsigned)offload_mtu : (unsigned)nif.mtu,
            a[0], a[1], a[2], a[3],
            __builtin_popcount(cfg->mask),
            offload_mtu ? " tso" : "", rx_large ? " rx-offload" : "");
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

static void rxbuf_free(struct pbuf *p)
{
    free((struct rxbuf *)(void *)p);
}

/* A pbuf for a received frame of len bytes. Pool pbufs are fast; when the
 * pool is empty (segments held for reordering or by paused connections)
 * the heap, rather than leave frames unread. */
static struct pbuf *rx_alloc(size_t len)
{
    struct pbuf *p = NULL;
    if (len <= PBUF_POOL_BUFSIZE)
        p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
    if (p != NULL && p->len < len) {
        pbuf_free(p);
        p = NULL;
    }
    if (p == NULL)
        p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
    return p;
}

/* A pbuf of the frame in rxb (len bytes): a copy, or for a large one
 * rxb itself, holding its IPv4 packet (a TCP segment: the host makes
 * frames larger than the MTU only of those; lwIP's 16-bit pbuf lengths
 * could not hold the Ethernet header too). *ip says which. */
static struct pbuf *rx_pbuf(size_t len, int *ip)
{
    const uint8_t *frame = rxb->data + RUNNC_NET_RX_HEADROOM;
    struct pbuf *p = NULL;

    *ip = 0;
    if (len <= RX_COPY_MAX) {
        if ((p = rx_alloc(len)) != NULL)
            memcpy(p->payload, frame, len);
        return p;
    }
    /* Ours, unicast, IPv4: anything else this large is not for us. */
    if (len > SIZEOF_ETH_HDR + 0xffff || frame[12] != 0x08 ||
            frame[13] != 0x00 || memcmp(frame, nif.hwaddr, ETH_HWADDR_LEN))
        return NULL;
    u16_t iplen = (u16_t)(len - SIZEOF_ETH_HDR);
    rxb->pc.custom_free_function = rxbuf_free;
    p = pbuf_alloced_custom(PBUF_RAW, iplen, PBUF_REF, &rxb->pc,
            (void *)(frame + SIZEOF_ETH_HDR), iplen);
    if (p != NULL) {
        rxb = NULL;     /* lwIP holds it now */
        *ip = 1;
    }
    return p;
}

/* Reads one frame through the vnet header into rxb and hands it to lwIP.
 * Returns 1 for a frame (taken or dropped), 0 for none, -1 if the device
 * failed. */
static int poll_vnet(void)
{
    if (rxb == NULL && (rxb = malloc(sizeof *rxb + rxb_size)) == NULL)
        return 0;
    size_t len = 0;
    struct runnc_net_rx rx;
    solo5_result_t r = runnc_net_read_offload(handle, rxb->data, rxb_size,
            &len, &rx);
    if (r == SOLO5_R_AGAIN)
        return 0;
    if (r != SOLO5_R_OK)
        return -1;
    int ip;
    struct pbuf *p = rx_pbuf(len, &ip);
    if (p == NULL)
        return 1;       /* no memory, or not ours: dropped, as a wire would */
    /* The host checked the TCP or UDP checksum, or its own stack left it
     * partial on a local link: lwIP must not check it, for this frame
     * and for a SYN it re-inputs from it (libos_tcp_reinput). */
    u8_t flags = nif.chksum_flags;
    if (rx.csum != RUNNC_NET_CSUM_UNKNOWN)
        NETIF_SET_CHECKSUM_CTRL(&nif, flags &
                ~(NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP));
    err_t err = ip ? ip4_input(p, &nif) : nif.input(p, &nif);
    if (err != ERR_OK)
        pbuf_free(p);
    libos_tcp_reinput();
    NETIF_SET_CHECKSUM_CTRL(&nif, flags);
    return 1;
}

int libos_netif_poll(int budget)
{
    int n;

    if (failed)
        return -1;
    for (n = 0; n < budget; n++) {
        if (rx_vnet) {
            int r = poll_vnet();
            if (r < 0) {
                fail();
                return -1;
            }
            if (r == 0)
                break;
            continue;
        }
        struct pbuf *p = rx_alloc(frame_max);
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
        libos_tcp_reinput();
    }
    return n;
}
