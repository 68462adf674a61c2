/*
 * lwIP compiler/platform glue for libos: x86_64, little endian, gcc,
 * freestanding (the libos libc provides string.h and stdlib.h).
 */
#ifndef LIBOS_LWIP_ARCH_CC_H
#define LIBOS_LWIP_ARCH_CC_H

#include <stdint.h>
#include <stddef.h>
#include <limits.h>
#include <stdlib.h>     /* malloc/free/calloc for MEM_LIBC_MALLOC */
#include <sys/types.h>  /* ssize_t; limits.h defines SSIZE_MAX */
#include <solo5.h>      /* solo5_abort */

/* lwIP's own definitions instead of inttypes.h, ctype.h and unistd.h. */
#define LWIP_NO_INTTYPES_H  1
#define LWIP_NO_CTYPE_H     1
#define LWIP_NO_UNISTD_H    1

#define X8_F                "02x"
#define U16_F               "hu"
#define S16_F               "hd"
#define X16_F               "hx"
#define U32_F               "u"
#define S32_F               "d"
#define X32_F               "x"
#define SZT_F               "zu"

#define BYTE_ORDER          LITTLE_ENDIAN
#define lwip_htons(x)       ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x)       ((u32_t)__builtin_bswap32((u32_t)(x)))

/* Ephemeral ports (core/random.c's ChaCha20 generator). */
#define LWIP_RAND()         ((u32_t)libos_rand32())
uint32_t libos_rand32(void);

int libos_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* x is a parenthesised printf argument list. */
#define LWIP_PLATFORM_DIAG(x)   do { libos_log x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { \
        libos_log("lwip: assertion \"%s\" failed at %s:%d\n", \
                  x, __FILE__, __LINE__); \
        solo5_abort(); \
    } while (0)

#endif
