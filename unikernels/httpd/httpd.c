/*
 * httpd: serves the files of the rootfs image over HTTP/1.1.
 *
 * One struct client per connection. Requests are parsed from its input
 * buffer and answered in order: a response from memory (error pages,
 * cached small files) is queued at once; a large file is streamed, a chunk
 * at a time, from the writable() callback while libos's output queue is
 * short, and the requests pipelined behind it wait until its last byte is
 * queued.
 *
 * Options: --port=N (default 80), --root=DIR (serve a subtree of the image).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libos/libos.h>
#include <libos/net.h>
#include <libos/fs.h>
#include <libos/heap.h>

#include "httpd.h"

/* Stream chunk size, and how much output to keep queued while streaming:
 * enough to cover the peer's window between two writable() calls. */
#define CHUNK           (64 * 1024)
#define STREAM_HIGH     (4 * CHUNK)
/* Input buffered while a response streams; beyond it, stop reading. */
#define INPUT_PAUSE     (2 * HTTP_MAX_HEADER)

/*
 * Memory for downloads. A streamed response keeps up to its "high" bytes
 * queued (lwIP's segments and libos's chunks hold them until the client
 * acknowledges), so many slow clients could ask for more than the heap
 * has, and a download would be cut short mid-body. Before its headers go
 * out each stream reserves what its high mark costs from a budget (3/5
 * of the heap left free at start). The high mark is a fair share of the
 * budget among the streams and the requests waiting for one, between
 * STREAM_MIN and STREAM_MAX: a few downloads go at full speed, many go
 * slower (as fast as a slow client takes them anyway). Running streams
 * move to the fair share as their clients take data: down when others
 * wait (their charge falls as their queue drains below the new mark), up
 * when the budget has room. A request that finds no room waits, its
 * connection kept, until streams end or shrink; after STREAM_WAIT it is
 * answered 503 with Retry-After, before any byte of the file. Should
 * memory still run out mid-body (something else took it), the stream
 * waits for memory and resumes where it was; the send timeout
 * (--idle-timeout) ends a wait that never does.
 */
#define STREAM_MAX      (STREAM_HIGH + CHUNK)
#define STREAM_MIN      (32 * 1024)
#define STREAM_WAIT     20000   /* ms a request waits for room */
#define RETRY_MS        50      /* waiting streams and requests try again */
static size_t stream_budget, stream_reserved;
static unsigned streams, waiting;   /* clients with a stream, waiting for one */
static int retry_armed;

struct client {
    struct client *prev, *next;     /* all clients, for the timeouts */
    uint64_t since;             /* ms: input idle or a request begun */
    int in_request;             /* part of a request's header is here */
    struct conn *c;
    char *in;                   /* unparsed input: in[off, len) */
    size_t off, len, cap;
    uint64_t skip;              /* request body bytes still to discard */
    struct fs_file *file;       /* response body being streamed */
    uint64_t pos, end;
    size_t high;                /* output the stream may keep queued */
    size_t charge;              /* of the budget, for high and what is queued */
    int starved;                /* the stream waits for memory */
    int waiting;                /* the request waits for a stream's room */
    uint64_t wait_since;        /* ms */
    enum { OPEN, CLOSE_AFTER_STREAM, CLOSING } closing;
    int paused;
};

/* Timeouts, as nginx's: a client that sent part of a request's header
 * section has header_timeout to send the rest (client_header_timeout);
 * one between requests is closed after idle_timeout (keepalive_timeout);
 * one that takes none of a response for idle_timeout is closed
 * (send_timeout). Milliseconds; --header-timeout=S, --idle-timeout=S. */
static uint64_t header_timeout = 60000, idle_timeout = 75000;
#define SWEEP_MS        1000
static struct client *clients, *clients_tail;

static const char *root = "";   /* prefix of every served path */
static struct request req;      /* one at a time: single-threaded */
static char out[CACHE_MAX_FILE + 4 * HTTP_MAX_LINE];   /* headers + body */
static char chunk[CHUNK];
/* send_small() reads a whole cacheable file into chunk. */
_Static_assert(CACHE_MAX_FILE <= CHUNK, "a cacheable file must fit chunk");
static char pathbuf[2 * HTTP_MAX_LINE];

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

/* RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
static void format_date(time_t t, char *buf, size_t size)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 GMT");
        return;
    }
    snprintf(buf, size, "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
            days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
            tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Now, formatted once a second. The wall clock is read at most once per
 * round of the event loop (a system call each, and a round may answer
 * many requests): the Date of a response lags by at most the round's run
 * time so far, as the monotonic time does (libos_round_ms). */
static const char *http_date(void)
{
    static char buf[64];
    static time_t last = -1, now;
    static uint64_t read_at = UINT64_MAX;

    if (libos_round_ms() != read_at) {
        read_at = libos_round_ms();
        now = time(NULL);
    }
    if (now != last) {
        format_date(now, buf, sizeof buf);
        last = now;
    }
    return buf;
}

/* Format the status line and headers into out; returns their length, or
 * 0 if they do not fit (extra, a Location, is at most 3 * HTTP_MAX_LINE,
 * so they always should). */
static size_t header(int status, const char *type, uint64_t length,
        int keep_alive, const char *extra)
{
    char content[160] = "";

    /* A 304 describes the 200 it stands for by its validators only. */
    if (status != 304)
        snprintf(content, sizeof content,
                "Content-Type: %s\r\nContent-Length: %llu\r\n", type,
                (unsigned long long)length);
    int n = snprintf(out, sizeof out,
            "HTTP/1.1 %d %s\r\n"
            "Server: runnc-httpd\r\n"
            "Date: %s\r\n"
            "%s"
            "%s"
            "%s"
            "\r\n",
            status, reason(status), http_date(), content,
            !keep_alive ? "Connection: close\r\n" :
            req.minor == 0 ? "Connection: keep-alive\r\n" : "",
            extra ? extra : "");

    /* snprintf's result is what it would have written, not what it did. */
    if (n < 0 || (size_t)n >= sizeof out)
        return 0;
    return n;
}

/* Queue a response whose body is in memory (omitted for HEAD). */
static int respond(struct client *cl, int status, const char *type,
        const void *body, size_t len, int keep_alive, int head,
        const char *extra)
{
    size_t n = header(status, type, len, keep_alive, extra);

    if (n == 0)
        return -1;
    if (!head && len > 0) {
        if (n + len <= sizeof out) {
            memcpy(out + n, body, len);
            n += len;
        } else if (conn_write(cl->c, out, n) < 0) {
            return -1;
        } else {
            n = 0;
            if (conn_write(cl->c, body, len) < 0)
                return -1;
        }
    }
    if (n > 0 && conn_write(cl->c, out, n) < 0)
        return -1;
    return 0;
}

/* Marks the start of an idle wait or of a request (process()). The
 * round's time, not the clock's (a system call per request otherwise):
 * timeouts are seconds, a round milliseconds, and sweep() compares with
 * the round's time too. */
static void touch(struct client *cl)
{
    cl->since = libos_round_ms();
}

/* End the connection once what is queued is sent. */
static void close_conn(struct client *cl)
{
    cl->closing = CLOSING;
    conn_close(cl->c);
}

static void respond_error(struct client *cl, int status, int keep_alive,
        int head)
{
    char body[64];
    int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    const char *extra = status == 405 ? "Allow: GET, HEAD\r\n" :
            status == 503 ? "Retry-After: 1\r\n" : NULL;

    if (respond(cl, status, "text/plain; charset=utf-8", body, n,
                keep_alive, head, extra) < 0 || !keep_alive)
        close_conn(cl);
}

/* What log_pressure() tells. */
enum pressure { WAIT_ROOM, REFUSED, STARVED, LOST, NPRESSURE };

/* Log a line about memory, of each kind at most one a second: many
 * clients meet the same shortage at once. */
