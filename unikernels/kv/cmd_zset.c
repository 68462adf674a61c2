/*
 * Sorted-set commands on the dict + skiplist in zset.c. Scores are replied
 * as "%.17g" bulk strings, as Redis 7.0 does over RESP2.
 */
#include <stdlib.h>
#include <string.h>

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

/* --- ranges by score and by member ------------------------------------------
 *
 * The parsing follows redis-server's zrangeGenericCommand: options first
 * (in any order, each once), then the conflicts between them, then the
 * range, then the key; the first problem found is the error replied. */

/* A score bound: "1.5", "(1.5" (exclusive), "-inf", "+inf". */
struct bound {
    double v;
    int excl;
};

/* As redis-server's zslParseRange, which calls strtod() on the argument as
 * a C string: leading spaces, hex, "" (zero) and out-of-range values (to
 * infinity or zero) pass; NaN and trailing bytes do not. */
static int parse_bound(const struct arg *a, struct bound *b)
{
    char small[64], *s = small;
    if (a->len >= sizeof(small) && !(s = malloc(a->len + 1)))
        return -1;
    memcpy(s, a->p, a->len);
    s[a->len] = 0;
    b->excl = s[0] == '(';
    char *end;
    b->v = strtod(s + b->excl, &end);
    int ok = *end == 0 && b->v == b->v;
    if (s != small)
        free(s);
    return ok ? 0 : -1;
}

static int above_min(double s, const struct bound *min)
{
    return min->excl ? s > min->v : s >= min->v;
}

static int below_max(double s, const struct bound *max)
{
    return max->excl ? s < max->v : s <= max->v;
}

/* A member bound: "[a" (inclusive), "(a" (exclusive), "-" and "+" (below
 * and above every member). */
struct lexbound {
    const char *p;
    size_t len;
    int excl;
    int inf;        /* -1 for "-", 1 for "+", else 0 */
};

static int parse_lexbound(const struct arg *a, struct lexbound *b)
{
    if (a->len == 0)
        return -1;
    b->p = a->p + 1;
    b->len = a->len - 1;
    b->excl = 1;
    b->inf = 0;
    switch (a->p[0]) {
    case '+':
    case '-':
        /* redis-server reads a C string: "+" then a NUL ends it too. */
        if (a->len > 1 && a->p[1] != 0)
            return -1;
        b->inf = a->p[0] == '+' ? 1 : -1;
        return 0;
    case '[':
        b->excl = 0;
        return 0;
    case '(':
        return 0;
    }
    return -1;
}

/* Compare bytes with a bound, as redis-server's sdscmplex(). */
static int lex_cmp(const char *p, size_t n, const struct lexbound *b)
{
    if (b->inf)
        return -b->inf;
    size_t k = n < b->len ? n : b->len;
    int r = memcmp(p, b->p, k);
    return r ? r : (n > b->len) - (n < b->len);
}

static int lex_above_min(const struct zs_node *x, const struct lexbound *min)
{
    int r = lex_cmp(x->member->key, x->member->klen, min);
    return min->excl ? r > 0 : r >= 0;
}

static int lex_below_max(const struct zs_node *x, const struct lexbound *max)
{
    int r = lex_cmp(x->member->key, x->member->klen, max);
    return max->excl ? r < 0 : r <= 0;
}

/* A range that no member can fall in (redis-server's zslIsInLexRange). */
static int lex_empty(const struct lexbound *min, const struct lexbound *max)
{
    int r;
    if (min->inf && min->inf == max->inf)
        r = 0;
    else if (min->inf < 0 || max->inf > 0)
        r = -1;
    else if (min->inf > 0 || max->inf < 0)
        r = 1;
    else
        r = lex_cmp(min->p, min->len, max);
    return r > 0 || (r == 0 && (min->excl || max->excl));
}

/* One range, by score or by member: what the skiplist walks need. */
struct zrange {
    int lex;
    struct bound min, max;
    struct lexbound lmin, lmax;
};

static int in_min(const struct zs_node *x, const struct zrange *r)
{
    return r->lex ? lex_above_min(x, &r->lmin) : above_min(x->score, &r->min);
}

static int in_max(const struct zs_node *x, const struct zrange *r)
{
    return r->lex ? lex_below_max(x, &r->lmax) : below_max(x->score, &r->max);
}

/* First node at or above the range's minimum (NULL if none). Members by
 * lex are meant to share one score, as in redis-server. */
static struct zs_node *first_in(const struct zset *z, const struct zrange *r)
{
    struct zs_node *p = z->head;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->lv[i].fwd && !in_min(p->lv[i].fwd, r))
            p = p->lv[i].fwd;
    return p->lv[0].fwd;
}

/* Last node at or below the range's maximum (NULL if none). */
static struct zs_node *last_in(const struct zset *z, const struct zrange *r)
{
    struct zs_node *p = z->head;
    for (int i = z->level - 1; i >= 0; i--)
        while (p->lv[i].fwd && in_max(p->lv[i].fwd, r))
            p = p->lv[i].fwd;
    return p == z->head ? NULL : p;
}

/* Parse min and max into r; replies redis-server's error and returns -1. */
static int parse_zrange(struct client *c, const struct arg *min,
                        const struct arg *max, int lex, struct zrange *r)
{
    r->lex = lex;
    if (lex) {
        if (parse_lexbound(min, &r->lmin) < 0 || parse_lexbound(max, &r->lmax) < 0) {
            reply_error(c, "ERR min or max not valid string range item");
            return -1;
        }
    } else if (parse_bound(min, &r->min) < 0 || parse_bound(max, &r->max) < 0) {
        reply_error(c, "ERR min or max is not a float");
        return -1;
    }
    return 0;
}

