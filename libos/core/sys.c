/*
 * Time, randomness and console output for libos.
 */
#include <stdarg.h>
#include <stdio.h>
#include <solo5.h>
#include <libos/libos.h>
#include "libos_priv.h"

static uint64_t boot_ns;
static uint64_t rand_state;

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

/*
 * There is no entropy device: seed from the wall and monotonic clocks.
 * Good enough for TCP initial sequence numbers and ephemeral ports, not
 * for cryptography.
 */
void libos_rand_seed(void)
{
    boot_ns = solo5_clock_monotonic();
    rand_state = solo5_clock_wall() ^ (boot_ns << 17) ^ 0x9e3779b97f4a7c15ULL;
    if (rand_state == 0)
        rand_state = 1;
}

/* xorshift64* */
uint32_t libos_rand32(void)
{
    uint64_t x = rand_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rand_state = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
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