static void log_pressure(enum pressure kind, const char *fmt, ...)
{
    static uint64_t last[NPRESSURE];
    static unsigned held[NPRESSURE];
    uint64_t now = libos_round_ms();
    char line[256];
    va_list ap;

    if (last[kind] != 0 && now - last[kind] < 1000) {
        held[kind]++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (held[kind] > 0)
        libos_log("%s (and %u more since the last such line)\n", line,
                held[kind]);
    else
        libos_log("%s\n", line);
    last[kind] = now;
    held[kind] = 0;
}

/* What a stream with high mark h costs: the bytes, and lwIP's segment
 * and libos's chunk headers and rounding. */
static size_t stream_cost(size_t h)
{
    return h + h / 8 + 4096;
}

/* The high mark every stream should have now, with n streams and
 * requests waiting for one. */
static size_t fair_share(unsigned n)
{
    size_t share = stream_budget / (n ? n : 1);

    if (share > STREAM_MAX)
        share = STREAM_MAX;
    if (share < STREAM_MIN)
        share = STREAM_MIN;
    return share;
}

static void retry_waiting(void *arg);

static void arm_retry(uint64_t ms)
{
    if (!retry_armed && libos_timer(ms, retry_waiting, NULL) == 0)
        retry_armed = 1;
}

/* Reserve a high mark for cl's new stream: its fair share, if the budget
 * has room for it; 0 if not. */
static size_t stream_reserve(struct client *cl)
{
    size_t share = fair_share(streams + waiting + !cl->waiting);

    if (stream_reserved + stream_cost(share) > stream_budget)
        return 0;
    cl->charge = stream_cost(share);
    stream_reserved += cl->charge;
    streams++;
    return share;
}

/* Move a running stream's high mark to the fair share, as far as the
 * budget allows, and its charge to cover the mark and what is queued
 * (which only shrinks until the next stream_fill()). */
static void stream_rebalance(struct client *cl)
{
    size_t pending = conn_pending(cl->c);
    size_t high = fair_share(streams + waiting);
    size_t charge = stream_cost(high > pending ? high : pending);

    if (charge > cl->charge &&
            stream_reserved - cl->charge + charge > stream_budget) {
        high = cl->high;        /* no room to grow now */
        charge = stream_cost(high > pending ? high : pending);
    }
    stream_reserved = stream_reserved - cl->charge + charge;
    if (charge < cl->charge && waiting > 0)
        arm_retry(RETRY_MS);    /* room for a waiting request, maybe */
    cl->charge = charge;
    cl->high = high;
}

static void stream_release(struct client *cl)
{
    if (cl->high > 0) {
        stream_reserved -= cl->charge;
        streams--;
        cl->high = 0;
        cl->charge = 0;
        if (waiting > 0)
            arm_retry(0);
    }
}

static void wait_end(struct client *cl)
{
    if (cl->waiting) {
        cl->waiting = 0;
        waiting--;
    }
}

/* Is there memory to queue len more bytes of output now? Surely, with
 * plenty free; else a probe: the block is freed at once, and the
 * conn_write() that follows finds it again (nothing else runs in
 * between). */
static int can_queue(size_t len)
{
    if (libos_heap_size() - libos_heap_used() > 64 * stream_cost(len))
        return 1;
    void *p = malloc(stream_cost(len));

    free(p);
    return p != NULL;
}

static void stream_stop(struct client *cl)
{
    if (cl->file != NULL) {
        fs_close(cl->file);
        cl->file = NULL;
    }
    stream_release(cl);
    cl->starved = 0;
}

/* Queue file data while less than the stream's high mark is queued. A
 * read error after the headers went out cannot be reported: closing
 * early is the only way to tell the client the body is incomplete. Out
 * of memory, the stream waits (retry_waiting()) and goes on from the
 * byte that did not fit. */
static void stream_fill(struct client *cl)
{
    if (cl->file != NULL)
        stream_rebalance(cl);
    while (cl->file != NULL) {
        size_t pending = conn_pending(cl->c);
        uint64_t left = cl->end - cl->pos;
        size_t want = left < CHUNK ? left : CHUNK;
        if (want > cl->high)
            want = cl->high;
        if (pending + want > cl->high)
            return;
        long n = fs_read(cl->file, cl->pos, chunk, want);
        if (n <= 0) {
            libos_log("httpd: read error at byte %llu of %llu: %ld\n",
                    (unsigned long long)cl->pos,
                    (unsigned long long)cl->end, n);
            stream_stop(cl);
            close_conn(cl);
            return;
        }
        errno = 0;
        if (conn_write(cl->c, chunk, n) < 0) {
            /* Part may have been queued: conn_pending() counts it (no
             * ACK can come in during the call). */
            size_t now = conn_pending(cl->c);
            if (now > pending)
                cl->pos += now - pending;
            if (errno != ENOMEM) {
                /* The connection is gone (reset, or failed). */
                libos_log("httpd: connection lost at byte %llu of %llu of "
                        "a download\n", (unsigned long long)cl->pos,
                        (unsigned long long)cl->end);
                stream_stop(cl);
                close_conn(cl);
                return;
            }
            if (!cl->starved)
                log_pressure(STARVED, "httpd: out of memory at byte %llu "
                        "of %llu of a download: it waits for memory (heap "
                        "%zu of %zu KiB in use)", (unsigned long long)cl->pos,
                        (unsigned long long)cl->end,
                        libos_heap_used() / 1024, libos_heap_size() / 1024);
            cl->starved = 1;
            arm_retry(RETRY_MS);
            return;
        }
        cl->starved = 0;
        cl->pos += n;
        if (cl->pos == cl->end)
            stream_stop(cl);
    }
}

/* Percent-encode a path for a Location header. */
static void encode_path(const char *p, char *dst, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (; *p && n + 4 < size; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || strchr("/-._~", c)) {
            dst[n++] = c;
        } else {
            dst[n++] = '%';
            dst[n++] = hex[c >> 4];
            dst[n++] = hex[c & 15];
        }
    }
    dst[n] = '\0';
}