/* Whether the range can hold anything at all. */
static int zrange_empty(const struct zrange *r)
{
    if (r->lex)
        return lex_empty(&r->lmin, &r->lmax);
    return r->min.v > r->max.v ||
           (r->min.v == r->max.v && (r->min.excl || r->max.excl));
}

static void reply_node(struct client *c, const struct zs_node *x, int scores)
{
    reply_bulk(c, x->member->key, x->member->klen);
    if (scores)
        reply_bulk_double(c, x->score);
}

enum { BY_AUTO, BY_RANK, BY_SCORE, BY_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

/* ZRANGE key min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
 * [WITHSCORES], and the older Z[REV]RANGE[BYSCORE|BYLEX] forms, which fix
 * by and dir (the options they fix are then syntax errors). */
static void range_generic(struct client *c, int argc, struct arg *argv,
                          int by, int dir)
{
    int scores = 0, err;
    long long offset = 0, limit = -1;

    for (int i = 4; i < argc; i++) {
        if (arg_is(&argv[i], "withscores")) {
            scores = 1;
        } else if (arg_is(&argv[i], "limit") && argc - i - 1 >= 2) {
            if (arg_ll(c, &argv[i + 1], &offset) < 0 || arg_ll(c, &argv[i + 2], &limit) < 0)
                return;
            i += 2;
        } else if (dir == DIR_AUTO && arg_is(&argv[i], "rev")) {
            dir = DIR_REV;
        } else if (by == BY_AUTO && arg_is(&argv[i], "bylex")) {
            by = BY_LEX;
        } else if (by == BY_AUTO && arg_is(&argv[i], "byscore")) {
            by = BY_SCORE;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    int rev = dir == DIR_REV;
    if (by == BY_AUTO)
        by = BY_RANK;
    /* LIMIT 0 -1 is no limit: redis-server lets it pass with ranks too. */
    if (limit != -1 && by == BY_RANK) {
        reply_error(c, "ERR syntax error, LIMIT is only supported in combination "
                       "with either BYSCORE or BYLEX");
        return;
    }
    if (scores && by == BY_LEX) {
        reply_error(c, "ERR syntax error, WITHSCORES not supported in "
                       "combination with BYLEX");
        return;
    }

    if (by != BY_RANK) {
        /* With REV the first bound given is the maximum. */
        struct zrange r;
        if (parse_zrange(c, &argv[rev ? 3 : 2], &argv[rev ? 2 : 3], by == BY_LEX, &r) < 0)
            return;
        struct obj *o = get_zset(c, &argv[1], &err);
        if (err)
            return;
        if (!o || (offset > 0 && (size_t)offset >= o->u.zset->len) ||
            offset < 0 || zrange_empty(&r)) {
            reply_array(c, 0);
            return;
        }
        struct zs_node *x = rev ? last_in(o->u.zset, &r) : first_in(o->u.zset, &r);
        for (; x && offset > 0; offset--)
            x = rev ? x->back : x->lv[0].fwd;
        /* Count first: RESP2 needs the length before the elements. */
        struct zs_node *start = x;
        long long n = 0;
        for (; x && (limit < 0 || n < limit); n++) {
            if (rev ? !in_min(x, &r) : !in_max(x, &r))
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
    range_generic(c, argc, argv, BY_AUTO, DIR_AUTO);
}

static void cmd_zrevrange(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, BY_RANK, DIR_REV);
}

static void cmd_zrangebyscore(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, BY_SCORE, DIR_FWD);
}

static void cmd_zrevrangebyscore(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, BY_SCORE, DIR_REV);
}

static void cmd_zrangebylex(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, BY_LEX, DIR_FWD);
}

static void cmd_zrevrangebylex(struct client *c, int argc, struct arg *argv)
{
    range_generic(c, argc, argv, BY_LEX, DIR_REV);
}

/* ZCOUNT and ZLEXCOUNT: the ranks of the first and last node in range. */
static void count_generic(struct client *c, struct arg *argv, int lex)
{
    struct zrange r;
    int err;
    if (parse_zrange(c, &argv[2], &argv[3], lex, &r) < 0)
        return;
    struct obj *o = get_zset(c, &argv[1], &err);
    if (err)
        return;
    long long n = 0;
    struct zs_node *a = o && !zrange_empty(&r) ? first_in(o->u.zset, &r) : NULL;
    if (a && in_max(a, &r)) {
        struct zs_node *b = last_in(o->u.zset, &r);
        long long ra = zset_rank(o->u.zset, a), rb = zset_rank(o->u.zset, b);
        n = rb >= ra ? rb - ra + 1 : 0;
    }
    reply_int(c, n);
}

static void cmd_zcount(struct client *c, int argc, struct arg *argv)
{
    count_generic(c, argv, 0);
}

static void cmd_zlexcount(struct client *c, int argc, struct arg *argv)
{
    count_generic(c, argv, 1);
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
    {"zrangebylex", cmd_zrangebylex, -4},
    {"zrevrangebylex", cmd_zrevrangebylex, -4},
    {"zcount", cmd_zcount, 4},
    {"zlexcount", cmd_zlexcount, 4},
    {NULL, NULL, 0},
};
