/*
 * BLOCK_BASIC: write a pattern to every block in requests of 1 to 40
 * blocks, read it back whole and block by block, and check that requests
 * the ABI forbids (sizes not whole blocks, misaligned or out-of-range
 * offsets) are errors, not crashes. The test
 * also checks the pattern in the host file afterwards.
 */
#include "test.h"

#define MAX_BLOCK 4096
#define MAX_RUN 40                  /* blocks per write */
#define MAX_DEVICE (1024 * 1024)    /* read back in one request */

static uint8_t wbuf[MAX_RUN * MAX_BLOCK], rbuf[MAX_BLOCK], whole[MAX_DEVICE];

/* The byte at (i) of block (n); unikernels/tests/guests_test.go agrees. */
static uint8_t pattern(uint64_t n, uint64_t i)
{
    return (uint8_t)(n * 7 + i + (n >> 8));
}

int solo5_app_main(const struct solo5_start_info *si)
{
    solo5_handle_t h, other;
    struct solo5_block_info bi;
    struct solo5_net_info ni;

    t_puts("\n**** Solo5 standalone test_blk ****\n\n");

    /* Only the manifest's device, of the manifest's type. */
    CHECK(solo5_block_acquire("nosuch", &other, &bi) != SOLO5_R_OK);
    CHECK(solo5_net_acquire("storage", &other, &ni) != SOLO5_R_OK);
    CHECK(solo5_block_acquire("storage", &h, &bi) == SOLO5_R_OK);

    t_puts("capacity ");
    t_putu(bi.capacity);
    t_puts(" block_size ");
    t_putu(bi.block_size);
    t_puts("\n");
    CHECK(bi.block_size >= 512 && bi.block_size <= MAX_BLOCK);
    CHECK(bi.capacity >= bi.block_size && bi.capacity % bi.block_size == 0);
    uint64_t bs = bi.block_size, nblocks = bi.capacity / bs;

    /* Runs of 1, 2, ... MAX_RUN blocks: larger than the bindings' 64 KiB
     * per host call, and through the device's last 64 KiB, which they go
     * through block by block. */
    for (uint64_t n = 0, run = 1; n < nblocks; n += run, run = run % MAX_RUN + 1) {
        if (run > nblocks - n)
            run = nblocks - n;
        for (uint64_t k = 0; k < run; k++)
            for (uint64_t i = 0; i < bs; i++)
                wbuf[k * bs + i] = pattern(n + k, i);
        CHECK(solo5_block_write(h, n * bs, wbuf, run * bs) == SOLO5_R_OK);
    }
    CHECK(bi.capacity <= MAX_DEVICE);
    CHECK(solo5_block_read(h, 0, whole, bi.capacity) == SOLO5_R_OK);
    for (uint64_t n = 0; n < nblocks; n++)
        for (uint64_t i = 0; i < bs; i++)
            CHECK(whole[n * bs + i] == pattern(n, i));
    for (uint64_t n = 0; n < nblocks; n++) {
        for (uint64_t i = 0; i < bs; i++)
            rbuf[i] = 0;
        CHECK(solo5_block_read(h, n * bs, rbuf, bs) == SOLO5_R_OK);
        for (uint64_t i = 0; i < bs; i++)
            CHECK(rbuf[i] == pattern(n, i));
    }
    t_puts("wrote and read back ");
    t_putu(nblocks);
    t_puts(" blocks\n");

    /* Forbidden requests: EINVAL both ways, and nothing was written. */
    for (uint64_t i = 0; i < bs; i++)
        wbuf[i] = (uint8_t)~pattern(0, i);
    for (int k = 0; k < 8; k++) {
        solo5_off_t off = 0;
        size_t size = bs;
        switch (k) {
        case 0: off = bs / 2; break;                    /* misaligned */
        case 1: size = bs / 2; break;                   /* short */
        case 2: off = bi.capacity - bs; size = 2 * bs; break; /* past the end */
        case 3: size = bs - 1; break;
        case 4: off = bi.capacity; break;               /* at the end */
        case 5: off = bi.capacity * 1024; break;        /* far past it */
        case 6: off = ~(solo5_off_t)0 & ~(bs - 1); break; /* would wrap */
        case 7: size = bi.capacity + bs; break;         /* more than all */
        }
        CHECK(solo5_block_read(h, off, rbuf, size) == SOLO5_R_EINVAL);
        CHECK(solo5_block_write(h, off, wbuf, size) == SOLO5_R_EINVAL);
    }
    /* Nor through a handle that is not a block device. */
    CHECK(solo5_block_read(h + 1, 0, rbuf, bs) == SOLO5_R_EINVAL);
    CHECK(solo5_block_read(h, 0, rbuf, bs) == SOLO5_R_OK);
    for (uint64_t i = 0; i < bs; i++)
        CHECK(rbuf[i] == pattern(0, i));

    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
