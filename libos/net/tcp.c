/*
 * The event-driven TCP API (libos/net.h) on lwIP's raw API.
 *
 * lwIP calls us from inside its input processing and timers, where
 * some things are unsafe (closing or aborting a PCB, freeing what the
 * caller still uses). So lwIP callbacks only record what happened and
 * hand data to the app; anything that ends a connection, and the app's
 * writable() and closed() callbacks, run from libos_tcp_service(), which
 * the event loop calls for every connection on the "dirty" list.
 *
 * Output: conn_write() hands bytes to lwIP (tcp_write with COPY) as far
 * as its send buffer allows and keeps the rest in a queue of chunks,
 * pushed on as ACKs free room. lwIP keeps what it accepted until it is
 * acknowledged, retransmitting as needed, so nothing queued is lost.
 */
#include <stdlib.h>
#include <string.h>
#include <libos/libos.h>
#include <libos/net.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "../core/libos_priv.h"

/* Smallest output chunk: small writes (pipelined replies) share one. */
#define CHUNK_MIN       (16 * 1024)
/* lwIP's poll callback period, in its coarse timer ticks. */
#define POLL_TICKS      2
/* Connections serviced per libos_tcp_service() call. */
#define SERVICE_BUDGET  1024

struct chunk {
    struct chunk *next;
    size_t off, len, cap;       /* data[off, len) is still to send */
    char data[];
};

struct conn {
    struct tcp_pcb *pcb;        /* NULL once lwIP freed it or owns it */
    const struct conn_ops *ops;
    void *data;
    struct chunk *head, *tail;  /* output not yet handed to lwIP */
    size_t queued;
    struct pbuf *rx;            /* input not yet handed to the app */
    struct conn *next_dirty;
    unsigned dirty : 1;
    unsigned paused : 1;
    unsigned closing : 1;       /* conn_close() called, or peer closed and
                                   all output is acknowledged */
    unsigned peer_fin : 1;      /* peer sent FIN */
    unsigned acked : 1;         /* peer ACKed data since writable() */
    unsigned dead : 1;          /* PCB gone: closed() is due */
    unsigned failed : 1;        /* an lwIP error: abort */
    unsigned finished : 1;      /* closed() running: never dirty again */
};

static struct conn *dirty_head, **dirty_tail = &dirty_head;
static int nlisteners;
static int nconns;

static void mark_dirty(struct conn *c)
{
    if (c->dirty || c->finished)
        return;
    c->dirty = 1;
    c->next_dirty = NULL;
    *dirty_tail = c;
    dirty_tail = &c->next_dirty;
}

static struct conn *pop_dirty(void)
{
    struct conn *c = dirty_head;
    if (c == NULL)
        return NULL;
    dirty_head = c->next_dirty;
    if (dirty_head == NULL)
        dirty_tail = &dirty_head;
    c->dirty = 0;
    return c;
}

static void detach(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err);
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len);
static void on_err(void *arg, err_t err);
static err_t on_poll(void *arg, struct tcp_pcb *pcb);

static void attach(struct conn *c)
{
    tcp_arg(c->pcb, c);
    tcp_recv(c->pcb, on_recv);
    tcp_sent(c->pcb, on_sent);
    tcp_err(c->pcb, on_err);
    tcp_poll(c->pcb, on_poll, POLL_TICKS);
}

/* Tells lwIP the app consumed n bytes: the receive window reopens. */
static void recved(struct conn *c, size_t n)
{
    while (c->pcb && n > 0) {
        u16_t part = n > 0xffff ? 0xffff : (u16_t)n;
        tcp_recved(c->pcb, part);
        n -= part;
    }
}

/* Hands received data to the app, pbuf by pbuf, until it pauses or
 * closes. Used from the recv callback and from the service loop. */
static void deliver(struct conn *c)
{
    size_t done = 0;

    while (c->rx && !c->paused && !c->closing && !c->dead) {
        struct pbuf *q = c->rx;
        u16_t n = q->len;
        if (n == 0) {
            c->rx = q->next;
            q->next = NULL;
            pbuf_free(q);
            continue;
        }
        if (c->ops->received)
            c->ops->received(c, q->payload, n);
        c->rx = pbuf_free_header(q, n);
        done += n;
    }
    recved(c, done);
}

/* Hands *lenp bytes at *datap to lwIP as far as its send buffer allows,
 * advancing both; more says further data follows (no PSH yet). Returns
 * -1 if lwIP refused for a reason other than lack of room. */
