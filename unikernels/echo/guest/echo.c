/*
 * echo: TCP test services on libos, to exercise the network stack.
 *
 *   port 7 (echo):   sends back every byte received (RFC 862); a client
 *                    that sends faster than it reads is paused until its
 *                    echo drains.
 *   port 19 (source): reads a decimal byte count N and a newline, streams
 *                    N bytes (byte i is i % 251) refilled from
 *                    writable(), then closes.
 *
 * Usage: echo.spt --ipv4=ADDR/PREFIX [--port=N] (N: the echo port).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <libos/libos.h>
#include <libos/net.h>

/* echo: stop reading from a client while this much echo is unsent. */
#define HIGH_WATER      (1024 * 1024)
/* source: keep about this much output queued. */
#define SOURCE_AHEAD    (256 * 1024)
#define SOURCE_MAX      (1ULL << 40)

static void echo_received(struct conn *c, const char *data, size_t len)
{
    if (conn_write(c, data, len) < 0) {
        conn_close(c);
        return;
    }
    if (conn_pending(c) > HIGH_WATER)
        conn_pause(c);
}

static void echo_writable(struct conn *c)
{
    conn_resume(c);
}

static const struct conn_ops echo_ops = {
    .received = echo_received,
    .writable = echo_writable,
};

struct source {
    uint64_t total;     /* bytes to send */
    uint64_t sent;      /* bytes written so far */
    int started;
};

static void source_opened(struct conn *c)
{
    struct source *s = calloc(1, sizeof *s);
    if (s == NULL) {
        conn_close(c);
        return;
    }
    conn_set_data(c, s);
}

static void source_fill(struct conn *c)
{
    struct source *s = conn_data(c);
    char buf[16384];

    while (s->sent < s->total && conn_pending(c) < SOURCE_AHEAD) {
        size_t n = sizeof buf;
        if (n > s->total - s->sent)
            n = (size_t)(s->total - s->sent);
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)((s->sent + i) % 251);
        if (conn_write(c, buf, n) < 0) {
            conn_close(c);
            return;
        }
        s->sent += n;
    }
    if (s->sent == s->total)
        conn_close(c);
}

static void source_received(struct conn *c, const char *data, size_t len)
{
    struct source *s = conn_data(c);

    if (s == NULL || s->started)
        return;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            s->started = 1;
            source_fill(c);
            return;
        }
        if (data[i] < '0' || data[i] > '9' || s->total > SOURCE_MAX) {
            conn_close(c);
            return;
        }
        s->total = s->total * 10 + (uint64_t)(data[i] - '0');
    }
}

static void source_writable(struct conn *c)
{
    struct source *s = conn_data(c);

    if (s && s->started)
        source_fill(c);
}

static void source_closed(struct conn *c)
{
    free(conn_data(c));
}

static const struct conn_ops source_ops = {
    .opened = source_opened,
    .received = source_received,
    .writable = source_writable,
    .closed = source_closed,
};

int main(int argc, char **argv)
{
    long port = 7;

    for (int i = 1; i < argc; i++) {
        char *end;
        if (strncmp(argv[i], "--port=", 7) == 0) {
            port = strtol(argv[i] + 7, &end, 10);
            if (*end == '\0' && port > 0 && port < 65536 && port != 19)
                continue;
        }
        libos_log("echo: bad argument '%s' (usage: --ipv4=ADDR/PREFIX [--port=N])\n",
                argv[i]);
        return 1;
    }
    if (net_listen((uint16_t)port, &echo_ops) < 0 ||
            net_listen(19, &source_ops) < 0)
        return 1;
    libos_log("echo: listening on port %ld\n", port);
    libos_run();
    return 0;
}
