/* BLOCK_BASIC: a host file, one block per pread64/pwrite64. */
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

/* The same checks as the seccomp filter, so a bad request is an error
 * the app can handle rather than a kill. */
static const struct runnc_device *check(solo5_handle_t handle,
        solo5_off_t offset, size_t size)
{
    const struct runnc_device *d = spt_device(handle, RUNNC_DEV_BLOCK_BASIC);
    if (d == NULL || size != d->block_size || offset % d->block_size != 0 ||
            offset > d->capacity - d->block_size)
        return NULL;
    return d;
}

solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
        const uint8_t *buf, size_t size)
{
    const struct runnc_device *d = check(handle, offset, size);
    if (d == NULL)
        return SOLO5_R_EINVAL;
    if (d->flags & RUNNC_DEVF_READONLY)
        return SOLO5_R_EUNSPEC; /* the filter would kill a pwrite64 */
    long n = spt_syscall4(SYS_pwrite64, d->fd, (long)buf, (long)size, (long)offset);
    return n == (long)size ? SOLO5_R_OK : SOLO5_R_EUNSPEC;
}

solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
        uint8_t *buf, size_t size)
{
    const struct runnc_device *d = check(handle, offset, size);
    if (d == NULL)
        return SOLO5_R_EINVAL;
    long n = spt_syscall4(SYS_pread64, d->fd, (long)buf, (long)size, (long)offset);
    return n == (long)size ? SOLO5_R_OK : SOLO5_R_EUNSPEC;
}
