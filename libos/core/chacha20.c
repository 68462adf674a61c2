/*
 * ChaCha20 (RFC 8439): the block function, the fast-key-erasure
 * generator and the tuple hash of chacha20.h.
 */
#include <string.h>
#include "chacha20.h"

#define ROTL(x, n) ((x) << (n) | (x) >> (32 - (n)))
#define QR(a, b, c, d) do { \
        a += b; d ^= a; d = ROTL(d, 16); \
        c += d; b ^= c; b = ROTL(b, 12); \
        a += b; d ^= a; d = ROTL(d, 8); \
        c += d; b ^= c; b = ROTL(b, 7); \
    } while (0)

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static void store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void chacha20_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

void chacha20_block(const uint8_t key[CHACHA20_KEY_SIZE], uint32_t counter,
        const uint8_t nonce[CHACHA20_NONCE_SIZE],
        uint8_t out[CHACHA20_BLOCK_SIZE])
{
    uint32_t in[16], x[16];

    in[0] = 0x61707865;     /* "expand 32-byte k" */
    in[1] = 0x3320646e;
    in[2] = 0x79622d32;
    in[3] = 0x6b206574;
    for (int i = 0; i < 8; i++)
        in[4 + i] = load32(key + 4 * i);
    in[12] = counter;
    for (int i = 0; i < 3; i++)
        in[13 + i] = load32(nonce + 4 * i);
    memcpy(x, in, sizeof x);
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]);
        QR(x[1], x[5], x[9], x[13]);
        QR(x[2], x[6], x[10], x[14]);
        QR(x[3], x[7], x[11], x[15]);
        QR(x[0], x[5], x[10], x[15]);
        QR(x[1], x[6], x[11], x[12]);
        QR(x[2], x[7], x[8], x[13]);
        QR(x[3], x[4], x[9], x[14]);
    }
    for (int i = 0; i < 16; i++)
        store32(out + 4 * i, x[i] + in[i]);
    chacha20_wipe(in, sizeof in);
    chacha20_wipe(x, sizeof x);
}

void chacha_rng_init(struct chacha_rng *r, const uint8_t key[CHACHA20_KEY_SIZE])
{
    memcpy(r->key, key, CHACHA20_KEY_SIZE);
    chacha20_wipe(r->buf, sizeof r->buf);
    r->used = sizeof r->buf;    /* the first call refills */
}

static void refill(struct chacha_rng *r)
{
    static const uint8_t nonce[CHACHA20_NONCE_SIZE];
    uint8_t ks[CHACHA_RNG_BLOCKS * CHACHA20_BLOCK_SIZE];

    for (uint32_t i = 0; i < CHACHA_RNG_BLOCKS; i++)
        chacha20_block(r->key, i, nonce, ks + i * CHACHA20_BLOCK_SIZE);
    memcpy(r->key, ks, CHACHA20_KEY_SIZE);
    memcpy(r->buf, ks + CHACHA20_KEY_SIZE, sizeof r->buf);
    chacha20_wipe(ks, sizeof ks);
    r->used = 0;
}

void chacha_rng_bytes(struct chacha_rng *r, void *out, size_t n)
{
    uint8_t *o = out;

    while (n > 0) {
        if (r->used == sizeof r->buf)
            refill(r);
        size_t take = sizeof r->buf - r->used;
        if (take > n)
            take = n;
        memcpy(o, r->buf + r->used, take);
        chacha20_wipe(r->buf + r->used, take);
        r->used += take;
        o += take;
        n -= take;
    }
}

uint32_t chacha20_hash12(const uint8_t key[CHACHA20_KEY_SIZE],
        const uint8_t in[CHACHA20_NONCE_SIZE])
{
    uint8_t block[CHACHA20_BLOCK_SIZE];

    chacha20_block(key, 0, in, block);
    uint32_t h = load32(block);
    chacha20_wipe(block, sizeof block);
    return h;
}
