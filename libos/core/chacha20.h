/*
 * ChaCha20 (RFC 8439) for libos's random numbers (core/random.c). Kept
 * free of libos and Solo5 calls so that libos/tests/chachahost builds it
 * for the host and compares it with a reference implementation.
 */
#ifndef LIBOS_CHACHA20_H
#define LIBOS_CHACHA20_H

#include <stddef.h>
#include <stdint.h>

#define CHACHA20_KEY_SIZE   32
#define CHACHA20_NONCE_SIZE 12
#define CHACHA20_BLOCK_SIZE 64

/* One 64-byte block of ChaCha20's keystream (RFC 8439, 2.3). */
void chacha20_block(const uint8_t key[CHACHA20_KEY_SIZE], uint32_t counter,
        const uint8_t nonce[CHACHA20_NONCE_SIZE],
        uint8_t out[CHACHA20_BLOCK_SIZE]);

/*
 * A generator with fast key erasure (D. J. Bernstein, "Fast-key-erasure
 * random-number generators", 2017): each refill takes CHACHA_RNG_BLOCKS
 * blocks of the keystream under the current key (nonce 0, counter 0 up);
 * the first 32 bytes replace the key, the rest are the output, each byte
 * zeroed as it is handed out. What the generator holds at any time tells
 * nothing about what it put out before.
 */
#define CHACHA_RNG_BLOCKS   4
struct chacha_rng {
    uint8_t key[CHACHA20_KEY_SIZE];
    uint8_t buf[CHACHA_RNG_BLOCKS * CHACHA20_BLOCK_SIZE - CHACHA20_KEY_SIZE];
    size_t used;                        /* bytes of buf handed out */
};

void chacha_rng_init(struct chacha_rng *r, const uint8_t key[CHACHA20_KEY_SIZE]);
void chacha_rng_bytes(struct chacha_rng *r, void *out, size_t n);

/* A keyed hash of 12 bytes (a TCP connection's addresses and ports): the
 * first 32 bits, little endian, of the block under key with the bytes as
 * nonce. ChaCha20 is a pseudorandom function of its nonce: without the
 * key, one tuple's hash tells nothing about another's. */
uint32_t chacha20_hash12(const uint8_t key[CHACHA20_KEY_SIZE],
        const uint8_t in[CHACHA20_NONCE_SIZE]);

/* Zero n bytes at p in a way the compiler keeps. */
void chacha20_wipe(void *p, size_t n);

#endif
