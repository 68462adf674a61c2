/* Console output and leaving. */
#include "spt.h"

void solo5_console_write(const char *buf, size_t size)
{
    while (size > 0) {
        long n = spt_syscall3(SYS_write, 1, (long)buf, (long)size);
        if (n <= 0)
            return;     /* best effort: the console may be gone */
        buf += n;
        size -= (size_t)n;
    }
}

void spt_console_puts(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    solo5_console_write(s, n);
}

void solo5_exit(int status)
{
    for (;;)
        spt_syscall3(SYS_exit_group, status, 0, 0);
}

void solo5_abort(void)
{
    spt_console_puts("Solo5: solo5_abort() called\n");
    solo5_exit(SOLO5_EXIT_ABORT);
}

/* A protected function found its canary changed: its stack frame was
 * overwritten. Nothing on the stack can be trusted, so say so and end as
 * solo5_abort() does, without returning. */
void __stack_chk_fail(void) __attribute__((noreturn));
void __stack_chk_fail(void)
{
    spt_console_puts("Solo5: stack smashing detected (__stack_chk_fail), aborting\n");
    solo5_exit(SOLO5_EXIT_ABORT);
}
