/* runnc/entropy.h: the tender's seed for the guest's generator. */
#include "spt.h"
#include "runnc/entropy.h"

/* Both headers define RUNNC_RNG_SEED_SIZE: were they to differ, the
 * redefinition would fail this file's build (-Werror). */

bool runnc_rng_seed(uint8_t seed[RUNNC_RNG_SEED_SIZE])
{
    static bool taken;
    const struct runnc_boot_info *bi = runnc_boot_info;
    uint64_t addr = bi->rng_seed;
    /* Where abi.h says it is: above the stack, within guest memory. */
    bool have = !taken && (bi->flags & RUNNC_BOOT_RNG_SEED) &&
        addr >= bi->heap_start + bi->heap_size &&
        addr <= bi->mem_size - RUNNC_RNG_SEED_SIZE;
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)addr;

    taken = true;
    for (int i = 0; i < RUNNC_RNG_SEED_SIZE; i++) {
        seed[i] = have ? p[i] : 0;
        if (have)
            p[i] = 0;
    }
    return have;
}
