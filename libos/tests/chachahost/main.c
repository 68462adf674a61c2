/*
 * libos's ChaCha20 (libos/core/chacha20.c) built for the host, driven from
 * the command line so that libos/tests/libos_test.go (TestChaCha20) can
 * compare what it puts out with a reference implementation:
 *
 *   chacha_host block KEY COUNTER NONCE   one keystream block
 *   chacha_host rng KEY N1,N2,...         the generator keyed with KEY,
 *                                         read N1 bytes, then N2, ...
 *   chacha_host hash KEY TUPLE            chacha20_hash12 of 12 bytes
 *
 * KEY, NONCE and TUPLE are hex; the output is one line of hex (the hash
 * in decimal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../core/chacha20.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n) {
        fprintf(stderr, "want %zu hex digits, got \"%s\"\n", 2 * n, s);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            fprintf(stderr, "bad hex \"%s\"\n", s);
            exit(2);
        }
        out[i] = (uint8_t)v;
    }
}

static void puthex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

int main(int argc, char **argv)
{
    uint8_t key[CHACHA20_KEY_SIZE], nonce[CHACHA20_NONCE_SIZE];

    if (argc == 5 && strcmp(argv[1], "block") == 0) {
        uint8_t out[CHACHA20_BLOCK_SIZE];
        unhex(argv[2], key, sizeof key);
        unhex(argv[4], nonce, sizeof nonce);
        chacha20_block(key, (uint32_t)strtoul(argv[3], NULL, 10), nonce, out);
        puthex(out, sizeof out);
    } else if (argc == 4 && strcmp(argv[1], "rng") == 0) {
        static struct chacha_rng r;
        unhex(argv[2], key, sizeof key);
        chacha_rng_init(&r, key);
        for (char *tok = strtok(argv[3], ","); tok; tok = strtok(NULL, ",")) {
            size_t n = strtoul(tok, NULL, 10);
            uint8_t *buf = malloc(n ? n : 1);
            if (buf == NULL)
                return 1;
            chacha_rng_bytes(&r, buf, n);
            puthex(buf, n);
            free(buf);
        }
    } else if (argc == 4 && strcmp(argv[1], "hash") == 0) {
        unhex(argv[2], key, sizeof key);
        unhex(argv[3], nonce, sizeof nonce);
        printf("%u", (unsigned)chacha20_hash12(key, nonce));
    } else {
        fprintf(stderr, "usage: chacha_host block KEY COUNTER NONCE | rng KEY N1,N2,... | hash KEY TUPLE\n");
        return 2;
    }
    printf("\n");
    return 0;
}
