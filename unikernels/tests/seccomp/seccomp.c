/*
 * dup(1) is not one of the seven calls: the filter must kill the guest
 * (SIGSYS) rather than let the call fail and the guest go on.
 */
#include "test.h"

#define SYS_dup 32

int solo5_app_main(const struct solo5_start_info *si)
{
    long ret;

    t_puts("calling dup(1)\n");
    __asm__ __volatile__("syscall"
            : "=a"(ret)
            : "a"(SYS_dup), "D"(1)
            : "rcx", "r11", "memory");
    t_puts("SURVIVED dup, returned ");
    t_puthex((uint64_t)ret);
    t_puts("\n");
    return SOLO5_EXIT_FAILURE;
}
