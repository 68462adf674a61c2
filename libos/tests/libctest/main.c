/*
 * libctest: checks libos's C library from inside a guest.
 *
 * With no argument it runs every check and prints SUCCESS (exit 0), or
 * one FAIL line per failed check (exit 1). Other modes end the guest in
 * ways libos/tests/libos_test.go watches from outside:
 *   console        print through printf/puts/putchar/fprintf/fwrite
 *   abort          abort()                       -> exit status 255
 *   assert         a failing assert()            -> message, status 255
 *   exit N         exit(N) after an atexit()     -> status N
 *   oom            allocate until malloc fails, free, allocate again
 *   random         print 64 bytes of libos_random() in hex
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <libos/heap.h>
#include <libos/libos.h>

static int failures;

#define FAIL(...) do { \
        failures++; \
        printf("FAIL %s:%d: ", __FILE__, __LINE__); \
        printf(__VA_ARGS__); \
        printf("\n"); \
    } while (0)

#define EXPECT(cond) do { if (!(cond)) FAIL("%s", #cond); } while (0)

/* snprintf must give exactly what glibc gives (strings taken from it). */
#define CHECK(want, ...) do { \
        char got[1024]; \
        int n = snprintf(got, sizeof(got), __VA_ARGS__); \
        if (strcmp(got, want) != 0 || n != (int)strlen(want)) \
            FAIL("snprintf(%s) = \"%s\" (%d), want \"%s\"", #__VA_ARGS__, \
                    got, n, want); \
    } while (0)

/* Some formats below are odd on purpose (a '0' flag with a precision). */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-zero-length"

