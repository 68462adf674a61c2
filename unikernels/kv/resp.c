/*
 * RESP2 on the wire: the request parser (multibulk "*N\r\n$L\r\n..." and
 * inline "CMD arg ...\n" with Redis' quoting rules) and the reply encoder.
 *
 * The parser is resumable: when a request is cut short it records how far
 * it got in c->ps, and the next call, given the same request start with
 * more bytes behind it, continues from there. So a 1 MiB value arriving in
 * a thousand segments is not re-scanned a thousand times.
 *
 * A bulk string of KV_BIG_BULK bytes or more that arrives in pieces is
 * assembled in an sval of its own, straight from the segments, which SET
 * and the like keep as the value (arg_take): a large value is copied once
 * on its way in, as redis-server assembles one in its own sds. The
 * request's other arguments are then copied aside (c->held), so that the
 * parser consumes the input as it comes and nothing of it waits in c->in.
 *
 * Memory for a request is taken as its bytes arrive, never on the word of
 * a length header, and no request may be larger than kv_input_max: a
 * client announcing a large value and then stalling holds only what it
 * sent, and no one request takes more of the heap than that budget. A
 * request past the budget, or past what the heap can still hold, is read
 * and dropped as it arrives and answered -OOM (parse_discard).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/heap.h>
#include <libos/net.h>
#include <libos/hex.h>

#include "kv.h"

#define INLINE_MAX (64 * 1024)
#define MBULK_MAX (1024L * 1024)
#define BULK_MAX (512LL * 1024 * 1024)
#define BIG_BULK KV_BIG_BULK
/* An assembled bulk string's first allocation, at most: what one segment
 * with receive offload brings. It then doubles as bytes arrive, until
 * the whole string is at most BIG_AHEAD times the allocation: so a
 * request holds at most BIG_AHEAD times what arrived of it (or
 * BIG_AHEAD * BIG_FIRST), never the length its header claims. */
#define BIG_FIRST (64 * 1024)
#define BIG_AHEAD 4

/* While a request is parsed, argv[i].p holds an offset into the buffer;
 * in an assembled request (ps->own), one of these tags and an index. */
#define ARG_BIG  ((uintptr_t)1 << 63)   /* c->big[index] */
#define ARG_HELD ((uintptr_t)1 << 62)   /* c->held.p + index */

size_t kv_input_max = BULK_MAX;

const char *const ERR_WRONGTYPE =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
const char *const ERR_NOTINT = "ERR value is not an integer or out of range";
const char *const ERR_SYNTAX = "ERR syntax error";
const char *const ERR_OOM = "OOM command not allowed when used memory > 'maxmemory'.";
const char *const ERR_NOTFLOAT = "ERR value is not a valid float";
const char *const ERR_OVERFLOW = "ERR increment or decrement would overflow";

/* --- buffers --------------------------------------------------------------- */

static int buf_reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Empties b, and gives its memory back if it grew past keep. */
static void buf_clear(struct buf *b, size_t keep)
{
    b->len = 0;
    if (b->cap > keep) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
}

static int argv_reserve(struct client *c, size_t n)
{
    if (n <= c->argcap)
        return 0;
    size_t cap = c->argcap ? c->argcap : 16;
    while (cap < n)
        cap *= 2;
    struct arg *a = realloc(c->argv, cap * sizeof(*a));
    if (!a)
        return -1;
    c->argv = a;
    c->argcap = cap;
    return 0;
}

/* --- parser ---------------------------------------------------------------- */

static long line_len(const char *buf, size_t off, size_t len);

static void parse_reset(struct parse *ps)
{
    ps->argc = -1;
    ps->done = 0;
    ps->bulklen = -1;
    ps->off = 0;
    ps->discard = 0;
    ps->skip = 0;
    ps->own = 0;
    ps->fill = 0;
    ps->held_bytes = 0;
}

/* --- assembled requests ---------------------------------------------------- */

/* Frees the assembled arguments (those no command took). */
static void free_assembled(struct client *c)
{
    for (size_t i = 0; i < c->nbig; i++)
        free(c->big[i]);
    c->nbig = 0;
    c->big_next = 0;
    buf_clear(&c->held, 64 * 1024);
}

void resp_done(struct client *c)
{
    if (c->ps.argc < 0 && (c->nbig || c->held.len))
        free_assembled(c);
}

void resp_free(struct client *c)
{
    free_assembled(c);
    free(c->big);
    c->big = NULL;
    c->bigcap = 0;
    buf_clear(&c->held, 0);
}

