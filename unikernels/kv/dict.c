/*
 * A chained hash table with power-of-two bucket counts. It doubles when
 * the load reaches one and halves below one eighth, so lookups stay O(1)
 * and a random bucket is non-empty often enough for dict_random().
 * Entries carry their key inline and never move, so the keyspace, sets and
 * sorted sets can point at them.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

#define DICT_MIN 8

static uint64_t hash_seed = 0x9e3779b97f4a7c15ULL;

static uint64_t mix(uint64_t h);

/* A per-boot seed keeps clients from choosing keys that all collide. Call
 * before any dict holds entries. */
void dict_seed(uint64_t seed)
{
    hash_seed ^= mix(seed);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t dict_hash(const char *k, size_t n)
{
    uint64_t h = hash_seed ^ (n * 0x100000001b3ULL);
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, k + i, 8);
        h = (h ^ mix(w)) * 0x9ddfea08eb382d69ULL;
        h = (h << 29) | (h >> 35);
    }
    uint64_t w = 0;
    for (size_t j = 0; i < n; i++, j += 8)
        w |= (uint64_t)(unsigned char)k[i] << j;
    return mix(h ^ w);
}

void dict_init(struct dict *d)
{
    d->tab = NULL;
    d->size = 0;
    d->used = 0;
}

static int same(const struct dict_entry *e, uint64_t h, const char *k, size_t n)
{
    return e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0;
}

static struct dict_entry *find_hashed(const struct dict *d, uint64_t h,
                                      const char *k, size_t n)
{
    if (d->size == 0)
        return NULL;
    for (struct dict_entry *e = d->tab[h & (d->size - 1)]; e; e = e->next)
        if (same(e, h, k, n))
            return e;
    return NULL;
}

struct dict_entry *dict_find(const struct dict *d, const char *k, size_t n)
{
    return find_hashed(d, dict_hash(k, n), k, n);
}

static int resize(struct dict *d, size_t size)
{
    struct dict_entry **tab = calloc(size, sizeof(*tab));
    if (!tab)
        return -1;
    for (size_t i = 0; i < d->size; i++) {
        struct dict_entry *e = d->tab[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t b = e->hash & (size - 1);
            e->next = tab[b];
            tab[b] = e;
        }
    }
    free(d->tab);
    d->tab = tab;
    d->size = size;
    return 0;
}

static struct dict_entry *add_hashed(struct dict *d, uint64_t h,
                                     const char *k, size_t n)
{
    if (d->used >= d->size) {
        /* A failed grow only costs speed, unless there is no table at all. */
        if (resize(d, d->size ? d->size * 2 : DICT_MIN) < 0 && d->size == 0)
            return NULL;
    }
    struct dict_entry *e = malloc(sizeof(*e) + n + 1);
    if (!e)
        return NULL;
    e->hash = h;
    e->v.ptr = NULL;
    e->klen = n;
    memcpy(e->key, k, n);
    e->key[n] = 0;
    size_t b = h & (d->size - 1);
    e->next = d->tab[b];
    d->tab[b] = e;
    d->used++;
    return e;
}

struct dict_entry *dict_add(struct dict *d, const char *k, size_t n)
{
    return add_hashed(d, dict_hash(k, n), k, n);
}

struct dict_entry *dict_upsert(struct dict *d, const char *k, size_t n,
                               int *created)
{
    uint64_t h = dict_hash(k, n);
    struct dict_entry *e = find_hashed(d, h, k, n);
    *created = e == NULL;
    return e ? e : add_hashed(d, h, k, n);
}

void dict_unlink(struct dict *d, struct dict_entry *e)
{
    struct dict_entry **pp = &d->tab[e->hash & (d->size - 1)];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    d->used--;
    if (d->size > DICT_MIN && d->used < d->size / 8)
        resize(d, d->size / 2);     /* on failure, stay large */
}

struct dict_entry *dict_random(const struct dict *d)
{
    if (d->used == 0)
        return NULL;
    struct dict_entry *e;
    do
        e = d->tab[kv_rand() & (d->size - 1)];
    while (!e);
    size_t n = 0;
    for (struct dict_entry *x = e; x; x = x->next)
        n++;
    for (n = kv_rand() % n; n; n--)
        e = e->next;
    return e;
}

void dict_clear(struct dict *d, void (*free_val)(struct dict_entry *e))
{
    for (size_t i = 0; i < d->size; i++) {
        struct dict_entry *e = d->tab[i], *next;
        for (; e; e = next) {
            next = e->next;
            if (free_val)
                free_val(e);
            free(e);
        }
    }
    free(d->tab);
    dict_init(d);
}

void dict_iter_init(struct dict_iter *it, const struct dict *d)
{
    it->d = d;
    it->bucket = 0;
    it->next = NULL;
}

/* Callers neither add nor unlink entries while iterating: either may
 * resize the table and rehash every chain. */
struct dict_entry *dict_iter_next(struct dict_iter *it)
{
    while (!it->next) {
        if (it->bucket >= it->d->size)
            return NULL;
        it->next = it->d->tab[it->bucket++];
    }
    struct dict_entry *e = it->next;
    it->next = e->next;
    return e;
}

size_t dict_sweep_bucket(struct dict *d, size_t bucket,
                         int (*fn)(struct dict *d, struct dict_entry *e, void *arg),
                         void *arg)
{
    if (d->size == 0)
        return 0;
    bucket &= d->size - 1;
    struct dict_entry *e = d->tab[bucket], *next;
    size_t size = d->size;
    for (; e; e = next) {
        next = e->next;
        fn(d, e, arg);
        if (d->size != size)    /* shrank: the chain was rehashed */
            break;
    }
    return (bucket + 1) & (d->size - 1);
}

long long dict_remove_args(struct dict *d, const struct arg *keys, int n,
                           int free_values)
{
    long long removed = 0;
    for (int i = 0; i < n; i++) {
        struct dict_entry *e = dict_find(d, keys[i].p, keys[i].len);
        if (e) {
            dict_unlink(d, e);
            if (free_values)
                free(e->v.ptr);
            free(e);
            removed++;
        }
    }
    return removed;
}
