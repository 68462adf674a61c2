/*
 * Set commands: a dict of members with no values.
 */
#include <stdlib.h>

#include "kv.h"

static struct obj *get_set(struct client *c, const struct arg *key, int *err)
{
    int wrong;
    struct obj *o = lookup_typed(c, key, T_SET, &wrong);
    if (wrong)
        reply_wrongtype(c);
    *err = wrong;
    return o;
}

static void cmd_sadd(struct client *c, int argc, struct arg *argv)
{
    struct obj *o = lookup_or_create(c, &argv[1], T_SET);
    long long added = 0;
    if (!o)
        return;
    for (int i = 2; i < argc; i++) {
        int created;
        if (!dict_upsert(&o->u.set, argv[i].p, argv[i].len, &created)) {
            reply_error(c, ERR_OOM);
            return;
        }
        added += created;
    }
    if (added)
        touch_arg(c, &argv[1]);
    reply_int(c, added);
}

static void cmd_srem(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_set(c, &argv[1], &err);
    long long removed = 0;
    if (err)
        return;
    if (o)
        removed = dict_remove_args(&o->u.set, &argv[2], argc - 2, 0);
    if (removed)
        touch_arg(c, &argv[1]);
    if (o && o->u.set.used == 0)
        db_delete(cdb(c), argv[1].p, argv[1].len);
    reply_int(c, removed);
}

static void cmd_spop(struct client *c, int argc, struct arg *argv)
{
    long long count = 1;
    int err;

    if (argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (argc == 3 && arg_count(c, &argv[2], &count) < 0)
        return;
    struct obj *o = get_set(c, &argv[1], &err);
    if (err)
        return;
    if (!o) {
        if (argc == 3)
            reply_array(c, 0);
        else
            reply_null(c);
        return;
    }
    if (argc == 3) {
        if ((size_t)count > o->u.set.used)
            count = o->u.set.used;
        reply_array(c, count);
    }
    for (long long i = 0; i < count; i++) {
        struct dict_entry *e = dict_random(&o->u.set);
        reply_bulk(c, e->key, e->klen);
        dict_unlink(&o->u.set, e);
        free(e);
    }
    if (count > 0)
        touch_arg(c, &argv[1]);
    if (o->u.set.used == 0)
        db_delete(cdb(c), argv[1].p, argv[1].len);
}

/* SRANDMEMBER key [count]: count > 0 distinct members (all if the set is
 * no larger), count < 0 that many picks with repeats. */
static void cmd_srandmember(struct client *c, int argc, struct arg *argv)
{
    int err;
    long long count = 0;
    if (argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (argc == 3 && arg_ll(c, &argv[2], &count) < 0)
        return;
    if (argc == 3 && count == INT64_MIN) {
        reply_error(c, "ERR value is out of range");
        return;
    }
    struct obj *o = get_set(c, &argv[1], &err);
    if (err)
        return;
    if (argc == 2) {
        struct dict_entry *e = o ? dict_random(&o->u.set) : NULL;
        if (e)
            reply_bulk(c, e->key, e->klen);
        else
            reply_null(c);
        return;
    }
    if (!o || count == 0) {
        reply_array(c, 0);
        return;
    }
    if (count < 0) {
        reply_array(c, -count);
        for (long long i = 0; i < -count; i++) {
            struct dict_entry *e = dict_random(&o->u.set);
            reply_bulk(c, e->key, e->klen);
        }
        return;
    }
    size_t n = o->u.set.used;
    struct dict_entry **all = malloc(n * sizeof(*all));
    if (!all) {
        reply_error(c, ERR_OOM);
        return;
    }
    struct dict_iter it;
    struct dict_entry *e;
    size_t k = 0;
    dict_iter_init(&it, &o->u.set);
    while ((e = dict_iter_next(&it)))
        all[k++] = e;
    size_t want = (unsigned long long)count < n ? (size_t)count : n;
    /* The first want places of a Fisher-Yates shuffle. */
    for (size_t i = 0; i < want; i++) {
        size_t j = i + kv_rand() % (n - i);
        e = all[i];
        all[i] = all[j];
        all[j] = e;
    }
    reply_array(c, want);
    for (size_t i = 0; i < want; i++)
        reply_bulk(c, all[i]->key, all[i]->klen);
    free(all);
}

static void cmd_smembers(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_set(c, &argv[1], &err);
    if (err)
        return;
    if (!o) {
        reply_array(c, 0);
        return;
    }
    struct dict_iter it;
    struct dict_entry *e;
    reply_array(c, o->u.set.used);
    dict_iter_init(&it, &o->u.set);
    while ((e = dict_iter_next(&it)))
        reply_bulk(c, e->key, e->klen);
}

static void cmd_scard(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_set(c, &argv[1], &err);
    if (!err)
        reply_int(c, o ? (long long)o->u.set.used : 0);
}

static void cmd_sismember(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_set(c, &argv[1], &err);
    if (!err)
        reply_int(c, o && dict_find(&o->u.set, argv[2].p, argv[2].len));
}

static void cmd_smismember(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_set(c, &argv[1], &err);
    if (err)
        return;
    reply_array(c, argc - 2);
    for (int i = 2; i < argc; i++)
        reply_int(c, o && dict_find(&o->u.set, argv[i].p, argv[i].len));
}

const struct command kv_set_commands[] = {
    {"sadd", cmd_sadd, -3},
    {"srem", cmd_srem, -3},
    {"spop", cmd_spop, -2},
    {"srandmember", cmd_srandmember, -2},
    {"smembers", cmd_smembers, 2},
    {"scard", cmd_scard, 2},
    {"sismember", cmd_sismember, 3},
    {"smismember", cmd_smismember, -3},
    {NULL, NULL, 0},
};
