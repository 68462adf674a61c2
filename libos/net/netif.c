/*
 * The lwIP network interface on a Solo5 NET_BASIC device: Ethernet
 * frames in and out through solo5_net_read()/solo5_net_write().
 */
#include <stdlib.h>
#include <string.h>
#include <solo5.h>
#include <libos/libos.h>
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/etharp.h"
#include "netif/ethernet.h"
#include "../core/libos_priv.h"

static struct netif nif;
static solo5_handle_t handle;
static int ready;
/* Largest frame the device may hand us (its MTU plus the header). */
static size_t frame_max;
/* Output frames built from a pbuf chain are copied here. */
static uint8_t *txbuf;

static err_t solo5_linkoutput(struct netif *n, struct pbuf *p)
{
    const uint8_t *frame = p->payload;

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
    txbuf = malloc(frame_max);
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
    netif_set_default(&nif);
    netif_set_link_up(&nif);
    netif_set_up(&nif);
    ready = 1;

    const uint8_t *m = info.mac_address, *a = (const uint8_t *)&cfg->addr;
    libos_log("libos: %s %02x:%02x:%02x:%02x:%02x:%02x mtu %u "
            "ipv4 %u.%u.%u.%u/%d\n", cfg->device,
            m[0], m[1], m[2], m[3], m[4], m[5], (unsigned)nif.mtu,
            a[0], a[1], a[2], a[3],
            __builtin_popcount(cfg->mask));
    return 0;
}

int libos_netif_ready(void)
{
    return ready;
}

solo5_handle_t libos_netif_handle(void)
{
    return handle;
}

int libos_netif_poll(int budget)
{
    int n;

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
            break;
        }
        pbuf_realloc(p, (u16_t)len);
        if (nif.input(p, &nif) != ERR_OK)
            pbuf_free(p);
    }
    return n;
}
