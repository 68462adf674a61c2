/*
 * The printf family and console output. stdout and stderr are the Solo5
 * console; output is not buffered across calls (each call ends with its
 * text written), so nothing is lost when a guest aborts.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "format.h"
#include "solo5.h"

struct libos_file {
    int fd;
};

static struct libos_file files[3] = { { 0 }, { 1 }, { 2 } };
FILE *const stdin = &files[0];
FILE *const stdout = &files[1];
FILE *const stderr = &files[2];

/* --- into a buffer ---------------------------------------------------- */

struct strbuf {
    char *buf;
    size_t size;    /* room, including the NUL */
    size_t len;
};

static void strbuf_out(void *ctx, const char *s, size_t n)
{
    struct strbuf *b = ctx;

    if (b->len + 1 < b->size) {
        size_t room = b->size - 1 - b->len;
        memcpy(b->buf + b->len, s, n < room ? n : room);
    }
    b->len += n;
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt,
        va_list ap)
{
    struct strbuf b = { buf, size, 0 };
    int n = __libc_vformat(strbuf_out, &b, fmt, ap);

    if (size)
        buf[b.len < size ? b.len : size - 1] = '\0';
    return n;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap)
{
    return vsnprintf(buf, (size_t)INT_MAX + 1, fmt, ap);
}

int sprintf(char *restrict buf, const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vsprintf(buf, fmt, ap);
    va_end(ap);
    return n;
}

/* --- to the console --------------------------------------------------- */

struct conbuf {
    size_t len;
    char buf[512];
};

static void conbuf_flush(struct conbuf *c)
{
    if (c->len)
        solo5_console_write(c->buf, c->len);
    c->len = 0;
}

static void conbuf_out(void *ctx, const char *s, size_t n)
{
    struct conbuf *c = ctx;

    if (n > sizeof(c->buf)) {
        conbuf_flush(c);
        solo5_console_write(s, n);
        return;
    }
    if (c->len + n > sizeof(c->buf))
        conbuf_flush(c);
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

static int writable(FILE *f)
{
    if (f == stdout || f == stderr)
        return 1;
    errno = EBADF;
    return 0;
}

int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap)
{
    struct conbuf c;

    if (!writable(f))
        return -1;
    c.len = 0;
    int n = __libc_vformat(conbuf_out, &c, fmt, ap);
    conbuf_flush(&c);
    return n;
}

int fprintf(FILE *restrict f, const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char *restrict fmt, va_list ap)
{
    return vfprintf(stdout, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int n = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}

size_t fwrite(const void *restrict p, size_t size, size_t n, FILE *restrict f)
{
    if (!writable(f) || size == 0 || n == 0)
        return 0;
    solo5_console_write(p, size * n);
    return n;
}

int fputs(const char *restrict s, FILE *restrict f)
{
    if (!writable(f))
        return EOF;
    solo5_console_write(s, strlen(s));
    return 0;
}

int fputc(int c, FILE *f)
{
    char ch = (char)c;

    if (!writable(f))
        return EOF;
    solo5_console_write(&ch, 1);
    return (unsigned char)ch;
}

int putc(int c, FILE *f)
{
    return fputc(c, f);
}

int putchar(int c)
{
    return fputc(c, stdout);
}

int puts(const char *s)
{
    struct conbuf c = { .len = 0 };

    conbuf_out(&c, s, strlen(s));
    conbuf_out(&c, "\n", 1);
    conbuf_flush(&c);
    return 0;
}

int fflush(FILE *f)
{
    /* Nothing is ever buffered. */
    (void)f;
    return 0;
}

void perror(const char *s)
{
    if (s && *s)
        fprintf(stderr, "%s: %s\n", s, strerror(errno));
    else
        fprintf(stderr, "%s\n", strerror(errno));
}
