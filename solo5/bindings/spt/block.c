/* BLOCK_BASIC: a host file, read and written in calls the filter allows:
 * whole blocks, up to runnc_block_io_max() bytes per call where the
 * tender says its filter allows that (RUNNC_DEVF_BLOCK_IO), else one
 * block per call. */
#include "spt.h"

solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
        struct solo5_block_info *info)
{
    const struct runnc_device *d;
    solo5_result_t r = spt_acquire(name, RUNNC_DEV_BLOCK_BASIC, handle, &d);
    if (r != SOLO5_R_OK)
        return r;
    info->capacity = d->capacity;
    info->block_size = d->block_size;
    return SOLO5_R_OK;
}

/* The largest call on d: RUNNC_BLOCK_IO_MAX in whole blocks, at least one
 * block, at most the device (the tender's ioMax, tender/module_block.go). */
static uint64_t io_max(const struct runnc_device *d)
{
    if (!(d->flags & RUNNC_DEVF_BLOCK_IO))
        return d->block_size;
    uint64_t m = RUNNC_BLOCK_IO_MAX & ~(d->block_size - 1);
    if (m < d->block_size)
        m = d->block_size;
    if (m > d->capacity)
        m = d->capacity;
    return m;
}

/* size and offset whole blocks, inside the device: a bad request is an
 * error the app can handle rather than a kill. */
static const struct runnc_device *check(solo5_handle_t handle,
        solo5_off_t offset, size_t size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_BLOCK_BASIC);
    if (d == NULL || size == 0 || size % d->block_size != 0 ||
            offset % d->block_size != 0 || offset > d->capacity ||
            size > d->capacity - offset)
        return NULL;
    return d;
}

/* Splits [offset, offset + size) into calls the filter allows: up to
 * io_max() bytes at offsets up to capacity - io_max(), single blocks
 * above (the filter cannot check offset + count; see abi.h). */
static solo5_result_t block_io(const struct runnc_device *d, long nr,
        solo5_off_t offset, uint8_t *buf, size_t size)
{
    uint64_t max = io_max(d);

    while (size > 0) {
        size_t n = size > max ? max : size;
        if (offset > d->capacity - max)
            n = d->block_size;
        long r = spt_syscall4(nr, d->fd, (long)buf, (long)n, (long)offset);
        if (r != (long)n)
            return SOLO5_R_EUNSPEC;
        buf += n;
        offset += n;
        size -= n;
    }
    return SOLO5_R_OK;
}

solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
        const uint8_t *buf, size_t size)
{
    const struct runnc_device *d = check(handle, offset, size);
    if (d == NULL)
        return SOLO5_R_EINVAL;
    if (d->flags & RUNNC_DEVF_READONLY)
        return SOLO5_R_EUNSPEC; /* the filter would kill a pwrite64 */
    return block_io(d, SYS_pwrite64, offset, (uint8_t *)buf, size);
}

solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
        uint8_t *buf, size_t size)
{
    const struct runnc_device *d = check(handle, offset, size);
    if (d == NULL)
        return SOLO5_R_EINVAL;
    return block_io(d, SYS_pread64, offset, buf, size);
}
