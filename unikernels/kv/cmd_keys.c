/*
 * Keyspace commands: deletion, existence, types, deadlines, KEYS and the
 * whole-database ones.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

static void cmd_del(struct client *c, int argc, struct arg *argv)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += db_delete(cdb(c), argv[i].p, argv[i].len);
    reply_int(c, n);
}

static void cmd_exists(struct client *c, int argc, struct arg *argv)
{
    long long n = 0;
    for (int i = 1; i < argc; i++)
        n += db_get(cdb(c), argv[i].p, argv[i].len) != NULL;
    reply_int(c, n);
}

static void cmd_type(struct client *c, int argc, struct arg *argv)
{
    struct obj *o = db_get(cdb(c), argv[1].p, argv[1].len);
    reply_status(c, o ? obj_type_name(o->type) : "none");
}

/* unit_ms: argv[2] is in milliseconds, not seconds; at: it is a Unix time
 * (EXPIREAT, PEXPIREAT), turned into a deadline on the monotonic clock. */
static void expire_generic(struct client *c, int argc, struct arg *argv,
                           int unit_ms, int at, const char *name)
{
    long long when;
    int nx = 0, xx = 0, gt = 0, lt = 0;

    if (arg_ll(c, &argv[2], &when) < 0)
        return;
    for (int i = 3; i < argc; i++) {
        if (arg_is(&argv[i], "nx"))
            nx = 1;
        else if (arg_is(&argv[i], "xx"))
            xx = 1;
        else if (arg_is(&argv[i], "gt"))
            gt = 1;
        else if (arg_is(&argv[i], "lt"))
            lt = 1;
        else {
            reply_errorf(c, "ERR Unsupported option %.*s",
                         (int)(argv[i].len > 128 ? 128 : argv[i].len), argv[i].p);
            return;
        }
    }
    if (nx && (xx || gt || lt)) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if (gt && lt) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    if (!unit_ms) {
        if (when > INT64_MAX / 1000 || when < INT64_MIN / 1000) {
            reply_errorf(c, "ERR invalid expire time in '%s' command", name);
            return;
        }
        when *= 1000;
    }
    if (at) {
        /* A past time deletes the key; clamp so the subtraction cannot wrap. */
        long long wall = (long long)kv_wall_ms();
        when = when <= 0 ? -1 : when - wall;
    }
    if (when > 0 && (unsigned long long)when > INT64_MAX - kv_now) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", name);
        return;
    }
    struct dict_entry *e = db_find(cdb(c), argv[1].p, argv[1].len);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    struct obj *o = e->v.ptr;
    long long deadline = (long long)kv_now + when;
    /* No deadline counts as infinity for GT and LT. */
    if ((nx && o->expire) || (xx && !o->expire) ||
        (gt && (!o->expire || deadline <= (long long)o->expire)) ||
        (lt && o->expire && deadline >= (long long)o->expire)) {
        reply_int(c, 0);
        return;
    }
    if (deadline <= (long long)kv_now) {
        db_delete_entry(cdb(c), e);
    } else {
        db_set_expire(cdb(c), o, deadline);
        touch_arg(c, &argv[1]);
    }
    reply_int(c, 1);
}

static void cmd_expire(struct client *c, int argc, struct arg *argv)
{
    expire_generic(c, argc, argv, 0, 0, "expire");
}

static void cmd_pexpire(struct client *c, int argc, struct arg *argv)
{
    expire_generic(c, argc, argv, 1, 0, "pexpire");
}

static void cmd_expireat(struct client *c, int argc, struct arg *argv)
{
    expire_generic(c, argc, argv, 0, 1, "expireat");
}

static void cmd_pexpireat(struct client *c, int argc, struct arg *argv)
{
    expire_generic(c, argc, argv, 1, 1, "pexpireat");
}

static void ttl_generic(struct client *c, struct arg *key, int ms)
{
    struct obj *o = db_get(cdb(c), key->p, key->len);
    if (!o) {
        reply_int(c, -2);
        return;
    }
    if (!o->expire) {
        reply_int(c, -1);
        return;
    }
    long long left = o->expire - kv_now;
    reply_int(c, ms ? left : (left + 500) / 1000);
}

static void cmd_ttl(struct client *c, int argc, struct arg *argv)
{
    ttl_generic(c, &argv[1], 0);
}

static void cmd_pttl(struct client *c, int argc, struct arg *argv)
{
    ttl_generic(c, &argv[1], 1);
}

static void cmd_persist(struct client *c, int argc, struct arg *argv)
{
    struct obj *o = db_get(cdb(c), argv[1].p, argv[1].len);
    if (!o || !o->expire) {
        reply_int(c, 0);
        return;
    }
    db_set_expire(cdb(c), o, 0);
    touch_arg(c, &argv[1]);
    reply_int(c, 1);
}

