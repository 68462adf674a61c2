/*
 * Time and console output for libos (randomness: random.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <solo5.h>
#include <libos/libos.h>
#include "libos_priv.h"

static uint64_t boot_ns;

uint64_t libos_now_ns(void)
{
    return solo5_clock_monotonic();
}

uint64_t libos_now_ms(void)
{
    return (solo5_clock_monotonic() - boot_ns) / 1000000;
}

uint64_t libos_ms_to_ns(uint64_t ms)
{
    return boot_ns + ms * 1000000;
}

void libos_clock_init(void)
{
    boot_ns = solo5_clock_monotonic();
}

int libos_log(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return n;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    solo5_console_write(buf, len);
    return n;
}
