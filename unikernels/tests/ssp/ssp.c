/*
 * The stack protector (-fstack-protector-strong
 * -mstack-protector-guard=global, as every guest is built):
 *
 *   ssp guard   prints the guard the bindings set at boot, then SUCCESS;
 *               the test runs it twice and wants two different values
 *   ssp seed    prints the guard and the seed of the guest's random
 *               number generator (runnc/entropy.h), checks that taking it
 *               wiped it from guest memory and that it cannot be taken
 *               twice, then SUCCESS; the test runs it twice and wants
 *               different seeds, neither holding the guard
 *   ssp smash   overruns a local buffer: the function's canary check
 *               must end the guest with status 255 and a message naming
 *               the overflow before it returns through the broken frame
 */
#include "test.h"
#include "runnc/abi.h"
#include "runnc/entropy.h"

extern const struct runnc_boot_info *runnc_boot_info;

extern uintptr_t __stack_chk_guard;

/* Writes n bytes from the start of a 16-byte local array. The volatile
 * length hides the overrun from the compiler, which would otherwise
 * refuse or drop it. */
__attribute__((noinline)) static void overrun(volatile size_t n)
{
    char buf[16];
    volatile char *p = buf;
    for (size_t i = 0; i < n; i++)
        p[i] = 'A';
}

int solo5_app_main(const struct solo5_start_info *si)
{
    if (t_strcmp(si->cmdline, "guard") == 0) {
        t_puts("guard ");
        t_puthex(__stack_chk_guard);
        t_puts("\n");
        CHECK(__stack_chk_guard != 0);
        CHECK((__stack_chk_guard & 0xff) == 0);
        overrun(sizeof(char[16]));  /* in bounds: must return */
        t_puts("SUCCESS\n");
        return SOLO5_EXIT_SUCCESS;
    }
    if (t_strcmp(si->cmdline, "seed") == 0) {
        static const char digits[] = "0123456789abcdef";
        uint8_t seed[RUNNC_RNG_SEED_SIZE];
        char hex[2 * RUNNC_RNG_SEED_SIZE + 1];
        CHECK(runnc_rng_seed(seed));
        /* Taken: gone from where the tender put it, and not given again. */
        const volatile uint8_t *at =
            (const volatile uint8_t *)(uintptr_t)runnc_boot_info->rng_seed;
        uint8_t again[RUNNC_RNG_SEED_SIZE], left = 0, any = 0;
        for (int i = 0; i < RUNNC_RNG_SEED_SIZE; i++) {
            left |= at[i];
            any |= seed[i];
        }
        CHECK(any != 0);
        CHECK(left == 0);
        CHECK(!runnc_rng_seed(again));
        for (int i = 0; i < RUNNC_RNG_SEED_SIZE; i++) {
            hex[2 * i] = digits[seed[i] >> 4];
            hex[2 * i + 1] = digits[seed[i] & 15];
        }
        hex[sizeof hex - 1] = '\0';
        t_puts("guard ");
        t_puthex(__stack_chk_guard);
        t_puts("\nseed ");
        t_puts(hex);
        t_puts("\nSUCCESS\n");
        return SOLO5_EXIT_SUCCESS;
    }
    if (t_strcmp(si->cmdline, "smash") == 0) {
        t_puts("overrunning a 16-byte buffer by 32 bytes\n");
        overrun(48);
        t_puts("SURVIVED\n");
        return SOLO5_EXIT_FAILURE;
    }
    t_fail("usage: ssp guard|seed|smash");
}
