/*
 * Clocks and solo5_yield(): the monotonic clock never goes back and does
 * advance, the wall clock is printed for the test to compare with the
 * host's, and solo5_yield() with no devices returns no earlier than its
 * deadline.
 *
 * "time forever" only sleeps, until killed: a guest that stays running for
 * tests that look at its process (/proc/PID/limits).
 */
#include "test.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    if (t_strcmp(si->cmdline, "forever") == 0) {
        t_puts("sleeping until killed\n");
        for (;;)
            solo5_yield(solo5_clock_monotonic() + 3600000000000ULL, NULL);
    }
    t_puts("\n**** Solo5 standalone test_time ****\n\n");

    solo5_time_t first = solo5_clock_monotonic(), prev = first;
    for (int i = 0; i < 1000; i++) {
        solo5_time_t now = solo5_clock_monotonic();
        CHECK(now >= prev);
        prev = now;
    }
    CHECK(prev > first);

    t_puts("wall clock: ");
    t_putu(solo5_clock_wall());
    t_puts(" ns\n");

    static const solo5_time_t waits[] = {
        0, 1000, 1000000, 10000000, 100000000, 500000000,
    };
    for (unsigned i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        solo5_handle_set_t ready = ~0ULL;
        solo5_time_t deadline = solo5_clock_monotonic() + waits[i];
        solo5_yield(deadline, &ready);
        solo5_time_t after = solo5_clock_monotonic();
        t_puts("yield ");
        t_putu(waits[i]);
        t_puts(" ns: returned ");
        t_putu(after - deadline);
        t_puts(" ns after the deadline\n");
        CHECK(after >= deadline);
        CHECK(ready == 0);      /* no devices, nothing ready */
    }
    /* A deadline in the past returns at once, and NULL ready_set is fine. */
    solo5_yield(0, NULL);

    /* The wall clock moved with the monotonic one during the sleeps. */
    t_puts("wall clock: ");
    t_putu(solo5_clock_wall());
    t_puts(" ns\n");

    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
