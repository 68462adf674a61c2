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
 * together in a buffer here; solo5_net_read() goes through it too, while
 * runnc_net_read_offload() reads header and frame into the caller's
 * buffer, which has room for the header in front (no copy).
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
#define VNET_F_DATA_VALID       2
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

static bool has_vnet_rx(const struct runnc_device *d)
{
    return has_vnet_hdr(d) && (d->flags & RUNNC_DEVF_VNET_RX) != 0;
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

/* Reads one frame, with the vnet header on a device that has one, into
 * buf (of size bytes); returns its length, 0 for none (EAGAIN), or -1
 * for a failed device. A frame the kernel truncated (tun returns the
 * whole length) is dropped: 0. */
static long read_raw(solo5_handle_t handle, const struct runnc_device *d,
        uint8_t *buf, size_t size)
{
    if (gone[handle])
        return -1;
    long n = spt_syscall3(SYS_read, d->fd, (long)buf, (long)size);
    if (n == -SPT_EAGAIN)
        return 0;
    if (n == -SPT_EBADFD)
        gone[handle] = true;
    if (n < 0)
        return -1;
    if ((size_t)n > size)
        return 0;
    return n;
}

/* Reads one frame and its vnet header into buf (size bytes in all): *h
 * gets the header, *len the length of the frame at buf + VNET_HDR_LEN. */
static solo5_result_t read_vnet(solo5_handle_t handle,
        const struct runnc_device *d, uint8_t *buf, size_t size,
        struct vnet_hdr *h, size_t *len)
{
    long n = read_raw(handle, d, buf, size);
    if (n <= 0)
        return n == 0 ? SOLO5_R_AGAIN : SOLO5_R_EUNSPEC;
    if (n < VNET_HDR_LEN)
        return SOLO5_R_EUNSPEC;
    copy(h, buf, VNET_HDR_LEN);
    *len = (size_t)n - VNET_HDR_LEN;
    return SOLO5_R_OK;
}

/* The one's complement sum of data[0, len), not folded. */
static uint32_t sum16(const uint8_t *data, size_t len)
{
    uint64_t s = 0;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        s += (uint32_t)data[i] << 8 | data[i + 1];
    if (i < len)
        s += (uint32_t)data[i] << 8;
    while (s >> 32)
        s = (s & 0xffffffff) + (s >> 32);
    return (uint32_t)s;
}

/* Completes the partial checksum of (frame) as the host kernel's
 * skb_checksum_help() would; false if the header's offsets do not fit. */
static bool complete_csum(uint8_t *frame, size_t len, const struct vnet_hdr *h)
{
    size_t at = (size_t)h->csum_start + h->csum_offset;
    if (h->csum_start >= len || at + 2 > len)
        return false;
    uint32_t s = sum16(frame + h->csum_start, len - h->csum_start);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    uint16_t c = (uint16_t)~s;
    if (c == 0)
        c = 0xffff;     /* 0 means "no checksum" to UDP; the same to TCP */
    frame[at] = (uint8_t)(c >> 8);
    frame[at + 1] = (uint8_t)c;
    return true;
}

solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf,
        size_t size, size_t *read_size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL || size < d->mtu + SOLO5_NET_HLEN)
        return SOLO5_R_EINVAL;
    if (!has_vnet_hdr(d)) {
        long n = read_raw(handle, d, buf, size);
        if (n <= 0)
            return n == 0 ? SOLO5_R_AGAIN : SOLO5_R_EUNSPEC;
        *read_size = (size_t)n;
        return SOLO5_R_OK;
    }
    /* Without receive offload the header says nothing we need: the
     * frame is whole and checksummed. With it, this API still returns
     * only such frames: large ones are dropped (an app reading with
     * solo5_net_read() never announces RUNNC_FEATURE_VNET_RX, so only a
     * misconfigured guest sees this) and partial checksums completed. */
    size_t want = VNET_HDR_LEN + (has_vnet_rx(d) ? RUNNC_NET_TSO_MAX :
            d->mtu + SOLO5_NET_HLEN);
    if (want > sizeof vbuf)
        return SOLO5_R_EINVAL;
    for (;;) {
        struct vnet_hdr h;
        size_t len;
        solo5_result_t r = read_vnet(handle, d, vbuf, want, &h, &len);
        if (r != SOLO5_R_OK)
            return r;
        uint8_t *frame = vbuf + VNET_HDR_LEN;
        if (len > size || len > d->mtu + SOLO5_NET_HLEN ||
                h.gso_type != VNET_GSO_NONE)
            continue;
        if ((h.flags & VNET_F_NEEDS_CSUM) && !complete_csum(frame, len, &h))
            continue;
        copy(buf, frame, len);
        *read_size = len;
        return SOLO5_R_OK;
    }
}