static int push(struct conn *c, const char **datap, size_t *lenp, int more)
{
    struct tcp_pcb *pcb = c->pcb;

    while (*lenp > 0) {
        size_t room = tcp_sndbuf(pcb);
        if (room == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN)
            return 0;
        size_t n = *lenp;
        if (n > room)
            n = room;
        if (n > 0xffff)
            n = 0xffff;
        u8_t flags = TCP_WRITE_FLAG_COPY;
        if (n < *lenp || more)
            flags |= TCP_WRITE_FLAG_MORE;
        err_t err = tcp_write(pcb, *datap, (u16_t)n, flags);
        if (err == ERR_MEM) {
            /* Out of segments or pbufs for now: the sent or poll
             * callback brings us back. */
            return 0;
        }
        if (err != ERR_OK)
            return -1;
        *datap += n;
        *lenp -= n;
    }
    return 0;
}

static void flush(struct conn *c)
{
    while (c->head && c->pcb && !c->failed) {
        struct chunk *k = c->head;
        const char *p = k->data + k->off;
        size_t left = k->len - k->off;
        int r = push(c, &p, &left, k->next != NULL);
        size_t sent = (k->len - k->off) - left;
        k->off += sent;
        c->queued -= sent;
        if (r < 0) {
            c->failed = 1;
            return;
        }
        if (left > 0)
            return;
        c->head = k->next;
        if (c->head == NULL)
            c->tail = NULL;
        free(k);
    }
}

static void free_queue(struct conn *c)
{
    while (c->head) {
        struct chunk *k = c->head;
        c->head = k->next;
        free(k);
    }
    c->tail = NULL;
    c->queued = 0;
}

static int enqueue(struct conn *c, const char *data, size_t len)
{
    struct chunk *t = c->tail;

    if (t && t->cap > t->len) {
        size_t n = t->cap - t->len;
        if (n > len)
            n = len;
        memcpy(t->data + t->len, data, n);
        t->len += n;
        c->queued += n;
        data += n;
        len -= n;
    }
    if (len == 0)
        return 0;
    size_t cap = len > CHUNK_MIN ? len : CHUNK_MIN;
    struct chunk *k = malloc(sizeof *k + cap);
    if (k == NULL)
        return -1;
    k->next = NULL;
    k->off = 0;
    k->len = len;
    k->cap = cap;
    memcpy(k->data, data, len);
    if (c->tail)
        c->tail->next = k;
    else
        c->head = k;
    c->tail = k;
    c->queued += len;
    return 0;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    const char *p = data;

    if (c->dead || c->closing || c->failed)
        return -1;
    if (len == 0)
        return 0;
    if (c->head == NULL && c->pcb) {
        if (push(c, &p, &len, 0) < 0) {
            c->failed = 1;
            mark_dirty(c);
            return -1;
        }
    }
    /* tcp_output() runs from the service loop (or lwIP's own input
     * processing), once for everything written in this round. */
    mark_dirty(c);
    if (len > 0 && enqueue(c, p, len) < 0)
        return -1;
    return 0;
}

size_t conn_pending(const struct conn *c)
{
    size_t inflight = 0;
    if (c->pcb)
        inflight = TCP_SND_BUF - tcp_sndbuf(c->pcb);
    return c->queued + inflight;
}

void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    mark_dirty(c);
}

void conn_pause(struct conn *c)
{
    c->paused = 1;
}

void conn_resume(struct conn *c)
{
    if (!c->paused)
        return;
    c->paused = 0;
    /* Deliver what was held from the service loop, not from inside
     * whatever callback resumed us. */
    mark_dirty(c);
}

void conn_set_data(struct conn *c, void *data)
{
    c->data = data;
}

void *conn_data(const struct conn *c)
{
    return c->data;
}

/* --- lwIP callbacks ----------------------------------------------------- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct conn *c = arg;

    if (p == NULL) {
        c->peer_fin = 1;
        mark_dirty(c);
        return ERR_OK;
    }
    if (c->closing || c->failed) {
        /* The app is done with input: consume and drop it. */
        tcp_recved(pcb, p->tot_len);
        pbuf_free(p);
        return ERR_OK;
    }
    if (c->rx)
        pbuf_cat(c->rx, p);
    else
        c->rx = p;
    deliver(c);
    if (c->closing || c->failed)
        mark_dirty(c);
    return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct conn *c = arg;

    c->acked = 1;
    /* Refill lwIP right away: tcp_input() sends it when we return. */
    flush(c);
    mark_dirty(c);
    return ERR_OK;
}

