/*
 * Sorted-set commands on the dict + skiplist in zset.c. Scores are replied
 * as "%.17g" bulk strings, as Redis 7.0 does over RESP2.
 */
#include <stdlib.h>

#include "kv.h"

static struct obj *get_zset(struct client *c, const struct arg *key, int *err)
{
    int wrong;
    struct obj *o = lookup_typed(c, key, T_ZSET, &wrong);
    if (wrong)
        reply_wrongtype(c);
    *err = wrong;
    return o;
}

static void drop_if_empty(struct client *c, struct obj *o, const struct arg *key)
{
    if (o && o->u.zset->len == 0)
        db_delete(cdb(c), key->p, key->len);
}

/* ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] */
static void cmd_zadd(struct client *c, int argc, struct arg *argv)
{
    int nx = 0, xx = 0, gt = 0, lt = 0, ch = 0, incr = 0, i = 2;
    for (; i < argc; i++) {
        if (arg_is(&argv[i], "nx"))
            nx = 1;
        else if (arg_is(&argv[i], "xx"))
            xx = 1;
        else if (arg_is(&argv[i], "gt"))
            gt = 1;
        else if (arg_is(&argv[i], "lt"))
            lt = 1;
        else if (arg_is(&argv[i], "ch"))
            ch = 1;
        else if (arg_is(&argv[i], "incr"))
            incr = 1;
        else
            break;
    }
    int elements = argc - i;
    if (elements == 0 || elements % 2) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (nx && xx) {
        reply_error(c, "ERR XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(c, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 2) {
        reply_error(c, "ERR INCR option supports a single increment-element pair");
        return;
    }
    /* Check every score before changing anything. */
    double *scores = malloc(elements / 2 * sizeof(*scores));
    if (!scores) {
        reply_error(c, ERR_OOM);
        return;
    }
    for (int k = 0; k < elements / 2; k++)
        if (arg_double(c, &argv[i + 2 * k], &scores[k]) < 0) {
            free(scores);
            return;
        }

    int err;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err) {
        free(scores);
        return;
    }
    if (!o && xx) {
        if (incr)
            reply_null(c);
        else
            reply_int(c, 0);
        free(scores);
        return;
    }
    if (!o && !(o = lookup_or_create(c, &argv[1], T_ZSET))) {
        free(scores);
        return;
    }
    struct zset *z = o->u.zset;
    long long added = 0, updated = 0;
    int done = 0;   /* for INCR: whether the element was written */
    double result = 0;
    for (int k = 0; k < elements / 2; k++) {
        const struct arg *m = &argv[i + 2 * k + 1];
        double score = scores[k];
        struct dict_entry *e = dict_find(&z->members, m->p, m->len);
        if (e) {
            double cur = ((struct zs_node *)e->v.ptr)->score;
            if (nx)
                continue;
            if (incr) {
                score += cur;
                if (score != score) {
                    reply_error(c, "ERR resulting score is not a number (NaN)");
                    free(scores);
                    drop_if_empty(c, o, &argv[1]);
                    return;
                }
            }
            if ((gt && score <= cur) || (lt && score >= cur))
                continue;
            done = 1;
            result = score;
            if (score != cur) {
                zset_add(z, m->p, m->len, score);
                updated++;
            }
        } else {
            if (xx)
                continue;
            if (zset_add(z, m->p, m->len, score) < 0) {
                reply_error(c, ERR_OOM);
                free(scores);
                drop_if_empty(c, o, &argv[1]);
                return;
            }
            added++;
            done = 1;
            result = score;
        }
    }
    free(scores);
    if (added || updated)
        touch_arg(c, &argv[1]);
    drop_if_empty(c, o, &argv[1]);
    if (incr) {
        if (done)
            reply_bulk_double(c, result);
        else
            reply_null(c);
    } else {
        reply_int(c, ch ? added + updated : added);
    }
}

static void cmd_zincrby(struct client *c, int argc, struct arg *argv)
{
    double by;
    int err;
    if (arg_double(c, &argv[2], &by) < 0)
        return;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    if (!o && !(o = lookup_or_create(c, &argv[1], T_ZSET)))
        return;
    struct dict_entry *e = dict_find(&o->u.zset->members, argv[3].p, argv[3].len);
    double old = e ? ((struct zs_node *)e->v.ptr)->score : 0;
    double score = e ? old + by : by;
    if (score != score) {
        reply_error(c, "ERR resulting score is not a number (NaN)");
        drop_if_empty(c, o, &argv[1]);
        return;
    }
    if (zset_add(o->u.zset, argv[3].p, argv[3].len, score) < 0) {
        reply_error(c, ERR_OOM);
        drop_if_empty(c, o, &argv[1]);
        return;
    }
    /* As ZADD INCR: a score that stays the same is no change. */
    if (!e || score != old)
        touch_arg(c, &argv[1]);
    reply_bulk_double(c, score);
}

