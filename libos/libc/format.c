/*
 * The printf engine: __libc_vformat() turns a format and its arguments
 * into text handed piecewise to an output function, which snprintf()
 * (a bounded buffer) and printf() (the console) provide.
 *
 * Output matches glibc's for every conversion, floating point included
 * (exact decimal expansion, ties rounded to even), except that %a prints
 * as %e and precisions above 400 are padded with zeros.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "format.h"

#define F_LEFT   1      /* '-' */
#define F_PLUS   2      /* '+' */
#define F_SPACE  4      /* ' ' */
#define F_ALT    8      /* '#' */
#define F_ZERO  16      /* '0' */

struct out {
    format_out_fn fn;
    void *ctx;
    size_t count;
};

static void emit(struct out *o, const char *s, size_t n)
{
    if (n) {
        o->fn(o->ctx, s, n);
        o->count += n;
    }
}

static void pad(struct out *o, char c, size_t n)
{
    static const char spaces[] = "                ";
    static const char zeros[] = "0000000000000000";
    const char *src = c == '0' ? zeros : spaces;

    while (n > 0) {
        size_t k = n < 16 ? n : 16;
        emit(o, src, k);
        n -= k;
    }
}

/*
 * Emit a converted field: prefix (sign, "0x"), then (zeros) zeros, then
 * body, justified in (width). With F_ZERO and no explicit precision the
 * padding goes between prefix and body as zeros.
 */
static void field(struct out *o, int flags, int width, const char *prefix,
        size_t plen, size_t zeros, const char *body, size_t blen,
        int zero_pad_ok)
{
    size_t len = plen + zeros + blen;
    size_t fill = width > 0 && (size_t)width > len ? (size_t)width - len : 0;

    if (!(flags & F_LEFT) && !((flags & F_ZERO) && zero_pad_ok))
        pad(o, ' ', fill);
    emit(o, prefix, plen);
    if (!(flags & F_LEFT) && (flags & F_ZERO) && zero_pad_ok)
        pad(o, '0', fill);
    pad(o, '0', zeros);
    emit(o, body, blen);
    if (flags & F_LEFT)
        pad(o, ' ', fill);
}

static void format_int(struct out *o, unsigned long long v, int neg,
        int is_signed, char conv, int flags, int width, int prec)
{
    char buf[24], *end = buf + sizeof(buf), *p = end;
    const char *digits = conv == 'X' ? "0123456789ABCDEF"
            : "0123456789abcdef";
    unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X') ? 16 : 10;
    char prefix[2];
    size_t plen = 0, zeros = 0;

    for (unsigned long long x = v; x; x /= base)
        *--p = digits[x % base];
    if (prec < 0 && p == end)
        *--p = '0';
    size_t ndig = (size_t)(end - p);
    if (prec >= 0 && (size_t)prec > ndig)
        zeros = (size_t)prec - ndig;
    if (conv == 'o' && (flags & F_ALT) && zeros == 0 && (p == end || *p != '0'))
        zeros = 1;

    if (is_signed) {
        if (neg)
            prefix[plen++] = '-';
        else if (flags & F_PLUS)
            prefix[plen++] = '+';
        else if (flags & F_SPACE)
            prefix[plen++] = ' ';
    }
    if (base == 16 && (flags & F_ALT) && v != 0) {
        prefix[plen++] = '0';
        prefix[plen++] = conv;
    }
    field(o, flags, width, prefix, plen, zeros, p, ndig, prec < 0);
}

/* --- floating point ------------------------------------------------------ */

/*
 * Doubles are converted exactly, as glibc does: v = mant * 2^exp2 is
 * split into an integer part (printed by dividing a big integer by 10^9)
 * and a binary fraction F / 2^s (each further digit is the integer part
 * of F * 10). Rounding looks at the next digit and whether anything
 * non-zero follows, ties to even. Precision beyond MAX_PREC prints zeros.
 */
#define MAX_PREC    400
#define INT_DIGITS  310                 /* DBL_MAX has 309 */
#define BIG_WORDS   40                  /* 1074 fraction bits + a digit */

