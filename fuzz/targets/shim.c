/*
 * Host stand-ins for libos and Solo5 (shim.h).
 */
#include <string.h>

#include <libos/libos.h>
#include <solo5.h>

#include "shim.h"

/* libos_log() (libos/core/sys.c) ends here: quiet unless FUZZ_LOG is set,
 * since fuzzing logs millions of lines. */
void solo5_console_write(const char *buf, size_t size)
{
    if (getenv("FUZZ_LOG"))
        fwrite(buf, 1, size, stderr);
}

void solo5_abort(void)
{
    abort();
}

void solo5_exit(int status)
{
    abort();
}

uint64_t solo5_clock_wall(void)
{
    return 1700000000ULL * 1000000000ULL;
}

uint64_t solo5_clock_monotonic(void)
{
    return 1000000000ULL;
}

/* --- the block device ----------------------------------------------------- */

static struct {
    const uint8_t *data;
    uint64_t capacity, block_size;
} dev;

void shim_block_set(const uint8_t *data, size_t len, uint64_t block_size)
{
    dev.data = data;
    dev.block_size = block_size;
    dev.capacity = len - len % block_size;
}

solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
        struct solo5_block_info *info)
{
    if (dev.data == NULL)
        return SOLO5_R_EUNSPEC;
    *handle = 1;
    info->capacity = dev.capacity;
    info->block_size = dev.block_size;
    return SOLO5_R_OK;
}

/* The tender's rules: exactly one block, aligned, inside the device. */
solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
        uint8_t *buf, size_t size)
{
    if (handle != 1 || size != dev.block_size || offset % dev.block_size
            || offset > dev.capacity || size > dev.capacity - offset)
        return SOLO5_R_EINVAL;
    memcpy(buf, dev.data + offset, size);
    return SOLO5_R_OK;
}

solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
        const uint8_t *buf, size_t size)
{
    return SOLO5_R_EINVAL;
}
