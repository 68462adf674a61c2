/* NET_BASIC: a tap, non-blocking, one frame per read or write. */
#include "spt.h"

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

solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf,
        size_t size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL || size > d->mtu + SOLO5_NET_HLEN)
        return SOLO5_R_EINVAL;
    long n = spt_syscall3(SYS_write, d->fd, (long)buf, (long)size);
    if (n == (long)size || n == -SPT_EAGAIN || n == -SPT_ENOBUFS)
        return SOLO5_R_OK;      /* a full host queue drops, as a wire would */
    return SOLO5_R_EUNSPEC;
}

solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf,
        size_t size, size_t *read_size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_NET_BASIC);
    if (d == NULL || size < d->mtu + SOLO5_NET_HLEN)
        return SOLO5_R_EINVAL;
    long n = spt_syscall3(SYS_read, d->fd, (long)buf, (long)size);
    if (n == -SPT_EAGAIN)
        return SOLO5_R_AGAIN;
    if (n < 0)
        return SOLO5_R_EUNSPEC;
    *read_size = (size_t)n;
    return SOLO5_R_OK;
}
