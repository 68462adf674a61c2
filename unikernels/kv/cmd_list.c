/*
 * List commands on the deque in list.c. A list that becomes empty is
 * deleted, as in Redis, so EXISTS and TYPE see no empty containers.
 */
#include <stdlib.h>

#include "kv.h"

static void push_generic(struct client *c, int argc, struct arg *argv, int left,
                         int only_existing)
{
    struct obj *o;
    if (only_existing) {
        int wrong;
        o = lookup_typed(c, &argv[1], T_LIST, &wrong);
        if (wrong) {
            reply_wrongtype(c);
            return;
        }
        if (!o) {
            reply_int(c, 0);
            return;
        }
    } else if (!(o = lookup_or_create(c, &argv[1], T_LIST))) {
        return;
    }
    for (int i = 2; i < argc; i++) {
        struct sval *v = sval_new(argv[i].p, argv[i].len);
        if (!v || list_push(&o->u.list, v, left) < 0) {
            free(v);
            reply_error(c, ERR_OOM);
            return;
        }
    }
    touch_arg(c, &argv[1]);
    reply_int(c, o->u.list.len);
}

static void cmd_lpush(struct client *c, int argc, struct arg *argv)
{
    push_generic(c, argc, argv, 1, 0);
}

static void cmd_rpush(struct client *c, int argc, struct arg *argv)
{
    push_generic(c, argc, argv, 0, 0);
}

static void cmd_lpushx(struct client *c, int argc, struct arg *argv)
{
    push_generic(c, argc, argv, 1, 1);
}

static void cmd_rpushx(struct client *c, int argc, struct arg *argv)
{
    push_generic(c, argc, argv, 0, 1);
}

static void pop_generic(struct client *c, int argc, struct arg *argv, int left)
{
    long long count = 1;
    int wrong;

    if (argc > 3) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                     left ? "lpop" : "rpop");
        return;
    }
    if (argc == 3 && arg_count(c, &argv[2], &count) < 0)
        return;
    struct obj *o = lookup_typed(c, &argv[1], T_LIST, &wrong);
    if (wrong) {
        reply_wrongtype(c);
        return;
    }
    if (!o) {
        if (argc == 3)
            reply_null_array(c);
        else
            reply_null(c);
        return;
    }
    if (argc == 3) {
        if ((size_t)count > o->u.list.len)
            count = o->u.list.len;
        reply_array(c, count);
    }
    for (long long i = 0; i < count; i++) {
        struct sval *v = list_pop(&o->u.list, left);
        reply_bulk(c, v->d, v->len);
        free(v);
    }
    if (count > 0)
        touch_arg(c, &argv[1]);
    if (o->u.list.len == 0)
        db_delete(cdb(c), argv[1].p, argv[1].len);
}

static void cmd_lpop(struct client *c, int argc, struct arg *argv)
{
    pop_generic(c, argc, argv, 1);
}

static void cmd_rpop(struct client *c, int argc, struct arg *argv)
{
    pop_generic(c, argc, argv, 0);
}

/* Clamp Redis-style [start, stop] (negative from the end) to [0, len). Returns
 * the number of elements, 0 if the range is empty. */
static size_t clamp_range(long long start, long long stop, size_t len, size_t *from)
{
    long long n = len;
    if (start < 0)
        start += n;
    if (stop < 0)
        stop += n;
    if (start < 0)
        start = 0;
    if (start > stop || start >= n)
        return 0;
    if (stop >= n)
        stop = n - 1;
    *from = start;
    return stop - start + 1;
}

static void cmd_lrange(struct client *c, int argc, struct arg *argv)
{
    long long start, stop;
    int wrong;
    if (arg_ll(c, &argv[2], &start) < 0 || arg_ll(c, &argv[3], &stop) < 0)
        return;
    struct obj *o = lookup_typed(c, &argv[1], T_LIST, &wrong);
    if (wrong) {
        reply_wrongtype(c);
        return;
    }
    size_t from = 0, n = o ? clamp_range(start, stop, o->u.list.len, &from) : 0;
    reply_array(c, n);
    if (stream_list(c, o, &argv[1], from, n))
        return;
    for (size_t i = 0; i < n; i++) {
        struct sval *v = list_at(&o->u.list, from + i);
        reply_bulk(c, v->d, v->len);
    }
}

static void cmd_llen(struct client *c, int argc, struct arg *argv)
{
    int wrong;
    struct obj *o = lookup_typed(c, &argv[1], T_LIST, &wrong);
    if (wrong)
        reply_wrongtype(c);
    else
        reply_int(c, o ? (long long)o->u.list.len : 0);
}

/* The element at a Redis-style index, or NULL. */
static struct sval **element(struct obj *o, long long i)
{
    struct list *l = &o->u.list;
    if (i < 0)
        i += l->len;
    if (i < 0 || (size_t)i >= l->len)
        return NULL;
    return &l->a[(l->head + i) & (l->cap - 1)];
}

static void cmd_lindex(struct client *c, int argc, struct arg *argv)
{
    long long i;
    int wrong;
    if (arg_ll(c, &argv[2], &i) < 0)
        return;
    struct obj *o = lookup_typed(c, &argv[1], T_LIST, &wrong);
    if (wrong) {
        reply_wrongtype(c);
        return;
    }
    struct sval **v = o ? element(o, i) : NULL;
    if (v)
        reply_bulk(c, (*v)->d, (*v)->len);
    else
        reply_null(c);
}

static void cmd_lset(struct client *c, int argc, struct arg *argv)
{
    long long i;
    int wrong;
    if (arg_ll(c, &argv[2], &i) < 0)
        return;
    struct obj *o = lookup_typed(c, &argv[1], T_LIST, &wrong);
    if (wrong) {
        reply_wrongtype(c);
        return;
    }
    if (!o) {
        reply_error(c, "ERR no such key");
        return;
    }
    struct sval **v = element(o, i);
    if (!v)
        reply_error(c, "ERR index out of range");
    else if (sval_set(v, argv[3].p, argv[3].len) < 0)
        reply_error(c, ERR_OOM);
    else {
        touch_arg(c, &argv[1]);
        reply_ok(c);
    }
}

const struct command kv_list_commands[] = {
    {"lpush", cmd_lpush, -3},
    {"rpush", cmd_rpush, -3},
    {"lpushx", cmd_lpushx, -3},
    {"rpushx", cmd_rpushx, -3},
    {"lpop", cmd_lpop, -2},
    {"rpop", cmd_rpop, -2},
    {"lrange", cmd_lrange, 4},
    {"llen", cmd_llen, 2},
    {"lindex", cmd_lindex, 3},
    {"lset", cmd_lset, 4},
    {NULL, NULL, 0},
};