struct big {
    uint32_t w[BIG_WORDS];
    int n;                              /* words in use */
};

struct dec {
    char int_digits[INT_DIGITS];        /* no leading zeros */
    int nint;                           /* 0 when the integer part is 0 */
    struct big frac;                    /* F, s bits; digit word above */
    int s_words;                        /* s / 32 */
};

/* b /= d; returns the remainder. */
static uint32_t big_div(struct big *b, uint32_t d)
{
    uint64_t rem = 0;

    for (int i = b->n - 1; i >= 0; i--) {
        uint64_t cur = rem << 32 | b->w[i];
        b->w[i] = (uint32_t)(cur / d);
        rem = cur % d;
    }
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
    return (uint32_t)rem;
}

static void big_shl(struct big *b, uint64_t v, int shift)
{
    memset(b->w, 0, sizeof(b->w));
    int word = shift / 32, bit = shift % 32;
    unsigned __int128 x = (unsigned __int128)v << bit;
    for (int i = 0; i < 3 && word + i < BIG_WORDS; i++)
        b->w[word + i] = (uint32_t)(x >> (32 * i));
    b->n = word + 3 < BIG_WORDS ? word + 3 : BIG_WORDS;
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
}

static void dec_init(struct dec *d, double v)
{
    union { double d; uint64_t u; } bits = { .d = v };
    int e = (int)((bits.u >> 52) & 0x7ff);
    uint64_t mant = bits.u & ((1ULL << 52) - 1);
    int exp2 = e ? e - 1075 : -1074;
    struct big ip;

    if (e)
        mant |= 1ULL << 52;
    d->nint = 0;
    memset(&d->frac, 0, sizeof(d->frac));
    d->s_words = 0;

    if (exp2 >= 0) {
        big_shl(&ip, mant, exp2);
    } else {
        int s = -exp2;
        uint64_t ipart = s < 64 ? mant >> s : 0;
        uint64_t fpart = s < 64 ? mant & ((1ULL << s) - 1) : mant;
        big_shl(&ip, ipart, 0);
        /* Align F so that s is a whole number of words. */
        int pad = (32 - s % 32) % 32;
        d->s_words = (s + pad) / 32;
        big_shl(&d->frac, fpart, pad);
    }

    /* The integer part, nine digits at a time from the right. */
    char tmp[INT_DIGITS + 9];
    int n = 0;
    while (ip.n > 0) {
        uint32_t chunk = big_div(&ip, 1000000000);
        for (int i = 0; i < 9; i++, chunk /= 10)
            tmp[n++] = (char)('0' + chunk % 10);
    }
    while (n > 0 && tmp[n - 1] == '0')
        n--;
    for (int i = 0; i < n; i++)
        d->int_digits[i] = tmp[n - 1 - i];
    d->nint = n;
}

static int dec_frac_nonzero(const struct dec *d)
{
    for (int i = 0; i < d->frac.n && i < d->s_words; i++)
        if (d->frac.w[i])
            return 1;
    return 0;
}

/* The next fraction digit: F *= 10, take the word above s. */
static int dec_next(struct dec *d)
{
    struct big *f = &d->frac;
    uint64_t carry = 0;

    if (!dec_frac_nonzero(d))
        return 0;
    for (int i = 0; i < d->s_words; i++) {
        uint64_t x = (uint64_t)f->w[i] * 10 + carry;
        f->w[i] = (uint32_t)x;
        carry = x >> 32;
    }
    f->n = d->s_words;
    while (f->n > 0 && f->w[f->n - 1] == 0)
        f->n--;
    return (int)carry;
}

/*
 * Round the digit string p[0..n) given the next digit and whether more
 * non-zero digits follow; returns 1 if the carry ran off the front (all
 * digits were 9 and are now 0).
 */
static int round_digits(char *p, int n, int next, int sticky)
{
    int odd = n > 0 && (p[n - 1] - '0') % 2;

    if (next < 5 || (next == 5 && !sticky && !odd))
        return 0;
    for (int i = n - 1; i >= 0; i--) {
        if (p[i] != '9') {
            p[i]++;
            return 0;
        }
        p[i] = '0';
    }
    return 1;
}