/* The PCB is already freed (reset, timeout, or out of memory). */
static void on_err(void *arg, err_t err)
{
    struct conn *c = arg;

    if (c == NULL)
        return;
    c->pcb = NULL;
    c->dead = 1;
    mark_dirty(c);
}

static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
    struct conn *c = arg;

    if (c->head || c->closing || c->peer_fin || c->failed)
        mark_dirty(c);
    return ERR_OK;
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    const struct conn_ops *ops = arg;

    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    c->pcb = pcb;
    c->ops = ops;
    nconns++;
    attach(c);
    /* Request/response traffic (redis, HTTP) wants no Nagle delay. */
    tcp_nagle_disable(pcb);
    if (ops->opened)
        ops->opened(c);
    return ERR_OK;
}

/* --- the service loop ----------------------------------------------------- */

/* Takes c off the dirty list (it may be there again if a callback ran
 * during its own service). */
static void unlink_dirty(struct conn *c)
{
    struct conn **pp = &dirty_head, *prev = NULL;

    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->next_dirty;
    }
    if (*pp == NULL)
        return;
    *pp = c->next_dirty;
    if (dirty_tail == &c->next_dirty)
        dirty_tail = prev ? &prev->next_dirty : &dirty_head;
    c->dirty = 0;
}

static void finish(struct conn *c)
{
    c->finished = 1;
    if (c->dirty)
        unlink_dirty(c);
    if (c->rx) {
        pbuf_free(c->rx);
        c->rx = NULL;
    }
    free_queue(c);
    nconns--;
    if (c->ops->closed)
        c->ops->closed(c);
    free(c);
}

/* Closes the PCB gracefully once all output is in lwIP's hands; lwIP
 * delivers it, then the FIN. Returns 0 when done, -1 to retry later. */
static int try_close(struct conn *c)
{
    struct tcp_pcb *pcb = c->pcb;

    /* Input the app will never read: consume it, or lwIP resets. */
    if (c->rx) {
        recved(c, c->rx->tot_len);
        pbuf_free(c->rx);
        c->rx = NULL;
    }
    detach(pcb);
    if (tcp_close(pcb) != ERR_OK) {
        attach(c);      /* out of memory for the FIN: on_poll retries */
        return -1;
    }
    c->pcb = NULL;
    return 0;
}

static void abort_conn(struct conn *c)
{
    if (c->pcb) {
        detach(c->pcb);
        tcp_abort(c->pcb);
        c->pcb = NULL;
    }
    c->dead = 1;
}

static void service(struct conn *c)
{
    if (c->failed && !c->dead)
        abort_conn(c);
    if (c->dead) {
        finish(c);
        return;
    }

    deliver(c);
    flush(c);
    /* The peer is done sending: close once the app has nothing left to
     * send (it may still stream output from writable()). */
    if (c->peer_fin && !c->rx && conn_pending(c) == 0)
        c->closing = 1;
    if (c->acked && !c->closing && !c->failed &&
            conn_pending(c) <= NET_LOW_WATER) {
        c->acked = 0;
        if (c->ops->writable) {
            c->ops->writable(c);
            flush(c);
        }
        if (c->peer_fin && !c->rx && conn_pending(c) == 0)
            c->closing = 1;
    }
    if (c->failed) {
        abort_conn(c);
        finish(c);
        return;
    }
    if (c->pcb)
        tcp_output(c->pcb);
    if (c->closing && c->head == NULL && try_close(c) == 0)
        finish(c);
}

int libos_tcp_service(void)
{
    for (int i = 0; i < SERVICE_BUDGET; i++) {
        struct conn *c = pop_dirty();
        if (c == NULL)
            return 0;
        service(c);
    }
    return dirty_head != NULL;
}

int libos_tcp_busy(void)
{
    return nlisteners > 0 || nconns > 0 || tcp_active_pcbs != NULL;
}

int net_listen(uint16_t port, const struct conn_ops *ops)
{
    if (!libos_netif_ready()) {
        libos_log("libos: net_listen(%u): no network (start with --ipv4=ADDR/PREFIX)\n",
                (unsigned)port);
        return -1;
    }
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL)
        return -1;
    if (tcp_bind(pcb, IP4_ADDR_ANY, port) != ERR_OK) {
        libos_log("libos: net_listen(%u): port in use\n", (unsigned)port);
        tcp_close(pcb);
        return -1;
    }
    struct tcp_pcb *lpcb = tcp_listen(pcb);
    if (lpcb == NULL) {
        tcp_close(pcb);
        return -1;
    }
    tcp_arg(lpcb, (void *)ops);
    tcp_accept(lpcb, on_accept);
    nlisteners++;
    return 0;
}