static void cmd_zrem(struct client *c, int argc, struct arg *argv)
{
    int err;
    long long n = 0;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    for (int i = 2; o && i < argc; i++)
        n += zset_remove(o->u.zset, argv[i].p, argv[i].len);
    if (n)
        touch_arg(c, &argv[1]);
    drop_if_empty(c, o, &argv[1]);
    reply_int(c, n);
}

static void cmd_zcard(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (!err)
        reply_int(c, o ? (long long)o->u.zset->len : 0);
}

static struct zs_node *member(struct obj *o, const struct arg *m)
{
    struct dict_entry *e = o ? dict_find(&o->u.zset->members, m->p, m->len) : NULL;
    return e ? e->v.ptr : NULL;
}

static void cmd_zscore(struct client *c, int argc, struct arg *argv)
{
    int err;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    struct zs_node *x = member(o, &argv[2]);
    if (x)
        reply_bulk_double(c, x->score);
    else
        reply_null(c);
}

static void rank_generic(struct client *c, struct arg *argv, int rev)
{
    int err;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    struct zs_node *x = member(o, &argv[2]);
    if (!x) {
        reply_null(c);
        return;
    }
    size_t r = zset_rank(o->u.zset, x);
    reply_int(c, rev ? o->u.zset->len - 1 - r : r);
}

static void cmd_zrank(struct client *c, int argc, struct arg *argv)
{
    rank_generic(c, argv, 0);
}

static void cmd_zrevrank(struct client *c, int argc, struct arg *argv)
{
    rank_generic(c, argv, 1);
}

static void pop_generic(struct client *c, int argc, struct arg *argv, int max)
{
    long long count = 1;
    int err;
    if (argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (argc == 3 && arg_count(c, &argv[2], &count) < 0)
        return;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    if (!o) {
        reply_array(c, 0);
        return;
    }
    struct zset *z = o->u.zset;
    if ((size_t)count > z->len)
        count = z->len;
    reply_array(c, 2 * count);
    for (long long i = 0; i < count; i++) {
        struct zs_node *x = max ? z->tail : z->head->lv[0].fwd;
        struct dict_entry *m = x->member;
        reply_bulk(c, m->key, m->klen);
        reply_bulk_double(c, x->score);
        zset_remove(z, m->key, m->klen);
    }
    if (count > 0)
        touch_arg(c, &argv[1]);
    drop_if_empty(c, o, &argv[1]);
}

static void cmd_zpopmin(struct client *c, int argc, struct arg *argv)
{
    pop_generic(c, argc, argv, 0);
}

static void cmd_zpopmax(struct client *c, int argc, struct arg *argv)
{
    pop_generic(c, argc, argv, 1);
}

/* A score bound: "1.5", "(1.5" (exclusive), "-inf", "+inf". */
struct bound {
    double v;
    int excl;
};

static int parse_bound(const struct arg *a, struct bound *b)
{
    b->excl = a->len > 0 && a->p[0] == '(';
    return str2double(a->p + b->excl, a->len - b->excl, &b->v);
}

static int above_min(double s, const struct bound *min)
{
    return min->excl ? s > min->v : s >= min->v;
}

static int below_max(double s, const struct bound *max)
{
    return max->excl ? s < max->v : s <= max->v;
}

/* First node with score within min (NULL if none). */
static struct zs_node *first_in(const struct zset *z, const struct bound *min)
{
    struct zs_node *p = z->head;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->lv[i].fwd && !above_min(p->lv[i].fwd->score, min))
            p = p->lv[i].fwd;
    return p->lv[0].fwd;
}

/* Last node with score within max (NULL if none). */
static struct zs_node *last_in(const struct zset *z, const struct bound *max)
{
    struct zs_node *p = z->head;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->lv[i].fwd && below_max(p->lv[i].fwd->score, max))
            p = p->lv[i].fwd;
    return p == z->head ? NULL : p;
}

static void reply_node(struct client *c, const struct zs_node *x, int scores)
{
    reply_bulk(c, x->member->key, x->member->klen);
    if (scores)
        reply_bulk_double(c, x->score);
}

/* ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES]
 * (modern), and the older ZREVRANGE / ZRANGEBYSCORE forms, which preset
 * by_score and rev. */
