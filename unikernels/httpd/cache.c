/*
 * Small files kept in memory after their first request. The rootfs is a
 * read-only image, so an entry never goes stale; the cache only grows, up
 * to its budget (CACHE_BUDGET, less on a small heap: cache_limit()), after
 * which files are read from disk each time.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"

#define BUCKETS 1024

struct entry {
    struct entry *next;
    struct cached c;
    char key[];
};

static struct entry *table[BUCKETS];
static size_t used, budget = CACHE_BUDGET;

void cache_limit(size_t bytes)
{
    budget = bytes;
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;       /* FNV-1a */

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h % BUCKETS;
}

const struct cached *cache_get(const char *key)
{
    for (struct entry *e = table[hash(key)]; e != NULL; e = e->next) {
        if (strcmp(e->key, key) == 0)
            return &e->c;
    }
    return NULL;
}

const struct cached *cache_put(const char *key, const void *data, size_t len,
        const char *type, int64_t mtime)
{
    size_t klen = strlen(key) + 1;
    size_t cost = sizeof(struct entry) + klen + len;

    if (len > CACHE_MAX_FILE || used + cost > budget)
        return NULL;
    struct entry *e = malloc(sizeof *e + klen);
    char *copy = malloc(len ? len : 1);
    if (e == NULL || copy == NULL) {
        free(e);
        free(copy);
        return NULL;
    }
    memcpy(e->key, key, klen);
    memcpy(copy, data, len);
    e->c.data = copy;
    e->c.len = len;
    e->c.type = type;
    e->c.mtime = mtime;
    unsigned h = hash(key);
    e->next = table[h];
    table[h] = e;
    used += cost;
    return &e->c;
}
