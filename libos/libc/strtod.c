/*
 * strtod() and friends: floating point text to binary.
 *
 * strtod() and strtold() round correctly (to nearest, ties to even), as
 * glibc does: an estimate in x87 long double is checked against the
 * halfway points to its neighbours with exact big-integer arithmetic and
 * moved until it is the nearest. The first 800 significant digits are
 * kept; the rest only count as "something non-zero follows", which is
 * exact because a halfway point between doubles has at most 767
 * significant digits; between long doubles it has that many down to
 * about 1e-300 (smaller ones with more than 800 digits given may be off by
 * an ulp). strtof() rounds the long double.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SIG     800     /* significant digits kept exactly */

struct number {
    enum { NUM_NONE, NUM_DEC, NUM_HEX, NUM_INF, NUM_NAN } kind;
    int neg;
    char digits[MAX_SIG];   /* decimal significant digits, values 0-9 */
    int ndig;
    long exp10;             /* value = digits * 10^exp10 */
    int sticky;             /* non-zero digits were dropped */
    long double hex;        /* NUM_HEX: the value */
};

static int hexval(int c)
{
    if (isdigit(c))
        return c - '0';
    c |= 32;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Read an optional exponent "e[+-]digits" (or "p..."); 0 if none. */
static long read_exponent(const char **sp, char mark)
{
    const char *p = *sp;
    int neg = 0;
    long e = 0;

    if ((*p | 32) != mark)
        return 0;
    p++;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return 0;   /* "1e" is the number 1 followed by "e" */
    for (; isdigit((unsigned char)*p); p++)
        if (e < 100000)
            e = e * 10 + (*p - '0');
    *sp = p;
    return neg ? -e : e;
}

static int parse_hex(const char **sp, long double *out)
{
    const char *p = *sp;
    uint64_t mant = 0;
    long exp2 = 0;
    int any = 0, seen_point = 0;

    for (;; p++) {
        if (*p == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        int d = hexval((unsigned char)*p);
        if (d < 0)
            break;
        any = 1;
        if (mant >> 60) {
            /* Beyond 64 bits: keep a sticky bit, count the scale. */
            mant |= d != 0;
            if (!seen_point)
                exp2 += 4;
        } else {
            mant = mant << 4 | (uint64_t)d;
            if (seen_point)
                exp2 -= 4;
        }
    }
    if (!any)
        return 0;
    exp2 += read_exponent(&p, 'p');
    *sp = p;
    long double v = (long double)mant;
    for (; exp2 > 0 && v <= __LDBL_MAX__; exp2--)
        v *= 2;
    for (; exp2 < 0 && v > 0; exp2++)
        v /= 2;
    *out = v;
    return 1;
}

static int parse_decimal(const char **sp, struct number *n)
{
    const char *p = *sp;
    int any = 0, seen_point = 0;

    for (;; p++) {
        if (*p == '.' && !seen_point) {
            seen_point = 1;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            break;
        any = 1;
        int d = *p - '0';
        if (n->ndig == 0 && d == 0) {
            if (seen_point)
                n->exp10--;     /* leading zero after the point */
        } else if (n->ndig < MAX_SIG) {
            n->digits[n->ndig++] = (char)d;
            if (seen_point)
                n->exp10--;
        } else {
            n->sticky |= d != 0;
            if (!seen_point)
                n->exp10++;
        }
    }
    if (!any)
        return 0;
    n->exp10 += read_exponent(&p, 'e');
    *sp = p;
    return 1;
}

/* Parse the text at s; (*end) is set after the number, or to s. */
static void parse(const char *s, const char **end, struct number *n)
{
    const char *p = s;

    memset(n, 0, sizeof(*n));
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        n->neg = *p++ == '-';

    if (strncasecmp(p, "inf", 3) == 0) {
        p += strncasecmp(p, "infinity", 8) == 0 ? 8 : 3;
        n->kind = NUM_INF;
    } else if (strncasecmp(p, "nan", 3) == 0) {
        p += 3;
        if (*p == '(') {
            const char *q = p + 1;
            while (isalnum((unsigned char)*q) || *q == '_')
                q++;
            if (*q == ')')
                p = q + 1;
        }
        n->kind = NUM_NAN;
    } else if (p[0] == '0' && (p[1] | 32) == 'x'
            && (hexval((unsigned char)p[2]) >= 0
                || (p[2] == '.' && hexval((unsigned char)p[3]) >= 0))) {
        p += 2;
        parse_hex(&p, &n->hex);
        n->kind = NUM_HEX;
    } else if (parse_decimal(&p, n)) {
        n->kind = NUM_DEC;
    } else {
        n->kind = NUM_NONE;
        p = s;
    }
    *end = p;
}

static long double pow10l_int(long k)
{
    long double r = 1.0L, base = 10.0L;

    for (; k; k >>= 1) {
        if (k & 1)
            r *= base;
        base *= base;
    }
    return r;
}

/* The long double estimate of a decimal number, from its first digits. */
static long double estimate(const struct number *n)
{
    uint64_t mant = 0;
    int used = n->ndig < 19 ? n->ndig : 19;

    for (int i = 0; i < used; i++)
        mant = mant * 10 + (uint64_t)n->digits[i];
    long e = n->exp10 + (n->ndig - used);
    if (e > 5000)
        return __builtin_infl();
    if (e < -5000)
        return 0;
    if (e >= 0)
        return (long double)mant * pow10l_int(e);
    /* 10^4933 and up overflow: divide in two steps. */
    if (e < -4900)
        return (long double)mant / pow10l_int(-e - 4900) / pow10l_int(4900);
    return (long double)mant / pow10l_int(-e);
}

/* --- exact comparison ---------------------------------------------------- */

/* 16384 bits: for long doubles, 800 digits times 5^5800 shifted, or a
 * 66-bit halfway point times 2^16384 (or 5^5800), fit with room to spare. */
#define BIG_WORDS 512

struct big {
    uint32_t w[BIG_WORDS];
    int n;
};

static void big_set(struct big *b, unsigned __int128 v)
{
    b->n = 0;
    for (; v; v >>= 32)
        b->w[b->n++] = (uint32_t)v;
}

/* b = b * m + add; 0 if it no longer fits. */
static int big_muladd(struct big *b, uint32_t m, uint32_t add)
{
    uint64_t carry = add;

    for (int i = 0; i < b->n; i++) {
        uint64_t x = (uint64_t)b->w[i] * m + carry;
        b->w[i] = (uint32_t)x;
        carry = x >> 32;
    }
    if (carry) {
        if (b->n == BIG_WORDS)
            return 0;
        b->w[b->n++] = (uint32_t)carry;
    }
    return 1;
}

static int big_mul_pow5(struct big *b, long k)
{
    for (; k >= 13; k -= 13)
        if (!big_muladd(b, 1220703125, 0))     /* 5^13 */
            return 0;
    uint32_t m = 1;
    while (k-- > 0)
        m *= 5;
    return big_muladd(b, m, 0);
}

static int big_shl(struct big *b, long bits)
{
    long words = bits / 32;
    int r = (int)(bits % 32);

    if (b->n == 0)
        return 1;
    if (b->n + words + 1 > BIG_WORDS)
        return 0;
    b->w[b->n] = 0;
    for (int i = b->n; i >= 0; i--) {
        uint32_t hi = b->w[i] << r;
        uint32_t lo = r && i > 0 ? b->w[i - 1] >> (32 - r) : 0;
        b->w[i + words] = hi | lo;
    }
    for (long i = 0; i < words; i++)
        b->w[i] = 0;
    b->n += (int)words + 1;
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
    return 1;
}

static int big_cmp(const struct big *a, const struct big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/*
 * Compare the decimal number (n) with k * 2^f: <0, 0 or >0. Dropped
 * digits make n a little larger than its kept digits. Returns 2 when the
 * numbers do not fit, which the caller treats as "keep the estimate".
 */
static int compare(const struct number *n, unsigned __int128 k, long f)
{
    /* Static: 4 KB is much for a guest's stack, and libos has one thread. */
    static struct big x, h;
    long e = n->exp10;

    big_set(&x, 0);
    for (int i = 0; i < n->ndig;) {
        uint32_t chunk = 0, scale = 1;
        for (int j = 0; j < 9 && i < n->ndig; j++, i++) {
            chunk = chunk * 10 + (uint32_t)n->digits[i];
            scale *= 10;
        }
        big_muladd(&x, scale, chunk);
    }
    big_set(&h, k);

    /* x * 5^e * 2^e against h * 2^f, with every power made positive. */
    int ok = e >= 0 ? big_mul_pow5(&x, e) : big_mul_pow5(&h, -e);
    if (ok)
        ok = e >= f ? big_shl(&x, e - f) : big_shl(&h, f - e);
    if (!ok)
        return 2;
    int c = big_cmp(&x, &h);
    return c == 0 && n->sticky ? 1 : c;
}

static double from_bits(uint64_t u)
{
    union { uint64_t u; double d; } b = { .u = u };
    return b.d;
}

/* The double nearest to decimal (n), given an estimate within an ulp. */
static double correct(const struct number *n, double est)
{
    union { double d; uint64_t u; } b = { .d = est };

    if (b.u >= 0x7ff0000000000000ULL)
        b.u = 0x7fefffffffffffffULL;    /* start from DBL_MAX */
    for (int round = 0; round < 4; round++) {
        int ef = (int)(b.u >> 52);
        uint64_t m = b.u & ((1ULL << 52) - 1);
        long e = ef ? ef - 1075 : -1074;
        if (ef)
            m |= 1ULL << 52;

        /* Halfway up to the next double: (2m + 1) * 2^(e-1). */
        int c = compare(n, 2 * m + 1, e - 1);
        if (c == 2)
            break;
        if (c > 0 || (c == 0 && (m & 1))) {
            b.u++;      /* may become infinity: that is the answer */
            if (b.u >= 0x7ff0000000000000ULL)
                break;
            continue;
        }
        if (m == 0)
            break;
        /* Halfway down; below a power of two the gap is half as big. */
        if (m == 1ULL << 52 && ef > 1)
            c = compare(n, 4 * m - 1, e - 2);
        else
            c = compare(n, 2 * m - 1, e - 1);
        if (c == 2)
            break;
        if (c < 0 || (c == 0 && (m & 1))) {
            b.u--;
            continue;
        }
        break;
    }
    return from_bits(b.u);
}

/* An x87 long double's fields: value m * 2^(ex - 16383 - 63), or
 * m * 2^-16445 when ex is 0 (subnormal); ex 32767 is infinity. */
struct ldbits {
    uint64_t m;
    int ex;
};

static struct ldbits ld_split(long double v)
{
    struct ldbits b;
    unsigned char raw[16] = {0};
    memcpy(raw, &v, 10);
    memcpy(&b.m, raw, 8);
    b.ex = (raw[8] | raw[9] << 8) & 0x7fff;
    return b;
}

static long double ld_join(struct ldbits b)
{
    unsigned char raw[16] = {0};
    long double v;
    memcpy(raw, &b.m, 8);
    raw[8] = (unsigned char)b.ex;
    raw[9] = (unsigned char)(b.ex >> 8);
    memcpy(&v, raw, sizeof(v) < 16 ? sizeof(v) : 16);
    return v;
}

/* Positive long doubles in order: ex * 2^63 plus m's low 63 bits counts
 * subnormals (ex 0) and normals (explicit top bit) alike, and the count
 * after LDBL_MAX is infinity. */
typedef unsigned __int128 ldidx;
#define LD_TOP (1ULL << 63)
#define LD_INF_IDX ((ldidx)0x7fff << 63)

static ldidx ld_index(struct ldbits b)
{
    return (ldidx)b.ex << 63 | (b.m & (LD_TOP - 1));
}

static struct ldbits ld_at(ldidx i)
{
    struct ldbits b = { (uint64_t)(i & (LD_TOP - 1)), (int)(i >> 63) };
    if (b.ex)
        b.m |= LD_TOP;
    return b;
}

/* Compare decimal (n) with the long double at index i, or with the
 * halfway point above it (half), as compare() does. */
static int compare_ld(const struct number *n, ldidx i, int half)
{
    struct ldbits b = ld_at(i);
    long e = b.ex ? b.ex - 16383 - 63 : -16445;
    return half ? compare(n, 2 * (unsigned __int128)b.m + 1, e - 1)
                : compare(n, b.m, e);
}

/* The long double nearest to decimal (n). The estimate is off by up to
 * a few hundred ulps for large exponents (the powers of ten in
 * estimate() are rounded), so bracket n between neighbours by galloping
 * from it, halve the bracket down to one ulp, and pick the nearer end
 * (ties to even), every step an exact comparison. */
static long double correct_ld(const struct number *n, long double est)
{
    ldidx lo, hi, g = est < __LDBL_MAX__ ? ld_index(ld_split(est)) : LD_INF_IDX - 1;
    int c = compare_ld(n, g, 0);

    if (c == 2)
        return est;
    if (c >= 0) {                   /* value(g) <= n: look above */
        lo = g;
        for (ldidx step = 1;; step *= 2) {
            hi = lo + step;
            if (hi >= LD_INF_IDX) {
                hi = LD_INF_IDX;
                break;
            }
            if ((c = compare_ld(n, hi, 0)) == 2)
                return est;
            if (c < 0)
                break;
            lo = hi;
        }
    } else {                        /* n < value(g): look below */
        hi = g;
        for (ldidx step = 1;; step *= 2) {
            lo = hi > step ? hi - step : 0;
            if ((c = compare_ld(n, lo, 0)) == 2)
                return est;
            if (c >= 0)
                break;
            hi = lo;                /* n > 0 = value(0): ends at 0 */
        }
    }
    while (hi - lo > 1) {           /* value(lo) <= n < value(hi) */
        ldidx mid = lo + (hi - lo) / 2;
        if ((c = compare_ld(n, mid, 0)) == 2)
            return est;
        if (c >= 0)
            lo = mid;
        else
            hi = mid;
    }
    /* The halfway point above lo is (2m + 1) * 2^(e-1) at every lo, even
     * where the exponent steps up (m + 1 = 2^64) and at LDBL_MAX. */
    c = compare_ld(n, lo, 1);
    if (c == 2)
        return est;
    struct ldbits b = ld_at(lo);
    return ld_join(ld_at(c > 0 || (c == 0 && (b.m & 1)) ? hi : lo));
}

/* --- the API ---------------------------------------------------------- */

long double strtold(const char *restrict s, char **restrict end)
{
    struct number n;
    const char *e;
    long double v = 0;

    parse(s, &e, &n);
    if (end)
        *end = (char *)e;
    switch (n.kind) {
    case NUM_DEC:
        if (n.ndig == 0)
            break;
        if (n.exp10 + n.ndig > 4934) {
            v = __builtin_infl();
        } else if (n.exp10 + n.ndig < -4951) {
            v = 0;
        } else {
            v = correct_ld(&n, estimate(&n));
        }
        /* Unlike for doubles, glibc's x87 strtold detects tininess
         * after rounding: what rounds up to LDBL_MIN is no underflow. */
        if (__builtin_isinf(v) || v < 3.36210314311209350626e-4932L)
            errno = ERANGE;
        break;
    case NUM_HEX: v = n.hex; break;
    case NUM_INF: v = __builtin_infl(); break;
    case NUM_NAN: v = __builtin_nanl(""); break;
    case NUM_NONE: return 0;
    }
    return n.neg ? -v : v;
}

double strtod(const char *restrict s, char **restrict end)
{
    struct number n;
    const char *e;
    double v = 0;

    parse(s, &e, &n);
    if (end)
        *end = (char *)e;
    switch (n.kind) {
    case NUM_DEC:
        if (n.ndig == 0)
            break;
        if (n.exp10 + n.ndig > 400) {
            v = __builtin_inf();
        } else if (n.exp10 + n.ndig < -400) {
            v = 0;
        } else {
            v = correct(&n, (double)estimate(&n));
        }
        /* Overflow, or underflow: the exact value is below DBL_MIN
         * (even if it rounded up to DBL_MIN, as glibc counts it). */
        if (__builtin_isinf(v) || v < 2.2250738585072014e-308
                || (v == 2.2250738585072014e-308
                    && compare(&n, 1ULL << 52, -1074) < 0))
            errno = ERANGE;
        break;
    case NUM_HEX:
        v = (double)n.hex;
        if (n.hex != 0 && (__builtin_isinf(v) || v < 2.2250738585072014e-308))
            errno = ERANGE;
        break;
    case NUM_INF: v = __builtin_inf(); break;
    case NUM_NAN: v = __builtin_nan(""); break;
    case NUM_NONE: return 0;
    }
    return n.neg ? -v : v;
}

float strtof(const char *restrict s, char **restrict end)
{
    char *e;
    long double lv = strtold(s, &e);
    float v = (float)lv;

    if (end)
        *end = e;
    if ((__builtin_isinf(v) && !__builtin_isinf(lv))
            || (lv != 0 && __builtin_fabsl(lv) < 1.17549435e-38L))
        errno = ERANGE;
    return v;
}

double atof(const char *s)
{
    return strtod(s, NULL);
}
