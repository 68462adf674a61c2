/* The small parts of stdlib.h: arithmetic, bsearch, rand, exit. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "solo5.h"

int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }
long long llabs(long long x) { return x < 0 ? -x : x; }
intmax_t imaxabs(intmax_t x) { return x < 0 ? -x : x; }

div_t div(int num, int den)
{
    return (div_t){ num / den, num % den };
}

ldiv_t ldiv(long num, long den)
{
    return (ldiv_t){ num / den, num % den };
}

lldiv_t lldiv(long long num, long long den)
{
    return (lldiv_t){ num / den, num % den };
}

imaxdiv_t imaxdiv(intmax_t num, intmax_t den)
{
    return (imaxdiv_t){ num / den, num % den };
}

void *bsearch(const void *key, const void *base, size_t n, size_t size,
        int (*cmp)(const void *, const void *))
{
    const char *lo = base;

    while (n > 0) {
        const char *mid = lo + (n / 2) * size;
        int c = cmp(key, mid);
        if (c == 0)
            return (void *)mid;
        if (c > 0) {
            lo = mid + size;
            n -= n / 2 + 1;
        } else {
            n /= 2;
        }
    }
    return NULL;
}

/*
 * rand(): a 64-bit LCG (Knuth's MMIX constants) returning its high bits,
 * which are far better than the low ones. Not for cryptography.
 */
static uint64_t rand_state = 1;

static int lcg_next(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (int)(*state >> 33);
}

int rand(void)
{
    return lcg_next(&rand_state);
}

void srand(unsigned int seed)
{
    rand_state = seed;
}

int rand_r(unsigned int *seed)
{
    uint64_t s = *seed;
    int r = lcg_next(&s);

    *seed = (unsigned int)s ^ (unsigned int)(s >> 32);
    return r;
}

#define ATEXIT_MAX 32
static void (*atexit_fns[ATEXIT_MAX])(void);
static int atexit_count;

int atexit(void (*fn)(void))
{
    if (atexit_count == ATEXIT_MAX)
        return -1;
    atexit_fns[atexit_count++] = fn;
    return 0;
}

_Noreturn void exit(int status)
{
    /* Handlers run in reverse order; one may call atexit() again. */
    while (atexit_count > 0)
        atexit_fns[--atexit_count]();
    fflush(stdout);
    solo5_exit(status);
}

_Noreturn void _Exit(int status)
{
    solo5_exit(status);
}

_Noreturn void abort(void)
{
    fflush(stdout);
    solo5_abort();
}

_Noreturn void __libc_assert_fail(const char *expr, const char *file,
        int line, const char *func)
{
    printf("%s:%d: %s: Assertion `%s' failed.\n", file, line, func, expr);
    abort();
}