struct sval *arg_take(struct client *c, const struct arg *a)
{
    /* Commands take their arguments in order: start after the last. */
    for (size_t k = 0; k < c->nbig; k++) {
        size_t i = (c->big_next + k) % c->nbig;
        struct sval *v = c->big[i];
        if (v && v->d == a->p && v->len == a->len) {
            c->big[i] = NULL;
            c->big_next = i + 1;
            return v;
        }
    }
    return NULL;
}

/* Copies argument i, at p, to c->held. */
static int hold_arg(struct client *c, long i, const char *p)
{
    size_t n = c->argv[i].len;
    if (buf_reserve(&c->held, n + 1) < 0)
        return -1;
    memcpy(c->held.p + c->held.len, p, n);
    c->argv[i].p = (const char *)(ARG_HELD | c->held.len);
    c->held.len += n;
    c->ps.held_bytes += n;
    return 0;
}

/* Starts assembling the request: the arguments parsed so far move from
 * buf to c->held, so that the caller may let go of buf. */
static int own_request(struct client *c, const char *buf)
{
    c->held.len = 0;
    for (long i = 0; i < c->ps.done; i++)
        if (hold_arg(c, i, buf + (uintptr_t)c->argv[i].p) < 0)
            return -1;
    c->ps.own = 1;
    return 0;
}

/* Starts assembling the bulk string whose header was just read. */
static int big_start(struct client *c)
{
    if (c->nbig == c->bigcap) {
        size_t cap = c->bigcap ? c->bigcap * 2 : 4;
        struct sval **b = realloc(c->big, cap * sizeof(*b));
        if (!b)
            return -1;
        c->big = b;
        c->bigcap = cap;
    }
    c->big[c->nbig++] = NULL;
    c->ps.fill = (size_t)c->ps.bulklen + 2;
    return 0;
}

/* Takes what buf[ps->off, len) has of the bulk string being assembled
 * (and its CRLF). 1 when it is complete, 0 for more input, -1 when out
 * of memory. */
static int big_fill(struct client *c, const char *buf, size_t len)
{
    struct parse *ps = &c->ps;
    struct sval **vp = &c->big[c->nbig - 1];
    size_t size = (size_t)ps->bulklen, have = *vp ? (*vp)->len : 0;
    size_t avail = len - ps->off;
    size_t take = size - have < avail ? size - have : avail;

    if (take) {
        size_t cap = *vp ? (*vp)->cap : 0;
        if (have + take > cap) {
            cap = cap ? cap * 2 : BIG_FIRST;
            if (cap < have + take)
                cap = have + take;
            /* Within a factor BIG_AHEAD of that, the whole string at
             * once: each growth may move (copy) what arrived so far,
             * and the last doublings would copy the most. */
            if (cap > size / BIG_AHEAD)
                cap = size;
            struct sval *v = realloc(*vp, sizeof(*v) + cap + 1);
            if (!v)
                return -1;
            v->len = have;
            v->cap = cap;
            *vp = v;
        }
        memcpy((*vp)->d + have, buf + ps->off, take);
        (*vp)->len = have + take;
        ps->off += take;
        ps->fill -= take;
        ps->held_bytes += take;
        avail -= take;
    }
    if (ps->fill > 2)
        return 0;
    /* The CRLF behind it, skipped unread as for any bulk string. */
    size_t crlf = ps->fill < avail ? ps->fill : avail;
    ps->off += crlf;
    ps->fill -= crlf;
    if (ps->fill)
        return 0;
    (*vp)->d[size] = 0;
    c->argv[ps->done].p = (const char *)(ARG_BIG | (c->nbig - 1));
    c->argv[ps->done].len = size;
    ps->bulklen = -1;
    ps->done++;
    return 1;
}

/* An assembled request returns what it consumed of buf (up to ps->off):
 * the next call's buffer starts there. */
static long assembled(struct client *c, long *argc)
{
    size_t used = c->ps.off;
    c->ps.off = 0;
    *argc = 0;
    return used;
}

/* Whether a request of need bytes can be held: within the input budget,
 * and with room in the heap to buffer it (and a reserve besides). */
static int can_hold(size_t need)
{
    size_t size = libos_heap_size(), used = libos_heap_used();
    size_t reserve = size / 16 > (1 << 20) ? size / 16 : (1 << 20);
    return need <= kv_input_max && used + need + reserve <= size;
}