/*
 * The status for a filesystem error, as nginx's (ngx_http_static_module):
 * not there, 404; a symlink that leads out of the image (the library OS
 * refuses it: EACCES) or round in a loop (ELOOP), 403; short of memory,
 * 503 (try again later); anything else, 500.
 */
static int status_of(int err)
{
    switch (err) {
    case 0:
        return 0;
    case -ENOENT:
    case -ENOTDIR:
    case -ENAMETOOLONG:     /* a name too long for any file */
        return 404;
    case -EACCES:
    case -ELOOP:
        return 403;
    case -ENOMEM:
        return 503;
    }
    return 500;
}

/*
 * Map a request path to a file in pathbuf: "--root" prepended, a
 * directory to its index.html. Returns 0 with st filled, or the status to
 * answer (301 when a directory was named without its trailing '/', 414
 * when the name with the root is longer than pathbuf: cut short, it would
 * name another file).
 */
static int resolve(const char *path, struct fs_stat *st)
{
    size_t pl = strlen(path);
    int dir = pl > 1 && path[pl - 1] == '/';

    /* The filesystem wants no trailing '/'; "/" itself stays. */
    int n = snprintf(pathbuf, sizeof pathbuf, "%s%.*s", root, (int)(pl - dir),
            path);
    if (n < 0 || (size_t)n >= sizeof pathbuf)
        return 414;
    if (pathbuf[0] == '\0')
        strcpy(pathbuf, "/");
    int err = fs_stat(pathbuf, st);
    /* A file named as a directory ("/index.html/") is not there, as for
     * nginx. */
    if (err == 0 && !st->is_dir && dir)
        return 404;
    if (err == 0 && st->is_dir) {
        if (path[pl - 1] != '/')
            return 301;
        size_t used = strlen(pathbuf);
        n = snprintf(pathbuf + used, sizeof pathbuf - used, "%s",
                pathbuf[1] ? "/index.html" : "index.html");
        if (n < 0 || (size_t)n >= sizeof pathbuf - used)
            return 414;
        err = fs_stat(pathbuf, st);
        if (err == 0 && st->is_dir)
            return 403;
        if (err == -ENOENT)
            return 403;     /* a directory without an index: no listings */
    }
    return status_of(err);
}

static int redirect_to_dir(struct client *cl, const char *path, int ka,
        int head)
{
    static char loc[3 * HTTP_MAX_LINE + 16];
    static char enc[3 * HTTP_MAX_LINE];

    encode_path(path, enc, sizeof enc);
    snprintf(loc, sizeof loc, "Location: %s/\r\n", enc);
    return respond(cl, 301, "text/plain; charset=utf-8",
            "301 Moved Permanently\n", 22, ka, head, loc);
}

/* What one GET or HEAD answers: the status, the part of the file, and
 * the validators and range headers (extra), shared by the paths below. */
struct answer {
    int status;                 /* 200 or 206 */
    uint64_t first, len;        /* the bytes of the file sent */
    char extra[256];
};

