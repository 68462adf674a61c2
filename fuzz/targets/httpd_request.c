/*
 * Fuzz target: httpd's request parser and path decoding
 * (unikernels/httpd/request.c), on one buffer as the server holds it.
 * Whatever the bytes, http_parse() must stay inside them and, when it
 * accepts a GET or HEAD, give a path that is absolute, NUL-free and
 * normalised: no "." or ".." segment and no empty one. The same bytes
 * then go to the server itself (httpd.c, no filesystem mounted, so every
 * file is a 500) in two segments, and every response must be whole.
 *
 * At start-up the target also checks that headers and file names that
 * do not fit their buffers are refused rather than cut short.
 */
#define _GNU_SOURCE     /* memmem */
#include <errno.h>
#include <string.h>

#include "shim_conn.h"

#define main httpd_main
#include "../../unikernels/httpd/httpd.c"
#undef main

static struct request parsed;

/* libos/heap.h: the host's malloc stands in for the guest heap, so the
 * figures are nominal: 64 MiB, none of it used. */
size_t libos_heap_used(void)
{
    return 0;
}

size_t libos_heap_size(void)
{
    return 64u << 20;
}

size_t libos_heap_peak(void)
{
    return 0;
}

/* header() says 0 when the headers do not fit out, and respond() then
 * sends nothing: snprintf's untruncated length is no write length. */
static void check_header_fits(void)
{
    static char extra[sizeof out + 1];
    struct conn conn;
    struct client cl = { .c = &conn };

    memset(extra, 'x', sizeof extra - 1);
    CHECK(header(200, "text/plain", 0, 1, extra) == 0);
    shim_conn_init(&conn);
    CHECK(respond(&cl, 200, "text/plain", "body", 4, 1, 0, extra) == -1);
    CHECK(conn.written == 0);
    shim_conn_free(&conn);
    extra[sizeof out / 2] = '\0';
    size_t n = header(200, "text/plain", 0, 1, extra);
    CHECK(n > sizeof out / 2 && n < sizeof out);
}

/* resolve() refuses a --root and path longer than pathbuf (414) instead
 * of looking up the cut-short name, which could be another file. */
static void check_resolve_fits(void)
{
    static char longroot[sizeof pathbuf];
    static char path[HTTP_MAX_LINE];
    struct fs_stat st;
    const char *saved = root;

    memset(longroot, 'r', sizeof longroot - 1);
    longroot[0] = '/';
    longroot[sizeof longroot - 1] = '\0';
    strcpy(path, "/file");
    root = longroot;
    CHECK(resolve(path, &st) == 414);
    root = "/a";
    memset(path, 'p', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    CHECK(resolve(path, &st) != 414);   /* fits: looked up (500, no fs) */
    root = saved;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *args[] = { "httpd", NULL };

    check_header_fits();
    check_resolve_fits();
    /* Without a rootfs, main() stops at the mount. */
    CHECK(httpd_main(1, args) == 1);
    CHECK(net_listen(80, &ops) == 0 && shim_ops == &ops);
    return 0;
}

/* The server's output: whole responses, each "HTTP/1.1 " and headers up
 * to an empty line, then as many body bytes as Content-Length says (none
 * for HEAD, which the check cannot tell: it accepts a next response). */
static void check_responses(const char *o, size_t n)
{
    while (n > 0) {
        CHECK(n > 9 && memcmp(o, "HTTP/1.1 ", 9) == 0);
        const char *end = memmem(o, n, "\r\n\r\n", 4);
        CHECK(end != NULL);
        size_t hl = end + 4 - o;
        const char *cl = memmem(o, hl, "Content-Length: ", 16);
        CHECK(cl != NULL);
        size_t body = strtoull(cl + 16, NULL, 10);
        o += hl;
        n -= hl;
        if (body <= n && (n == body || memcmp(o + body, "HTTP/1.1 ", 9) == 0)) {
            o += body;
            n -= body;
        }
    }
}

static void check_path(const char *p)
{
    size_t n = strnlen(p, HTTP_MAX_LINE);

    CHECK(n < HTTP_MAX_LINE);
    CHECK(p[0] == '/');
    CHECK(strstr(p, "//") == NULL);
    /* Every segment, "/" to "/" or the end. */
    for (const char *s = p + 1; *s; ) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        CHECK(!(len == 1 && s[0] == '.'));
        CHECK(!(len == 2 && s[0] == '.' && s[1] == '.'));
        if (!e)
            break;
        s = e + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    /* An exact copy, so ASan sees a read one byte past the input. */
    char *buf = malloc(len ? len : 1);
    CHECK(buf != NULL);
    memcpy(buf, data, len);

    long n = http_parse(buf, len, &parsed);
    CHECK(n == 0 || n == -400 || n == -414 || n == -431 || n == -505 ||
            (n > 0 && (size_t)n <= len));
    if (n > 0) {
        /* The header section ends with an empty line. */
        CHECK(buf[n - 1] == '\n');
        CHECK(parsed.minor >= 0 && parsed.minor <= 9);
        if (parsed.method != HTTP_OTHER)
            check_path(parsed.path);
        /* The same bytes with more behind them parse the same way. */
        char *more = malloc(len + 5);
        CHECK(more != NULL);
        memcpy(more, buf, len);
        memcpy(more + len, "GET /", 5);
        static struct request again;
        CHECK(http_parse(more, len + 5, &again) == n);
        CHECK(again.method == parsed.method &&
                again.content_length == parsed.content_length &&
                again.keep_alive == parsed.keep_alive &&
                strcmp(again.path, parsed.path) == 0);
        free(more);
    }

    struct conn conn;
    shim_conn_init(&conn);
    shim_ops->opened(&conn);
    /* libos hands over no empty segments (tcp.c's deliver()). */
    size_t half = len / 2;
    if (half > 0)
        shim_ops->received(&conn, buf, half);
    if (!conn.closed && len > half)
        shim_ops->received(&conn, buf + half, len - half);
    shim_ops->closed(&conn);
    CHECK(conn.written == conn.out_len);
    check_responses(conn.out, conn.out_len);
    shim_conn_free(&conn);
    free(buf);
    return 0;
}
