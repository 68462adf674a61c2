/*
 * Number parsing and formatting with Redis' exact rules (doubles are
 * printed here rather than with the libc's printf, so replies match Redis
 * byte for byte), glob matching for KEYS and CONFIG GET, and a small PRNG.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libos/libos.h>

#include "kv.h"

int str2ll(const char *p, size_t len, long long *v)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long u = 0;

    if (len == 0 || len > 20)
        return -1;
    if (len == 1 && p[0] == '0') {
        *v = 0;
        return 0;
    }
    if (p[0] == '-') {
        neg = 1;
        if (++i == len)
            return -1;
    }
    if (p[i] < '1' || p[i] > '9')
        return -1;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        unsigned d = p[i] - '0';
        if (u > (~0ULL - d) / 10)
            return -1;
        u = u * 10 + d;
    }
    if (neg) {
        if (u > (unsigned long long)INT64_MAX + 1)
            return -1;
        *v = (long long)(0 - u);
    } else {
        if (u > INT64_MAX)
            return -1;
        *v = (long long)u;
    }
    return 0;
}

int ll2str(char *buf, long long v)
{
    char tmp[24];
    int n = 0, len = 0;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;

    do {
        tmp[n++] = '0' + u % 10;
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    buf[len] = 0;
    return len;
}

/* --- doubles --------------------------------------------------------------- */

/* Little-endian base-1e9 big numbers, just big enough for any double
 * (double2str). */
#define BIG_LIMBS 96
#define BASE 1000000000u

struct big {
    uint32_t l[BIG_LIMBS];
    int n;
};

static void big_set(struct big *b, uint64_t v)
{
    b->n = 0;
    for (; v; v /= BASE)
        b->l[b->n++] = v % BASE;
}

static void big_mul(struct big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->l[i] * m + carry;
        b->l[i] = t % BASE;
        carry = t / BASE;
    }
    while (carry) {
        b->l[b->n++] = carry % BASE;
        carry /= BASE;
    }
}

static void big_mul_pow2(struct big *b, long e)
{
    for (; e > 0; e -= 29)
        big_mul(b, 1u << (e < 29 ? e : 29));
}

static void big_mul_pow5(struct big *b, long e)
{
    for (; e > 0; e -= 13) {
        uint32_t p5 = 1;
        for (int k = 0; k < (e < 13 ? e : 13); k++)
            p5 *= 5;
        big_mul(b, p5);
    }
}

/*
 * A double as redis-server reads one (getDoubleFromObject): strtod() must
 * take every byte (an embedded NUL fails), no leading space, no NaN, no
 * overflow and no underflow to zero; hex and "inf" pass. libos's strtod
 * rounds correctly, as glibc's does.
 */
int str2double(const char *p, size_t len, double *v)
{
    char small[128], *s = small;
    if (len == 0 || isspace((unsigned char)p[0]))
        return -1;
    if (len >= sizeof(small) && !(s = malloc(len + 1)))
        return -1;
    memcpy(s, p, len);
    s[len] = 0;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    int bad = (size_t)(end - s) != len || d != d ||
              (errno == ERANGE && (d == 0 || __builtin_isinf(d)));
    if (s != small)
        free(s);
    if (bad)
        return -1;
    *v = d;
    return 0;
}

/* Decimal digits of b, most significant first; returns how many. */
static int big_digits(const struct big *b, char *out)
{
    int n = 0;
    char tmp[10];
    int k = 0;
    uint32_t top = b->l[b->n - 1];
    do {
        tmp[k++] = '0' + top % 10;
        top /= 10;
    } while (top);
    while (k)
        out[n++] = tmp[--k];
    for (int i = b->n - 2; i >= 0; i--) {
        uint32_t x = b->l[i];
        for (int j = 8; j >= 0; j--) {
            out[n + j] = '0' + x % 10;
            x /= 10;
        }
        n += 9;
    }
    return n;
}