/* A small file: read whole, cached, sent with its headers in one write. */
static int send_small(struct client *cl, const char *key, struct fs_file *f,
        uint64_t size, int64_t mtime, const char *type,
        const struct answer *a, int ka, int head)
{
    uint64_t got = 0;

    while (got < size) {
        long n = fs_read(f, got, chunk + got, size - got);
        if (n <= 0)
            break;
        got += n;
    }
    fs_close(f);
    if (got != size) {
        respond_error(cl, 500, ka, head);
        return 0;
    }
    cache_put(key, chunk, size, type, mtime);
    return respond(cl, a->status, type, chunk + a->first, a->len, ka, head,
            a->extra);
}

/* A large file: headers now, the body from stream_fill(), which keeps
 * up to high bytes queued (reserved by the caller; released here on
 * failure or by stream_stop()). */
static int send_stream(struct client *cl, struct fs_file *f,
        const char *type, const struct answer *a, int ka, int head,
        size_t high)
{
    size_t n = header(a->status, type, a->len, ka, a->extra);

    cl->high = high;
    if (n == 0 || conn_write(cl->c, out, n) < 0) {
        stream_release(cl);
        fs_close(f);
        return -1;
    }
    if (head || a->len == 0) {
        stream_release(cl);
        fs_close(f);
        return 0;
    }
    cl->file = f;
    cl->pos = a->first;
    cl->end = a->first + a->len;
    stream_fill(cl);
    /* The rest of the body is queued later; close after it (process()). */
    if (!ka && cl->closing == OPEN)
        cl->closing = CLOSE_AFTER_STREAM;
    return 0;
}

/* Does the list of entity tags in an If-None-Match match etag? */
static int etag_listed(const char *list, const char *etag)
{
    size_t el = strlen(etag);

    for (const char *p = list; *p; ) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;         /* weak comparison, as for GET (RFC 9110 13.1.2) */
        if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' ||
                    p[el] == ' ' || p[el] == '\t'))
            return 1;
        while (*p && *p != ',')
            p++;
    }
    return 0;
}

/*
 * The validators of a file (nginx's: ETag "mtime-size" in hex, and
 * Last-Modified) and what the request's conditions and range make of
 * it: 304 (not modified), 416 (no byte of the range exists), or 0 with a
 * filled in (200 or 206).
 */
static int answer_for(const struct request *r, uint64_t size, int64_t mtime,
        struct answer *a)
{
    char etag[48], lastmod[40];
    int n;

    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)mtime,
            (unsigned long long)size);
    format_date((time_t)mtime, lastmod, sizeof lastmod);
    n = snprintf(a->extra, sizeof a->extra,
            "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n",
            lastmod, etag);
    if (r->if_none_match[0] != '\0' ? etag_listed(r->if_none_match, etag) :
            strcmp(r->if_modified_since, lastmod) == 0)
        return 304;
    a->status = 200;
    a->first = 0;
    a->len = size;
    if (!r->has_range)
        return 0;
    uint64_t first, last;
    if (r->range_first < 0) {               /* the last range_last bytes */
        if (r->range_last == 0 || size == 0)
            goto unsatisfiable;
        first = (uint64_t)r->range_last >= size ? 0 : size - r->range_last;
        last = size - 1;
    } else {
        if ((uint64_t)r->range_first >= size)
            goto unsatisfiable;
        first = r->range_first;
        last = r->range_last < 0 || (uint64_t)r->range_last >= size ?
                size - 1 : (uint64_t)r->range_last;
    }
    a->status = 206;
    a->first = first;
    a->len = last - first + 1;
    snprintf(a->extra + n, sizeof a->extra - n,
            "Content-Range: bytes %llu-%llu/%llu\r\n",
            (unsigned long long)first, (unsigned long long)last,
            (unsigned long long)size);
    return 0;
unsatisfiable:
    snprintf(a->extra + n, sizeof a->extra - n,
            "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
    return 416;
}

/*
 * Before the headers of a body of len bytes: is there memory to send it?
 * A stream (high non-NULL) reserves its high mark from the budget, or
 * waits for room (returns -1: the caller leaves the request unanswered,
 * to be tried again); every body needs its first write's worth free now.
 * On no, logs why and returns 0: the caller answers 503, and no byte of
 * the body is sent. 1: go on.
 */
