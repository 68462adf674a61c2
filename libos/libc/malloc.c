/*
 * The heap: malloc(), free(), realloc() and friends on the one region
 * libos_heap_init() is given.
 *
 * Chunks carry boundary tags, as in dlmalloc: a 16-byte header (the size
 * of the previous chunk, valid only when that one is free, and this
 * chunk's size with two flag bits). Payloads are 16-byte aligned. Free
 * chunks are always coalesced with free neighbours, so free() returns
 * memory to the pool, and they are kept in bins:
 *   - small bins, one per chunk size from 32 to 1008 bytes: exact fits,
 *     O(1) for the many small objects a server allocates;
 *   - large bins, four per power of two, searched first fit.
 * A bitmap of non-empty bins finds the next bin that can serve a request
 * without walking empty ones. Chunks never used yet form the "top" chunk
 * at the end of the region, which requests are carved from when no bin
 * fits.
 *
 * libos is single-threaded, so there is no locking.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libos/heap.h"
#include "solo5.h"

struct chunk {
    size_t prev_size;           /* size of the previous chunk if it is free */
    size_t head;                /* size | CINUSE | PINUSE */
    struct chunk *next, *prev;  /* bin links, free chunks only */
};

#define ALIGN       16
#define HDR         offsetof(struct chunk, next)
#define MIN_CHUNK   sizeof(struct chunk)
#define CINUSE      ((size_t)1)     /* this chunk is allocated */
#define PINUSE      ((size_t)2)     /* the previous chunk is allocated */
#define FLAGS       (CINUSE | PINUSE)

#define SMALL_LIMIT 1024            /* chunks below this are small */
#define NBINS       320
#define MAP_WORDS   (NBINS / 64)

_Static_assert(HDR == 16 && MIN_CHUNK == 32, "chunk layout");

static char *heap_lo, *heap_hi;
static struct chunk *top;           /* the untouched end of the region */
static struct chunk *bins[NBINS];
static uint64_t binmap[MAP_WORDS];
static size_t used, peak;

static inline size_t csize(const struct chunk *c)
{
    return c->head & ~FLAGS;
}

static inline struct chunk *at(void *p, size_t off)
{
    return (struct chunk *)((char *)p + off);
}

static inline struct chunk *mem2chunk(void *p)
{
    return (struct chunk *)((char *)p - HDR);
}

static inline void *chunk2mem(struct chunk *c)
{
    return (char *)c + HDR;
}

static unsigned bin_index(size_t size)
{
    if (size < SMALL_LIMIT)
        return (unsigned)(size >> 4);
    unsigned b = 63 - (unsigned)__builtin_clzl(size);    /* >= 10 */
    return 64 + (b - 10) * 4 + (unsigned)((size >> (b - 2)) & 3);
}

static void bin_insert(struct chunk *c)
{
    unsigned i = bin_index(csize(c));

    c->prev = NULL;
    c->next = bins[i];
    if (c->next)
        c->next->prev = c;
    bins[i] = c;
    binmap[i / 64] |= 1ULL << (i % 64);
}

static void bin_remove(struct chunk *c)
{
    unsigned i = bin_index(csize(c));

    if (c->prev)
        c->prev->next = c->next;
    else
        bins[i] = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!bins[i])
        binmap[i / 64] &= ~(1ULL << (i % 64));
}

/* The first non-empty bin at or above i, or NBINS. */
static unsigned bin_next(unsigned i)
{
    unsigned w = i / 64;
    uint64_t m;

    if (i >= NBINS)
        return NBINS;
    m = binmap[w] & (~0ULL << (i % 64));
    while (!m) {
        if (++w == MAP_WORDS)
            return NBINS;
        m = binmap[w];
    }
    return w * 64 + (unsigned)__builtin_ctzll(m);
}

/* Mark (c) free with (size), set its footer, and bin it. */
static void make_free(struct chunk *c, size_t size)
{
    c->head = size | PINUSE;
    at(c, size)->prev_size = size;
    at(c, size)->head &= ~PINUSE;
    bin_insert(c);
}

/*
 * Return chunk (c) of (size), not binned and not counted as used, to the
 * pool: merge it with free neighbours (or the top chunk) and bin it.
 */
static void release(struct chunk *c, size_t size)
{
    struct chunk *next = at(c, size);

    if (!(c->head & PINUSE)) {
        struct chunk *prev = (struct chunk *)((char *)c - c->prev_size);
        bin_remove(prev);
        size += csize(prev);
        c = prev;
    }
    if (next == top) {
        c->head = (size + csize(top)) | PINUSE;
        top = c;
        return;
    }
    if (!(next->head & CINUSE)) {
        bin_remove(next);
        size += csize(next);
    }
    make_free(c, size);
}

/*
 * Shrink the allocated chunk (c) to (size) bytes if what is left is worth
 * a chunk of its own; the rest goes back to the pool.
 */
static void trim(struct chunk *c, size_t size)
{
    size_t have = csize(c);

    if (have - size < MIN_CHUNK)
        return;
    c->head = size | (c->head & FLAGS);
    struct chunk *rest = at(c, size);
    rest->head = (have - size) | PINUSE | CINUSE;
    release(rest, have - size);
}

static void account(long delta)
{
    used += (size_t)delta;
    if (used > peak)
        peak = used;
}

