/*
 * Hash commands: a dict from field to a struct sval value.
 */
#include <stdlib.h>

#include "kv.h"

static struct obj *get_hash(struct client *c, const struct arg *key, int *err)
{
    int wrong;
    struct obj *o = lookup_typed(c, key, T_HASH, &wrong);
    if (wrong)
        reply_wrongtype(c);
    *err = wrong;
    return o;
}

/* Set one field; returns 1 if it is new, 0 if replaced, -1 on OOM. */
static int hash_set(struct obj *o, const struct arg *f, const struct arg *v)
{
    int created;
    struct dict_entry *e = dict_upsert(&o->u.hash, f->p, f->len, &created);
    if (!e)
        return -1;
    struct sval *s = e->v.ptr;
    if (sval_set(&s, v->p, v->len) < 0) {
        if (created) {
            dict_unlink(&o->u.hash, e);
            free(e);
        }
        return -1;
    }
    e->v.ptr = s;
    return created;
}

static void hset_generic(struct client *c, int argc, struct arg *argv, int hmset)
{
    if (argc % 2 == 1) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                     hmset ? "hmset" : "hset");
        return;
    }
    struct obj *o = lookup_or_create(c, &argv[1], T_HASH);
    long long added = 0;
    if (!o)
        return;
    for (int i = 2; i < argc; i += 2) {
        int r = hash_set(o, &argv[i], &argv[i + 1]);
        if (r < 0) {
            reply_error(c, ERR_OOM);
            return;
        }
        added += r;
    }
    touch_arg(c, &argv[1]);
    if (hmset)
        reply_ok(c);
    else
        reply_int(c, added);
}

static void cmd_hset(struct client *c, int argc, struct arg *argv)
{
    hset_generic(c, argc, argv, 0);
}

static void cmd_hmset(struct client *c, int argc, struct arg *argv)
{
    hset_generic(c, argc, argv, 1);
}

static void cmd_hsetnx(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (err)
        return;
    if (o && dict_find(&o->u.hash, argv[2].p, argv[2].len)) {
        reply_int(c, 0);
        return;
    }
    if (!(o = lookup_or_create(c, &argv[1], T_HASH)))
        return;
    if (hash_set(o, &argv[2], &argv[3]) < 0) {
        reply_error(c, ERR_OOM);
        return;
    }
    touch_arg(c, &argv[1]);
    reply_int(c, 1);
}

static struct sval *field(struct obj *o, const struct arg *f)
{
    struct dict_entry *e = o ? dict_find(&o->u.hash, f->p, f->len) : NULL;
    return e ? e->v.ptr : NULL;
}

static void reply_sval(struct client *c, const struct sval *v)
{
    if (v)
        reply_bulk(c, v->d, v->len);
    else
        reply_null(c);
}

static void cmd_hget(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (!err)
        reply_sval(c, field(o, &argv[2]));
}

static void cmd_hmget(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (err)
        return;
    reply_array(c, argc - 2);
    for (int i = 2; i < argc; i++)
        reply_sval(c, field(o, &argv[i]));
}

static void cmd_hstrlen(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (!err) {
        struct sval *v = field(o, &argv[2]);
        reply_int(c, v ? (long long)v->len : 0);
    }
}

static void cmd_hexists(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (!err)
        reply_int(c, field(o, &argv[2]) != NULL);
}

/* HGETALL, HKEYS, HVALS. */
static void dump(struct client *c, struct arg *key, int keys, int vals)
{
    int err;
    struct obj *o = get_hash(c, key, &err);
    if (err)
        return;
    if (!o) {
        reply_array(c, 0);
        return;
    }
    struct dict_iter it;
    struct dict_entry *e;
    reply_array(c, o->u.hash.used * (keys + vals));
    dict_iter_init(&it, &o->u.hash);
    while ((e = dict_iter_next(&it))) {
        if (keys)
            reply_bulk(c, e->key, e->klen);
        if (vals)
            reply_sval(c, e->v.ptr);
    }
}

static void cmd_hgetall(struct client *c, int argc, struct arg *argv)
{
    dump(c, &argv[1], 1, 1);
}

static void cmd_hkeys(struct client *c, int argc, struct arg *argv)
{
    dump(c, &argv[1], 1, 0);
}

static void cmd_hvals(struct client *c, int argc, struct arg *argv)
{
    dump(c, &argv[1], 0, 1);
}

static void cmd_hdel(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    long long removed = 0;
    if (err)
        return;
    if (o)
        removed = dict_remove_args(&o->u.hash, &argv[2], argc - 2, 1);
    if (removed)
        touch_arg(c, &argv[1]);
    if (o && o->u.hash.used == 0)
        db_delete(cdb(c), argv[1].p, argv[1].len);
    reply_int(c, removed);
}

static void cmd_hlen(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (!err)
        reply_int(c, o ? (long long)o->u.hash.used : 0);
}

static void cmd_hincrby(struct client *c, int argc, struct arg *argv)
{
    long long by, v = 0;
    int err;
    if (arg_ll(c, &argv[3], &by) < 0)
        return;
    struct obj *o = get_hash(c, &argv[1], &err);
    if (err)
        return;
    struct sval *cur = field(o, &argv[2]);
    if (cur && str2ll(cur->d, cur->len, &v) < 0) {
        reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((by < 0 && v < 0 && by < INT64_MIN - v) ||
        (by > 0 && v > 0 && by > INT64_MAX - v)) {
        reply_error(c, ERR_OVERFLOW);
        return;
    }
    v += by;
    char b[24];
    struct arg val = {b, ll2str(b, v)};
    if (!(o = lookup_or_create(c, &argv[1], T_HASH)))
        return;
    if (hash_set(o, &argv[2], &val) < 0) {
        reply_error(c, ERR_OOM);
        return;
    }
    touch_arg(c, &argv[1]);
    reply_int(c, v);
}

const struct command kv_hash_commands[] = {
    {"hset", cmd_hset, -4},
    {"hmset", cmd_hmset, -4},
    {"hsetnx", cmd_hsetnx, 4},
    {"hget", cmd_hget, 3},
    {"hmget", cmd_hmget, -3},
    {"hstrlen", cmd_hstrlen, 3},
    {"hexists", cmd_hexists, 3},
    {"hgetall", cmd_hgetall, 2},
    {"hkeys", cmd_hkeys, 2},
    {"hvals", cmd_hvals, 2},
    {"hdel", cmd_hdel, -3},
    {"hlen", cmd_hlen, 2},
    {"hincrby", cmd_hincrby, 4},
    {NULL, NULL, 0},
};
