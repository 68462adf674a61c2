/*
 * Memory past maxmemory: the maxmemory-policy (noeviction, allkeys-lru,
 * allkeys-random), the classes of commands that matter to it, and the
 * keyspace statistics INFO reports (evicted_keys, keyspace_hits/misses).
 *
 * allkeys-lru is approximated like redis-server does it, by sampling:
 * each eviction looks at maxmemory-samples random keys of every
 * non-empty database and removes the one used longest ago. Recency is a
 * logical clock that advances once per command (not redis's seconds), so
 * keys touched by a burst of pipelined commands are still ordered; a key
 * idle for 2^32 commands wraps and looks recent again. redis-server adds
 * a pool of the best candidates across evictions; without it, a key is
 * evicted while fresher than about the oldest (1/samples)th of the keys.
 */
#include <string.h>

#include <libos/heap.h>

#include "kv.h"

uint64_t kv_evicted_keys, kv_keyspace_hits, kv_keyspace_misses;
uint32_t kv_lru_clock;
int kv_cmd_reading;
long kv_evict_samples = 5;

static const char *const policy_names[] = {
    [KV_NOEVICTION] = "noeviction",
    [KV_ALLKEYS_LRU] = "allkeys-lru",
    [KV_ALLKEYS_RANDOM] = "allkeys-random",
};
int kv_policy = KV_NOEVICTION;

/* redis-server's other policies: known names that kv refuses. */
static const char *const other_policies[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lfu",
};

const char *kv_policy_name(void)
{
    return policy_names[kv_policy];
}

int kv_policy_parse(const struct arg *a)
{
    for (int i = 0; i < (int)(sizeof policy_names / sizeof policy_names[0]); i++)
        if (arg_is(a, policy_names[i]))
            return i;
    for (size_t i = 0; i < sizeof other_policies / sizeof other_policies[0]; i++)
        if (arg_is(a, other_policies[i]))
            return -2;
    return -1;
}

size_t kv_limit(void)
{
    return kv_maxmemory ? kv_maxmemory : kv_memory_limit();
}

/* --- command classes --------------------------------------------------------- */

/* redis-server's "readonly" commands that look keys up: their lookups count
 * as keyspace hits and misses, as redis-server's lookupKeyRead() does. */
static const char *const read_names[] = {
    "get", "mget", "strlen", "getrange", "substr", "exists", "type", "ttl",
    "pttl", "expiretime", "pexpiretime", "llen", "lrange", "lindex", "lpos",
    "scard", "smembers", "sismember", "smismember", "srandmember", "sinter",
    "sunion", "sdiff", "sintercard", "hget", "hmget", "hgetall", "hkeys",
    "hvals", "hlen", "hexists", "hstrlen", "hrandfield", "zrange",
    "zrangebyscore", "zrevrangebyscore", "zrangebylex", "zrevrangebylex",
    "zrevrange", "zcard", "zscore", "zmscore", "zrank", "zrevrank", "zcount",
    "zlexcount", "zrandmember", "touch", "getbit", "bitcount", "object",
    "memory", "dump", "lcs",
};

/* Commands that change no data and look no key up. */
static const char *const nodata_names[] = {
    "ping", "echo", "info", "client", "config", "select", "time", "command",
    "hello", "auth", "quit", "multi", "discard", "watch", "unwatch", "exec",
    "dbsize", "lastsave", "keys", "scan", "randomkey", "sscan", "hscan",
    "zscan",
};

/* Commands with subcommands: CLIENT LIST shows "client|list". */
static const char *const container_names[] = {
    "client", "config", "command", "object", "memory", "cluster", "script",
    "function", "acl", "latency", "slowlog", "pubsub", "module", "xinfo",
};

/* Command pointer -> class, open addressing; the table is made once. */
#define CLASS_SLOTS 512
static struct {
    const struct command *k;
    int flags;
} classes[CLASS_SLOTS];

static size_t slot_of(const struct command *k)
{
    return ((uintptr_t)k >> 4) * 0x9e3779b97f4a7c15ULL >> 55;
}

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i]))
            return 1;
    return 0;
}

void kv_classify(const struct command *k)
{
    int flags = 0;
    if (in_list(k->name, read_names, sizeof read_names / sizeof read_names[0]))
        flags = KV_CMD_READ | KV_CMD_NOWRITE;
    else if (in_list(k->name, nodata_names, sizeof nodata_names / sizeof nodata_names[0]))
        flags = KV_CMD_NOWRITE;
    if (in_list(k->name, container_names,
                sizeof container_names / sizeof container_names[0]))
        flags |= KV_CMD_SUBCMD;
    if (!flags)
        return;
    size_t s = slot_of(k);
    while (classes[s].k)
        s = (s + 1) % CLASS_SLOTS;
    classes[s].k = k;
    classes[s].flags = flags;
}

int kv_cmd_class(const struct command *k)
{
    for (size_t s = slot_of(k); classes[s].k; s = (s + 1) % CLASS_SLOTS)
        if (classes[s].k == k)
            return classes[s].flags;
    return 0;
}

void kv_note_cmd(struct client *c, const struct command *k, int cls, int argc,
                 const struct arg *argv)
{
    c->last_cmd = k->name;
    c->last_sub[0] = 0;
    if (!(cls & KV_CMD_SUBCMD) || argc < 2 || argv[1].len >= sizeof c->last_sub)
        return;
    for (size_t i = 0; i < argv[1].len; i++) {
        char x = argv[1].p[i];
        c->last_sub[i] = x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x;
    }
    c->last_sub[argv[1].len] = 0;
}

/* --- eviction ------------------------------------------------------------------ */

/* The victim among a few random keys of every database: the one used
 * longest ago (allkeys-lru) or the first found (allkeys-random). */
static struct dict_entry *pick(struct db **dbp)
{
    struct dict_entry *best = NULL;
    uint32_t best_age = 0;

    for (int i = 0; i < KV_DBS; i++) {
        struct db *db = &kv_dbs[i];
        if (!db->keys.used)
            continue;
        long samples = kv_policy == KV_ALLKEYS_RANDOM ? 1 : kv_evict_samples;
        for (long s = 0; s < samples; s++) {
            struct dict_entry *e = dict_random(&db->keys);
            struct obj *o = e->v.ptr;
            uint32_t age = kv_lru_clock - o->lru;
            if (!best || age > best_age) {
                best = e;
                best_age = age;
                *dbp = db;
            }
        }
        if (best && kv_policy == KV_ALLKEYS_RANDOM)
            break;
    }
    return best;
}

int kv_over_limit(void)
{
    size_t limit = kv_limit();
    if (libos_heap_used() <= limit)
        return 0;
    if (kv_policy == KV_NOEVICTION)
        return 1;
    while (libos_heap_used() > limit) {
        struct db *db = NULL;
        struct dict_entry *e = pick(&db);
        if (!e)
            return 1;   /* nothing left to evict: the rest is not keys */
        db_delete_entry(db, e);
        kv_evicted_keys++;
    }
    return 0;
}
