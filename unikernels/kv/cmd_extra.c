/*
 * Commands tools need (issue 11): TIME, GETRANGE, SETRANGE, INCRBYFLOAT,
 * OBJECT ENCODING, SCAN, MEMORY USAGE.
 * EXPIREAT and PEXPIREAT share EXPIRE's code in cmd_keys.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "kv.h"

static void cmd_time(struct client *c, int argc, struct arg *argv)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    reply_array(c, 2);
    reply_bulk_ll(c, tv.tv_sec);
    reply_bulk_ll(c, tv.tv_usec);
}

/* GETRANGE key start end: Redis 7.0's clamping, inclusive end. */
static void cmd_getrange(struct client *c, int argc, struct arg *argv)
{
    long long start, end;
    struct obj *o;
    if (arg_ll(c, &argv[2], &start) < 0 || arg_ll(c, &argv[3], &end) < 0)
        return;
    if (get_string(c, &argv[1], &o) < 0)
        return;
    long long len = o ? (long long)o->u.str->len : 0;
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        return;
    }
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (start > end || len == 0) {
        reply_bulk(c, "", 0);
        return;
    }
    reply_bulk(c, o->u.str->d + start, end - start + 1);
}

#define STRING_MAX (512LL * 1024 * 1024)

/* SETRANGE key offset value: zero-pads up to offset; replies the length. */
static void cmd_setrange(struct client *c, int argc, struct arg *argv)
{
    static const char zeros[256];
    long long off;
    struct obj *o;
    if (arg_ll(c, &argv[2], &off) < 0)
        return;
    if (off < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    if (get_string(c, &argv[1], &o) < 0)
        return;
    size_t vlen = argv[3].len;
    if (vlen == 0) {
        reply_int(c, o ? (long long)o->u.str->len : 0);
        return;
    }
    if (off + (long long)vlen > STRING_MAX) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return;
    }
    if (!o) {
        o = lookup_or_create(c, &argv[1], T_STRING);
        if (!o)
            return;
        if (!(o->u.str = sval_new("", 0))) {
            db_delete(cdb(c), argv[1].p, argv[1].len);
            reply_error(c, ERR_OOM);
            return;
        }
    }
    size_t need = (size_t)off + vlen;
    while (o->u.str->len < need) {
        size_t n = need - o->u.str->len;
        if (n > sizeof(zeros))
            n = sizeof(zeros);
        if (sval_append(&o->u.str, zeros, n) < 0) {
            reply_error(c, ERR_OOM);
            return;
        }
    }
    memcpy(o->u.str->d + off, argv[3].p, vlen);
    touch_arg(c, &argv[1]);
    reply_int(c, o->u.str->len);
}

/* Redis' string2ld: strtold() must take every byte (an embedded NUL
 * fails), no leading space, no NaN, no overflow, no underflow to zero. libos's
 * strtold rounds correctly, as glibc's, so the sums are the same bits. */
static int str2ld(const char *p, size_t len, long double *v)
{
    static char buf[5120];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, p, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    *v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || (size_t)(end - buf) != len ||
        __builtin_isnan(*v) || (errno == ERANGE && (__builtin_isinf(*v) || *v == 0)))
        return -1;
    return 0;
}

/* An integral long double of 2^64 or more in full decimal (it has 64
 * significant bits): mantissa times 2^exp in base 10^9 limbs. */
static int big2str(char *buf, size_t size, int neg, long double a)
{
    int exp = 0;
    while (a >= 18446744073709551616.0L) {
        a /= 2;     /* exact: only the exponent changes */
        exp++;
    }
    unsigned long long m = (unsigned long long)a;
    static uint32_t limb[560];      /* 4933 digits: LDBL_MAX fits */
    int n = 0;
    while (m) {
        limb[n++] = m % 1000000000;
        m /= 1000000000;
    }
    while (exp > 0) {
        int sh = exp > 29 ? 29 : exp;
        uint64_t carry = 0;
        for (int i = 0; i < n; i++) {
            uint64_t x = ((uint64_t)limb[i] << sh) + carry;
            limb[i] = x % 1000000000;
            carry = x / 1000000000;
        }
        while (carry) {
            limb[n++] = carry % 1000000000;
            carry /= 1000000000;
        }
        exp -= sh;
    }
    int len = snprintf(buf, size, "%s%u", neg ? "-" : "", limb[n - 1]);
    for (int i = n - 2; i >= 0 && (size_t)len < size; i--)
        len += snprintf(buf + len, size - len, "%09u", limb[i]);
    return len;
}