static void range_generic(struct client *c, int argc, struct arg *argv,
                          int by_score, int rev, int modern)
{
    int scores = 0, limit = 0, err;
    long long offset = 0, count = -1;

    for (int i = 4; i < argc; i++) {
        if (arg_is(&argv[i], "withscores")) {
            scores = 1;
        } else if (arg_is(&argv[i], "byscore") && modern) {
            by_score = 1;
        } else if (arg_is(&argv[i], "rev") && modern) {
            rev = 1;
        } else if (arg_is(&argv[i], "limit") && i + 2 < argc && (modern || by_score)) {
            if (arg_ll(c, &argv[i + 1], &offset) < 0 || arg_ll(c, &argv[i + 2], &count) < 0)
                return;
            limit = 1;
            i += 2;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (limit && !by_score) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination "
                       "with either BYSCORE or BYLEX");
        return;
    }

    if (by_score) {
        struct bound min, max;
        /* With REV the first bound given is the maximum. */
        struct arg *amin = &argv[rev ? 3 : 2], *amax = &argv[rev ? 2 : 3];
        if (parse_bound(amin, &min) < 0 || parse_bound(amax, &max) < 0) {
            reply_error(c, "ERR min or max is not a float");
            return;
        }
        struct obj *o = get_zset(c, &argv[1], &err);
        if (err)
            return;
        size_t n = 0;
        struct zs_node *x = NULL, *start = NULL;
        if (o && offset >= 0)
            x = rev ? last_in(o->u.zset, &max) : first_in(o->u.zset, &min);
        for (; x && offset > 0; offset--)
            x = rev ? x->back : x->lv[0].fwd;
        start = x;
        /* Count first: RESP2 needs the length before the elements. */
        for (; x && (count < 0 || (long long)n < count); n++) {
            if (rev ? !above_min(x->score, &min) : !below_max(x->score, &max))
                break;
            x = rev ? x->back : x->lv[0].fwd;
        }
        reply_array(c, scores ? 2 * n : n);
        for (x = start; n; n--, x = rev ? x->back : x->lv[0].fwd)
            reply_node(c, x, scores);
        return;
    }

    long long lo, hi;
    if (arg_ll(c, &argv[2], &lo) < 0 || arg_ll(c, &argv[3], &hi) < 0)
        return;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    long long len = o ? (long long)o->u.zset->len : 0;
    if (lo < 0)
        lo += len;
    if (hi < 0)
        hi += len;
    if (lo < 0)
        lo = 0;
    if (lo > hi || lo >= len) {
        reply_array(c, 0);
        return;
    }
    if (hi >= len)
        hi = len - 1;
    long long n = hi - lo + 1;
    reply_array(c, scores ? 2 * n : n);
    /* Under REV, rank lo counts from the top. */
    struct zs_node *x = zset_at(o->u.zset, rev ? len - 1 - lo : lo);
    for (; n; n--, x = rev ? x->back : x->lv[0].fwd)
        reply_node(c, x, scores);
}

static void cmd_zrange(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, 0, 0, 1);
}

static void cmd_zrevrange(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, 0, 1, 0);
}

static void cmd_zrangebyscore(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, 1, 0, 0);
}

static void cmd_zrevrangebyscore(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, 1, 1, 0);
}

static void cmd_zcount(struct client *c, int argc, struct arg *argv)
{
    struct bound min, max;
    int err;
    if (parse_bound(&argv[2], &min) < 0 || parse_bound(&argv[3], &max) < 0) {
        reply_error(c, "ERR min or max is not a float");
        return;
    }
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    struct zs_node *a = o ? first_in(o->u.zset, &min) : NULL;
    struct zs_node *b = o ? last_in(o->u.zset, &max) : NULL;
    long long n = 0;
    if (a && b && above_min(a->score, &min) && below_max(a->score, &max)) {
        long long ra = zset_rank(o->u.zset, a), rb = zset_rank(o->u.zset, b);
        n = rb >= ra ? rb - ra + 1 : 0;
    }
    reply_int(c, n);
}

const struct command kv_zset_commands[] = {
    {"zadd", cmd_zadd, -4},
    {"zincrby", cmd_zincrby, 4},
    {"zrem", cmd_zrem, -3},
    {"zcard", cmd_zcard, 2},
    {"zscore", cmd_zscore, 3},
    {"zrank", cmd_zrank, 3},
    {"zrevrank", cmd_zrevrank, 3},
    {"zpopmin", cmd_zpopmin, -2},
    {"zpopmax", cmd_zpopmax, -2},
    {"zrange", cmd_zrange, -4},
    {"zrevrange", cmd_zrevrange, -4},
    {"zrangebyscore", cmd_zrangebyscore, -4},
    {"zrevrangebyscore", cmd_zrevrangebyscore, -4},
    {"zcount", cmd_zcount, 4},
    {NULL, NULL, 0},
};