static void test_printf(void)
{
    CHECK("0 -1 4294967295", "%d %i %u", 0, -1, 4294967295u);
    CHECK("2147483647|-2147483648", "%d|%d", INT_MAX, INT_MIN);
    CHECK("   42|42   |00042|+42| 42", "%5d|%-5d|%05d|%+d|% d", 42, 42, 42, 42, 42);
    CHECK("007|    -007|007     |     007||", "%.3d|%8.3d|%-8.3d|%08.3d|%.0d|", 7, -7, 7, 7, 0);
    CHECK("ff FF 0xff 0XFF 10 010", "%x %X %#x %#X %o %#o", 255u, 255u, 255u, 255u, 8u, 8u);
    CHECK("0|  011|0x00000abc|0xabc     |", "%#.0o|%#5o|%#010x|%-#10x|", 0u, 9u, 0xabcu, 0xabcu);
    CHECK("44 44 4464 4464", "%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
    CHECK("-9223372036854775808 18446744073709551615 deadbeefcafe", "%ld %lu %lx", LONG_MIN, ULONG_MAX, 0xdeadbeefcafeUL);
    CHECK("-9223372036854775808 18446744073709551615 1234567", "%lld %llu %llo", LLONG_MIN, ULLONG_MAX, 01234567ULL);
    CHECK("123456789 -5 1000", "%zu %zd %zx", (size_t)123456789, (ptrdiff_t)-5, (size_t)4096);
    CHECK("-9000000000 9000000000 -77", "%jd %ju %td", (intmax_t)-9000000000LL, (uintmax_t)9000000000ULL, (ptrdiff_t)-77);
    CHECK("     1|1     |0001|     005", "%*d|%-*d|%.*d|%*.*d", 6, 1, 6, 1, 4, 1, 8, 3, 5);
    CHECK("5     |", "%*d|", -6, 5);
    CHECK("abc|  x|y  |", "%c%c%c|%3c|%-3c|", 'a', 'b', 'c', 'x', 'y');
    CHECK("hello|        hi|left      |tr|       abc|x     |", "%s|%10s|%-10s|%.2s|%10.3s|%-6.1s|", "hello", "hi", "left", "trunc", "abcdef", "xyz");
    CHECK("", "%s", "");
    CHECK("%|50%", "%%|%d%%", 50);
    CHECK("0x1234 (nil)", "%p %p", (void *)0x1234, (void *)0);
    CHECK("        0xdeadbeef|0x10              |", "%18p|%-18p|", (void *)0xdeadbeef, (void *)0x10);
    CHECK("0.000000 1.000000 -1.500000", "%f %f %f", 0.0, 1.0, -1.5);
    CHECK("0 2 2 4", "%.0f %.0f %.0f %.0f", 0.5, 1.5, 2.5, 3.5);
    CHECK("0.12 0.38 2.001", "%.2f %.2f %.3f", 0.125, 0.375, 2.0005);
    CHECK("     3.142|3.142     |-00003.142|+2.2| 2.2", "%10.3f|%-10.3f|%010.3f|%+.1f|% .1f", 3.14159, 3.14159, -3.14159, 2.25, 2.25);
    CHECK("0.3333333333", "%.10f", 1.0 / 3);
    CHECK("0.10000000000000000555", "%.20f", 0.1);
    CHECK("100000000000000000000.000000", "%f", 1e20);
    CHECK("179769313486231570814527423731704356798070567525844996598917476803157260780028538760589558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368.000000", "%f", 1.7976931348623157e308);
    CHECK("0.000", "%.3f", 4.9e-324);
    CHECK("3.|3.e+00|3.00000", "%#.0f|%#.0e|%#g", 3.0, 3.0, 3.0);
    CHECK("1.234568e+04 1.230000E-04 6e+00 -1.000e-300", "%e %E %.0e %.3e", 12345.678, 0.000123, 5.5, -1e-300);
    CHECK("  6.0221e+23|1.60e-19    |", "%12.4e|%-12.2e|", 6.02214076e23, 1.602e-19);
    CHECK("100000 1e+06 0.0001 1e-05 123.456", "%g %g %g %g %g", 100000.0, 1000000.0, 0.0001, 0.00001, 123.456);
    CHECK("3.14 0.6666666667 1E-10 0.5 0.05", "%.3g %.10g %G %.0g %.1g", 3.14159, 2.0 / 3, 1e-10, 0.5, 0.05);
    CHECK("0.10000000000000001 0.33333333333333331 9.9999999999999992e+22", "%.17g %.17g %.17g", 0.1, 1.0 / 3, 1e23);
    CHECK("1.79769e+308 4.94066e-324", "%g %g", 1.7976931348623157e308, 4.9406564584124654e-324);
    CHECK("inf -INF nan -0", "%f %F %e %g", __builtin_inf(), -__builtin_inf(), __builtin_nan(""), -0.0);
    CHECK(" 10.0|0.5     |+1e-05", "%5.1f|%-8g|%+g", 9.96, 0.5, 1e-5);
    CHECK("mix=10 (a) Z 99.50%", "%s=%d (%x) %c %.2f%%", "mix", 10, 10u, 'Z', 99.5);
    CHECK("3000000000", "%u", 3000000000u);
    CHECK("-2147483647", "%i", -2147483647);

    /* Truncation keeps the return value of the whole text. */
    char small[8];
    EXPECT(snprintf(small, sizeof(small), "%s", "0123456789") == 10);
    EXPECT(strcmp(small, "0123456") == 0);
    EXPECT(snprintf(NULL, 0, "%d", 12345) == 5);
    small[0] = 'x';
    EXPECT(snprintf(small, 1, "abc") == 3 && small[0] == '\0');
    int pos = 0;
    snprintf(small, sizeof(small), "ab%ncd", &pos);
    EXPECT(pos == 2);
    char big[64];
    EXPECT(sprintf(big, "%s-%d", "sprintf", 7) == 9);
    EXPECT(strcmp(big, "sprintf-7") == 0);
    /* PRI macros fit their types. */
    snprintf(big, sizeof(big), "%" PRIu64 " %" PRId32 " %" PRIx8 " %" PRIuPTR,
            UINT64_MAX, INT32_MIN, (uint8_t)0xab, (uintptr_t)4096);
    EXPECT(strcmp(big, "18446744073709551615 -2147483648 ab 4096") == 0);
}

struct strto_case {
    const char *s;
    int base;
    long long want;
    int end;        /* characters consumed */
    int err;
};

static void test_strto(void)
{
    static const struct strto_case cases[] = {
        { "0", 10, 0, 1, 0 },
        { "  -42xyz", 10, -42, 5, 0 },
        { "+17", 0, 17, 3, 0 },
        { "0x1F", 0, 31, 4, 0 },
        { "0x1F", 16, 31, 4, 0 },
        { "0xg", 16, 0, 1, 0 },
        { "0755", 0, 493, 4, 0 },
        { "089", 0, 0, 1, 0 },
        { "zz", 36, 1295, 2, 0 },
        { "101", 2, 5, 3, 0 },
        { "", 10, 0, 0, 0 },
        { "abc", 10, 0, 0, 0 },
        { "-", 10, 0, 0, 0 },
        { "9223372036854775807", 10, LLONG_MAX, 19, 0 },
        { "9223372036854775808", 10, LLONG_MAX, 19, ERANGE },
        { "-9223372036854775808", 10, LLONG_MIN, 20, 0 },
        { "-9223372036854775809", 10, LLONG_MIN, 20, ERANGE },
        { "99999999999999999999999", 10, LLONG_MAX, 23, ERANGE },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct strto_case *c = &cases[i];
        char *end;
        errno = 0;
        long long v = strtoll(c->s, &end, c->base);
        if (v != c->want || end - c->s != c->end || errno != c->err)
            FAIL("strtoll(\"%s\", %d) = %lld end %d errno %d, want %lld %d %d",
                    c->s, c->base, v, (int)(end - c->s), errno, c->want,
                    c->end, c->err);
        errno = 0;
        long l = strtol(c->s, &end, c->base);
        if (l != (long)c->want || errno != c->err)
            FAIL("strtol(\"%s\", %d) = %ld", c->s, c->base, l);
    }
    char *end;
    errno = 0;
    EXPECT(strtoul("18446744073709551615", &end, 10) == ULONG_MAX && errno == 0);
    EXPECT(strtoul("18446744073709551616", &end, 10) == ULONG_MAX
            && errno == ERANGE);
    errno = 0;
    EXPECT(strtoul("-1", &end, 10) == ULONG_MAX && errno == 0);
    EXPECT(strtoull("ffffffffffffffff", &end, 16) == ULLONG_MAX && *end == 0);
    errno = 0;
    EXPECT(strtol("5", &end, 1) == 0 && errno == EINVAL);
    EXPECT(atoi("  123abc") == 123 && atol("-99") == -99 && atoll("77") == 77);
    EXPECT(strtoimax("-12", NULL, 10) == -12 && strtoumax("12", NULL, 10) == 12);

    /* strtod rounds correctly: the compiler's literals are the truth. */
    struct { const char *s; double want; int end; } d[] = {
        { "0.1", 0.1, 3 }, { "-2.5e-3", -2.5e-3, 7 }, { "1e23", 1e23, 4 },
        { "3.14159265358979323846", 3.14159265358979323846, 22 },
        { "  .5x", .5, 4 }, { "5.", 5.0, 2 }, { "1e", 1.0, 1 },
        { "0x1.8p1", 3.0, 7 }, { "1.7976931348623157e308",
            1.7976931348623157e308, 22 },
        { "4.9406564584124654e-324", 4.9406564584124654e-324, 23 },
        { "9007199254740993", 9007199254740992.0, 16 },
        { "0.500000000000000166533453693773481063544750213623046875",
            0.5000000000000002220446049250313080847263336181640625, 56 },
    };
    for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
        double v = strtod(d[i].s, &end);
        if (v != d[i].want || end - d[i].s != d[i].end)
            FAIL("strtod(\"%s\") = %.17g end %d, want %.17g %d", d[i].s, v,
                    (int)(end - d[i].s), d[i].want, d[i].end);
    }
    errno = 0;
    EXPECT(strtod("1e400", NULL) == __builtin_inf() && errno == ERANGE);
    errno = 0;
    EXPECT(strtod("1e-400", NULL) == 0 && errno == ERANGE);
    EXPECT(__builtin_isnan(strtod("nan", NULL)));
    EXPECT(strtod("-inf", NULL) == -__builtin_inf());
    EXPECT(strtod("xyz", &end) == 0 && *end == 'x');
    EXPECT(atof("2.5") == 2.5 && strtof("0.1", NULL) == 0.1f);

    /* printf("%.17g") and strtod() round-trip. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        union { uint64_t u; double d; } u = { .u = x };
        if (__builtin_isnan(u.d) || __builtin_isinf(u.d))
            continue;
        char buf[64];
        snprintf(buf, sizeof(buf), "%.17g", u.d);
        double back = strtod(buf, NULL);
        if (back != u.d) {
            FAIL("round trip %s -> %.17g", buf, back);
            break;
        }
    }
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

struct rec {
    char name[13];
    int key;
};

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void test_qsort(void)
{
    srand(42);
    for (int n = 0; n <= 5000; n = n < 50 ? n + 1 : n * 2) {
        for (int pattern = 0; pattern < 4; pattern++) {
            int *a = malloc((size_t)n * sizeof(int) + 1);
            long long sum = 0, sorted_sum = 0;
            for (int i = 0; i < n; i++) {
                a[i] = pattern == 0 ? rand() : pattern == 1 ? i
                        : pattern == 2 ? n - i : rand() % 4;
                sum += a[i];
            }
            qsort(a, (size_t)n, sizeof(int), cmp_int);
            for (int i = 0; i < n; i++) {
                sorted_sum += a[i];
                if (i > 0 && a[i - 1] > a[i]) {
                    FAIL("qsort n=%d pattern=%d not sorted at %d", n, pattern, i);
                    break;
                }
            }
            if (sum != sorted_sum)
                FAIL("qsort n=%d pattern=%d lost elements", n, pattern);
            free(a);
        }
    }
    struct rec r[500];
    for (int i = 0; i < 500; i++) {
        r[i].key = rand() % 100;
        snprintf(r[i].name, sizeof(r[i].name), "k%d", r[i].key);
    }
    qsort(r, 500, sizeof(r[0]), cmp_rec);
    for (int i = 0; i < 500; i++) {
        char want[13];
        snprintf(want, sizeof(want), "k%d", r[i].key);
        if ((i > 0 && r[i - 1].key > r[i].key) || strcmp(r[i].name, want)) {
            FAIL("qsort of records at %d", i);
            break;
        }
    }
    int sorted[100];
    for (int i = 0; i < 100; i++)
        sorted[i] = 3 * i;
    for (int k = -1; k < 300; k++) {
        int *p = bsearch(&k, sorted, 100, sizeof(int), cmp_int);
        if ((p != NULL) != (k >= 0 && k % 3 == 0) || (p && *p != k))
            FAIL("bsearch %d", k);
    }
}

/* Fill a block with a pattern derived from its slot, to find overlaps. */
static void fill(unsigned char *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(tag + i * 7);
}

static int intact(const unsigned char *p, size_t n, unsigned tag)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(tag + i * 7))
            return 0;
    return 1;
}

