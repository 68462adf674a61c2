/*
 * Number parsing and formatting with Redis' exact rules (kept here rather
 * than relying on the libc's strtod/printf so replies match Redis byte for
 * byte), glob matching for KEYS and CONFIG GET, and a small PRNG.
 */
#include <string.h>

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

/* Little-endian base-1e9 big numbers, just big enough for any double and
 * for the exact comparisons in str2double(). */
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

static int big_cmp(const struct big *a, const struct big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->l[i] != b->l[i])
            return a->l[i] < b->l[i] ? -1 : 1;
    return 0;
}

static int lower_eq(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != word[i])
            return 0;
    }
    return 1;
}

static const double exact_pow10[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static long double pow10l_int(unsigned e)
{
    long double r = 1, b = 10;
    for (; e; e >>= 1, b *= b)
        if (e & 1)
            r *= b;
    return r;
}

/* Compare dec * 10^e10 with num * 2^e2, exactly. */
static int cmp_exact(uint64_t dec, long e10, uint64_t num, long e2)
{
    static struct big a, b;
    big_set(&a, dec);
    big_set(&b, num);
    if (e10 >= 0)
        big_mul_pow5(&a, e10);
    else
        big_mul_pow5(&b, -e10);
    /* What is left on each side is a power of two: 2^e10 and 2^e2. */
    if (e10 >= e2)
        big_mul_pow2(&a, e10 - e2);
    else
        big_mul_pow2(&b, e2 - e10);
    return big_cmp(&a, &b);
}

/* Move a positive approximation d of dec * 10^e10 (off by an ulp or so) to
 * the correctly rounded double, round half to even, by comparing the exact
 * value with the halfway points to d's neighbours. */
static double correct(double d, uint64_t dec, long e10)
{
    for (int step = 0; step < 4; step++) {
        uint64_t bits;
        memcpy(&bits, &d, 8);
        int bexp = bits >> 52;
        uint64_t m = bits & ((1ULL << 52) - 1);
        if (bexp)
            m |= 1ULL << 52;
        long e2 = (bexp ? bexp : 1) - 1075;     /* d = m * 2^e2 */

        int up = cmp_exact(dec, e10, 2 * m + 1, e2 - 1);
        if (up > 0 || (up == 0 && (m & 1))) {
            bits++;
        } else {
            /* Just above a power of two the gap below is half as wide. */
            int narrow = m == (1ULL << 52) && bexp > 1;
            int down = narrow ? cmp_exact(dec, e10, 4 * m - 1, e2 - 2)
                              : cmp_exact(dec, e10, 2 * m - 1, e2 - 1);
            if (down < 0 || (down == 0 && (m & 1)))
                bits--;
            else
                return d;
        }
        memcpy(&d, &bits, 8);
    }
    return d;
}

/*
 * What Redis accepts through strtod(): optional sign, digits with an
 * optional point, optional exponent, or inf/infinity. NaN, overflow and
 * underflow to zero are errors. The first 19 significant digits count
 * (scores with more are rare, and lose at most the last bit); from those
 * the result is correctly rounded: Clinger's exact fast path, else a long
 * double estimate fixed up by exact big-number comparison.
 */
int str2double(const char *p, size_t len, double *v)
{
    size_t i = 0;
    int neg = 0;

    if (len == 0 || len > 4096)
        return -1;
    if (p[0] == '-' || p[0] == '+') {
        neg = p[0] == '-';
        i++;
    }
    if (lower_eq(p + i, len - i, "inf") || lower_eq(p + i, len - i, "infinity")) {
        *v = neg ? -__builtin_inf() : __builtin_inf();
        return 0;
    }

    uint64_t mant = 0;
    int ndig = 0, digits_seen = 0, dot = 0;
    long exp10 = 0;
    for (; i < len; i++) {
        char c = p[i];
        if (c == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        digits_seen = 1;
        if (mant == 0 && c == '0') {
            if (dot)
                exp10--;
            continue;
        }
        if (ndig < 19) {
            mant = mant * 10 + (c - '0');
            ndig++;
            if (dot)
                exp10--;
        } else if (!dot) {
            exp10++;        /* dropped digit left of the point */
        }
    }
    if (!digits_seen)
        return -1;
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        int eneg = 0;
        long e = 0;
        if (i < len && (p[i] == '-' || p[i] == '+'))
            eneg = p[i++] == '-';
        if (i == len)
            return -1;
        for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
            if (e < 100000)
                e = e * 10 + (p[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (i != len)
        return -1;

    double d;
    if (mant == 0) {
        d = 0;
    } else if (mant < (1ULL << 53) && exp10 >= -22 && exp10 <= 22) {
        d = (double)mant;
        d = exp10 < 0 ? d / exact_pow10[-exp10] : d * exact_pow10[exp10];
    } else if (exp10 + ndig > 310) {
        return -1;                          /* overflow */
    } else if (exp10 + ndig < -330) {
        return -1;                          /* underflow to zero */
    } else {
        long double x = (long double)mant;
        x = exp10 < 0 ? x / pow10l_int(-exp10) : x * pow10l_int(exp10);
        d = (double)x;
        if (d == 0)
            d = 0x1p-1074;                  /* let correct() decide */
        if (d == __builtin_inf())
            d = 0x1.fffffffffffffp1023;
        d = correct(d, mant, exp10);
        if (d == __builtin_inf() || d == 0)
            return -1;
    }
    *v = neg ? -d : d;
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

static uint64_t rng_state = 0x853c49e6748fea9bULL;

void kv_srand(uint64_t seed)
{
    rng_state ^= seed * 0x9e3779b97f4a7c15ULL;
    if (!rng_state)
        rng_state = 1;
}

/* xorshift64*: plenty for SPOP, RANDOMKEY and skiplist levels. */
uint64_t kv_rand(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}
