/*
 * The unikernel's entry: heap, argv, libos options, network, then the
 * app's main(). See libos/libos.h for the options.
 */
#include <string.h>
#include <stdlib.h>
#include <solo5.h>
#include <libos/libos.h>
#include <libos/heap.h>
#include <libos/hex.h>
#include "libos_priv.h"

/* solo5's initial stack grows down from heap_start + heap_size: keep
 * this much of the top of the region out of the heap. */
#define STACK_RESERVE   (1024 * 1024)
#define MIN_HEAP        (1024 * 1024)
#define MAX_ARGS        256
#define MAX_ENV         256

/* The environment from --env=NAME=VALUE words, decoded in place. */
static char *env[MAX_ENV];
static int nenv;

char *getenv(const char *name)
{
    size_t n = strlen(name);

    for (int i = nenv - 1; i >= 0; i--)  /* the last one given wins */
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

static int bad_option(const char *opt, const char *want);

/* Takes NAME=VALUE with %XX escapes into the environment. */
static int env_option(char *kv)
{
    char *out = kv;

    if (strchr(kv, '=') == NULL || kv[0] == '=')
        return bad_option(kv - 6, "--env=NAME=VALUE");
    for (char *in = kv; *in; in++) {
        if (*in == '%' && libos_hexval(in[1]) >= 0 && libos_hexval(in[2]) >= 0) {
            *out++ = (char)(libos_hexval(in[1]) << 4 | libos_hexval(in[2]));
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    if (nenv == MAX_ENV) {
        libos_log("libos: too many --env variables (at most %d)\n", MAX_ENV);
        return -1;
    }
    env[nenv++] = kv;
    return 0;
}

/* Parses dotted-quad a.b.c.d into *out (network byte order), strictly:
 * four decimal parts of at most three digits, each below 256. */
static int parse_ip4(const char *s, size_t len, uint32_t *out)
{
    uint8_t b[4];
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(s[i++] - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return -1;
        b[part] = (uint8_t)v;
        if (part < 3) {
            if (i >= len || s[i] != '.')
                return -1;
            i++;
        }
    }
    if (i != len)
        return -1;
    memcpy(out, b, 4);
    return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned long v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int bad_option(const char *opt, const char *want)
{
    libos_log("libos: bad option '%s' (want %s)\n", opt, want);
    return -1;
}

/* Consumes one libos option; returns 1 if arg was ours, 0 if it is
 * the app's, -1 on a bad value (logged). */
static int libos_option(const char *arg, struct libos_netcfg *cfg,
        int *have_ipv4)
{
    const char *v;

    if (strncmp(arg, "--ipv4=", 7) == 0) {
        v = arg + 7;
        const char *slash = strchr(v, '/');
        unsigned prefix;
        if (slash == NULL || parse_ip4(v, (size_t)(slash - v), &cfg->addr) ||
                parse_uint(slash + 1, 32, &prefix) || cfg->addr == 0)
            return bad_option(arg, "--ipv4=ADDR/PREFIX, e.g. 10.0.0.2/24");
        uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
        cfg->mask = __builtin_bswap32(mask);
        *have_ipv4 = 1;
        return 1;
    }
    if (strncmp(arg, "--ipv4-gateway=", 15) == 0) {
        v = arg + 15;
        if (parse_ip4(v, strlen(v), &cfg->gw))
            return bad_option(arg, "--ipv4-gateway=ADDR, e.g. 10.0.0.1");
        return 1;
    }
    if (strncmp(arg, "--net=", 6) == 0) {
        v = arg + 6;
        if (*v == '\0')
            return bad_option(arg, "--net=NAME of a NET_BASIC device");
        cfg->device = v;
        return 1;
    }
    if (strncmp(arg, "--mtu=", 6) == 0) {
        if (parse_uint(arg + 6, 65535, &cfg->mtu) || cfg->mtu < 576)
            return bad_option(arg, "--mtu=N, 576 <= N <= 65535");
        return 1;
    }
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    if (si->heap_size < STACK_RESERVE + MIN_HEAP) {
        static const char msg[] = "libos: not enough memory for the heap\n";
        solo5_console_write(msg, sizeof msg - 1);
        return 1;
    }
    libos_heap_init(si->heap_start, si->heap_size - STACK_RESERVE);
    libos_clock_init();
    libos_rand_seed();

    /* Split a private copy of the cmdline at blanks; the tender joined
     * the arguments with spaces, so there is no quoting to undo. */
    const char *cmdline = si->cmdline ? si->cmdline : "";
    char *buf = strdup(cmdline);
    char **argv = malloc((MAX_ARGS + 2) * sizeof *argv);
    if (buf == NULL || argv == NULL) {
        libos_log("libos: out of memory parsing the cmdline\n");
        return 1;
    }
    int argc = 0;
    argv[argc++] = "unikernel";

    struct libos_netcfg cfg = { .device = "service0" };
    int have_ipv4 = 0, net_opts = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t\n", &save); tok;
            tok = strtok_r(NULL, " \t\n", &save)) {
        if (strncmp(tok, "--env=", 6) == 0) {
            if (env_option(tok + 6) < 0)
                return 1;
            continue;
        }
        int r = libos_option(tok, &cfg, &have_ipv4);
        if (r < 0)
            return 1;
        if (r > 0) {
            net_opts++;
            continue;
        }
        if (argc > MAX_ARGS) {
            libos_log("libos: too many arguments (at most %d)\n", MAX_ARGS);
            return 1;
        }
        argv[argc++] = tok;
    }
    argv[argc] = NULL;

    if (have_ipv4) {
        if (libos_netif_up(&cfg) < 0)
            return 1;
    } else if (net_opts > 0) {
        libos_log("libos: --ipv4-gateway, --net and --mtu need --ipv4=ADDR/PREFIX\n");
        return 1;
    }
    int status = main(argc, argv);
    /* A service whose network device is gone cannot serve again (the tap
     * cannot come back to this process): exit with an error, whatever main
     * returned, so that the engine sees a failed container and its restart
     * policy applies, rather than keep an idle guest that serves nothing. */
    if (have_ipv4 && libos_netif_failed())
        return SOLO5_EXIT_FAILURE;
    return status;
}
