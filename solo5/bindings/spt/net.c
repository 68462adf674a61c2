/*
 * NET_BASIC: a tap, non-blocking, one frame per read or write.
 *
 * A tap deleted under a running guest (ip link del) never comes back: its
 * fd is detached for good. The device is then gone (spt_net_gone): reads
 * and writes return SOLO5_R_EUNSPEC without a system call, and
 * solo5_yield() reports it ready once, when it first sees the error, so
 * that an app reading only ready devices learns of it, and never again.
 *
 * A device attached with --net-offload (RUNNC_DEVF_VNET_HDR) carries a
 * 10-byte struct virtio_net_hdr before every frame, both ways. The guest
 * may make one write syscall only, so the header and the frame are put
 * together in a buffer here; reads go through it too.
 */
#include "spt.h"
#include "runnc/net_offload.h"

/* struct virtio_net_hdr (Linux uapi/linux/virtio_net.h), little endian. */
struct vnet_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;       /* Ethernet + IP + TCP headers */
    uint16_t gso_size;      /* payload bytes per segment */
    uint16_t csum_start;
    uint16_t csum_offset;
};
#define VNET_HDR_LEN            10
#define VNET_F_NEEDS_CSUM       1
#define VNET_GSO_NONE           0
#define VNET_GSO_TCPV4          1

_Static_assert(sizeof(struct vnet_hdr) == VNET_HDR_LEN, "virtio_net_hdr");

/* One buffer for both ways: the guest is single-threaded and each call
 * is done with it when it returns. Frames never exceed an IPv4 packet
 * (the tender caps the MTU at 65535) plus the Ethernet header. */
static uint8_t vbuf[VNET_HDR_LEN + RUNNC_NET_TSO_MAX]
    __attribute__((aligned(16)));

static void copy(void *dst, const void *src, size_t n)
{
    __asm__ __volatile__("rep movsb"
            : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static bool gone[RUNNC_MAX_DEVICES];

bool spt_net_gone(solo5_handle_t handle)
{
    return handle < RUNNC_MAX_DEVICES && gone[handle];
}

void spt_net_set_gone(solo5_handle_t handle)
{
    if (handle < RUNNC_MAX_DEVICES)
        gone[handle] = true;
}

static bool has_vnet_hdr(const struct runnc_device *d)
{
    return (d->flags & RUNNC_DEVF_VNET_HDR) != 0;
}

solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
        struct solo5_net_info *info)
{
    const struct runnc_device *d;
    solo5_result_t r = spt_acquire(name, RUNNC_DEV_NET_BASIC, handle, &d);
    if (r != SOLO5_R_OK)
        return r;
    for (int i = 0; i < SOLO5_NET_ALEN; i++)
        info->mac_address[i] = d->mac[i];
    info->mtu = d->mtu;
    return SOLO5_R_OK;
}

static solo5_result_t send(solo5_handle_t handle, const struct runnc_device *d,
        const uint8_t *buf, size_t size)
{
    if (gone[handle])
        return SOLO5_R_EUNSPEC;
    long n = spt_syscall3(SYS_write, d->fd, (long)buf, (long)size);
    if (n == (long)size || n == -SPT_EAGAIN || n == -SPT_ENOBUFS)
        return SOLO5_R_OK;      /* a full host queue drops, as a wire would */
    if (n == -SPT_EBADFD)
        gone[handle] = true;
    return SOLO5_R_EUNSPEC;
}

/* Puts header (h) and the frame together in vbuf and sends them. */
static solo5_result_t send_vnet(solo5_handle_t handle,
        const struct runnc_device *d, const struct vnet_hdr *h,
        const uint8_t *frame, size_t size)
{
    copy(vbuf, h, VNET_HDR_LEN);
    copy(vbuf + VNET_HDR_LEN, frame, size);
    return send(handle, d, vbuf, VNET_HDR_LEN + size);
}

solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf,
        size_t size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL || size > d->mtu + SOLO5_NET_HLEN)
        return SOLO5_R_EINVAL;
    if (has_vnet_hdr(d)) {
        static const struct vnet_hdr none;  /* no offload asked */
        return send_vnet(handle, d, &none, buf, size);
    }
    return send(handle, d, buf, size);
}

solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf,
        size_t size, size_t *read_size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL || size < d->mtu + SOLO5_NET_HLEN)
        return SOLO5_R_EINVAL;
    if (gone[handle])
        return SOLO5_R_EUNSPEC;
    if (has_vnet_hdr(d)) {
        /* The header says nothing we need: the tap's offloads towards
         * the guest are off, so the frame is whole and checksummed. */
        size_t want = VNET_HDR_LEN + d->mtu + SOLO5_NET_HLEN;
        if (want > sizeof vbuf)
            return SOLO5_R_EINVAL;
        long n = spt_syscall3(SYS_read, d->fd, (long)vbuf, (long)want);
        if (n == -SPT_EAGAIN)
            return SOLO5_R_AGAIN;
        if (n == -SPT_EBADFD)
            gone[handle] = true;
        if (n < VNET_HDR_LEN)
            return SOLO5_R_EUNSPEC;
        copy(buf, vbuf + VNET_HDR_LEN, (size_t)n - VNET_HDR_LEN);
        *read_size = (size_t)n - VNET_HDR_LEN;
        return SOLO5_R_OK;
    }
    long n = spt_syscall3(SYS_read, d->fd, (long)buf, (long)size);
    if (n == -SPT_EAGAIN)
        return SOLO5_R_AGAIN;
    if (n == -SPT_EBADFD)
        gone[handle] = true;
    if (n < 0)
        return SOLO5_R_EUNSPEC;
    *read_size = (size_t)n;
    return SOLO5_R_OK;
}

bool runnc_net_offload(solo5_handle_t handle)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    return d != NULL && has_vnet_hdr(d);
}

solo5_result_t runnc_net_write_tso(solo5_handle_t handle,
        const uint8_t *frame, size_t size, uint16_t mss,
        uint16_t csum_start, uint16_t csum_offset)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL || !has_vnet_hdr(d) || size > RUNNC_NET_TSO_MAX)
        return SOLO5_R_EINVAL;
    /* IPv4 (no VLAN tag) carrying TCP, checksum field inside the frame. */
    if (size < SOLO5_NET_HLEN + 20 + 20 || frame[12] != 0x08 ||
            frame[13] != 0x00 || frame[SOLO5_NET_HLEN + 9] != 6 ||
            csum_offset != 16 ||
            csum_start != SOLO5_NET_HLEN + (frame[SOLO5_NET_HLEN] & 0xf) * 4 ||
            (size_t)csum_start + 20 > size)
        return SOLO5_R_EINVAL;
    size_t hdr_len = csum_start + (size_t)(frame[csum_start + 12] >> 4) * 4;
    if (hdr_len < (size_t)csum_start + 20 || hdr_len > size)
        return SOLO5_R_EINVAL;
    struct vnet_hdr h = {
        .flags = VNET_F_NEEDS_CSUM,
        .gso_type = VNET_GSO_NONE,
        .hdr_len = (uint16_t)hdr_len,
        .csum_start = csum_start,
        .csum_offset = csum_offset,
    };
    if (size > d->mtu + SOLO5_NET_HLEN) {
        /* Each segment the kernel cuts must fit the MTU. */
        if (mss == 0 || hdr_len - SOLO5_NET_HLEN + mss > d->mtu)
            return SOLO5_R_EINVAL;
        h.gso_type = VNET_GSO_TCPV4;
        h.gso_size = mss;
    }
    return send_vnet(handle, d, &h, frame, size);
}
