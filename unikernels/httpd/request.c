/*
 * HTTP/1.x request parsing (RFC 9112). The parser is strict where being
 * lenient would let two parties disagree on where a request ends (folded
 * lines, spaces before the colon, conflicting lengths) and lenient where
 * it costs nothing (bare LF line ends).
 */
#include <string.h>
#include <strings.h>
#include <libos/hex.h>

#include "httpd.h"

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Length of the line at p (up to end) without its terminator, and where
 * the next line starts; -1 if no '\n' before end. */
static long line_end(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', end - p);

    if (nl == NULL)
        return -1;
    *next = nl + 1;
    if (nl > p && nl[-1] == '\r')
        nl--;
    return nl - p;
}

/*
 * Decode the path of a request target into out (size HTTP_MAX_LINE) and
 * normalise it: percent-decoding first, so "%2e%2e" and "%2f" cannot hide
 * a "..", then resolving "." and ".." segments. A path climbing above the
 * root is refused. Query and fragment are dropped. Returns 0 or -400.
 */
static int decode_path(const char *t, size_t n, char *out)
{
    static char dec[HTTP_MAX_LINE];     /* static: guest stacks are small */
    size_t dn = 0;

    /* absolute-form: drop "scheme://authority". */
    if (n >= 7 && (strncasecmp(t, "http://", 7) == 0 ||
            (n >= 8 && strncasecmp(t, "https://", 8) == 0))) {
        const char *p = memchr(t, ':', n) + 3;
        const char *slash = memchr(p, '/', t + n - p);
        if (slash == NULL) {
            t = "/";
            n = 1;
        } else {
            n -= slash - t;
            t = slash;
        }
    }
    if (n == 0 || t[0] != '/')
        return -400;
    for (size_t i = 0; i < n && t[i] != '?' && t[i] != '#'; i++) {
        unsigned char c = t[i];
        if (c == '%') {
            int hi = i + 2 < n ? libos_hexval(t[i + 1]) : -1;
            int lo = i + 2 < n ? libos_hexval(t[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return -400;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c == 0)
            return -400;
        dec[dn++] = c;
    }

    /* Resolve segments into out, which always ends with '/' here. */
    size_t on = 0;
    int dir = 1;            /* the last segment names a directory */
    out[on++] = '/';
    for (size_t i = 0; i < dn;) {
        while (i < dn && dec[i] == '/')
            i++;
        size_t s = i;
        while (i < dn && dec[i] != '/')
            i++;
        size_t len = i - s;
        if (len == 0)
            break;
        dir = i < dn;       /* followed by '/' */
        if (len == 1 && dec[s] == '.') {
            dir = 1;
        } else if (len == 2 && dec[s] == '.' && dec[s + 1] == '.') {
            if (on == 1)
                return -400;
            on--;
            while (out[on - 1] != '/')
                on--;
            dir = 1;
        } else {
            memcpy(out + on, dec + s, len);
            on += len;
            out[on++] = '/';
        }
    }
    if (!dir && on > 1)
        on--;
    out[on] = '\0';
    return 0;
}

/* Does the comma-separated list v (length n) hold token tok? */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);

    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

static int parse_request_line(const char *p, size_t n, struct request *r)
{
    const char *end = p + n;
    const char *sp1 = memchr(p, ' ', n);

    if (sp1 == NULL || sp1 == p)
        return -400;
    for (const char *q = p; q < sp1; q++) {
        if (!is_tchar(*q))
            return -400;
    }
    if (sp1 - p == 3 && memcmp(p, "GET", 3) == 0)
        r->method = HTTP_GET;
    else if (sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0)
        r->method = HTTP_HEAD;
    else
        r->method = HTTP_OTHER;

    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', end - t);
    if (sp2 == NULL || sp2 == t)
        return -400;
    for (const char *q = t; q < sp2; q++) {
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return -400;
    }

    const char *v = sp2 + 1;
    if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
            v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return -400;
    if (v[5] != '1')
        return -505;
    r->minor = v[7] - '0';

    /* Other methods are refused with 405 whatever their target ("*"). */
    if (r->method == HTTP_OTHER) {
        r->path[0] = '\0';
        return 0;
    }
    return decode_path(t, sp2 - t, r->path);
}

/* Digits of v[*i, vl) as a number (at most 18 digits); -1 if none. */
static int64_t range_num(const char *v, size_t vl, size_t *i)
{
    int64_t n = 0;
    size_t start = *i;

    while (*i < vl && v[*i] >= '0' && v[*i] <= '9' && *i - start < 18)
        n = n * 10 + (v[(*i)++] - '0');
    return *i == start ? -1 : n;
}

/* "bytes=first-last", "bytes=first-" or "bytes=-suffix"; one range only. */
static void parse_range(const char *v, size_t vl, struct request *r)
{
    size_t i = 6;

    r->has_range = 0;
    if (vl < 7 || strncasecmp(v, "bytes=", 6) != 0)
        return;
    int64_t first = range_num(v, vl, &i);
    if (i >= vl || v[i] != '-')
        return;
    i++;
    int64_t last = range_num(v, vl, &i);
    if (i != vl || (first < 0 && last < 0) || (last >= 0 && first > last))
        return;
    r->has_range = 1;
    r->range_first = first;
    r->range_last = last;
}

long http_parse(const char *buf, size_t len, struct request *r)
{
    const char *end = buf + len;
    const char *next;
    long n;

    /* Bytes no request line can start with (binary garbage, TLS) get a
     * 400 at once rather than a wait for a line end that may never
     * come: the method is a token, and a request line holds no control
     * characters. */
    const char *q = buf;
    while (q < end && *q != ' ' && *q != '\r' && *q != '\n') {
        if (!is_tchar(*q))
            return -400;
        q++;
    }
    for (; q < end && *q != '\n'; q++) {
        unsigned char c = *q;
        if ((c < ' ' && c != '\r' && c != '\t') || c == 0x7f)
            return -400;
    }

    /* Find the whole header section before looking at any of it. */
    n = line_end(buf, end, &next);
    if (n < 0)
        return len >= HTTP_MAX_LINE ? -414 : 0;
    if (n >= HTTP_MAX_LINE)
        return -414;
    const char *p = next;
    for (;;) {
        n = line_end(p, end, &next);
        if (n < 0)
            return len >= HTTP_MAX_HEADER ? -431 : 0;
        if (next - buf > HTTP_MAX_HEADER)
            return -431;
        p = next;
        if (n == 0)
            break;
    }
    size_t total = p - buf;

    memset(r, 0, sizeof *r - sizeof r->path);
    r->path[0] = '\0';
    n = line_end(buf, end, &next);
    int st = parse_request_line(buf, n, r);
    if (st < 0)
        return st;

    int hosts = 0, conn_close = 0, conn_keep = 0, have_cl = 0;
    for (p = next; ; p = next) {
        n = line_end(p, end, &next);
        if (n == 0)
            break;
        /* Obsolete line folding is refused (RFC 9112 5.2). */
        if (*p == ' ' || *p == '\t')
            return -400;
        const char *colon = memchr(p, ':', n);
        if (colon == NULL || colon == p)
            return -400;
        for (const char *q = p; q < colon; q++) {
            if (!is_tchar(*q))
                return -400;
        }
        size_t nl = colon - p;
        const char *v = colon + 1, *ve = p + n;
        for (const char *q = v; q < ve; q++) {
            unsigned char c = *q;
            if ((c < ' ' && c != '\t') || c == 0x7f)
                return -400;
        }
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = ve - v;

        if (nl == 4 && strncasecmp(p, "Host", 4) == 0) {
            hosts++;
        } else if (nl == 10 && strncasecmp(p, "Connection", 10) == 0) {
            conn_close |= has_token(v, vl, "close");
            conn_keep |= has_token(v, vl, "keep-alive");
        } else if (nl == 5 && strncasecmp(p, "Range", 5) == 0) {
            parse_range(v, vl, r);
        } else if (nl == 13 && strncasecmp(p, "If-None-Match", 13) == 0) {
            if (vl < sizeof r->if_none_match) {
                memcpy(r->if_none_match, v, vl);
                r->if_none_match[vl] = '\0';
            }
        } else if (nl == 17 && strncasecmp(p, "If-Modified-Since", 17) == 0) {
            if (vl < sizeof r->if_modified_since) {
                memcpy(r->if_modified_since, v, vl);
                r->if_modified_since[vl] = '\0';
            }
        } else if (nl == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
            r->has_te = 1;
        } else if (nl == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            uint64_t cl = 0;
            if (vl == 0 || vl > 18)
                return -400;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -400;
                cl = cl * 10 + (v[i] - '0');
            }
            if (have_cl && cl != r->content_length)
                return -400;
            have_cl = 1;
            r->content_length = cl;
        }
    }
    /* Both framings at once is how requests get smuggled. */
    if (r->has_te && have_cl)
        return -400;
    /* HTTP/1.1 requires exactly one Host (RFC 9112 3.2). */
    if (r->minor >= 1 && hosts != 1)
        return -400;
    if (r->minor == 0 && hosts > 1)
        return -400;
    if (r->minor >= 1)
        r->keep_alive = !conn_close;
    else
        r->keep_alive = conn_keep && !conn_close;
    return total;
}
