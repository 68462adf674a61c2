/*
 * The keyspace: KV_DBS dicts from key to object. Keys with a deadline
 * expire lazily (any lookup deletes an expired key first) and through
 * db_sweep(), which the main loop runs on a timer so keys nobody reads do
 * not hold memory forever.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <libos/libos.h>

#include "kv.h"

struct db kv_dbs[KV_DBS];
uint64_t kv_now;
uint64_t kv_expired_keys;

/* The time of the event loop's round, not the clock: kv reads the time
 * for every segment and request, and each read of the clock is a system
 * call (a third of the guest's, uploading large values). The round's time
 * is read when the guest wakes, so it is never older than the input being
 * handled, and a round lasts milliseconds: deadlines and idle times are
 * as exact as that. */
void kv_clock(void)
{
    kv_now = libos_round_ms();
}

/* The epoch's offset from the monotonic clock is read once, so Unix times
 * given to EXPIREAT and SET EXAT map to deadlines with no jitter (the same
 * PEXPIREAT twice is the same deadline, as GT and LT need). */
uint64_t kv_wall_ms(void)
{
    static int64_t offset;
    static int have;
    if (!have) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        offset = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 -
                 (int64_t)libos_now_ms();
        have = 1;
    }
    return kv_now + offset;
}

/* --- svals ----------------------------------------------------------------- */

struct sval *sval_new(const char *p, size_t len)
{
    struct sval *v = malloc(sizeof(*v) + len + 1);
    if (!v)
        return NULL;
    v->len = v->cap = len;
    if (len)
        memcpy(v->d, p, len);
    v->d[len] = 0;
    return v;
}

int sval_set(struct sval **sp, const char *p, size_t len)
{
    struct sval *v = *sp;
    /* Reuse the block unless it would waste more than half of it. */
    if (v && v->cap >= len && v->cap / 2 <= len) {
        memmove(v->d, p, len);
        v->len = len;
        v->d[len] = 0;
        return 0;
    }
    struct sval *n = sval_new(p, len);
    if (!n)
        return -1;
    free(v);
    *sp = n;
    return 0;
}

int sval_append(struct sval **sp, const char *p, size_t len)
{
    struct sval *v = *sp;
    if (v->len + len > v->cap) {
        size_t cap = v->len + len;
        if (cap < 1024 * 1024)
            cap *= 2;
        else
            cap += 1024 * 1024;
        struct sval *n = realloc(v, sizeof(*n) + cap + 1);
        if (!n)
            return -1;
        n->cap = cap;
        *sp = v = n;
    }
    memcpy(v->d + v->len, p, len);
    v->len += len;
    v->d[v->len] = 0;
    return 0;
}

/* --- objects --------------------------------------------------------------- */

struct obj *obj_new(enum obj_type t)
{
    struct obj *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->type = t;
    o->lru = kv_lru_clock;
    switch (t) {
    case T_STRING:
        break;
    case T_LIST:
        list_init(&o->u.list);
        break;
    case T_SET:
        dict_init(&o->u.set);
        break;
    case T_HASH:
        dict_init(&o->u.hash);
        break;
    case T_ZSET:
        o->u.zset = zset_new();
        if (!o->u.zset) {
            free(o);
            return NULL;
        }
        break;
    }
    return o;
}

void free_sval_entry(struct dict_entry *e)
{
    free(e->v.ptr);
}

void obj_free(struct obj *o)
{
    if (kv_streams)
        stream_settle_obj(o);
    switch (o->type) {
    case T_STRING:
        free(o->u.str);
        break;
    case T_LIST:
        list_clear(&o->u.list);
        break;
    case T_SET:
        dict_clear(&o->u.set, NULL);
        break;
    case T_HASH:
        dict_clear(&o->u.hash, free_sval_entry);
        break;
    case T_ZSET:
        zset_free(o->u.zset);
        break;
    }
    free(o);
}

const char *obj_type_name(enum obj_type t)
{
    static const char *const names[] = {
        [T_STRING] = "string", [T_LIST] = "list", [T_SET] = "set",
        [T_HASH] = "hash", [T_ZSET] = "zset",
    };
    return names[t];
}

/* --- keyspace -------------------------------------------------------------- */

