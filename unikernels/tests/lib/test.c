/* Helpers shared by the ABI test guests (test.h). */
#include "test.h"

size_t t_strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int t_strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

const char *t_prefix(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return NULL;
    return s;
}

const char *t_parse_u64(const char *s, uint64_t *out)
{
    uint64_t n = 0;
    unsigned base = 10;
    const char *start;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (start = s; *s && *s != ' '; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return NULL;
        n = n * base + d;
    }
    if (s == start)
        return NULL;
    *out = n;
    return s;
}

void t_puts(const char *s)
{
    solo5_console_write(s, t_strlen(s));
}

void t_putu(uint64_t n)
{
    char buf[21];
    int i = sizeof buf;
    do {
        buf[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    solo5_console_write(buf + i, sizeof buf - (size_t)i);
}

void t_puthex(uint64_t n)
{
    char buf[18];
    int i = sizeof buf;
    do {
        buf[--i] = "0123456789abcdef"[n & 0xf];
        n >>= 4;
    } while (n);
    buf[--i] = 'x';
    buf[--i] = '0';
    solo5_console_write(buf + i, sizeof buf - (size_t)i);
}

void t_fail(const char *what)
{
    t_puts("FAILURE: ");
    t_puts(what);
    t_puts("\n");
    solo5_exit(SOLO5_EXIT_FAILURE);
}
