/*
 * Host stand-ins for what the guests' freestanding code gets from libos
 * and Solo5, so that the fuzz targets run the guests' own sources under
 * libFuzzer, AddressSanitizer and UBSan: a console that goes nowhere
 * (libos_log() itself is libos/core/sys.c), a clock and a block device
 * over a buffer. shim_conn.h adds connections.
 */
#ifndef FUZZ_SHIM_H
#define FUZZ_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A failed check: print it and abort, which libFuzzer reports as a crash
 * with the input that caused it. */
#define CHECK(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                    __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

/* The block device "solo5_block_acquire" hands out: the buffer (not
 * copied; it must outlive its use), its size rounded down to whole blocks
 * of block_size bytes. */
void shim_block_set(const uint8_t *data, size_t len, uint64_t block_size);

#endif