static int expired(const struct obj *o)
{
    return o->expire && o->expire <= kv_now;
}

/* Every removal of a key, deletions and expiry alike, is a change to
 * clients watching it. */
void db_delete_entry(struct db *db, struct dict_entry *e)
{
    struct obj *o = e->v.ptr;
    watch_touch(db, e->key, e->klen);
    if (o->expire)
        db->expires--;
    dict_unlink(&db->keys, e);
    obj_free(o);
    free(e);
}

struct dict_entry *db_find(struct db *db, const char *k, size_t n)
{
    struct dict_entry *e = dict_find(&db->keys, k, n);
    if (e && expired(e->v.ptr)) {
        db_delete_entry(db, e);
        kv_expired_keys++;
        e = NULL;
    }
    if (e)
        ((struct obj *)e->v.ptr)->lru = kv_lru_clock;
    if (kv_cmd_reading)
        *(e ? &kv_keyspace_hits : &kv_keyspace_misses) += 1;
    return e;
}

struct obj *db_get(struct db *db, const char *k, size_t n)
{
    struct dict_entry *e = db_find(db, k, n);
    return e ? e->v.ptr : NULL;
}

struct dict_entry *db_upsert(struct db *db, const char *k, size_t n, int *created)
{
    struct dict_entry *e = dict_upsert(&db->keys, k, n, created);
    if (e && !*created && expired(e->v.ptr)) {
        /* An expired key is an absent one: reuse its entry empty. */
        watch_touch(db, e->key, e->klen);
        db->expires--;
        obj_free(e->v.ptr);
        e->v.ptr = NULL;
        kv_expired_keys++;
        *created = 1;
    } else if (e && !*created) {
        ((struct obj *)e->v.ptr)->lru = kv_lru_clock;
    }
    return e;
}

void db_put(struct db *db, struct dict_entry *e, struct obj *o)
{
    struct obj *old = e->v.ptr;
    if (old) {
        if (old->expire)
            db->expires--;
        obj_free(old);
    }
    e->v.ptr = o;
    if (o->expire) {
        db->expires++;
        kv_sweep_needed();
    }
}

void db_abandon(struct db *db, struct dict_entry *e)
{
    dict_unlink(&db->keys, e);
    free(e);
}

int db_set(struct db *db, const char *k, size_t n, struct obj *o)
{
    int created;
    struct dict_entry *e = db_upsert(db, k, n, &created);
    if (!e)
        return -1;
    db_put(db, e, o);
    return 0;
}

int db_delete(struct db *db, const char *k, size_t n)
{
    struct dict_entry *e = db_find(db, k, n);
    if (!e)
        return 0;
    db_delete_entry(db, e);
    return 1;
}

void db_set_expire(struct db *db, struct obj *o, uint64_t when)
{
    if (o->expire && !when)
        db->expires--;
    else if (!o->expire && when) {
        db->expires++;
        kv_sweep_needed();
    }
    o->expire = when;
}

static void free_obj_entry(struct dict_entry *e)
{
    obj_free(e->v.ptr);
}

void db_flush(struct db *db)
{
    dict_clear(&db->keys, free_obj_entry);
    db->expires = 0;
    db->sweep_cursor = 0;
}

struct sweep_stats {
    struct db *db;
    size_t seen, expired;
};

static int sweep_one(struct dict *d, struct dict_entry *e, void *arg)
{
    struct sweep_stats *st = arg;
    st->seen++;
    if (expired(e->v.ptr)) {
        db_delete_entry(st->db, e);
        kv_expired_keys++;
        st->expired++;
        return 1;
    }
    return 0;
}

void db_sweep(struct db *db, size_t max_buckets)
{
    /* Like Redis' active expiry: keep going while a good share of what
     * was looked at had expired, up to a bound per call. */
    for (int round = 0; round < 16 && db->expires; round++) {
        struct sweep_stats st = {db, 0, 0};
        for (size_t i = 0; i < max_buckets && i < db->keys.size; i++)
            db->sweep_cursor = dict_sweep_bucket(&db->keys, db->sweep_cursor,
                                                 sweep_one, &st);
        if (st.expired * 4 <= st.seen)
            break;
    }
}
