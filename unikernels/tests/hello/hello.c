/* Prints a banner and its command line: the smallest useful guest. */
#include "test.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    t_puts("\n**** Solo5 standalone test_hello ****\n\n");
    t_puts("Hello, World\n");
    t_puts("Command line is: '");
    t_puts(si->cmdline);
    t_puts("'\n");
    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
