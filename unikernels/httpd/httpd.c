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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libos/libos.h>
#include <libos/net.h>
#include <libos/fs.h>

#include "httpd.h"

/* Stream chunk size, and how much output to keep queued while streaming:
 * enough to cover the peer's window between two writable() calls. */
#define CHUNK           (64 * 1024)
#define STREAM_HIGH     (4 * CHUNK)
/* Input buffered while a response streams; beyond it, stop reading. */
#define INPUT_PAUSE     (2 * HTTP_MAX_HEADER)

struct client {
    struct conn *c;
    char *in;                   /* unparsed input: in[off, len) */
    size_t off, len, cap;
    uint64_t skip;              /* request body bytes still to discard */
    struct fs_file *file;       /* response body being streamed */
    uint64_t pos, end;
    enum { OPEN, CLOSE_AFTER_STREAM, CLOSING } closing;
    int paused;
};

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
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

/* RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT", formatted
 * once a second. */
static const char *http_date(void)
{
    static char buf[64];
    static time_t last = -1;
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    time_t now = time(NULL);
    struct tm tm;

    if (now != last && gmtime_r(&now, &tm) != NULL) {
        snprintf(buf, sizeof buf, "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
                days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
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
    int n = snprintf(out, sizeof out,
            "HTTP/1.1 %d %s\r\n"
            "Server: runnc-httpd\r\n"
            "Date: %s\r\n"
            "Content-Type: %s\r\n"
            "Content-Length: %llu\r\n"
            "%s"
            "%s"
            "\r\n",
            status, reason(status), http_date(), type,
            (unsigned long long)length,
            keep_alive ? "" : "Connection: close\r\n",
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
    const char *allow = status == 405 ? "Allow: GET, HEAD\r\n" : NULL;

    if (respond(cl, status, "text/plain; charset=utf-8", body, n,
                keep_alive, head, allow) < 0 || !keep_alive)
        close_conn(cl);
}

static void stream_stop(struct client *cl)
{
    if (cl->file != NULL) {
        fs_close(cl->file);
        cl->file = NULL;
    }
}

/* Queue file data while the output queue is short. A read error after
 * the headers went out cannot be reported: closing early is the only way
 * to tell the client the body is incomplete. */
static void stream_fill(struct client *cl)
{
    while (cl->file != NULL && conn_pending(cl->c) < STREAM_HIGH) {
        uint64_t left = cl->end - cl->pos;
        size_t want = left < CHUNK ? left : CHUNK;
        long n = fs_read(cl->file, cl->pos, chunk, want);
        if (n <= 0 || conn_write(cl->c, chunk, n) < 0) {
            libos_log("httpd: read error at %llu: %ld\n",
                    (unsigned long long)cl->pos, n);
            stream_stop(cl);
            close_conn(cl);
            return;
        }
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
    if (err == -ENOENT || err == -ENOTDIR)
        return 404;
    return err == 0 ? 0 : 500;
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

/* A small file: read whole, cached, sent with its headers in one write. */
static int send_small(struct client *cl, const char *key, struct fs_file *f,
        uint64_t size, const char *type, int ka, int head)
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
    cache_put(key, chunk, size, type);
    return respond(cl, 200, type, chunk, size, ka, head, NULL);
}

/* A large file: headers now, the body from stream_fill(). */
static int send_stream(struct client *cl, struct fs_file *f, uint64_t size,
        const char *type, int ka, int head)
{
    size_t n = header(200, type, size, ka, NULL);

    if (n == 0 || conn_write(cl->c, out, n) < 0) {
        fs_close(f);
        return -1;
    }
    if (head) {
        fs_close(f);
        return 0;
    }
    cl->file = f;
    cl->pos = 0;
    cl->end = size;
    stream_fill(cl);
    /* The rest of the body is queued later; close after it (process()). */
    if (!ka && cl->closing == OPEN)
        cl->closing = CLOSE_AFTER_STREAM;
    return 0;
}

/* Answer a GET or HEAD. */
static void serve(struct client *cl, const struct request *r)
{
    int head = r->method == HTTP_HEAD;
    int ka = r->keep_alive;
    const struct cached *hit = cache_get(r->path);
    struct fs_stat st;
    struct fs_file *f;
    int status, err;

    if (hit != NULL) {
        err = respond(cl, 200, hit->type, hit->data, hit->len, ka, head,
                NULL);
    } else if ((status = resolve(r->path, &st)) == 301) {
        err = redirect_to_dir(cl, r->path, ka, head);
    } else if (status != 0 || fs_open(pathbuf, &f) != 0) {
        respond_error(cl, status ? status : 500, ka, head);
        return;
    } else if (fs_size(f) <= CACHE_MAX_FILE) {
        err = send_small(cl, r->path, f, fs_size(f), mime_type(pathbuf),
                ka, head);
    } else {
        err = send_stream(cl, f, fs_size(f), mime_type(pathbuf), ka, head);
        if (err == 0 && cl->file != NULL)
            return;
    }
    if ((err < 0 || !ka) && cl->closing == OPEN)
        close_conn(cl);
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
        } else {
            serve(cl, &req);
        }
    }
    if (cl->closing == CLOSE_AFTER_STREAM && cl->file == NULL)
        close_conn(cl);
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

static void opened(struct conn *c)
{
    struct client *cl = calloc(1, sizeof *cl);

    if (cl == NULL) {
        conn_close(c);
        return;
    }
    cl->c = c;
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
    stream_fill(cl);
    if (cl->file == NULL)
        process(cl);
}

static void closed(struct conn *c)
{
    struct client *cl = conn_data(c);

    if (cl == NULL)
        return;
    stream_stop(cl);
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
                    "(usage: [--port=N] [--root=DIR])\n", argv[i]);
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
    libos_log("httpd: serving rootfs%s on port %ld\n", root, port);
    libos_run();
    return 0;
}
