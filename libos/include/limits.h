/*
 * limits.h for libos guests (x86_64, LP64). gcc's own limits.h wants a
 * C library's limits.h behind it (#include_next), so libos provides the
 * whole header itself.
 */
#ifndef _LIBOS_LIMITS_H
#define _LIBOS_LIMITS_H

#define CHAR_BIT    8
#define MB_LEN_MAX  4

#define SCHAR_MIN   (-128)
#define SCHAR_MAX   127
#define UCHAR_MAX   255
#ifdef __CHAR_UNSIGNED__
#define CHAR_MIN    0
#define CHAR_MAX    UCHAR_MAX
#else
#define CHAR_MIN    SCHAR_MIN
#define CHAR_MAX    SCHAR_MAX
#endif

#define SHRT_MIN    (-SHRT_MAX - 1)
#define SHRT_MAX    __SHRT_MAX__
#define USHRT_MAX   (SHRT_MAX * 2 + 1)

#define INT_MIN     (-INT_MAX - 1)
#define INT_MAX     __INT_MAX__
#define UINT_MAX    (INT_MAX * 2U + 1U)

#define LONG_MIN    (-LONG_MAX - 1L)
#define LONG_MAX    __LONG_MAX__
#define ULONG_MAX   (LONG_MAX * 2UL + 1UL)

#define LLONG_MIN   (-LLONG_MAX - 1LL)
#define LLONG_MAX   __LONG_LONG_MAX__
#define ULLONG_MAX  (LLONG_MAX * 2ULL + 1ULL)

#define SSIZE_MAX   LONG_MAX

/* POSIX-style limits, as on Linux. */
#define PATH_MAX    4096
#define NAME_MAX    255
#define IOV_MAX     1024

#endif