bool runnc_net_offload(solo5_handle_t handle)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    return d != NULL && has_vnet_hdr(d);
}

/* Checks a frame for runnc_net_write_tso() and fills its header (h). */
static solo5_result_t tso_hdr(const struct runnc_device *d,
        const uint8_t *frame, size_t size, uint16_t mss,
        uint16_t csum_start, uint16_t csum_offset, struct vnet_hdr *h)
{
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
    *h = (struct vnet_hdr){
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
        h->gso_type = VNET_GSO_TCPV4;
        h->gso_size = mss;
    }
    return SOLO5_R_OK;
}

/* Sends (frame) with a header for the offload asked: from a copy in
 * vbuf, or with (room) the VNET_HDR_LEN bytes in front of it, in place. */
static solo5_result_t write_tso(solo5_handle_t handle, const uint8_t *frame,
        uint8_t *room, size_t size, uint16_t mss, uint16_t csum_start,
        uint16_t csum_offset)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    struct vnet_hdr h;
    solo5_result_t r = tso_hdr(d, frame, size, mss, csum_start, csum_offset, &h);
    if (r != SOLO5_R_OK)
        return r;
    if (room == NULL)
        return send_vnet(handle, d, &h, frame, size);
    copy(room, &h, VNET_HDR_LEN);
    return send(handle, d, room, VNET_HDR_LEN + size);
}

solo5_result_t runnc_net_write_tso(solo5_handle_t handle,
        const uint8_t *frame, size_t size, uint16_t mss,
        uint16_t csum_start, uint16_t csum_offset)
{
    return write_tso(handle, frame, NULL, size, mss, csum_start, csum_offset);
}

solo5_result_t runnc_net_write_tso_inplace(solo5_handle_t handle,
        uint8_t *frame, size_t size, uint16_t mss,
        uint16_t csum_start, uint16_t csum_offset)
{
    _Static_assert(RUNNC_NET_TX_HEADROOM == VNET_HDR_LEN, "headroom");
    return write_tso(handle, frame, frame - VNET_HDR_LEN, size, mss,
            csum_start, csum_offset);
}

bool runnc_net_rx_offload(solo5_handle_t handle)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    return d != NULL && has_vnet_rx(d);
}

solo5_result_t runnc_net_read_offload(solo5_handle_t handle, uint8_t *buf,
        size_t size, size_t *read_size, struct runnc_net_rx *rx)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL)
        return SOLO5_R_EINVAL;
    size_t frame_max = has_vnet_rx(d) ? RUNNC_NET_TSO_MAX :
        d->mtu + SOLO5_NET_HLEN;
    if (size < RUNNC_NET_RX_HEADROOM + frame_max)
        return SOLO5_R_EINVAL;
    *rx = (struct runnc_net_rx){ .csum = RUNNC_NET_CSUM_UNKNOWN };
    if (!has_vnet_hdr(d)) {
        long n = read_raw(handle, d, buf + RUNNC_NET_RX_HEADROOM,
                frame_max);
        if (n <= 0)
            return n == 0 ? SOLO5_R_AGAIN : SOLO5_R_EUNSPEC;
        *read_size = (size_t)n;
        return SOLO5_R_OK;
    }
    _Static_assert(RUNNC_NET_RX_HEADROOM == VNET_HDR_LEN, "headroom");
    struct vnet_hdr h;
    size_t len;
    solo5_result_t r = read_vnet(handle, d, buf, VNET_HDR_LEN + frame_max,
            &h, &len);
    if (r != SOLO5_R_OK)
        return r;
    if (h.flags & VNET_F_NEEDS_CSUM) {
        if ((size_t)h.csum_start + h.csum_offset + 2 > len)
            return SOLO5_R_AGAIN;       /* malformed: dropped */
        rx->csum = RUNNC_NET_CSUM_PARTIAL;
        rx->csum_start = h.csum_start;
        rx->csum_offset = h.csum_offset;
    } else if (h.flags & VNET_F_DATA_VALID) {
        rx->csum = RUNNC_NET_CSUM_VALID;
    }
    if (h.gso_type != VNET_GSO_NONE)
        rx->gso_size = h.gso_size ? h.gso_size : 1;
    *read_size = len;
    return SOLO5_R_OK;
}
