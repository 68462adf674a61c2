/*
 * memcpy, memmove, memset, memcmp and friends.
 *
 * These are hot (lwIP copies every payload, apps copy values), so large
 * copies and fills use "rep movsb"/"rep stosb", which x86_64 CPUs with
 * ERMS run at cache speed, and small ones a word loop. libc.mk compiles
 * this folder with -fno-tree-loop-distribute-patterns so gcc does not turn
 * these loops back into calls to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Below this, the startup cost of "rep" outweighs its speed. */
#define REP_MIN 256

typedef uint64_t __attribute__((may_alias, aligned(1))) uword;

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (n >= REP_MIN) {
        __asm__ volatile("rep movsb"
                : "+D"(d), "+S"(s), "+c"(n) : : "memory");
        return dst;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(uword *)d = *(const uword *)s;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n) {
        /* Forward copy is safe when dst starts before src. */
        if (n >= REP_MIN && (d + n <= s || d >= s + n))
            return memcpy(dst, src, n);
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(uword *)d = *(const uword *)s;
        while (n--)
            *d++ = *s++;
        return dst;
    }
    /* dst overlaps the tail of src: copy backwards. */
    d += n;
    s += n;
    for (; n >= 8; n -= 8) {
        d -= 8;
        s -= 8;
        *(uword *)d = *(const uword *)s;
    }
    while (n--)
        *--d = *--s;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    if (n >= REP_MIN) {
        __asm__ volatile("rep stosb"
                : "+D"(d), "+c"(n) : "a"(c) : "memory");
        return dst;
    }
    uint64_t w = (unsigned char)c * 0x0101010101010101ULL;
    for (; n >= 8; n -= 8, d += 8)
        *(uword *)d = w;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;

    /* Skip equal words quickly, then find the first differing byte. */
    for (; n >= 8; n -= 8, p += 8, q += 8)
        if (*(const uword *)p != *(const uword *)q)
            break;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;

    for (; n; n--, p++)
        if (*p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

void *memrchr(const void *s, int c, size_t n)
{
    const unsigned char *p = (const unsigned char *)s + n;

    while (n--)
        if (*--p == (unsigned char)c)
            return (void *)p;
    return NULL;
}

void *memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
    const unsigned char *h = hay, *n = needle;

    if (nlen == 0)
        return (void *)hay;
    while (hlen >= nlen) {
        const unsigned char *p = memchr(h, n[0], hlen - nlen + 1);
        if (!p)
            return NULL;
        if (memcmp(p, n, nlen) == 0)
            return (void *)p;
        hlen -= (size_t)(p - h) + 1;
        h = p + 1;
    }
    return NULL;
}
