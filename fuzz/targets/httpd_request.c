/*
 * Fuzz target: httpd's request parser and path decoding
 * (unikernels/httpd/request.c), on one buffer as the server holds it.
 * Whatever the bytes, http_parse() must stay inside them and, when it
 * accepts a GET or HEAD, give a path that is absolute, NUL-free and
 * normalised: no "." or ".." segment and no empty one.
 */
#include <string.h>

#include "shim.h"
#include "../../unikernels/httpd/httpd.h"

static struct request req;

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

    long n = http_parse(buf, len, &req);
    CHECK(n == 0 || n == -400 || n == -414 || n == -431 || n == -505 ||
            (n > 0 && (size_t)n <= len));
    if (n > 0) {
        /* The header section ends with an empty line. */
        CHECK(buf[n - 1] == '\n');
        CHECK(req.minor >= 0 && req.minor <= 9);
        if (req.method != HTTP_OTHER)
            check_path(req.path);
        /* The same bytes with more behind them parse the same way. */
        char *more = malloc(len + 5);
        CHECK(more != NULL);
        memcpy(more, buf, len);
        memcpy(more + len, "GET /", 5);
        static struct request again;
        CHECK(http_parse(more, len + 5, &again) == n);
        CHECK(again.method == req.method &&
                again.content_length == req.content_length &&
                again.keep_alive == req.keep_alive &&
                strcmp(again.path, req.path) == 0);
        free(more);
    }
    free(buf);
    return 0;
}