/* printf("%.17Lf") with trailing zeros (and a bare '.') removed, as Redis'
 * ld2string(LD_STR_HUMAN); libos's printf has no long double. */
static int ld2str(char *buf, size_t size, long double v)
{
    int neg = v < 0;
    long double a = neg ? -v : v;
    if (a >= 18446744073709551616.0L)
        return big2str(buf, size, neg, a);
    /* a = m * 2^-k (below 2^64, k >= 0): the integer part, and the 17
     * digits of the fraction rounded to nearest, ties to even, as glibc's
     * printf rounds, from the exact (m's fraction bits) * 5^17 / 2^(k-17). */
    unsigned char raw[10];
    uint64_t m;
    memcpy(raw, &a, 10);
    memcpy(&m, raw, 8);
    int ex = (raw[8] | raw[9] << 8) & 0x7fff;
    long k = ex ? 16383 + 63 - ex : 16445;
    unsigned __int128 ip = 0;
    uint64_t frac = m;
    if (k < 64) {
        ip = m >> k;
        frac = k ? m & ((1ULL << k) - 1) : 0;
    }
    static const uint64_t e17 = 100000000000000000ULL;
    unsigned __int128 p = (unsigned __int128)frac * 762939453125ULL;  /* 5^17 */
    uint64_t q = 0;
    long sh = k - 17;
    if (sh <= 0) {
        q = (uint64_t)(p << -sh);
    } else if (sh <= 104) {
        /* Beyond 104 bits p (< 2^104) is below half a unit: q stays 0. */
        unsigned __int128 rest = p & (((unsigned __int128)1 << sh) - 1);
        unsigned __int128 half = (unsigned __int128)1 << (sh - 1);
        q = (uint64_t)(p >> sh);
        if (rest > half || (rest == half && (q & 1)))
            q++;
    }
    if (q == e17) {
        q = 0;
        ip++;
    }
    char digits[48];
    int nd = 0;
    do {
        digits[nd++] = (char)('0' + (int)(ip % 10));
        ip /= 10;
    } while (ip);
    int n = 0;
    if (neg && (size_t)n + 1 < size)
        buf[n++] = '-';
    while (nd && (size_t)n + 1 < size)
        buf[n++] = digits[--nd];
    if ((size_t)n + 19 < size) {
        n += snprintf(buf + n, size - n, ".%017llu", (unsigned long long)q);
        while (buf[n - 1] == '0')
            n--;
        if (buf[n - 1] == '.')
            n--;
    }
    buf[n] = 0;
    if (n == 2 && buf[0] == '-' && buf[1] == '0')
        return snprintf(buf, size, "0");
    return n;
}

