/*
 * String commands. Values are binary-safe; counters are plain decimal
 * strings parsed on each INCR, as in Redis.
 */
#include <stdlib.h>

#include "kv.h"

/* Store a string value, reusing the old object's memory when it was a
 * string. keep_ttl keeps an existing deadline; otherwise expire replaces it. */
static int set_string(struct client *c, const struct arg *key, const struct arg *val,
                      uint64_t expire, int keep_ttl)
{
    struct db *db = cdb(c);
    int created;
    struct dict_entry *e = db_upsert(db, key->p, key->len, &created);
    if (!e)
        return -1;
    struct obj *old = e->v.ptr;
    if (old && old->type == T_STRING) {
        /* A large value assembled as it arrived is kept as it is. */
        struct sval *v = arg_take(c, val);
        if (v) {
            free(old->u.str);
            old->u.str = v;
        } else if (sval_set(&old->u.str, val->p, val->len) < 0) {
            return -1;
        }
        if (!keep_ttl)
            db_set_expire(db, old, expire);
        touch_arg(c, key);
        return 0;
    }
    struct obj *o = obj_new(T_STRING);
    if (o && !(o->u.str = arg_take(c, val)))
        o->u.str = sval_new(val->p, val->len);
    if (!o || !o->u.str) {
        if (o)
            obj_free(o);
        if (created)
            db_abandon(db, e);
        return -1;
    }
    o->expire = keep_ttl && old ? old->expire : expire;
    db_put(db, e, o);
    touch_arg(c, key);
    return 0;
}

int get_string(struct client *c, const struct arg *key, struct obj **o)
{
    int wrong;
    *o = lookup_typed(c, key, T_STRING, &wrong);
    if (wrong) {
        reply_wrongtype(c);
        return -1;
    }
    return 0;
}

static void reply_string(struct client *c, const struct obj *o)
{
    if (o)
        reply_bulk(c, o->u.str->d, o->u.str->len);
    else
        reply_null(c);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|KEEPTTL] */