/* Dropping a request (ps->discard): skip what is left of the current
 * bulk string, then whole bulk strings, reading their headers, until the
 * request ends; then answer -OOM as redis-server answers a write past
 * maxmemory. Bytes are consumed as they come, never buffered, so the
 * client may send the request at any pace. Returns the bytes consumed
 * (*argc 0), 0 for more input, -1 on a protocol error. */
static long parse_discard(struct client *c, const char *buf, size_t len,
                          size_t used, long *argc, char *err)
{
    struct parse *ps = &c->ps;
    long long ll;

    for (;;) {
        if (ps->skip) {
            size_t take = len - used < ps->skip ? len - used : ps->skip;
            used += take;
            ps->skip -= take;
            if (ps->skip)
                break;
        }
        if (ps->done == ps->argc) {
            parse_reset(ps);
            reply_error(c, ERR_OOM);
            if (c->multi)
                c->multi = 2;   /* as a refused command: EXEC aborts */
            break;
        }
        long n = line_len(buf, used, len);
        if (n < 0) {
            if (len - used > INLINE_MAX) {
                strcpy(err, "Protocol error: too big bulk count string");
                return -1;
            }
            break;
        }
        if (buf[used] != '$') {
            snprintf(err, PROTO_ERR_MAX, "Protocol error: expected '$', got '%c'",
                     buf[used]);
            return -1;
        }
        if (str2ll(buf + used + 1, n - 1, &ll) < 0 || ll < 0 || ll > BULK_MAX) {
            strcpy(err, "Protocol error: invalid bulk length");
            return -1;
        }
        used += n + 2;
        ps->skip = ll + 2;
        ps->done++;
    }
    ps->off = 0;    /* the next call's buffer starts where this one ended */
    *argc = 0;
    return used;
}

