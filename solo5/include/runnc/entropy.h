/*
 * runnc extension to Solo5: the seed of a guest's random number generator.
 *
 * A guest has no getrandom (seven syscalls). The tender draws
 * RUNNC_RNG_SEED_SIZE bytes of getrandom for it before the seccomp
 * filter, apart from the stack protector's guard, so that nothing a
 * generator keyed by the seed puts out can tell anything about the guard.
 * libos keys its ChaCha20 generator with it (libos_random); other apps
 * should do the same rather than use the seed itself as random numbers.
 *
 * Not part of solo5.h, which stays source-compatible with upstream Solo5.
 */
#ifndef RUNNC_ENTROPY_H
#define RUNNC_ENTROPY_H

#include <stdbool.h>
#include <stdint.h>

#define RUNNC_RNG_SEED_SIZE 32

/*
 * Takes the tender's seed: the first call copies its RUNNC_RNG_SEED_SIZE
 * bytes into seed, wipes them from guest memory and returns true, so that
 * once the app's generator has moved on, nothing in the guest tells what
 * it put out before. Later calls, and any call under a tender from before
 * the seed (runnc/abi.h RUNNC_BOOT_RNG_SEED), zero seed and return false:
 * the app must then find entropy elsewhere, or say that it has none.
 */
bool runnc_rng_seed(uint8_t seed[RUNNC_RNG_SEED_SIZE]);

#endif
