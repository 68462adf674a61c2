/*
 * Random numbers for libos and its apps, and TCP initial sequence
 * numbers.
 *
 * A guest has no getrandom. The tender draws a 32-byte seed for it before
 * the seccomp filter (runnc/entropy.h), which keys a ChaCha20 generator
 * with fast key erasure (chacha20.h): libos_random() and friends. They
 * choose TCP ephemeral ports (LWIP_RAND), the secret of the sequence
 * numbers below, and apps' random choices (kv's RANDOMKEY, SPOP, eviction
 * samples and its hash seed).
 *
 * runnc_rng_seed() wipes the seed from guest memory as it hands it over,
 * and fast key erasure keeps the generator's own state from telling what
 * it put out before: whoever reads guest memory later learns the next
 * numbers and the sequence-number secret (which must last as long as
 * the guest), not the past ones.
 *
 * Under a tender from before the seed there is nothing secret to key the
 * generator with: it is keyed from the clocks and the cycle counter,
 * which an attacker who knows roughly when the guest booted can guess,
 * and libos says so once on the console.
 */
#include <string.h>
#include <solo5.h>
#include <runnc/entropy.h>
#include <libos/libos.h>
#include "lwip/ip_addr.h"
#include "libos_priv.h"
#include "chacha20.h"

static struct chacha_rng rng;
/* The secret of the sequence numbers' hash, drawn from rng at boot. */
static uint8_t isn_key[CHACHA20_KEY_SIZE];

void libos_rand_seed(void)
{
    uint8_t seed[RUNNC_RNG_SEED_SIZE];

    if (!runnc_rng_seed(seed)) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
        uint64_t w[4] = { solo5_clock_wall(), solo5_clock_monotonic(),
            (uint64_t)hi << 32 | lo, (uintptr_t)&seed };
        _Static_assert(sizeof w == sizeof seed, "seed size");
        memcpy(seed, w, sizeof seed);
        libos_log("libos: the tender gave no random seed (runnc-spt before "
                "RUNNC_BOOT_RNG_SEED): random numbers, TCP sequence numbers "
                "and ports come from the clock and can be guessed\n");
    }
    chacha_rng_init(&rng, seed);
    chacha20_wipe(seed, sizeof seed);
    chacha_rng_bytes(&rng, isn_key, sizeof isn_key);
}

void libos_random(void *buf, size_t len)
{
    chacha_rng_bytes(&rng, buf, len);
}

uint32_t libos_rand32(void)
{
    uint32_t v;
    chacha_rng_bytes(&rng, &v, sizeof v);
    return v;
}

uint64_t libos_rand64(void)
{
    uint64_t v;
    chacha_rng_bytes(&rng, &v, sizeof v);
    return v;
}

/*
 * lwIP's LWIP_HOOK_TCP_ISN (libos_hooks.h): RFC 6528's ISN = M + F(local
 * address and port, remote address and port, secret), M a 4-microsecond
 * timer, F a keyed hash. An off-path attacker who sees the ISNs of his own
 * connections learns nothing about another 4-tuple's; a tuple reused soon
 * after gets a larger ISN, as TCP wants for old duplicates. (lwIP's own
 * ISN is a counter, 6510 plus its TCP ticks, the same in every guest.)
 */
unsigned int libos_tcp_isn(const struct ip4_addr *local_ip,
        unsigned short local_port, const struct ip4_addr *remote_ip,
        unsigned short remote_port)
{
    uint8_t tuple[CHACHA20_NONCE_SIZE];
    uint32_t lip = ip4_addr_get_u32(local_ip);   /* network order */
    uint32_t rip = ip4_addr_get_u32(remote_ip);

    memcpy(tuple, &lip, 4);
    tuple[4] = (uint8_t)(local_port >> 8);
    tuple[5] = (uint8_t)local_port;
    memcpy(tuple + 6, &rip, 4);
    tuple[10] = (uint8_t)(remote_port >> 8);
    tuple[11] = (uint8_t)remote_port;
    uint32_t m = (uint32_t)(solo5_clock_monotonic() / 4000);
    return m + chacha20_hash12(isn_key, tuple);
}
