/*
 * stdio.h for libos guests. Only the console exists: stdout and stderr
 * both write to it (solo5_console_write) and there is no input. The
 * printf family supports %d %i %u %o %x %X %c %s %p %n %% %f %F %e %E
 * %g %G with flags "-+ #0", width, precision, '*' and the length
 * modifiers hh h l ll j z t L.
 */
#ifndef _LIBOS_STDIO_H
#define _LIBOS_STDIO_H

#include <stddef.h>
#include <stdarg.h>

#define EOF     (-1)
#define BUFSIZ  1024

typedef struct libos_file FILE;

extern FILE *const stdin;
extern FILE *const stdout;
extern FILE *const stderr;

int printf(const char *restrict fmt, ...)
    __attribute__((format(printf, 1, 2)));
int vprintf(const char *restrict fmt, va_list ap);
int fprintf(FILE *restrict f, const char *restrict fmt, ...)
    __attribute__((format(printf, 2, 3)));
int vfprintf(FILE *restrict f, const char *restrict fmt, va_list ap);
int sprintf(char *restrict buf, const char *restrict fmt, ...)
    __attribute__((format(printf, 2, 3)));
int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap);
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt,
        va_list ap);

int putchar(int c);
int puts(const char *s);
int fputc(int c, FILE *f);
int putc(int c, FILE *f);
int fputs(const char *restrict s, FILE *restrict f);
size_t fwrite(const void *restrict p, size_t size, size_t n,
        FILE *restrict f);
int fflush(FILE *f);
void perror(const char *s);

#endif