/* %f body: the digits of v (>= 0, finite) with prec after the point. */
static size_t format_f(double v, int prec, int alt, char *out)
{
    struct dec d;
    char *p = out + 1;      /* room for a carry digit in front */
    int n = 0;

    dec_init(&d, v);
    if (d.nint == 0)
        p[n++] = '0';
    else
        for (int i = 0; i < d.nint; i++)
            p[n++] = d.int_digits[i];
    int nint = n;
    for (int i = 0; i < prec; i++)
        p[n++] = (char)('0' + dec_next(&d));
    int next = dec_next(&d);
    if (round_digits(p, n, next, dec_frac_nonzero(&d))) {
        *--p = '1';
        n++;
        nint++;
    }
    if (p != out)
        memmove(out, p, (size_t)n);
    if (prec > 0 || alt) {
        memmove(out + nint + 1, out + nint, (size_t)prec);
        out[nint] = '.';
        n++;
    }
    return (size_t)n;
}

/*
 * The first (sig) significant digits of v (>= 0, finite) at (p), rounded;
 * returns the decimal exponent of the first one.
 */
static int sig_digits(double v, int sig, char *p)
{
    struct dec d;
    int n = 0, exp10, next, sticky = 0;

    if (v == 0) {
        memset(p, '0', (size_t)sig);
        return 0;
    }
    dec_init(&d, v);
    if (d.nint > 0) {
        exp10 = d.nint - 1;
        for (; n < sig && n < d.nint; n++)
            p[n] = d.int_digits[n];
        if (n < d.nint) {
            next = d.int_digits[n] - '0';
            for (int i = n + 1; i < d.nint; i++)
                sticky |= d.int_digits[i] != '0';
            sticky |= dec_frac_nonzero(&d);
        } else {
            for (; n < sig; n++)
                p[n] = (char)('0' + dec_next(&d));
            next = dec_next(&d);
            sticky = dec_frac_nonzero(&d);
        }
    } else {
        int first;
        exp10 = -1;
        while ((first = dec_next(&d)) == 0)
            exp10--;
        p[n++] = (char)('0' + first);
        for (; n < sig; n++)
            p[n] = (char)('0' + dec_next(&d));
        next = dec_next(&d);
        sticky = dec_frac_nonzero(&d);
    }
    if (round_digits(p, sig, next, sticky)) {
        p[0] = '1';         /* 9.99 -> 10.0: 1.00 with the next exponent */
        exp10++;
    }
    return exp10;
}

/* %e body: d.ddde+XX with prec digits after the point. */
static size_t format_e(double v, int prec, int alt, char upper, char *out)
{
    char *p = out;
    int e = sig_digits(v, prec + 1, p + 1);

    p[0] = p[1];
    p[1] = '.';
    p += prec + 2;
    if (prec == 0 && !alt)
        p--;    /* no point */
    *p++ = upper ? 'E' : 'e';
    *p++ = e < 0 ? '-' : '+';
    unsigned ue = (unsigned)(e < 0 ? -e : e);
    if (ue >= 100)
        *p++ = (char)('0' + ue / 100);
    *p++ = (char)('0' + ue / 10 % 10);
    *p++ = (char)('0' + ue % 10);
    return (size_t)(p - out);
}

/* Drop trailing zeros of the fraction (and a bare point), for %g. */
static size_t strip_zeros(char *s, size_t len)
{
    char *exp = memchr(s, 'e', len);
    if (!exp)
        exp = memchr(s, 'E', len);
    size_t mant = exp ? (size_t)(exp - s) : len;
    if (!memchr(s, '.', mant))
        return len;
    size_t m = mant;
    while (s[m - 1] == '0')
        m--;
    if (s[m - 1] == '.')
        m--;
    memmove(s + m, s + mant, len - mant);
    return len - (mant - m);
}

