/*
 * libos's strtold() and strtod() (libos/libc/strtod.c, built for the host
 * with their names prefixed libos_) against glibc's on many inputs: the
 * results must be the same bits, the end pointers and errno the same.
 * Inputs: short random decimals over the whole exponent range of long
 * double, long ones (up to 60 digits), the exact decimal expansions of
 * random long doubles and of the halfway points between neighbours (and
 * a hair above and below them), special forms. Prints each mismatch (up
 * to 20) and a summary; exits 1 on any mismatch.
 *
 * Usage: strtod_host [COUNT]  (COUNT random inputs of each kind, 20000)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long double libos_strtold(const char *s, char **end);
double libos_strtod(const char *s, char **end);

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long tested, failed;

static void check(const char *s)
{
    char *e1, *e2;
    errno = 0;
    long double want = strtold(s, &e1);
    int werr = errno;
    errno = 0;
    long double got = libos_strtold(s, &e2);
    int gerr = errno;
    tested++;
    if (memcmp(&want, &got, 10) != 0 || e1 != e2 || werr != gerr) {
        if (failed++ < 20)
            printf("strtold(\"%.120s\"): libos %.21Lg (end %td, errno %d), glibc %.21Lg (end %td, errno %d)\n",
                   s, got, e2 - s, gerr, want, e1 - s, werr);
    }
    errno = 0;
    double dwant = strtod(s, &e1);
    werr = errno;
    errno = 0;
    double dgot = libos_strtod(s, &e2);
    gerr = errno;
    tested++;
    if (memcmp(&dwant, &dgot, 8) != 0 || e1 != e2 || werr != gerr) {
        if (failed++ < 20)
            printf("strtod(\"%.120s\"): libos %.17g (end %td, errno %d), glibc %.17g (end %td, errno %d)\n",
                   s, dgot, e2 - s, gerr, dwant, e1 - s, werr);
    }
}

/* A random decimal: ndig digits, a point somewhere, exponent exp10. */
static void random_decimal(char *buf, int ndig, int exp10)
{
    char *p = buf;
    if (next() & 1)
        *p++ = '-';
    int point = (int)(next() % (ndig + 1));
    for (int i = 0; i < ndig; i++) {
        if (i == point)
            *p++ = '.';
        *p++ = (char)('0' + next() % 10);
    }
    sprintf(p, "e%d", exp10);
}

/* Decimal strings of the same form "digits.digits" (fixed point, same
 * number of fraction digits): out = (a + b) / 2, exactly. */
static void midpoint(const char *a, const char *b, char *out)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t ia = strchr(a, '.') - a, ib = strchr(b, '.') - b;
    size_t ip = ia > ib ? ia : ib, fp = la - ia - 1;
    /* Align: integer parts padded with zeros on the left. */
    static char x[20000], y[20000], sum[20001];
    size_t n = ip + fp;
    memset(x, '0', n);
    memset(y, '0', n);
    memcpy(x + ip - ia, a, ia);
    memcpy(x + ip, a + ia + 1, fp);
    memcpy(y + ip - ib, b, ib);
    memcpy(y + ip, b + ib + 1, lb - ib - 1);
    int carry = 0;
    for (size_t i = n; i-- > 0;) {
        int d = (x[i] - '0') + (y[i] - '0') + carry;
        sum[i + 1] = (char)('0' + d % 10);
        carry = d / 10;
    }
    sum[0] = (char)('0' + carry);
    /* Halve: one more fraction digit (the sum may be odd). */
    int rem = 0;
    char *o = out;
    for (size_t i = 0; i <= n; i++) {
        int d = rem * 10 + (sum[i] - '0');
        *o++ = (char)('0' + d / 2);
        rem = d % 2;
        if (i == ip)
            *o++ = '.';
    }
    *o++ = (char)('0' + rem * 5);
    *o = 0;
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 20000;
    static char buf[40000], a[20000], b[20000];

    static const char *const fixed[] = {
        "0", "-0", "0.1", "0.2", "0.30000000000000004", "1e300", "1e-300",
        "1e4932", "1.18973149535723176502e4932", "1.18973149535723176508e4932",
        "1.2e4932", "3.6e-4951", "3.64519953188247460253e-4951", "1.8e-4951",
        "1.9e-4951", "1e-4952", "3.3621031431120935063e-4932",
        "3.3621031431120935062e-4932", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "36893488147419103231",
        "36893488147419103233", "  12.5e2x", "+.5", "5.", ".e1", "e1", "-",
        "inf", "-Infinity", "nan", "0x1.8p1", "0x.1p-4", "1e", "1e+", "1e-x",
        "123456789012345678901234567890", "0.000000000000000000000000000001",
        "4.9406564584124654e-324", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "1.7976931348623157e308",
        "1.7976931348623159e308", "2.2250738585072011e-308",
    };
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        check(fixed[i]);

    for (long i = 0; i < count; i++) {
        /* Short decimals over the whole range, and the edges of it. */
        random_decimal(buf, 1 + (int)(next() % 20), (int)(next() % 9900) - 4960);
        check(buf);
        random_decimal(buf, 1 + (int)(next() % 60), (int)(next() % 700) - 350);
        check(buf);
        random_decimal(buf, 1 + (int)(next() % 25), (int)(next() % 80) - 40);
        check(buf);
        random_decimal(buf, 1 + (int)(next() % 20), 4900 + (int)(next() % 60));
        check(buf);
        random_decimal(buf, 1 + (int)(next() % 20), -4960 + (int)(next() % 60));
        check(buf);

        /* A random long double (2^-300 to 2^300), its neighbour above,
         * both in full (exact) and the halfway point between them, then
         * just above and just below it. */
        union ld { long double v; struct { uint64_t m; uint16_t se; } f; } u = {0};
        u.f.m = next() | 1ULL << 63;
        u.f.se = (uint16_t)(16383 - 300 + next() % 600);
        union ld w = u;
        if (++w.f.m == 0) {
            w.f.m = 1ULL << 63;
            w.f.se++;
        }
        long double up = w.v;
        snprintf(a, sizeof(a), "%.1200Lf", u.v);
        snprintf(b, sizeof(b), "%.1200Lf", up);
        check(a);
        midpoint(a, b, buf);
        check(buf);
        size_t len = strlen(buf);
        strcpy(buf + len, "000000000000001");
        check(buf);
        /* The midpoint ends in 5: 4999... is a hair below. */
        buf[len - 1] = '4';
        strcpy(buf + len, "99999999999999");
        check(buf);
        /* Shortest-ish forms of doubles, as printf gives them. */
        union { double d; uint64_t u; } d = { .u = next() };
        if (d.d == d.d) {
            snprintf(buf, sizeof(buf), "%.17g", d.d);
            check(buf);
            snprintf(buf, sizeof(buf), "%.21Lg", (long double)d.d * 0.1L);
            check(buf);
        }
    }
    printf("%ld conversions compared with glibc, %ld differ\n", tested, failed);
    return failed ? 1 : 0;
}