static int memory_for(struct client *cl, const struct request *r,
        size_t *high, uint64_t len)
{
    size_t first = len < CHUNK ? (size_t)len : CHUNK;

    if (high != NULL && (*high = stream_reserve(cl)) == 0) {
        uint64_t now = libos_round_ms();
        if (!cl->waiting) {
            cl->waiting = 1;
            cl->wait_since = now;
            waiting++;
            log_pressure(WAIT_ROOM, "httpd: %.200s waits for room: %u "
                    "downloads hold the %zu KiB for them (heap %zu of %zu "
                    "KiB in use)", r->path, streams, stream_budget / 1024,
                    libos_heap_used() / 1024, libos_heap_size() / 1024);
        }
        if (now - cl->wait_since < STREAM_WAIT)
            return -1;
        wait_end(cl);
        log_pressure(REFUSED, "httpd: 503 for %.200s after %d s: %u "
                "downloads hold the %zu KiB for them", r->path,
                STREAM_WAIT / 1000, streams, stream_budget / 1024);
        return 0;
    }
    wait_end(cl);
    if (high != NULL && first > *high)
        first = *high;
    if (!can_queue(first + 1024)) {
        if (high != NULL) {
            cl->high = *high;
            stream_release(cl);
        }
        log_pressure(REFUSED, "httpd: 503 for %.200s: out of memory (heap "
                "%zu of %zu KiB in use)", r->path, libos_heap_used() / 1024,
                libos_heap_size() / 1024);
        return 0;
    }
    return 1;
}

/* Answer a GET or HEAD; 1 if it must wait for room for its stream,
 * nothing sent. */
static int serve(struct client *cl, const struct request *r)
{
    static struct answer a;
    int head = r->method == HTTP_HEAD;
    int ka = r->keep_alive;
    const struct cached *hit = cache_get(r->path);
    struct fs_stat st;
    struct fs_file *f = NULL;
    size_t high = 0;            /* reserved by memory_for(); HEAD none */
    int status, err, room;

    if (hit == NULL) {
        if ((status = resolve(r->path, &st)) == 301) {
            err = redirect_to_dir(cl, r->path, ka, head);
            goto done;
        }
        if (status == 0)
            status = status_of(fs_open(pathbuf, &f));
        if (status != 0) {
            respond_error(cl, status, ka, head);
            return 0;
        }
    }
    uint64_t size = hit ? hit->len : fs_size(f);
    status = answer_for(r, size, hit ? hit->mtime : st.mtime, &a);
    if (status != 0) {
        char body[64];
        int n = snprintf(body, sizeof body, "%d %s\n", status, reason(status));
        if (f != NULL)
            fs_close(f);
        err = respond(cl, status, "text/plain; charset=utf-8", body,
                status == 304 ? 0 : (size_t)n, ka, head || status == 304,
                a.extra);
    } else if (!head && (room = memory_for(cl, r, hit == NULL && size >
                CACHE_MAX_FILE ? &high : NULL, a.len)) <= 0) {
        if (f != NULL)
            fs_close(f);
        if (room < 0)
            return 1;
        respond_error(cl, 503, ka, head);
        return 0;
    } else if (hit != NULL) {
        err = respond(cl, a.status, hit->type, hit->data + a.first, a.len, ka,
                head, a.extra);
    } else if (size <= CACHE_MAX_FILE) {
        err = send_small(cl, r->path, f, size, st.mtime, mime_type(pathbuf),
                &a, ka, head);
    } else {
        err = send_stream(cl, f, mime_type(pathbuf), &a, ka, head, high);
        if (err == 0 && cl->file != NULL)
            return 0;
    }
done:
    if ((err < 0 || !ka) && cl->closing == OPEN)
        close_conn(cl);
    return 0;
}

