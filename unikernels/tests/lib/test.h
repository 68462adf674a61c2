/*
 * Helpers shared by the ABI test guests: console output, small string
 * functions and CHECK(). Guests use solo5.h only, no libos, so that a
 * failure points at the tender or the bindings.
 */
#ifndef TEST_H
#define TEST_H

#include "solo5.h"

size_t t_strlen(const char *s);
int t_strcmp(const char *a, const char *b);
/* If (s) starts with (prefix), the rest of (s); else NULL. */
const char *t_prefix(const char *s, const char *prefix);
/* Parses an unsigned number, decimal or 0x hex, ending at NUL or space.
 * Returns the end or NULL if there is no number. */
const char *t_parse_u64(const char *s, uint64_t *out);

void t_puts(const char *s);
void t_putu(uint64_t n);
void t_puthex(uint64_t n);

/* Prints "FAILURE: (what)" and exits with SOLO5_EXIT_FAILURE. */
void t_fail(const char *what) __attribute__((noreturn));

#define T_STR2(x) #x
#define T_STR(x) T_STR2(x)
#define CHECK(cond) do { \
        if (!(cond)) \
            t_fail(__FILE__ ":" T_STR(__LINE__) ": " #cond); \
    } while (0)

#endif
