/*
 * assert.h for libos guests: a failed assertion prints file:line, the
 * function and the expression on the console, then calls solo5_abort().
 * Like any assert.h, this one may be included again with another NDEBUG.
 */
#undef assert

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
#define assert(e) ((e) ? (void)0 : \
    __libc_assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#ifndef _LIBOS_ASSERT_H
#define _LIBOS_ASSERT_H
_Noreturn void __libc_assert_fail(const char *expr, const char *file,
        int line, const char *func);
#if !defined(__cplusplus) && !defined(static_assert)
#define static_assert _Static_assert
#endif
#endif