static void format_float(struct out *o, double v, char conv, int flags,
        int width, int prec)
{
    union { double d; uint64_t u; } bits = { .d = v };
    int neg = (int)(bits.u >> 63), upper = conv >= 'A' && conv <= 'Z';
    char prefix[1];
    size_t plen = 0, len;
    char buf[INT_DIGITS + MAX_PREC + 16];

    if (neg) {
        prefix[plen++] = '-';
        v = -v;
    } else if (flags & F_PLUS) {
        prefix[plen++] = '+';
    } else if (flags & F_SPACE) {
        prefix[plen++] = ' ';
    }
    if (v != v || v > 1.7976931348623157e308) {
        const char *s = v != v ? (upper ? "NAN" : "nan")
                : (upper ? "INF" : "inf");
        field(o, flags, width, prefix, plen, 0, s, 3, 0);
        return;
    }

    if (prec < 0)
        prec = 6;
    int extra = 0;      /* zeros beyond MAX_PREC, appended after */
    if (prec > MAX_PREC) {
        extra = prec - MAX_PREC;
        prec = MAX_PREC;
    }
    switch (conv | 32) {
    case 'f':
        len = format_f(v, prec, flags & F_ALT, buf);
        break;
    case 'e':
        len = format_e(v, prec, flags & F_ALT, (char)upper, buf);
        break;
    default: {  /* 'g': %e's exponent after rounding picks the style */
        int p = prec == 0 ? 1 : prec;
        int x = sig_digits(v, p, buf);
        extra = 0;
        if (p > x && x >= -4)
            len = format_f(v, p - 1 - x, flags & F_ALT, buf);
        else
            len = format_e(v, p - 1, flags & F_ALT, (char)upper, buf);
        if (!(flags & F_ALT))
            len = strip_zeros(buf, len);
        break;
    }
    }
    if (extra) {
        /* Precision beyond MAX_PREC: zeros go before any exponent. */
        char *exp = memchr(buf, upper ? 'E' : 'e', len);
        size_t at = exp ? (size_t)(exp - buf) : len;
        size_t total = plen + len + (size_t)extra;
        size_t fill = width > 0 && (size_t)width > total
                ? (size_t)width - total : 0;
        if (!(flags & F_LEFT) && !(flags & F_ZERO))
            pad(o, ' ', fill);
        emit(o, prefix, plen);
        if (!(flags & F_LEFT) && (flags & F_ZERO))
            pad(o, '0', fill);
        emit(o, buf, at);
        pad(o, '0', (size_t)extra);
        emit(o, buf + at, len - at);
        if (flags & F_LEFT)
            pad(o, ' ', fill);
        return;
    }
    field(o, flags, width, prefix, plen, 0, buf, len, 1);
}

/* --- the driver ---------------------------------------------------------- */

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_J, L_Z, L_T, L_BIG_L };

