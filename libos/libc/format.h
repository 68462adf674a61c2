/* The printf engine shared by the printf family (format.c). */
#ifndef LIBOS_LIBC_FORMAT_H
#define LIBOS_LIBC_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*format_out_fn)(void *ctx, const char *s, size_t n);

/* Format like vprintf, passing the text to fn in pieces; returns the
 * length of the whole text, or -1 (errno EOVERFLOW) past INT_MAX. */
int __libc_vformat(format_out_fn fn, void *ctx, const char *fmt, va_list ap);

#endif