static void test_malloc(void)
{
    enum { SLOTS = 2000 };
    static unsigned char *ptr[SLOTS];
    static size_t len[SLOTS];
    size_t base = libos_heap_used();

    srand(7);
    for (int round = 0; round < 200000; round++) {
        int i = rand() % SLOTS;
        if (ptr[i]) {
            if (!intact(ptr[i], len[i], (unsigned)i)) {
                FAIL("block %d (%zu bytes) overwritten", i, len[i]);
                return;
            }
            if (rand() % 3 == 0) {
                size_t n = rand() % 4 ? (size_t)rand() % 700
                        : (size_t)rand() % 70000;
                unsigned char *q = realloc(ptr[i], n + 1);
                if (!q) {
                    FAIL("realloc(%zu) failed", n + 1);
                    return;
                }
                size_t keep = n < len[i] ? n : len[i];
                if (!intact(q, keep, (unsigned)i)) {
                    FAIL("realloc lost the contents of block %d", i);
                    return;
                }
                ptr[i] = q;
                len[i] = n;
                fill(q, n, (unsigned)i);
            } else {
                free(ptr[i]);
                ptr[i] = NULL;
            }
        } else {
            int r = rand() % 100;
            size_t n = r < 70 ? (size_t)rand() % 128 : r < 97
                    ? (size_t)rand() % 4096 : (size_t)rand() % 300000;
            unsigned char *p = r == 5 ? calloc(n, 1) : malloc(n);
            if (!p) {
                FAIL("malloc(%zu) failed", n);
                return;
            }
            if ((uintptr_t)p % 16)
                FAIL("malloc(%zu) = %p, not 16-byte aligned", n, (void *)p);
            if (r == 5)
                for (size_t k = 0; k < n; k++)
                    if (p[k]) {
                        FAIL("calloc memory not zero");
                        break;
                    }
            ptr[i] = p;
            len[i] = n;
            fill(p, n, (unsigned)i);
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        free(ptr[i]);
        ptr[i] = NULL;
    }
    EXPECT(libos_heap_used() == base);

    /* Freed memory coalesces: most of the free heap comes back in one. */
    size_t most = (libos_heap_size() - libos_heap_used()) / 4 * 3;
    void *whole = malloc(most);
    if (!whole)
        FAIL("malloc(%zu) after freeing everything failed", most);
    free(whole);

    for (size_t align = 32; align <= 65536; align *= 2) {
        void *p = aligned_alloc(align, 100), *q = NULL;
        if (!p || (uintptr_t)p % align)
            FAIL("aligned_alloc(%zu) = %p", align, p);
        EXPECT(posix_memalign(&q, align, 10) == 0 && (uintptr_t)q % align == 0);
        free(p);
        free(q);
    }
    EXPECT(posix_memalign(&whole, 24, 10) == EINVAL);
    errno = 0;
    EXPECT(malloc(SIZE_MAX - 8) == NULL && errno == ENOMEM);
    EXPECT(calloc(SIZE_MAX / 2, 3) == NULL);
    EXPECT(realloc(NULL, 10) != NULL);     /* leaks 32 bytes, on purpose */
    EXPECT(libos_heap_peak() >= libos_heap_used());

    char *s = strdup("duplicate"), *t = strndup("duplicate", 3);
    EXPECT(s && strcmp(s, "duplicate") == 0 && t && strcmp(t, "dup") == 0);
    free(s);
    free(t);
}

static void test_string(void)
{
    char buf[64];

    EXPECT(strlen("") == 0 && strlen("abc") == 3 && strnlen("abcdef", 4) == 4);
    EXPECT(strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0
            && strcmp("x", "x") == 0 && strcmp("\xff", "a") > 0);
    EXPECT(strncmp("abcX", "abcY", 3) == 0 && strncmp("ab", "abc", 3) < 0);
    EXPECT(strcasecmp("HeLLo", "hello") == 0 && strncasecmp("ABx", "aby", 2) == 0);
    EXPECT(strcasecmp("a", "B") < 0);
    EXPECT(memcmp("abcdefghij", "abcdefghiz", 10) < 0);
    strcpy(buf, "foo");
    strcat(buf, "bar");
    strncat(buf, "bazqux", 3);
    EXPECT(strcmp(buf, "foobarbaz") == 0);
    EXPECT(strchr(buf, 'b') == buf + 3 && strrchr(buf, 'b') == buf + 6);
    EXPECT(strchr(buf, '\0') == buf + 9 && strchr(buf, 'q') == NULL);
    EXPECT(strstr(buf, "bar") == buf + 3 && strstr(buf, "") == buf
            && strstr(buf, "barx") == NULL);
    EXPECT(memchr(buf, 'z', 9) == buf + 8 && memchr(buf, 'z', 8) == NULL);
    EXPECT(strspn("aabbc", "ab") == 4 && strcspn("hello world", " ") == 5);
    char hello[] = "hello";
    EXPECT(strpbrk(hello, "ol") == hello + 2 && strpbrk(hello, "xyz") == NULL);
    memset(buf, 0, sizeof(buf));
    strncpy(buf, "ab", 5);
    EXPECT(buf[0] == 'a' && buf[2] == 0 && buf[4] == 0);

    char list[] = " one, two,,three ";
    char *save, *tok;
    const char *want[] = { "one", "two", "three" };
    int n = 0;
    for (tok = strtok_r(list, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        if (n >= 3 || strcmp(tok, want[n]) != 0)
            FAIL("strtok_r token %d = \"%s\"", n, tok);
        n++;
    }
    EXPECT(n == 3);

    /* memmove in both directions, sizes around the word and "rep" paths. */
    static unsigned char a[4096], b[4096];
    for (size_t size = 0; size < 1200; size += 37) {
        for (int shift = -9; shift <= 9; shift += 3) {
            for (size_t i = 0; i < sizeof(a); i++)
                a[i] = b[i] = (unsigned char)(i * 13);
            size_t src = 1500, dst = (size_t)((long)src + shift);
            memmove(a + dst, a + src, size);
            for (size_t i = 0; i < size; i++)
                b[dst + i] = (unsigned char)((src + i) * 13);
            if (memcmp(a, b, sizeof(a)) != 0) {
                FAIL("memmove size %zu shift %d", size, shift);
                return;
            }
        }
    }
    memset(a, 0x5a, 1000);
    EXPECT(a[0] == 0x5a && a[999] == 0x5a && a[1000] != 0x5a);
    memcpy(b, a, 300);
    EXPECT(memcmp(a, b, 300) == 0);

    EXPECT(strcmp(strerror(ENOENT), "No such file or directory") == 0);
    EXPECT(strcmp(strerror(ENOMEM), "Cannot allocate memory") == 0);
    EXPECT(strcmp(strerror(12345), "Unknown error 12345") == 0);

    EXPECT(isdigit('7') && !isdigit('a') && isalpha('Q') && isspace('\t')
            && !isspace('x') && isxdigit('F') && !isxdigit('g')
            && isupper('A') && islower('a') && ispunct('!') && !ispunct('a')
            && isprint(' ') && !isprint('\n') && iscntrl(127)
            && tolower('A') == 'a' && toupper('z') == 'Z' && toupper('1') == '1'
            && !isalpha(0xe9));
    EXPECT(abs(-5) == 5 && labs(-7L) == 7 && llabs(-9LL) == 9);
    EXPECT(div(7, 2).quot == 3 && div(7, 2).rem == 1 && ldiv(-7, 2).rem == -1);
}

static void test_time(void)
{
    struct tm tm;
    time_t t = 0;
    char buf[64];

    gmtime_r(&t, &tm);
    EXPECT(tm.tm_year == 70 && tm.tm_mon == 0 && tm.tm_mday == 1
            && tm.tm_wday == 4 && tm.tm_yday == 0 && tm.tm_hour == 0);
    t = 951782400;  /* 2000-02-29 00:00:00 */
    gmtime_r(&t, &tm);
    EXPECT(tm.tm_year == 100 && tm.tm_mon == 1 && tm.tm_mday == 29
            && tm.tm_wday == 2 && tm.tm_yday == 59);
    t = 4102444799;  /* 2099-12-31 23:59:59 */
    gmtime_r(&t, &tm);
    EXPECT(strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %a %b %j", &tm) > 0);
    EXPECT(strcmp(buf, "2099-12-31 23:59:59 Thu Dec 365") == 0);
    EXPECT(timegm(&tm) == 4102444799);
    t = -1;
    gmtime_r(&t, &tm);
    EXPECT(tm.tm_year == 69 && tm.tm_mon == 11 && tm.tm_mday == 31
            && tm.tm_sec == 59);
    /* An HTTP date, the way servers format one. */
    t = 784111777;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    EXPECT(strcmp(buf, "Sun, 06 Nov 1994 08:49:37 GMT") == 0);
    EXPECT(strftime(buf, 5, "%Y-%m-%d", &tm) == 0);

    /* The host's clock: some time after 2020, and monotonic time moves. */
    EXPECT(time(NULL) > 1577836800);
    struct timespec a, b;
    EXPECT(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    for (volatile int i = 0; i < 1000000; i++)
        ;
    EXPECT(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    EXPECT(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec > a.tv_nsec));
    EXPECT(clock_gettime(CLOCK_REALTIME, &a) == 0 && a.tv_sec > 1577836800);
    EXPECT(clock_gettime(42, &a) == -1 && errno == EINVAL);
    struct timeval tv;
    EXPECT(gettimeofday(&tv, NULL) == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
}

static void console(void)
{
    printf("printf: [%5d] [%-5s] [%08.3f] [%#x]\n", 42, "ab", 3.14159, 255u);
    puts("puts: line");
    putchar('c');
    putchar('\n');
    fprintf(stderr, "fprintf: %s\n", "to stderr");
    fwrite("fwrite: 12345\n", 1, 14, stdout);
    fputs("fputs: done\n", stdout);
    /* Longer than the console buffer printf uses. */
    char line[2000];
    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    printf("long: %s|%d\n", line, (int)strlen(line));
}

static void at_exit(void)
{
    printf("atexit handler ran\n");
}

static int oom(void)
{
    size_t chunk = 1 << 20, count = 0;
    void **list = NULL;

    for (;;) {
        void **grown = realloc(list, (count + 1) * sizeof(*list));
        if (!grown)
            break;
        list = grown;
        errno = 0;
        void *p = malloc(chunk);
        if (!p) {
            if (errno != ENOMEM) {
                printf("FAIL malloc failed with errno %d, want ENOMEM\n", errno);
                return 1;
            }
            break;
        }
        memset(p, 0xab, chunk);    /* the memory is really there */
        list[count++] = p;
    }
    printf("allocated %zu MiB\n", count);
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
    /* All of it again, now as one block. */
    void *p = malloc((count - 1) * chunk);
    if (count < 4 || !p) {
        printf("FAIL could not reallocate %zu MiB in one block\n", count - 1);
        return 1;
    }
    free(p);
    printf("OOM OK\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";

    if (strcmp(mode, "console") == 0) {
        console();
        return 0;
    }
    if (strcmp(mode, "abort") == 0) {
        printf("calling abort\n");
        abort();
    }
    if (strcmp(mode, "assert") == 0) {
        int two = argc;
        assert(two == 1);
        printf("FAIL assert returned\n");
        return 1;
    }
    if (strcmp(mode, "exit") == 0 && argc > 2) {
        atexit(at_exit);
        exit(atoi(argv[2]));
    }
    if (strcmp(mode, "oom") == 0)
        return oom();
    if (strcmp(mode, "random") == 0) {
        uint8_t b[64];
        libos_random(b, sizeof b);
        printf("random ");
        for (size_t i = 0; i < sizeof b; i++)
            printf("%02x", b[i]);
        printf("\n");
        return 0;
    }

    test_printf();
    test_strto();
    test_qsort();
    test_malloc();
    test_string();
    test_time();
    if (failures) {
        printf("%d checks failed\n", failures);
        return 1;
    }
    printf("SUCCESS\n");
    return 0;
}