static void cmd_set(struct client *c, int argc, struct arg *argv)
{
    int nx = 0, xx = 0, get = 0, keep = 0, unit = 0, at = 0;
    long long ttl = 0;

    for (int i = 3; i < argc; i++) {
        if (arg_is(&argv[i], "nx") && !xx) {
            nx = 1;
        } else if (arg_is(&argv[i], "xx") && !nx) {
            xx = 1;
        } else if (arg_is(&argv[i], "get")) {
            get = 1;
        } else if (arg_is(&argv[i], "keepttl") && !unit) {
            keep = 1;
        } else if ((arg_is(&argv[i], "ex") || arg_is(&argv[i], "px") ||
                    arg_is(&argv[i], "exat") || arg_is(&argv[i], "pxat")) &&
                   !unit && !keep && i + 1 < argc) {
            unit = arg_is(&argv[i], "ex") || arg_is(&argv[i], "exat") ? 1000 : 1;
            at = argv[i].len == 4;
            if (arg_ll(c, &argv[++i], &ttl) < 0)
                return;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    uint64_t expire = 0;
    int past = 0;       /* EXAT/PXAT already over: the key is deleted */
    if (unit && at) {
        if (ttl <= 0 || ttl > INT64_MAX / unit) {
            reply_error(c, "ERR invalid expire time in 'set' command");
            return;
        }
        long long left = ttl * unit - (long long)kv_wall_ms();
        if (left <= 0)
            past = 1;
        else if ((unsigned long long)left > INT64_MAX - kv_now)
            expire = INT64_MAX;
        else
            expire = kv_now + left;
    } else if (unit) {
        if (ttl <= 0 || ttl > INT64_MAX / unit ||
            (unsigned long long)ttl * unit > INT64_MAX - kv_now) {
            reply_error(c, "ERR invalid expire time in 'set' command");
            return;
        }
        expire = kv_now + ttl * unit;
    }

    struct obj *old = db_get(cdb(c), argv[1].p, argv[1].len);
    struct sval *prev = NULL;
    if (get) {
        if (old && old->type != T_STRING) {
            reply_wrongtype(c);
            return;
        }
        /* Copy: the SET may reuse the old value's memory. */
        if (old && !(prev = sval_new(old->u.str->d, old->u.str->len))) {
            reply_error(c, ERR_OOM);
            return;
        }
    }
    if ((nx && old) || (xx && !old)) {
        if (get && prev)
            reply_bulk(c, prev->d, prev->len);
        else
            reply_null(c);
        free(prev);
        return;
    }
    if (past)
        db_delete(cdb(c), argv[1].p, argv[1].len);
    if (!past && set_string(c, &argv[1], &argv[2], expire, keep) < 0) {
        reply_error(c, ERR_OOM);
    } else if (get) {
        if (prev)
            reply_bulk(c, prev->d, prev->len);
        else
            reply_null(c);
    } else {
        reply_ok(c);
    }
    free(prev);
}

static void cmd_setnx(struct client *c, int argc, struct arg *argv)
{
    if (db_get(cdb(c), argv[1].p, argv[1].len)) {
        reply_int(c, 0);
        return;
    }
    if (set_string(c, &argv[1], &argv[2], 0, 0) < 0)
        reply_error(c, ERR_OOM);
    else
        reply_int(c, 1);
}

static void setex_generic(struct client *c, struct arg *argv, long long unit,
                          const char *name)
{
    long long ttl;
    if (arg_ll(c, &argv[2], &ttl) < 0)
        return;
    if (ttl <= 0 || ttl > INT64_MAX / unit ||
        (unsigned long long)ttl * unit > INT64_MAX - kv_now) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", name);
        return;
    }
    if (set_string(c, &argv[1], &argv[3], kv_now + ttl * unit, 0) < 0)
        reply_error(c, ERR_OOM);
    else
        reply_ok(c);
}

static void cmd_setex(struct client *c, int argc, struct arg *argv)
{
    setex_generic(c, argv, 1000, "setex");
}

static void cmd_psetex(struct client *c, int argc, struct arg *argv)
{
    setex_generic(c, argv, 1, "psetex");
}

static void cmd_get(struct client *c, int argc, struct arg *argv)
{
    struct obj *o;
    if (get_string(c, &argv[1], &o) == 0 && !(o && stream_string(c, o, &argv[1])))
        reply_string(c, o);
}

static void cmd_getdel(struct client *c, int argc, struct arg *argv)
{
    struct obj *o;
    if (get_string(c, &argv[1], &o) < 0)
        return;
    reply_string(c, o);
    if (o)
        db_delete(cdb(c), argv[1].p, argv[1].len);
}

static void cmd_getset(struct client *c, int argc, struct arg *argv)
{
    struct obj *o;
    if (get_string(c, &argv[1], &o) < 0)
        return;
    reply_string(c, o);
    if (set_string(c, &argv[1], &argv[2], 0, 0) < 0)
        c->closing = 1;     /* the reply already went out: cannot report */
}

static void cmd_strlen(struct client *c, int argc, struct arg *argv)
{
    struct obj *o;
    if (get_string(c, &argv[1], &o) == 0)
        reply_int(c, o ? (long long)o->u.str->len : 0);
}

static void cmd_append(struct client *c, int argc, struct arg *argv)
{
    struct obj *o;
    if (get_string(c, &argv[1], &o) < 0)
        return;
    if (!o) {
        if (set_string(c, &argv[1], &argv[2], 0, 0) < 0)
            reply_error(c, ERR_OOM);
        else
            reply_int(c, argv[2].len);
        return;
    }
    if (o->u.str->len + argv[2].len > 512ULL * 1024 * 1024) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    if (sval_append(&o->u.str, argv[2].p, argv[2].len) < 0) {
        reply_error(c, ERR_OOM);
        return;
    }
    touch_arg(c, &argv[1]);
    reply_int(c, o->u.str->len);
}

static void incr_generic(struct client *c, struct arg *key, long long by)
{
    struct obj *o;
    long long v = 0;
    if (get_string(c, key, &o) < 0)
        return;
    if (o && str2ll(o->u.str->d, o->u.str->len, &v) < 0) {
        reply_error(c, ERR_NOTINT);
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
    /* INCR keeps the key's deadline. */
    if (set_string(c, key, &val, 0, 1) < 0)
        reply_error(c, ERR_OOM);
    else
        reply_int(c, v);
}

static void cmd_incr(struct client *c, int argc, struct arg *argv)
{
    incr_generic(c, &argv[1], 1);
}

static void cmd_decr(struct client *c, int argc, struct arg *argv)
{
    incr_generic(c, &argv[1], -1);
}

static void cmd_incrby(struct client *c, int argc, struct arg *argv)
{
    long long by;
    if (arg_ll(c, &argv[2], &by) == 0)
        incr_generic(c, &argv[1], by);
}

static void cmd_decrby(struct client *c, int argc, struct arg *argv)
{
    long long by;
    if (arg_ll(c, &argv[2], &by) < 0)
        return;
    if (by == INT64_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, &argv[1], -by);
}

static void cmd_mset(struct client *c, int argc, struct arg *argv)
{
    if (argc % 2 == 0) {
        reply_error(c, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    for (int i = 1; i < argc; i += 2)
        if (set_string(c, &argv[i], &argv[i + 1], 0, 0) < 0) {
            reply_error(c, ERR_OOM);
            return;
        }
    reply_ok(c);
}

static void cmd_msetnx(struct client *c, int argc, struct arg *argv)
{
    if (argc % 2 == 0) {
        reply_error(c, "ERR wrong number of arguments for 'msetnx' command");
        return;
    }
    for (int i = 1; i < argc; i += 2)
        if (db_get(cdb(c), argv[i].p, argv[i].len)) {
            reply_int(c, 0);
            return;
        }
    for (int i = 1; i < argc; i += 2)
        if (set_string(c, &argv[i], &argv[i + 1], 0, 0) < 0) {
            reply_error(c, ERR_OOM);
            return;
        }
    reply_int(c, 1);
}

static void cmd_mget(struct client *c, int argc, struct arg *argv)
{
    reply_array(c, argc - 1);
    for (int i = 1; i < argc; i++) {
        struct obj *o = db_get(cdb(c), argv[i].p, argv[i].len);
        reply_string(c, o && o->type == T_STRING ? o : NULL);
    }
}

const struct command kv_string_commands[] = {
    {"set", cmd_set, -3},
    {"setnx", cmd_setnx, 3},
    {"setex", cmd_setex, 4},
    {"psetex", cmd_psetex, 4},
    {"get", cmd_get, 2},
    {"getdel", cmd_getdel, 2},
    {"getset", cmd_getset, 3},
    {"strlen", cmd_strlen, 2},
    {"append", cmd_append, 3},
    {"incr", cmd_incr, 2},
    {"decr", cmd_decr, 2},
    {"incrby", cmd_incrby, 3},
    {"decrby", cmd_decrby, 3},
    {"mset", cmd_mset, -3},
    {"msetnx", cmd_msetnx, -3},
    {"mget", cmd_mget, -2},
    {NULL, NULL, 0},
};