static void cmd_incrbyfloat(struct client *c, int argc, struct arg *argv)
{
    long double v = 0, incr;
    struct obj *o;
    if (get_string(c, &argv[1], &o) < 0)
        return;
    if (o && str2ld(o->u.str->d, o->u.str->len, &v) < 0) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    if (str2ld(argv[2].p, argv[2].len, &incr) < 0) {
        reply_error(c, ERR_NOTFLOAT);
        return;
    }
    v += incr;
    if (__builtin_isnan(v) || __builtin_isinf(v)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    static char buf[5200];
    int n = ld2str(buf, sizeof(buf), v);
    if (!o) {
        o = lookup_or_create(c, &argv[1], T_STRING);
        if (!o)
            return;
        if (!(o->u.str = sval_new(buf, n))) {
            db_delete(cdb(c), argv[1].p, argv[1].len);
            reply_error(c, ERR_OOM);
            return;
        }
    } else if (sval_set(&o->u.str, buf, n) < 0) {
        reply_error(c, ERR_OOM);
        return;
    }
    touch_arg(c, &argv[1]);
    reply_bulk(c, buf, n);
}

/* Redis 7.0's encoding for a value of this shape with its default limits
 * (set-max-intset-entries 512, hash- and zset-max-listpack-entries 128,
 * -value 64). Redis keeps a big encoding once a value outgrew the small one
 * and marks strings changed in place (APPEND, SETRANGE) raw; kv keeps no
 * history, so it answers from the value as it is now. */
static const char *encoding_of(const struct obj *o)
{
    struct dict_iter it;
    struct dict_entry *e;
    long long ll;

    switch (o->type) {
    case T_STRING:
        if (o->u.str->len <= 20 && str2ll(o->u.str->d, o->u.str->len, &ll) == 0)
            return "int";
        return o->u.str->len <= 44 ? "embstr" : "raw";
    case T_LIST:
        return "quicklist";
    case T_SET:
        if (o->u.set.used > 512)
            return "hashtable";
        dict_iter_init(&it, &o->u.set);
        while ((e = dict_iter_next(&it)))
            if (str2ll(e->key, e->klen, &ll) < 0)
                return "hashtable";
        return "intset";
    case T_HASH:
        if (o->u.hash.used > 128)
            return "hashtable";
        dict_iter_init(&it, &o->u.hash);
        while ((e = dict_iter_next(&it))) {
            const struct sval *v = e->v.ptr;
            if (e->klen > 64 || v->len > 64)
                return "hashtable";
        }
        return "listpack";
    case T_ZSET:
        if (o->u.zset->len > 128)
            return "skiplist";
        dict_iter_init(&it, &o->u.zset->members);
        while ((e = dict_iter_next(&it)))
            if (e->klen > 64)
                return "skiplist";
        return "listpack";
    }
    return "unknown";
}

static void cmd_object(struct client *c, int argc, struct arg *argv)
{
    if (!arg_is(&argv[1], "encoding")) {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try OBJECT HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p);
        return;
    }
    if (argc != 3) {
        reply_error(c, "ERR wrong number of arguments for 'object|encoding' command");
        return;
    }
    struct obj *o = db_get(cdb(c), argv[2].p, argv[2].len);
    if (o)
        reply_bulk_str(c, encoding_of(o));
    else
        reply_null(c);
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE type]. The cursor is a bucket
 * index counted in reversed-bit order, as Redis' dictScan: a full iteration
 * returns every key present throughout it, even if the table grew or shrank
 * (a key may then come twice), and each exactly once when nothing changed. */
