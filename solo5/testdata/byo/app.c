/*
 * A one-file app in the style of upstream Solo5's tests: it includes only
 * solo5.h, brings its own string helper, and uses the start info, the
 * console, both clocks and solo5_yield. putu's buffer makes the stack
 * protector guard its frame, so the link needs the bindings' guard.
 */
#include "solo5.h"

static size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

static void puts(const char *s)
{
    solo5_console_write(s, strlen(s));
}

static void putu(unsigned long n)
{
    char buf[24];
    int i = sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0 && i > 0);
    puts(&buf[i]);
}

int solo5_app_main(const struct solo5_start_info *si)
{
    puts("\n**** Solo5 standalone test_hello ****\n\n");
    puts("Hello, World\nCommand line is: '");
    puts(si->cmdline);
    puts("'\n");

    solo5_time_t t0 = solo5_clock_monotonic();
    solo5_yield(t0 + 1000000, NULL);
    if (solo5_clock_monotonic() < t0 + 1000000 || solo5_clock_wall() == 0)
        return SOLO5_EXIT_FAILURE;
    if (si->heap_size < 4096)
        return SOLO5_EXIT_FAILURE;
    puts("Heap: ");
    putu(si->heap_size >> 10);
    puts(" KiB\n");
    puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
