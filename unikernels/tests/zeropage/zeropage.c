/*
 * Nothing is mapped below the guest's memory: reading address 0 (or the
 * address given on the command line) kills the guest with SIGSEGV.
 */
#include "test.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    uint64_t addr = 0;

    t_puts("\n**** Solo5 standalone test_zeropage ****\n\n");
    if (si->cmdline[0] != '\0' && t_parse_u64(si->cmdline, &addr) == NULL)
        t_fail("usage: zeropage.spt [ADDRESS]");
    t_puts("reading ");
    t_puthex(addr);
    t_puts("\n");
    /* Through a volatile pointer from a runtime value: a plain *(int *)0
     * would let the compiler replace the load with a trap. */
    volatile uintptr_t a = (uintptr_t)addr;
    uint8_t v = *(volatile uint8_t *)a;
    t_puts("SURVIVED, read ");
    t_putu(v);
    t_puts("\n");
    return SOLO5_EXIT_FAILURE;
}