/* The chunk size serving a request of n bytes, or 0 if n is absurd. */
static size_t request_size(size_t n)
{
    if (n > (size_t)(heap_hi - heap_lo))
        return 0;
    size_t size = (n + HDR + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    return size < MIN_CHUNK ? MIN_CHUNK : size;
}

/* Find and take a chunk of at least (size) bytes, or NULL. */
static struct chunk *take(size_t size)
{
    unsigned i = bin_index(size);
    struct chunk *c = NULL;

    if (i < 64) {
        /* Small bins hold exactly one size. */
        c = bins[i];
    } else {
        /* A large bin spans sizes: first fit within it. */
        for (c = bins[i]; c && csize(c) < size; c = c->next)
            ;
    }
    if (!c) {
        /* Any chunk in a higher bin is big enough. */
        unsigned j = bin_next(i + 1);
        if (j < NBINS)
            c = bins[j];
    }
    if (c) {
        bin_remove(c);
        c->head |= CINUSE;
        at(c, csize(c))->head |= PINUSE;
        trim(c, size);
        return c;
    }

    /* Carve from top, keeping it a valid chunk. */
    if (!top || csize(top) < size + MIN_CHUNK)
        return NULL;
    c = top;
    top = at(c, size);
    top->head = (csize(c) - size) | PINUSE;
    c->head = size | CINUSE | (c->head & PINUSE);
    return c;
}

void libos_heap_init(uintptr_t start, size_t size)
{
    uintptr_t lo = (start + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    uintptr_t hi = (start + size) & ~(uintptr_t)(ALIGN - 1);

    if (hi <= lo || hi - lo < 2 * MIN_CHUNK)
        return;
    heap_lo = (char *)lo;
    heap_hi = (char *)hi;
    top = (struct chunk *)heap_lo;
    /* Nothing lies before the first chunk: call it in use. */
    top->head = (hi - lo) | PINUSE;
}

size_t libos_heap_used(void)
{
    return used;
}

size_t libos_heap_peak(void)
{
    return peak;
}

size_t libos_heap_size(void)
{
    return (size_t)(heap_hi - heap_lo);
}

void *malloc(size_t n)
{
    size_t size = request_size(n);
    struct chunk *c = size ? take(size) : NULL;

    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    account((long)csize(c));
    return chunk2mem(c);
}

/* The chunk of an allocated pointer; aborts on pointers malloc never gave. */
static struct chunk *check(void *p, const char *fn)
{
    struct chunk *c = mem2chunk(p);

    if ((uintptr_t)p % ALIGN == 0 && (char *)c >= heap_lo
            && (char *)c < (char *)top && (c->head & CINUSE)
            && csize(c) >= MIN_CHUNK
            && csize(c) <= (size_t)((char *)top - (char *)c)
            && (at(c, csize(c))->head & PINUSE)) {
        return c;
    }
    printf("%s(%p): invalid pointer or heap corruption\n", fn, p);
    abort();
}

void free(void *p)
{
    if (!p)
        return;
    struct chunk *c = check(p, "free");
    size_t size = csize(c);

    account(-(long)size);
    c->head &= ~CINUSE;
    release(c, size);
}

void *calloc(size_t n, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    if (n == 0) {
        free(p);
        return NULL;
    }

    struct chunk *c = check(p, "realloc");
    size_t have = csize(c), size = request_size(n);
    if (!size) {
        errno = ENOMEM;
        return NULL;
    }

    if (size <= have) {
        trim(c, size);
        account((long)csize(c) - (long)have);
        return p;
    }

    /* Grow in place into the top chunk or a free neighbour. */
    struct chunk *next = at(c, have);
    if (next == top && csize(top) >= size - have + MIN_CHUNK) {
        size_t rest = csize(top) - (size - have);
        top = at(c, size);
        top->head = rest | PINUSE;
        c->head = size | (c->head & FLAGS);
        account((long)(size - have));
        return p;
    }
    if (next != top && !(next->head & CINUSE)
            && have + csize(next) >= size) {
        bin_remove(next);
        c->head = (have + csize(next)) | (c->head & FLAGS);
        at(c, csize(c))->head |= PINUSE;
        trim(c, size);
        account((long)csize(c) - (long)have);
        return p;
    }

    void *q = malloc(n);
    if (!q)
        return NULL;
    memcpy(q, p, have - HDR);
    free(p);
    return q;
}

void *memalign(size_t align, size_t n)
{
    if (align <= ALIGN)
        return malloc(n);
    if (align & (align - 1)) {
        errno = EINVAL;
        return NULL;
    }
    size_t size = request_size(n);
    if (!size || size + align + MIN_CHUNK < size) {
        errno = ENOMEM;
        return NULL;
    }

    /* Over-allocate, then give back the slack before the aligned spot. */
    struct chunk *c = take(size + align + MIN_CHUNK);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t mem = (uintptr_t)chunk2mem(c);
    uintptr_t aligned = (mem + align - 1) & ~(uintptr_t)(align - 1);
    if (aligned != mem) {
        /* The lead-in must be a whole chunk. */
        while (aligned - mem < MIN_CHUNK)
            aligned += align;
        size_t lead = aligned - mem, whole = csize(c);
        struct chunk *a = mem2chunk((void *)aligned);
        a->head = (whole - lead) | CINUSE | PINUSE;
        c->head = lead | CINUSE | (c->head & FLAGS);
        release(c, lead);
        c = a;
    }
    trim(c, size);
    account((long)csize(c));
    return chunk2mem(c);
}

int posix_memalign(void **res, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    int saved = errno;
    void *p = memalign(align, n);
    errno = saved;
    if (!p)
        return ENOMEM;
    *res = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

size_t malloc_usable_size(void *p)
{
    if (!p)
        return 0;
    return csize(check(p, "malloc_usable_size")) - HDR;
}