int __libc_vformat(format_out_fn fn, void *ctx, const char *fmt, va_list ap)
{
    struct out o = { fn, ctx, 0 };
    va_list args;

    va_copy(args, ap);
    while (*fmt) {
        const char *start = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        emit(&o, start, (size_t)(fmt - start));
        if (!*fmt)
            break;
        start = fmt++;

        int flags = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                flags |= F_LEFT;
            else if (*fmt == '+')
                flags |= F_PLUS;
            else if (*fmt == ' ')
                flags |= F_SPACE;
            else if (*fmt == '#')
                flags |= F_ALT;
            else if (*fmt == '0')
                flags |= F_ZERO;
            else if (*fmt != '\'')
                break;
        }

        int width = 0;
        if (*fmt == '*') {
            width = va_arg(args, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = width == INT_MIN ? INT_MAX : -width;
            }
            fmt++;
        } else {
            for (; *fmt >= '0' && *fmt <= '9'; fmt++)
                width = width > (INT_MAX - 9) / 10 ? INT_MAX
                        : width * 10 + (*fmt - '0');
        }

        int prec = -1;
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(args, int);
                if (prec < 0)
                    prec = -1;
                fmt++;
            } else {
                for (; *fmt >= '0' && *fmt <= '9'; fmt++)
                    prec = prec > (INT_MAX - 9) / 10 ? INT_MAX
                            : prec * 10 + (*fmt - '0');
            }
        }

        enum length len = L_NONE;
        switch (*fmt) {
        case 'h':
            len = fmt[1] == 'h' ? L_HH : L_H;
            fmt += len == L_HH ? 2 : 1;
            break;
        case 'l':
            len = fmt[1] == 'l' ? L_LL : L_L;
            fmt += len == L_LL ? 2 : 1;
            break;
        case 'q':
            len = L_LL;
            fmt++;
            break;
        case 'j':
            len = L_J;
            fmt++;
            break;
        case 'z':
            len = L_Z;
            fmt++;
            break;
        case 't':
            len = L_T;
            fmt++;
            break;
        case 'L':
            len = L_BIG_L;
            fmt++;
            break;
        }

        char conv = *fmt;
        if (conv)
            fmt++;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case L_HH: v = (signed char)va_arg(args, int); break;
            case L_H: v = (short)va_arg(args, int); break;
            case L_L: v = va_arg(args, long); break;
            case L_LL:
            case L_BIG_L: v = va_arg(args, long long); break;
            case L_J: v = va_arg(args, intmax_t); break;
            case L_Z: v = va_arg(args, long); break;    /* ssize_t */
            case L_T: v = va_arg(args, ptrdiff_t); break;
            default: v = va_arg(args, int); break;
            }
            unsigned long long mag = v < 0 ? 0 - (unsigned long long)v
                    : (unsigned long long)v;
            format_int(&o, mag, v < 0, 1, 'd', flags, width, prec);
            break;
        }
        case 'u':
        case 'o':
        case 'x':
        case 'X': {
            unsigned long long v;
            switch (len) {
            case L_HH: v = (unsigned char)va_arg(args, unsigned); break;
            case L_H: v = (unsigned short)va_arg(args, unsigned); break;
            case L_L: v = va_arg(args, unsigned long); break;
            case L_LL:
            case L_BIG_L: v = va_arg(args, unsigned long long); break;
            case L_J: v = va_arg(args, uintmax_t); break;
            case L_Z: v = va_arg(args, size_t); break;
            case L_T: v = (unsigned long long)va_arg(args, ptrdiff_t); break;
            default: v = va_arg(args, unsigned); break;
            }
            format_int(&o, v, 0, 0, conv, flags, width, prec);
            break;
        }
        case 'p': {
            void *p = va_arg(args, void *);
            if (!p)
                field(&o, flags, width, "", 0, 0, "(nil)", 5, 0);
            else
                format_int(&o, (uintptr_t)p, 0, 0, 'x', flags | F_ALT,
                        width, prec);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            field(&o, flags, width, "", 0, 0, &c, 1, 0);
            break;
        }
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s)
                s = prec < 0 || prec >= 6 ? "(null)" : "";
            size_t n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
            field(&o, flags, width, "", 0, 0, s, n, 0);
            break;
        }
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
        case 'a':
        case 'A': {
            double v = len == L_BIG_L ? (double)va_arg(args, long double)
                    : va_arg(args, double);
            /* No hex floats: %a prints as %e. */
            char c = conv == 'a' ? 'e' : conv == 'A' ? 'E' : conv;
            format_float(&o, v, c, flags, width, prec);
            break;
        }
        case 'n': {
            void *p = va_arg(args, void *);
            switch (len) {
            case L_HH: *(signed char *)p = (signed char)o.count; break;
            case L_H: *(short *)p = (short)o.count; break;
            case L_L:
            case L_LL:
            case L_J:
            case L_Z:
            case L_T: *(long *)p = (long)o.count; break;
            default: *(int *)p = (int)o.count; break;
            }
            break;
        }
        case '%':
            emit(&o, "%", 1);
            break;
        default:
            /* Unknown conversion: print it as written. */
            emit(&o, start, (size_t)(fmt - start));
            break;
        }
    }
    va_end(args);
    if (o.count > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)o.count;
}
