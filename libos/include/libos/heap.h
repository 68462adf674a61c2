/*
 * The libos heap (libos/libc/malloc.c): one region handed over at start,
 * managed by malloc() and friends.
 */
#ifndef LIBOS_HEAP_H
#define LIBOS_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* Give the heap its region; call once, before any malloc(). */
void libos_heap_init(uintptr_t start, size_t size);

/* Bytes allocated now, including per-block overhead. */
size_t libos_heap_used(void);
/* Bytes of the region, and the most ever allocated at once. */
size_t libos_heap_size(void);
size_t libos_heap_peak(void);

#endif