static void cmd_scan(struct client *c, int argc, struct arg *argv)
{
    unsigned long long cursor = 0;
    long long count = 10;
    const struct arg *match = NULL, *type = NULL;

    for (size_t i = 0; i < argv[1].len; i++) {
        char x = argv[1].p[i];
        if (x < '0' || x > '9' || cursor > (UINT64_MAX - (x - '0')) / 10) {
            reply_error(c, "ERR invalid cursor");
            return;
        }
        cursor = cursor * 10 + (x - '0');
    }
    if (argv[1].len == 0) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (arg_is(&argv[i], "count")) {
            if (arg_ll(c, &argv[i + 1], &count) < 0)
                return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (arg_is(&argv[i], "match")) {
            match = &argv[i + 1];
        } else if (arg_is(&argv[i], "type")) {
            type = &argv[i + 1];
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }

    struct dict *d = &cdb(c)->keys;
    struct dict_entry **found = NULL;
    size_t nfound = 0, cap = 0;
    if (d->size) {
        uint64_t mask = d->size - 1;
        /* Visit buckets until count keys came or the iteration ended; at
         * most 10 * count empty buckets per call, as Redis. */
        long long budget = count * 10;
        do {
            for (struct dict_entry *e = d->tab[cursor & mask]; e; e = e->next) {
                struct obj *o = e->v.ptr;
                if (o->expire && o->expire <= kv_now)
                    continue;
                if (match && !glob_match(match->p, match->len, e->key, e->klen, 0))
                    continue;
                if (type && !arg_is(type, obj_type_name(o->type)))
                    continue;
                if (nfound == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    struct dict_entry **n = realloc(found, ncap * sizeof(*n));
                    if (!n) {
                        free(found);
                        reply_error(c, ERR_OOM);
                        return;
                    }
                    found = n;
                    cap = ncap;
                }
                found[nfound++] = e;
            }
            cursor |= ~mask;
            cursor = rev64(rev64(cursor) + 1);
        } while (cursor && (long long)nfound < count && --budget > 0);
    } else {
        cursor = 0;
    }
    reply_array(c, 2);
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", cursor);
    reply_bulk(c, num, n);
    reply_array(c, nfound);
    for (size_t i = 0; i < nfound; i++)
        reply_bulk(c, found[i]->key, found[i]->klen);
    free(found);
}

/* MEMORY USAGE key [SAMPLES n]: an estimate of the bytes the key and its
 * value hold in kv's structures (redis-server's figure counts its own
 * allocator's sizes, so the numbers differ). */
static void cmd_memory(struct client *c, int argc, struct arg *argv)
{
    if (!arg_is(&argv[1], "usage")) {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try MEMORY HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p);
        return;
    }
    if (argc < 3) {
        reply_error(c, "ERR wrong number of arguments for 'memory|usage' command");
        return;
    }
    for (int i = 3; i < argc; i += 2) {
        long long samples;
        if (!arg_is(&argv[i], "samples") || i + 1 >= argc) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (arg_ll(c, &argv[i + 1], &samples) < 0)
            return;
        if (samples < 0) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    struct dict_entry *ke = db_find(cdb(c), argv[2].p, argv[2].len);
    if (!ke) {
        reply_null(c);
        return;
    }
    struct obj *o = ke->v.ptr;
    size_t n = sizeof(*ke) + ke->klen + 1 + sizeof(*o);
    struct dict_iter it;
    struct dict_entry *e;
    switch (o->type) {
    case T_STRING:
        n += sizeof(struct sval) + o->u.str->cap + 1;
        break;
    case T_LIST:
        n += o->u.list.cap * sizeof(struct sval *);
        for (size_t i = 0; i < o->u.list.len; i++)
            n += sizeof(struct sval) + list_at(&o->u.list, i)->cap + 1;
        break;
    case T_SET:
    case T_HASH:
        n += o->u.set.size * sizeof(struct dict_entry *);
        dict_iter_init(&it, &o->u.set);
        while ((e = dict_iter_next(&it))) {
            n += sizeof(*e) + e->klen + 1;
            if (o->type == T_HASH)
                n += sizeof(struct sval) + ((struct sval *)e->v.ptr)->cap + 1;
        }
        break;
    case T_ZSET:
        n += sizeof(struct zset) + o->u.zset->members.size * sizeof(struct dict_entry *);
        dict_iter_init(&it, &o->u.zset->members);
        while ((e = dict_iter_next(&it))) {
            const struct zs_node *x = e->v.ptr;
            n += sizeof(*e) + e->klen + 1 + sizeof(*x) + x->nlevel * sizeof(x->lv[0]);
        }
        break;
    }
    reply_int(c, n);
}

const struct command kv_extra_commands[] = {
    {"scan", cmd_scan, -2},
    {"memory", cmd_memory, -2},
    {"object", cmd_object, -2},
    {"time", cmd_time, 1},
    {"getrange", cmd_getrange, 4},
    {"substr", cmd_getrange, 4},
    {"setrange", cmd_setrange, 4},
    {"incrbyfloat", cmd_incrbyfloat, 3},
    {NULL, NULL, 0},
};
