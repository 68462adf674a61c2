/*
 * Host stand-in for libos's connections (shim_conn.h).
 */
#include <string.h>

#include <libos/libos.h>

#include "shim_conn.h"

/* Output kept per connection; beyond it, only counted. */
#define OUT_KEEP (1024 * 1024)

const struct conn_ops *shim_ops;

void shim_conn_init(struct conn *c)
{
    memset(c, 0, sizeof *c);
}

void shim_conn_free(struct conn *c)
{
    free(c->out);
    memset(c, 0, sizeof *c);
}

int net_max_conns(void)
{
    return 8192;
}

int net_listen(uint16_t port, const struct conn_ops *ops)
{
    shim_ops = ops;
    return 0;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->closed)
        return -1;
    size_t keep = len;
    if (keep > OUT_KEEP - c->out_len)
        keep = OUT_KEEP - c->out_len;
    if (c->out_len + keep > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + keep)
            cap *= 2;
        c->out = realloc(c->out, cap);
        CHECK(c->out != NULL);
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, keep);
    c->out_len += keep;
    /* Read every byte, also past what is kept: a length beyond the
     * caller's buffer is what ASan should see. */
    volatile unsigned char sink = 0;
    for (size_t i = keep; i < len; i++)
        sink ^= ((const unsigned char *)data)[i];
    (void)sink;
    c->written += len;
    return 0;
}

size_t conn_pending(const struct conn *c)
{
    return 0;
}

size_t net_unacked(void)
{
    return 0;
}

void conn_close(struct conn *c)
{
    c->closed = 1;
}

void conn_pause(struct conn *c)
{
    c->paused = 1;
}

void conn_resume(struct conn *c)
{
    c->paused = 0;
}

/* No network: there is nothing to probe. */
int conn_keepalive(struct conn *c, unsigned idle_s, unsigned interval_s,
        unsigned count)
{
    return 0;
}

void conn_set_data(struct conn *c, void *data)
{
    c->data = data;
}

int conn_addrs(const struct conn *c, struct conn_addr *local,
        struct conn_addr *peer)
{
    static const struct conn_addr l = {{10, 0, 0, 2}, 6379}, p = {{10, 0, 0, 1}, 40000};
    *local = l;
    *peer = p;
    return 0;
}

void *conn_data(const struct conn *c)
{
    return c->data;
}

void libos_run(void)
{
}

void libos_stop(void)
{
}

int libos_timer(uint64_t ms, void (*fn)(void *arg), void *arg)
{
    return 0;
}

/* No event loop here: the clock itself, as libos's outside its loop. */
uint64_t libos_round_ms(void)
{
    return libos_now_ms();
}