static void cmd_keys(struct client *c, int argc, struct arg *argv)
{
    struct dict *d = &cdb(c)->keys;
    int all = argv[1].len == 1 && argv[1].p[0] == '*';
    struct dict_entry **hits = malloc((d->used + 1) * sizeof(*hits));
    size_t n = 0;
    if (!hits) {
        reply_error(c, ERR_OOM);
        return;
    }
    /* Expired keys are skipped, not deleted: deleting could shrink the
     * table under the iterator. The sweep gets them. */
    struct dict_iter it;
    struct dict_entry *e;
    dict_iter_init(&it, d);
    while ((e = dict_iter_next(&it))) {
        struct obj *o = e->v.ptr;
        if (o->expire && o->expire <= kv_now)
            continue;
        if (all || glob_match(argv[1].p, argv[1].len, e->key, e->klen, 0))
            hits[n++] = e;
    }
    reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        reply_bulk(c, hits[i]->key, hits[i]->klen);
    free(hits);
}

static void cmd_randomkey(struct client *c, int argc, struct arg *argv)
{
    struct db *db = cdb(c);
    for (int tries = 0; tries < 100; tries++) {
        struct dict_entry *e = dict_random(&db->keys);
        if (!e)
            break;
        struct obj *o = e->v.ptr;
        if (o->expire && o->expire <= kv_now)
            continue;
        reply_bulk(c, e->key, e->klen);
        return;
    }
    reply_null(c);
}

static void rename_generic(struct client *c, struct arg *argv, int nx)
{
    struct db *db = cdb(c);
    struct dict_entry *src = db_find(db, argv[1].p, argv[1].len);
    if (!src) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (argv[1].len == argv[2].len && !memcmp(argv[1].p, argv[2].p, argv[1].len)) {
        if (nx)
            reply_int(c, 0);
        else
            reply_ok(c);
        return;
    }
    if (nx && db_get(db, argv[2].p, argv[2].len)) {
        reply_int(c, 0);
        return;
    }
    struct obj *o = src->v.ptr;
    /* Move the object: unlink the old entry without freeing the object. */
    if (db_set(db, argv[2].p, argv[2].len, o) < 0) {
        reply_error(c, ERR_OOM);
        return;
    }
    if (o->expire)
        db->expires--;      /* db_set counted it a second time */
    src = dict_find(&db->keys, argv[1].p, argv[1].len);
    dict_unlink(&db->keys, src);
    free(src);
    touch_arg(c, &argv[1]);
    touch_arg(c, &argv[2]);
    if (nx)
        reply_int(c, 1);
    else
        reply_ok(c);
}

static void cmd_rename(struct client *c, int argc, struct arg *argv)
{
    rename_generic(c, argv, 0);
}

static void cmd_renamenx(struct client *c, int argc, struct arg *argv)
{
    rename_generic(c, argv, 1);
}

static void cmd_dbsize(struct client *c, int argc, struct arg *argv)
{
    reply_int(c, cdb(c)->keys.used);
}

static int flush_args_ok(struct client *c, int argc, struct arg *argv)
{
    if (argc == 1 || (argc == 2 && (arg_is(&argv[1], "sync") ||
                                    arg_is(&argv[1], "async"))))
        return 1;
    reply_error(c, ERR_SYNTAX);
    return 0;
}

static void cmd_flushdb(struct client *c, int argc, struct arg *argv)
{
    if (!flush_args_ok(c, argc, argv))
        return;
    watch_touch_flush(cdb(c));
    db_flush(cdb(c));
    reply_ok(c);
}

static void cmd_flushall(struct client *c, int argc, struct arg *argv)
{
    if (!flush_args_ok(c, argc, argv))
        return;
    for (int i = 0; i < KV_DBS; i++) {
        watch_touch_flush(&kv_dbs[i]);
        db_flush(&kv_dbs[i]);
    }
    reply_ok(c);
}

const struct command kv_keys_commands[] = {
    {"del", cmd_del, -2},
    {"unlink", cmd_del, -2},
    {"exists", cmd_exists, -2},
    {"type", cmd_type, 2},
    {"expire", cmd_expire, -3},
    {"pexpire", cmd_pexpire, -3},
    {"expireat", cmd_expireat, -3},
    {"pexpireat", cmd_pexpireat, -3},
    {"ttl", cmd_ttl, 2},
    {"pttl", cmd_pttl, 2},
    {"persist", cmd_persist, 2},
    {"keys", cmd_keys, 2},
    {"randomkey", cmd_randomkey, 1},
    {"rename", cmd_rename, 3},
    {"renamenx", cmd_renamenx, 3},
    {"dbsize", cmd_dbsize, 1},
    {"flushdb", cmd_flushdb, -1},
    {"flushall", cmd_flushall, -1},
    {NULL, NULL, 0},
};
