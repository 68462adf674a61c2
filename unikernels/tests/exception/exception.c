/*
 * Memory protection is enforced: writing to the guest's own code, its
 * rodata or the boot info, or executing its data or heap, kills it with
 * SIGSEGV. The command line picks the case (default: code).
 */
#include "test.h"
#include "runnc/abi.h"

extern const struct runnc_boot_info *runnc_boot_info;

static const char rodata[16] = "read-only";
static uint8_t data[16] = { 0xc3 };             /* ret */

static void poke(volatile uint8_t *p)
{
    t_puts("writing to ");
    t_puthex((uintptr_t)p);
    t_puts("\n");
    *p = 0xcc;
}

static void call(void *p)
{
    t_puts("calling ");
    t_puthex((uintptr_t)p);
    t_puts("\n");
    ((void (*)(void))p)();
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *c = si->cmdline;

    t_puts("\n**** Solo5 standalone test_exception ****\n\n");
    if (c[0] == '\0' || t_strcmp(c, "code") == 0)
        poke((volatile uint8_t *)(uintptr_t)&solo5_app_main);
    else if (t_strcmp(c, "rodata") == 0)
        poke((volatile uint8_t *)(uintptr_t)rodata);
    else if (t_strcmp(c, "bootinfo") == 0)
        poke((volatile uint8_t *)(uintptr_t)runnc_boot_info);
    else if (t_strcmp(c, "exec-data") == 0)
        call(data);
    else if (t_strcmp(c, "exec-heap") == 0) {
        uint8_t *heap = (uint8_t *)si->heap_start;
        heap[0] = 0xc3;
        call(heap);
    } else
        t_fail("usage: exception.spt [code|rodata|bootinfo|exec-data|exec-heap]");
    t_puts("SURVIVED\n");
    return SOLO5_EXIT_FAILURE;
}