/* The line at buf[off..len) up to "\r\n": its length, or -1 if incomplete. */
static long line_len(const char *buf, size_t off, size_t len)
{
    const char *cr = memchr(buf + off, '\r', len - off);
    if (!cr || (size_t)(cr - buf) + 1 >= len)
        return -1;
    return cr - (buf + off);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Split an inline line like Redis' sdssplitargs(): whitespace separates,
 * "double" quotes take C escapes and \xHH, 'single' quotes take only \'.
 * Returns argc or -1 for unbalanced quotes. */
static long split_inline(struct client *c, const char *p, size_t n)
{
    c->scratch.len = 0;
    if (buf_reserve(&c->scratch, n + 1) < 0)
        return -1;
    char *out = c->scratch.p;
    size_t i = 0, argc = 0;

    for (;;) {
        while (i < n && is_space(p[i]))
            i++;
        if (i == n)
            return argc;
        if (argv_reserve(c, argc + 1) < 0)
            return -1;
        char *start = out;
        int dq = 0, sq = 0, done = 0;
        while (!done) {
            if (dq) {
                if (i == n)
                    return -1;
                if (p[i] == '\\' && i + 3 < n && p[i + 1] == 'x' &&
                    libos_hexval(p[i + 2]) >= 0 && libos_hexval(p[i + 3]) >= 0) {
                    *out++ = libos_hexval(p[i + 2]) * 16 + libos_hexval(p[i + 3]);
                    i += 3;
                } else if (p[i] == '\\' && i + 1 < n) {
                    char e = p[++i];
                    *out++ = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t'
                           : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
                } else if (p[i] == '"') {
                    if (i + 1 < n && !is_space(p[i + 1]))
                        return -1;
                    done = 1;
                } else {
                    *out++ = p[i];
                }
            } else if (sq) {
                if (i == n)
                    return -1;
                if (p[i] == '\\' && i + 1 < n && p[i + 1] == '\'') {
                    *out++ = '\'';
                    i++;
                } else if (p[i] == '\'') {
                    if (i + 1 < n && !is_space(p[i + 1]))
                        return -1;
                    done = 1;
                } else {
                    *out++ = p[i];
                }
            } else {
                if (i == n || is_space(p[i]))
                    break;
                if (p[i] == '"')
                    dq = 1;
                else if (p[i] == '\'')
                    sq = 1;
                else
                    *out++ = p[i];
            }
            if (i < n)
                i++;
        }
        c->argv[argc].p = start;
        c->argv[argc].len = out - start;
        argc++;
    }
}

static long parse_inline(struct client *c, const char *buf, size_t len,
                         long *argc, char *err)
{
    const char *nl = memchr(buf, '\n', len);
    if (!nl) {
        if (len > INLINE_MAX) {
            strcpy(err, "Protocol error: too big inline request");
            return -1;
        }
        return 0;
    }
    size_t n = nl - buf;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    long a = split_inline(c, buf, n);
    if (a < 0) {
        strcpy(err, "Protocol error: unbalanced quotes in request");
        return -1;
    }
    *argc = a;
    return nl - buf + 1;
}

static long parse_multibulk(struct client *c, const char *buf, size_t len,
                            long *argc, char *err)
{
    struct parse *ps = &c->ps;
    long long ll;

    if (ps->discard)
        return parse_discard(c, buf, len, 0, argc, err);
    if (ps->argc < 0) {
        long n = line_len(buf, 1, len);
        if (n < 0) {
            if (len > INLINE_MAX) {
                strcpy(err, "Protocol error: too big mbulk count string");
                return -1;
            }
            return 0;
        }
        if (str2ll(buf + 1, n, &ll) < 0 || ll > MBULK_MAX) {
            strcpy(err, "Protocol error: invalid multibulk length");
            return -1;
        }
        ps->off = 1 + n + 2;
        if (ll <= 0) {
            size_t used = ps->off;
            parse_reset(ps);
            *argc = 0;
            return used;
        }
        ps->argc = ll;
        ps->done = 0;
        ps->bulklen = -1;
        if (argv_reserve(c, ll < 1024 ? ll : 1024) < 0) {
            strcpy(err, "Protocol error: out of memory");
            return -1;
        }
    }
    while (ps->done < ps->argc) {
        if (ps->fill) {
            int r = big_fill(c, buf, len);
            if (r < 0) {
                strcpy(err, "Protocol error: out of memory");
                return -1;
            }
            if (r == 0)
                return assembled(c, argc);
            continue;
        }
        size_t header = ps->off;
        if (ps->bulklen < 0) {
            long n = line_len(buf, ps->off, len);
            if (n < 0) {
                if (len - ps->off > INLINE_MAX) {
                    strcpy(err, "Protocol error: too big bulk count string");
                    return -1;
                }
                return ps->own ? assembled(c, argc) : 0;
            }
            if (buf[ps->off] != '$') {
                snprintf(err, PROTO_ERR_MAX, "Protocol error: expected '$', got '%c'",
                         buf[ps->off]);
                return -1;
            }
            /* Like redis-server past proto-max-bulk-len. */
            if (str2ll(buf + ps->off + 1, n - 1, &ll) < 0 || ll < 0 ||
                ll > BULK_MAX) {
                strcpy(err, "Protocol error: invalid bulk length");
                return -1;
            }
            ps->off += n + 2;
            if (!can_hold(ps->held_bytes + ps->off + (size_t)ll + 2)) {
                /* Too large to hold: drop it as it arrives, answer -OOM. */
                free_assembled(c);
                ps->own = 0;
                ps->discard = 1;
                ps->skip = ll + 2;
                ps->done++;
                return parse_discard(c, buf, len, ps->off, argc, err);
            }
            ps->bulklen = ll;
        }
        if (argv_reserve(c, ps->done + 1) < 0) {
            strcpy(err, "Protocol error: out of memory");
            return -1;
        }
        if (len - ps->off < (size_t)ps->bulklen + 2) {
            if (ps->bulklen >= BIG_BULK) {
                if ((!ps->own && own_request(c, buf) < 0) || big_start(c) < 0) {
                    strcpy(err, "Protocol error: out of memory");
                    return -1;
                }
                continue;
            }
            if (!ps->own)
                return 0;
            /* A small argument cut short: read again from its header. */
            ps->bulklen = -1;
            ps->off = header;
            return assembled(c, argc);
        }
        c->argv[ps->done].len = ps->bulklen;
        if (ps->own) {
            if (hold_arg(c, ps->done, buf + ps->off) < 0) {
                strcpy(err, "Protocol error: out of memory");
                return -1;
            }
        } else {
            /* Offsets for now: buf may move before the request completes. */
            c->argv[ps->done].p = (const char *)(uintptr_t)ps->off;
        }
        ps->off += ps->bulklen + 2;
        ps->bulklen = -1;
        ps->done++;
    }
    for (long i = 0; i < ps->argc; i++) {
        uintptr_t at = (uintptr_t)c->argv[i].p;
        if (!ps->own)
            c->argv[i].p = buf + at;
        else if (at & ARG_BIG)
            c->argv[i].p = c->big[at & ~ARG_BIG]->d;
        else
            c->argv[i].p = c->held.p + (at & ~ARG_HELD);
    }
    *argc = ps->argc;
    size_t used = ps->off;
    parse_reset(ps);
    return used;
}

size_t resp_want(const struct client *c)
{
    if (c->ps.argc < 0 || c->ps.bulklen < 0 || c->ps.own)
        return 0;
    return c->ps.off + c->ps.bulklen + 2;
}

long resp_parse(struct client *c, const char *buf, size_t len, long *argc,
                char err[PROTO_ERR_MAX])
{
    if (len == 0)
        return 0;
    if (c->ps.argc < 0 && buf[0] != '*') {
        parse_reset(&c->ps);
        return parse_inline(c, buf, len, argc, err);
    }
    return parse_multibulk(c, buf, len, argc, err);
}

/* --- replies --------------------------------------------------------------- */

/* No memory for a reply: if none of the command's reply went out yet,
 * cmd_dispatch() replaces it with -OOM; else the reply cannot be
 * finished in order any more: hang up. */
static void reply_failed(struct client *c)
{
    if (kv_dispatch_depth > 0 && !c->reply_sent)
        c->reply_oom = 1;
    else
        c->closing = 1;
}

void reply_raw(struct client *c, const void *p, size_t len)
{
    if (c->reply_oom)
        return;
    if (buf_reserve(&c->out, len) < 0) {
        reply_failed(c);
        return;
    }
    memcpy(c->out.p + c->out.len, p, len);
    c->out.len += len;
}

void reply_flush(struct client *c)
{
    if (c->out.len && kv_dispatch_depth > 0)
        c->reply_sent = 1;
    if (c->out.len && conn_write(c->conn, c->out.p, c->out.len) < 0)
        c->closing = 1;
    buf_clear(&c->out, 1024 * 1024);
}

static void reply_prefixed(struct client *c, char prefix, long long v)
{
    char b[32];
    b[0] = prefix;
    int n = 1 + ll2str(b + 1, v);
    b[n++] = '\r';
    b[n++] = '\n';
    reply_raw(c, b, n);
}

void reply_status(struct client *c, const char *s)
{
    reply_raw(c, "+", 1);
    reply_raw(c, s, strlen(s));
    reply_raw(c, "\r\n", 2);
}

void reply_ok(struct client *c)
{
    reply_raw(c, "+OK\r\n", 5);
}

void reply_error(struct client *c, const char *err)
{
    /* A reply line cannot hold CR or LF: replace them like Redis does. */
    size_t n = strlen(err);
    reply_raw(c, "-", 1);
    for (size_t i = 0; i < n; i++) {
        char ch = err[i] == '\r' || err[i] == '\n' ? ' ' : err[i];
        reply_raw(c, &ch, 1);
    }
    reply_raw(c, "\r\n", 2);
}

void reply_errorf(struct client *c, const char *fmt, ...)
{
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    reply_error(c, b);
}

void reply_int(struct client *c, long long v)
{
    if (v == 0) {
        reply_raw(c, ":0\r\n", 4);
        return;
    }
    if (v == 1) {
        reply_raw(c, ":1\r\n", 4);
        return;
    }
    reply_prefixed(c, ':', v);
}

void reply_array(struct client *c, long long n)
{
    reply_prefixed(c, '*', n);
}

void reply_bulk(struct client *c, const char *p, size_t len)
{
    if (c->reply_oom)
        return;
    if (len < BIG_BULK) {
        /* The common case, in one reservation: "$<len>\r\n<bytes>\r\n". */
        if (buf_reserve(&c->out, len + 32) < 0) {
            reply_failed(c);
            return;
        }
        char *o = c->out.p + c->out.len;
        *o++ = '$';
        o += ll2str(o, len);
        *o++ = '\r';
        *o++ = '\n';
        memcpy(o, p, len);
        o += len;
        *o++ = '\r';
        *o++ = '\n';
        c->out.len = o - c->out.p;
        return;
    }
    /* A large value goes to libos directly instead of through the reply
     * buffer; flushing first keeps replies in order. */
    reply_prefixed(c, '$', len);
    if (c->reply_oom || c->closing)
        return;
    reply_flush(c);
    if (conn_write(c->conn, p, len) < 0)
        c->closing = 1;
    reply_raw(c, "\r\n", 2);
}

void reply_bulk_str(struct client *c, const char *s)
{
    reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(struct client *c, long long v)
{
    char b[24];
    reply_bulk(c, b, ll2str(b, v));
}

void reply_bulk_double(struct client *c, double d)
{
    char b[40];
    reply_bulk(c, b, double2str(b, d));
}

void reply_null(struct client *c)
{
    reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(struct client *c)
{
    reply_raw(c, "*-1\r\n", 5);
}
