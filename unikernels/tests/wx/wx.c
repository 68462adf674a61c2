/*
 * Linked with a text segment that is writable and executable
 * (unikernels/tests/tests.mk): the tender must refuse to load it. If it
 * runs, it says so.
 */
#include "test.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    t_puts("W+X GUEST RAN\n");
    return SOLO5_EXIT_FAILURE;
}