/* Answer the complete requests in the input buffer, in order. */
static void process(struct client *cl)
{
    while (!cl->closing && cl->file == NULL) {
        if (cl->skip > 0) {
            size_t n = cl->len - cl->off;
            if (n > cl->skip)
                n = cl->skip;
            cl->off += n;
            cl->skip -= n;
            if (cl->skip > 0)
                break;
        }
        /* Empty lines before a request are ignored (RFC 9112 2.2). */
        while (cl->off < cl->len &&
                (cl->in[cl->off] == '\r' || cl->in[cl->off] == '\n'))
            cl->off++;
        if (cl->off == cl->len)
            break;

        long n = http_parse(cl->in + cl->off, cl->len - cl->off, &req);
        if (n == 0)
            break;
        if (n < 0) {
            respond_error(cl, -n, 0, 0);
            break;
        }
        cl->off += n;
        cl->skip = req.content_length;
        if (req.method == HTTP_OTHER) {
            /* A body we cannot find the end of ends the connection. */
            respond_error(cl, 405, req.keep_alive && !req.has_te, 0);
        } else if (req.has_te) {
            respond_error(cl, 501, 0, req.method == HTTP_HEAD);
        } else if (serve(cl, &req)) {
            /* Waits for room for its stream: parsed again then. */
            cl->off -= n;
            cl->skip = 0;
            break;
        }
        wait_end(cl);
    }
    if (cl->closing == CLOSE_AFTER_STREAM && cl->file == NULL)
        close_conn(cl);
    /* Timeouts (sweep): a request begun waits header_timeout for its
     * end, counted from its first bytes; no request, idle_timeout. */
    int partial = cl->off < cl->len || cl->skip > 0;
    if (partial != cl->in_request || !partial)
        touch(cl);
    cl->in_request = partial;
    if (cl->off == cl->len) {
        cl->off = cl->len = 0;
    } else if (cl->off > 0) {
        memmove(cl->in, cl->in + cl->off, cl->len - cl->off);
        cl->len -= cl->off;
        cl->off = 0;
    }
    if (cl->paused && cl->len - cl->off < INPUT_PAUSE) {
        cl->paused = 0;
        conn_resume(cl->c);
    }
}

/* Go on with the streams that waited for memory, and the requests that
 * waited for room for theirs. Progress counts as the client taking the
 * response (touch()), as in writable(). */
static void retry_waiting(void *arg)
{
    int again = 0;

    retry_armed = 0;
    for (struct client *cl = clients, *next; cl != NULL; cl = next) {
        next = cl->next;
        if (cl->closing == CLOSING || !(cl->starved || cl->waiting))
            continue;
        uint64_t pos = cl->pos;
        if (cl->starved)
            stream_fill(cl);
        if (cl->pos != pos)
            touch(cl);
        if (cl->file == NULL)
            process(cl);
        again |= cl->starved;
    }
    if (again)
        arm_retry(RETRY_MS);
}

/* Every SWEEP_MS: close the clients whose timeout passed. */
static void sweep(void *arg)
{
    uint64_t now = libos_round_ms();

    for (struct client *cl = clients; cl != NULL; cl = cl->next) {
        if (cl->closing == CLOSING)
            continue;
        uint64_t limit = cl->in_request && cl->file == NULL ?
                header_timeout : idle_timeout;
        if (now - cl->since < limit)
            continue;
        if (cl->starved)
            libos_log("httpd: a download waited %llu s for memory at byte "
                    "%llu of %llu: closed\n", (unsigned long long)limit / 1000,
                    (unsigned long long)cl->pos, (unsigned long long)cl->end);
        close_conn(cl);         /* closed() unlinks it later */
    }
    /* Requests that waited long enough get their 503; and should the
     * retry timer have found no memory to be armed, this is it. */
    if (!retry_armed)
        retry_waiting(NULL);
    libos_timer(SWEEP_MS, sweep, NULL);
}

static void opened(struct conn *c)
{
    struct client *cl = calloc(1, sizeof *cl);

    if (cl == NULL) {
        conn_close(c);
        return;
    }
    cl->c = c;
    touch(cl);
    /* At the end: walks of the list (waiting requests) go oldest first. */
    cl->prev = clients_tail;
    if (clients_tail != NULL)
        clients_tail->next = cl;
    else
        clients = cl;
    clients_tail = cl;
    conn_set_data(c, cl);
}