/* Exactly printf's "%.17g" (round half to even on the exact binary value). */
int double2str(char *buf, double d)
{
    char *o = buf;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    int neg = bits >> 63;
    int bexp = (bits >> 52) & 0x7ff;
    uint64_t frac = bits & ((1ULL << 52) - 1);

    if (bexp == 0x7ff) {
        const char *s = frac ? "nan" : neg ? "-inf" : "inf";
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        return n;
    }
    if (neg)
        *o++ = '-';
    if (bexp == 0 && frac == 0) {
        *o++ = '0';
        *o = 0;
        return o - buf;
    }
    uint64_t mant = bexp ? frac | (1ULL << 52) : frac;
    int e2 = (bexp ? bexp : 1) - 1075;      /* d = mant * 2^e2 */

    static struct big b;                    /* 388 bytes: keep off the stack */
    big_set(&b, mant);
    long point;                             /* digits before the decimal point */
    if (e2 >= 0)
        big_mul_pow2(&b, e2);
    else
        big_mul_pow5(&b, -e2);              /* mant * 2^e2 = mant * 5^-e2 / 10^-e2 */
    static char dig[BIG_LIMBS * 9 + 2];
    int nd = big_digits(&b, dig);
    point = nd + (e2 < 0 ? e2 : 0);

    /* Round to 17 significant digits. */
    enum { P = 17 };
    if (nd > P) {
        int up = 0;
        if (dig[P] > '5') {
            up = 1;
        } else if (dig[P] == '5') {
            for (int i = P + 1; i < nd && !up; i++)
                up = dig[i] != '0';
            if (!up)
                up = (dig[P - 1] - '0') & 1;
        }
        nd = P;
        if (up) {
            int i = P - 1;
            while (i >= 0 && dig[i] == '9')
                dig[i--] = '0';
            if (i >= 0) {
                dig[i]++;
            } else {
                dig[0] = '1';
                point++;
            }
        }
    }
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;

    long x = point - 1;                     /* exponent of the first digit */
    if (x < -4 || x >= P) {
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        if (x < 0)
            x = -x;
        if (x < 10)
            *o++ = '0';
        o += ll2str(o, x);
    } else if (x < 0) {
        *o++ = '0';
        *o++ = '.';
        for (long i = -1; i > x; i--)
            *o++ = '0';
        memcpy(o, dig, nd);
        o += nd;
    } else {
        for (long i = 0; i <= x; i++)
            *o++ = i < nd ? dig[i] : '0';
        if (nd > x + 1) {
            *o++ = '.';
            memcpy(o, dig + x + 1, nd - x - 1);
            o += nd - x - 1;
        }
    }
    *o = 0;
    return o - buf;
}

/* --- glob ------------------------------------------------------------------ */

static char fold(char c, int nocase)
{
    return nocase && c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Match one non-star pattern item at pat against c; returns the item's
 * length in the pattern, or 0 if it does not match. */
static size_t match_one(const char *pat, size_t plen, char c, int nocase)
{
    if (pat[0] == '?')
        return 1;
    if (pat[0] == '\\' && plen > 1)
        return fold(pat[1], nocase) == fold(c, nocase) ? 2 : 0;
    if (pat[0] != '[')
        return fold(pat[0], nocase) == fold(c, nocase) ? 1 : 0;

    size_t i = 1;
    int negate = 0, hit = 0;
    if (i < plen && pat[i] == '^') {
        negate = 1;
        i++;
    }
    for (; i < plen && pat[i] != ']'; i++) {
        if (pat[i] == '\\' && i + 1 < plen) {
            i++;
            if (fold(pat[i], nocase) == fold(c, nocase))
                hit = 1;
        } else if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
            char lo = fold(pat[i], nocase), hi = fold(pat[i + 2], nocase);
            char x = fold(c, nocase);
            if (lo > hi) {
                char t = lo;
                lo = hi;
                hi = t;
            }
            if (x >= lo && x <= hi)
                hit = 1;
            i += 2;
        } else if (fold(pat[i], nocase) == fold(c, nocase)) {
            hit = 1;
        }
    }
    /* An unterminated class runs to the end of the pattern, as in Redis. */
    size_t used = i < plen ? i + 1 : plen;
    return hit != negate ? used : 0;
}

/* Iterative, backtracking only to the most recent '*': linear in practice
 * and never exponential, unlike the naive recursion. */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen,
               int nocase)
{
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return 1;
            star_p = pi;
            star_s = si;
            continue;
        }
        size_t n = pi < plen ? match_one(pat + pi, plen - pi, s[si], nocase) : 0;
        if (n) {
            pi += n;
            si++;
        } else if (star_p != (size_t)-1) {
            pi = star_p;
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}

/* --- random ---------------------------------------------------------------- */

/* libos's ChaCha20 generator, keyed by the tender's entropy: a client
 * cannot predict RANDOMKEY, SPOP, eviction samples or the dict's hash
 * seed from what it has seen. */
uint64_t kv_rand(void)
{
    return libos_rand64();
}
