/* runnc/entropy.h: the tender's seed for the guest's generator. */
#include "spt.h"
#include "runnc/entropy.h"

_Static_assert(sizeof runnc_boot_info->rng_seed == RUNNC_RNG_SEED_SIZE,
        "runnc/entropy.h and runnc/abi.h disagree on the seed's size");

bool runnc_rng_seed(uint8_t seed[RUNNC_RNG_SEED_SIZE])
{
    const struct runnc_boot_info *bi = runnc_boot_info;
    bool have = bi->flags & RUNNC_BOOT_RNG_SEED;

    for (int i = 0; i < RUNNC_RNG_SEED_SIZE; i++)
        seed[i] = have ? bi->rng_seed[i] : 0;
    return have;
}