static void received(struct conn *c, const char *data, size_t len)
{
    struct client *cl = conn_data(c);

    if (cl == NULL || cl->closing)
        return;
    if (cl->len + len > cl->cap) {
        size_t cap = cl->cap ? cl->cap : 4096;
        while (cap < cl->len + len)
            cap *= 2;
        char *in = realloc(cl->in, cap);
        if (in == NULL) {
            close_conn(cl);
            return;
        }
        cl->in = in;
        cl->cap = cap;
    }
    memcpy(cl->in + cl->len, data, len);
    cl->len += len;
    process(cl);
    if (!cl->closing && !cl->paused && cl->len - cl->off >= INPUT_PAUSE) {
        cl->paused = 1;
        conn_pause(c);
    }
}

static void writable(struct conn *c)
{
    struct client *cl = conn_data(c);

    if (cl == NULL)
        return;
    touch(cl);      /* the client takes the response: not idle */
    stream_fill(cl);
    if (cl->file == NULL)
        process(cl);
}

static void closed(struct conn *c)
{
    struct client *cl = conn_data(c);

    if (cl == NULL)
        return;
    if (cl->file != NULL)
        log_pressure(LOST, "httpd: a download ended at byte %llu of %llu: "
                "the connection was reset or timed out (heap %zu of %zu "
                "KiB in use, at most %zu)", (unsigned long long)cl->pos,
                (unsigned long long)cl->end, libos_heap_used() / 1024,
                libos_heap_size() / 1024, libos_heap_peak() / 1024);
    stream_stop(cl);
    wait_end(cl);
    if (cl->prev != NULL)
        cl->prev->next = cl->next;
    else
        clients = cl->next;
    if (cl->next != NULL)
        cl->next->prev = cl->prev;
    else
        clients_tail = cl->prev;
    free(cl->in);
    free(cl);
    conn_set_data(c, NULL);
}

static const struct conn_ops ops = {
    .opened = opened,
    .received = received,
    .writable = writable,
    .closed = closed,
};

int main(int argc, char **argv)
{
    long port = 80;

    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--port=", 7) == 0) {
            char *end;
            port = strtol(argv[i] + 7, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535) {
                libos_log("httpd: bad %s\n", argv[i]);
                return 2;
            }
        } else if (strncmp(argv[i], "--header-timeout=", 17) == 0 ||
                strncmp(argv[i], "--idle-timeout=", 15) == 0) {
            char *v = strchr(argv[i], '=') + 1, *end;
            long sec = strtol(v, &end, 10);
            if (*end != '\0' || end == v || sec < 1 || sec > 86400) {
                libos_log("httpd: bad %s (seconds, 1 to 86400)\n", argv[i]);
                return 2;
            }
            *(argv[i][2] == 'h' ? &header_timeout : &idle_timeout) =
                (uint64_t)sec * 1000;
        } else if (strncmp(argv[i], "--root=", 7) == 0) {
            /* "/a/b/" -> "/a/b", "/" -> "": request paths start with '/'. */
            char *r = argv[i] + 7;
            size_t n = strlen(r);
            while (n > 0 && r[n - 1] == '/')
                r[--n] = '\0';
            if (n > 0 && r[0] != '/') {
                libos_log("httpd: --root must be absolute\n");
                return 2;
            }
            root = r;
        } else {
            libos_log("httpd: unknown argument %s "
                    "(usage: [--port=N] [--root=DIR] [--header-timeout=S] "
                    "[--idle-timeout=S])\n", argv[i]);
            return 2;
        }
    }
    int err = fs_mount("rootfs");
    if (err != 0) {
        libos_log("httpd: mount rootfs: error %d\n", err);
        return 1;
    }
    if (net_listen(port, &ops) != 0) {
        libos_log("httpd: listen on port %ld failed\n", port);
        return 1;
    }
    libos_timer(SWEEP_MS, sweep, NULL);
    /* What is free now is for connections, small files and downloads:
     * 3/5 for downloads, an eighth (up to CACHE_BUDGET) for the cache. */
    size_t spare = libos_heap_size() - libos_heap_used();
    stream_budget = spare / 5 * 3;
    cache_limit(spare / 8 < CACHE_BUDGET ? spare / 8 : CACHE_BUDGET);
    libos_log("httpd: serving rootfs%s on port %ld (%zu MiB for downloads: "
            "%zu at full speed, %zu at the least)\n", root, port,
            stream_budget >> 20, stream_budget / stream_cost(STREAM_MAX),
            stream_budget / stream_cost(STREAM_MIN));
    libos_run();
    return 0;
}
