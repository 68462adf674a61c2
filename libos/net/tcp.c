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
 *
 * Transmit offload (net/netif.c): each connection's MSS (pcb->mss) is
 * raised to TSO_FACTOR times the real one, so that lwIP builds segments
 * that the host kernel cuts to the real size on the way out.
 */
#include <stdlib.h>
#include <string.h>
#include <libos/libos.h>
#include <libos/net.h>
#include <libos/heap.h>
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/prot/ip4.h"
#include "../core/libos_priv.h"

/* Smallest output chunk: small writes (pipelined replies) share one. */
#define CHUNK_MIN       (16 * 1024)
/* lwIP's poll callback period, in its coarse timer ticks. */
#define POLL_TICKS      2
/* Connections serviced per libos_tcp_service() call. */
#define SERVICE_BUDGET  1024
/* With offload, lwIP's segments are this many wire segments. A segment
 * and its headers must fit one IPv4 packet (and pcb->mss 16 bits): at
 * most 44. lwIP's window and cwnd arithmetic is 32 bits with window
 * scaling, so it no longer bounds this. We take the maximum (64 KiB
 * segments, what Linux's own TSO sends): lwIP retransmits whole
 * segments, so the factor is also what a timeout resends at once and,
 * times 4, the initial window. Before segments went out in place (no
 * copy into the bindings' buffer) 44 measured no faster than 22 (16 MiB
 * download, ~560 MB/s) and 7 gave ~410; with it, two runs each on a
 * loaded machine gave 704 and 414 MB/s for 44, 574 and 245 for 22. The
 * factor is fixed so that the wire MSS is pcb->mss / TSO_FACTOR for any
 * offloaded PCB, also one whose connection struct is gone (closing). */
#define TSO_FACTOR      44
_Static_assert(LWIP_WND_SCALE, "TSO_FACTOR needs 32-bit TCP windows");
_Static_assert(TSO_FACTOR * TCP_MSS + 20 + 60 <= 0xffff,
        "TSO_FACTOR too large: segments must fit an IPv4 packet");

struct chunk {
    struct chunk *next;
    size_t off, len, cap;       /* data[off, len) is still to send */
    char data[];
};

/* Loss recovery from the peer's SACK blocks, which lwIP 2.1 reads not.
 * lwIP alone retransmits one segment on three duplicate ACKs and leaves
 * fast recovery on the next ACK that advances; every further segment
 * lost in the same window, and every lost retransmission, then waits
 * for the retransmission timeout. With SACK we know when the segment at
 * the left edge is missing and resend it at once (RFC 6675's "lost"
 * test, NewReno's partial ACK rule). Sequence numbers in host order. */
struct recovery {
    uint32_t sack_high;         /* right edge of the highest SACK block */
    uint32_t sacked;            /* bytes SACKed above the ACK, last ACK */
    uint32_t resent;            /* left edge we last resent ... */
    uint32_t resent_nxt;        /* ... and snd_nxt when we did */
    uint32_t recover;           /* snd_nxt when recovery began */
    uint32_t limited_una;       /* left edge of the limited transmits */
    unsigned limited;           /* how many for it */
    unsigned have_sack : 1;     /* the last ACK carried SACK blocks */
    unsigned have_resent : 1;
    unsigned in_recovery : 1;
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
    unsigned ack_round : 1;     /* an ACK is due by the round's end */
    u16_t wire_mss;             /* offload: the real MSS; else 0 */
    unsigned epoch;             /* of the receive budget: see recved() */
    uint32_t epoch_bytes;       /* consumed in it, up to TCP_WND */
    uint32_t wnd;               /* receive window as last seen */
    unsigned busy_last : 1;     /* busy in the epoch before it */
    struct recovery rec;
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

/* --- the receive window, shared across connections -------------------
 *
 * What peers send before we read it waits in the tap's queue (1000
 * frames by default); a full queue drops, and the peers' retransmission
 * timeouts then cost far more than a smaller window would. A fixed window
 * per connection must be small enough for many uploaders at once (20 x 32
 * segments fit; 20 x 128 overflowed) and is then too small for one
 * connection alone to keep the guest busy, above all with receive offload,
 * where one read takes a 64 KiB segment. So every connection has TCP_WND,
 * the window it starts with, and the windows above that share a budget:
 * their excesses over TCP_WND add up to at most RX_BUDGET bytes (as last
 * seen: a window only shrinks, as its peer sends, between two looks, so
 * the sum never understates what may be in flight). 20 uploaders then
 * have at most 20 x TCP_WND + RX_BUDGET bytes in flight (20 x 16 + 576
 * segments), within the queue even if every segment is a frame, and a
 * connection that grew its window and went idle keeps its excess counted
 * until it sends again.
 *
 * Each busy connection aims at an equal share of the budget, TCP_WND +
 * RX_BUDGET / busy, at most WND_MAX. Busy: the app consumed TCP_WND bytes
 * of it in this epoch or the last; an epoch is RX_BUDGET bytes consumed
 * in all (a clock that needs no system call), so small requests leave the
 * budget to the uploads. One uploader alone gets WND_MAX, ten 73 segments
 * each, twenty 44.
 *
 * A window moves as the app consumes data: it reopens by what was
 * consumed, plus as much again while below its share and within the
 * budget; above its share, or above TCP_WND with the budget spent, not at
 * all. It never closes below what the peer was told (TCP must not move a
 * window's right edge left), so one shrinks only as its peer sends. lwIP's
 * own tcp_recved() would cap every window at TCP_WND, so the windows are
 * set here. */
#define WND_MAX         (192u * TCP_MSS)
#define RX_BUDGET       (576u * TCP_MSS)
_Static_assert(WND_MAX <= (0xffffu << TCP_RCV_SCALE), "TCP_RCV_SCALE too small for WND_MAX");
_Static_assert(TCP_WND <= WND_MAX, "windows");
_Static_assert(RX_BUDGET + 20 * TCP_WND <= 1000 * TCP_MSS,
        "20 uploaders could overflow the tap's queue");

static uint32_t epoch_bytes;    /* consumed in this epoch */
static unsigned epoch;
static unsigned busy_now, busy_last;    /* busy in this and the last epoch */
/* The windows' excesses over TCP_WND, each as last seen (conn.wnd). */
static uint64_t excess_sum;

/* The window a busy connection should have now. */
static uint32_t wnd_share(void)
{
    unsigned busy = busy_now > busy_last ? busy_now : busy_last;
    uint32_t share = TCP_WND + RX_BUDGET / (busy ? busy : 1);
    return share < WND_MAX ? share : WND_MAX;
}

static uint32_t excess(uint32_t wnd)
{
    return wnd > TCP_WND ? wnd - TCP_WND : 0;
}

/* Records that c's window is now wnd. */
static void seen_wnd(struct conn *c, uint32_t wnd)
{
    excess_sum -= excess(c->wnd);
    excess_sum += excess(wnd);
    c->wnd = wnd;
}

/* Counts n bytes consumed on c into the epochs; true if c is busy. */
static int count_busy(struct conn *c, size_t n)
{
    if (c->epoch != epoch) {
        c->busy_last = c->epoch == epoch - 1 && c->epoch_bytes >= TCP_WND;
        c->epoch = epoch;
        c->epoch_bytes = 0;
    }
    if (c->epoch_bytes < TCP_WND && c->epoch_bytes + n >= TCP_WND)
        busy_now++;
    c->epoch_bytes = c->epoch_bytes + n < TCP_WND ?
        (uint32_t)(c->epoch_bytes + n) : TCP_WND;
    int busy = c->epoch_bytes >= TCP_WND || c->busy_last;
    if (n >= RX_BUDGET - epoch_bytes) {
        epoch++;
        busy_last = busy_now;
        busy_now = 0;
        epoch_bytes = 0;
    } else {
        epoch_bytes += (uint32_t)n;
    }
    return busy;
}

/* Opens pcb's receive window to wnd (never smaller) after the app
 * consumed n bytes. True if the peer must hear of it within this round
 * of the event loop: the right edge moved enough, as for tcp_recved(),
 * or data of two segments or more was consumed, which Linux acknowledges
 * at once even if the window did not move (the budget, or a share
 * exceeded): one 64 KiB segment with receive offload would otherwise
 * wait for lwIP's delayed ACK, and a peer that waits longer than its
 * loss probe timeout (a few ms on a local link) resends, takes the
 * resend for a loss (lwIP sends no D-SACK) and halves its congestion
 * window. */
static int open_wnd(struct tcp_pcb *pcb, uint32_t wnd, size_t n)
{
    if (!(pcb->flags & TF_WND_SCALE) && wnd > 0xffff)
        wnd = 0xffff;       /* the peer cannot scale our window */
    if (wnd > pcb->rcv_wnd) {
        pcb->rcv_wnd = (tcpwnd_size_t)wnd;
        if (tcp_update_rcv_ann_wnd(pcb) >= TCP_WND_UPDATE_THRESHOLD)
            return 1;
    }
    return n >= 2u * TCP_MSS;
}

/* ACKs deferred to the end of the round (conn.ack_round, each such
 * connection on the dirty list), and the input consumed since the first
 * of them: past ACK_DEFER_MAX they go at once, so that a round that reads
 * many large segments does not hold them for milliseconds, past the
 * peer's loss probe timeout. */
#define ACK_DEFER_MAX   (256u * 1024)
static unsigned acks_deferred;
static size_t acks_deferred_bytes;

/* Takes c off the deferred ACKs; true if it was on them. */
static int ack_undefer(struct conn *c)
{
    if (!c->ack_round)
        return 0;
    c->ack_round = 0;
    if (acks_deferred > 0 && --acks_deferred == 0)
        acks_deferred_bytes = 0;
    return 1;
}

/* Sends c's deferred ACK if no segment carried it since. */
static void ack_deferred(struct conn *c)
{
    if (!ack_undefer(c))
        return;
    if (c->pcb && (c->pcb->flags & TF_ACK_DELAY)) {
        tcp_ack_now(c->pcb);
        tcp_output(c->pcb);
    }
}

static void send_deferred_acks(void)
{
    for (struct conn *c = dirty_head; c && acks_deferred; c = c->next_dirty)
        ack_deferred(c);
    acks_deferred_bytes = 0;
}

/* Tells lwIP the app consumed n bytes: the receive window reopens, for a
 * busy connection towards its share of the budget. */
static void recved(struct conn *c, size_t n)
{
    struct tcp_pcb *pcb = c->pcb;

    if (pcb == NULL || n == 0)
        return;
    int busy = count_busy(c, n);
    uint64_t cur = pcb->rcv_wnd, wnd = cur + n;
    seen_wnd(c, (uint32_t)cur);
    uint64_t share = busy ? wnd_share() : TCP_WND;
    if (wnd >= share)
        wnd = cur > share ? cur : share;
    else if (busy)
        wnd = wnd + n < share ? wnd + n : share;
    /* Above TCP_WND only within the budget. */
    uint64_t others = excess_sum - excess((uint32_t)cur);
    uint64_t cap = TCP_WND + (others < RX_BUDGET ? RX_BUDGET - others : 0);
    if (wnd > cap)
        wnd = cur > cap ? cur : cap;
    if (acks_deferred) {
        acks_deferred_bytes += n;
        if (acks_deferred_bytes > ACK_DEFER_MAX)
            send_deferred_acks();
    }
    if (open_wnd(pcb, (uint32_t)wnd, n)) {
        /* At the end of the round (service()), unless a segment carries
         * it before: the app's reply, when the rest of a request is
         * already queued behind the segment just consumed, saves the
         * guest a write for the ACK. lwIP clears the flag when anything
         * is sent. */
        tcp_set_flags(pcb, TF_ACK_DELAY);
        if (!c->ack_round) {
            c->ack_round = 1;
            acks_deferred++;
        }
        mark_dirty(c);
    }
    seen_wnd(c, pcb->rcv_wnd);
}

/* Before lwIP closes pcb: its window back where lwIP started it, or
 * tcp_close() takes the difference for data the app never read and
 * resets the connection. */
static void settle_wnd(struct tcp_pcb *pcb)
{
    pcb->rcv_wnd = TCP_WND_MAX(pcb);
}

/* Bytes held in a receive chain. Not tot_len: it is 16 bits, which a
 * paused connection with a receive window above 64 KiB would wrap. */
static size_t rx_len(const struct pbuf *p)
{
    size_t n = 0;
    for (; p; p = p->next)
        n += p->len;
    return n;
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
    struct chunk *t = c->tail, *k;

    /* No chunk holds that much, and sizeof *k + cap would wrap. */
    if (len > SIZE_MAX - sizeof *k)
        return -1;

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
    k = malloc(sizeof *k + cap);
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
    /* Not tcp_sndbuf(): with window scaling it caps the room at 64 KiB
     * (tcp_write's length is 16 bits), so a send buffer larger than
     * that would never look empty. */
    if (c->pcb)
        inflight = TCP_SND_BUF - c->pcb->snd_buf;
    return c->queued + inflight;
}

size_t net_unacked(void)
{
    size_t n = 0;

    /* Closed connections' PCBs stay here until the peer has it all (and
     * the FIN); a PCB still in the handshake holds the listener's arg,
     * not a conn. */
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
        if (pcb->state < ESTABLISHED)
            continue;
        n += TCP_SND_BUF - pcb->snd_buf;
        const struct conn *c = pcb->callback_arg;
        if (c != NULL)
            n += c->queued;
    }
    return n;
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

int conn_addrs(const struct conn *c, struct conn_addr *local,
        struct conn_addr *peer)
{
    if (c->pcb == NULL)
        return -1;
    uint32_t l = ip4_addr_get_u32(ip_2_ip4(&c->pcb->local_ip));
    uint32_t r = ip4_addr_get_u32(ip_2_ip4(&c->pcb->remote_ip));
    /* lwIP keeps addresses in network order: the bytes as written. */
    memcpy(local->ip, &l, 4);
    memcpy(peer->ip, &r, 4);
    local->port = c->pcb->local_port;
    peer->port = c->pcb->remote_port;
    return 0;
}

/* --- SACK-based loss recovery ------------------------------------------- */

/* Byte i of the segment's options, which may continue in a second pbuf. */
static u8_t optbyte(const struct tcp_hdr *hdr, u16_t opt1len, const u8_t *opt2,
        u16_t i)
{
    if (opt2 == NULL || i < opt1len)
        return ((const u8_t *)hdr)[TCP_HLEN + i];
    return opt2[i - opt1len];
}

static uint32_t optword(const struct tcp_hdr *hdr, u16_t opt1len,
        const u8_t *opt2, u16_t i)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++)
        v = v << 8 | optbyte(hdr, opt1len, opt2, (u16_t)(i + k));
    return v;
}

/* SACK blocks kept per segment: 40 option bytes hold four (RFC 2018). */
#define SACK_BLOCKS     4

/* Adds the block [lo, hi) to the disjoint blocks b[0..n), merging it with
 * every block it overlaps or touches; returns the new count. A fifth
 * disjoint block (more than the options can hold) is not counted. */
static int sack_add(uint32_t b[][2], int n, uint32_t lo, uint32_t hi)
{
    for (int i = 0; i < n; ) {
        if (b[i][0] <= hi && lo <= b[i][1]) {
            lo = LWIP_MIN(lo, b[i][0]);
            hi = LWIP_MAX(hi, b[i][1]);
            n--;
            b[i][0] = b[n][0];
            b[i][1] = b[n][1];
        } else {
            i++;
        }
    }
    if (n < SACK_BLOCKS) {
        b[n][0] = lo;
        b[n][1] = hi;
        n++;
    }
    return n;
}

/* --- connection setup and teardown ------------------------------------------
 *
 * TIME_WAIT: lwIP 2.1 answers every SYN to a connection in TIME_WAIT
 * with an ACK for the old connection and ignores the reset that the
 * peer's stack sends back (RFC 1337), for the 2 MSL of TIME_WAIT (120
 * s): a client that reuses a port the guest closed cannot connect. As
 * Linux and the BSDs do (RFC 1122 4.2.2.13, RFC 6191 without
 * timestamps), a SYN whose sequence number is above the old
 * connection's ends the TIME_WAIT and goes to the listener; and, as
 * Linux does by default (tcp_rfc1337=0), a reset at the old
 * connection's next sequence number ends it too, so that a SYN below
 * succeeds on its retransmission.
 *
 * The SYN cannot reach the listener from inside tcp_input() (lwIP's
 * input state is global): its copy waits in tw_syn until the netif has
 * finished the frame (libos_tcp_reinput). */
static struct pbuf *tw_syn;
static struct netif *tw_syn_netif;

static void end_timewait(struct tcp_pcb *pcb)
{
    tcp_pcb_remove(&tcp_tw_pcbs, pcb);
    tcp_free(pcb);
}

/* A copy of the segment being input, from its IPv4 header, in network
 * byte order again (tcp_input() converted the TCP header in place). */
static struct pbuf *copy_segment(const struct tcp_hdr *hdr, const struct pbuf *p)
{
    const struct ip_hdr *iph = ip4_current_header();
    u16_t iphl = IPH_HL_BYTES(iph);
    u16_t thl = TCPH_HDRLEN_BYTES(hdr);

    /* Only a TCP header right after the IP header, options included
     * (not a reassembled datagram or one split over pbufs). */
    if (iph == NULL || (const u8_t *)iph + iphl != (const u8_t *)hdr)
        return NULL;
    u32_t total = (u32_t)iphl + thl + p->tot_len;
    if (total > 0xffff)
        return NULL;
    struct pbuf *q = pbuf_alloc(PBUF_RAW, (u16_t)total, PBUF_RAM);
    if (q == NULL)
        return NULL;
    u8_t *d = q->payload;
    memcpy(d, iph, iphl);
    memcpy(d + iphl, hdr, thl);
    if (pbuf_copy_partial(p, d + iphl + thl, p->tot_len, 0) != p->tot_len) {
        pbuf_free(q);
        return NULL;
    }
    struct tcp_hdr *th = (struct tcp_hdr *)(d + iphl);
    th->src = lwip_htons(hdr->src);
    th->dest = lwip_htons(hdr->dest);
    th->seqno = lwip_htonl(hdr->seqno);
    th->ackno = lwip_htonl(hdr->ackno);
    th->wnd = lwip_htons(hdr->wnd);
    return q;
}

static err_t timewait_input(struct tcp_pcb *pcb, const struct tcp_hdr *hdr,
        u8_t *opt2, struct pbuf *p)
{
    u8_t flags = TCPH_FLAGS(hdr);

    if (flags & TCP_RST) {
        if (hdr->seqno != pcb->rcv_nxt)
            return ERR_OK;
        end_timewait(pcb);
        return ERR_ABRT;
    }
    if ((flags & (TCP_SYN | TCP_ACK | TCP_FIN)) != TCP_SYN ||
            !TCP_SEQ_GT(hdr->seqno, pcb->rcv_nxt))
        return ERR_OK;
    end_timewait(pcb);
    /* Without a copy (no memory, options split) the peer's
     * retransmission finds the listener. */
    if (tw_syn == NULL && opt2 == NULL) {
        tw_syn = copy_segment(hdr, p);
        tw_syn_netif = ip_current_input_netif();
    }
    return ERR_ABRT;
}

void libos_tcp_reinput(void)
{
    struct pbuf *q = tw_syn;

    if (q == NULL)
        return;
    tw_syn = NULL;
    if (ip4_input(q, tw_syn_netif) != ERR_OK)
        pbuf_free(q);
}

/* Limit: connections cost a PCB and buffers; past the limit a SYN gets a
 * reset (the client sees "connection refused" at once) rather than no
 * answer, and an accept that would pass it is reset. A share of the heap
 * per connection keeps a small guest from taking more connections than
 * it can give buffers to; LIBOS_MAX_CONNS (lwipopts.h) is the ceiling. */
#define CONN_HEAP_SHARE (16 * 1024)
#define CONN_MIN        16

int net_max_conns(void)
{
    static int limit;

    if (limit == 0) {
        size_t n = libos_heap_size() / CONN_HEAP_SHARE;
        if (n > LIBOS_MAX_CONNS)
            n = LIBOS_MAX_CONNS;
        if (n < CONN_MIN)
            n = CONN_MIN;
        limit = (int)n;
    }
    return limit;
}

static err_t listen_input(const struct tcp_hdr *hdr, struct pbuf *p)
{
    if ((TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN ||
            nconns < net_max_conns())
        return ERR_OK;
    tcp_rst(NULL, 0, hdr->seqno + 1 + p->tot_len, ip_current_dest_addr(),
            ip_current_src_addr(), hdr->dest, hdr->src);
    return ERR_ABRT;
}

/* LWIP_HOOK_TCP_INPACKET_PCB: runs before lwIP processes a segment; the
 * header's numbers are already in host order. Ends TIME_WAIT for a new
 * SYN (above); records the SACK blocks of an ACK to one of our
 * connections. */
err_t libos_tcp_inpacket(struct tcp_pcb *pcb, struct tcp_hdr *hdr,
        u16_t optlen, u16_t opt1len, u8_t *opt2, struct pbuf *p)
{
    if (pcb->state == TIME_WAIT)
        return timewait_input(pcb, hdr, opt2, p);
    if (pcb->state == LISTEN)
        return listen_input(hdr, p);
    /* Listening and TIME_WAIT PCBs are other structs or not ours. */
    if (pcb->state < ESTABLISHED || pcb->state == TIME_WAIT ||
            pcb->recv != on_recv || pcb->callback_arg == NULL ||
            !(TCPH_FLAGS(hdr) & TCP_ACK))
        return ERR_OK;
    struct conn *c = pcb->callback_arg;
    struct recovery *r = &c->rec;
    uint32_t ack = hdr->ackno;

    /* Blocks as offsets above the ACK, merged: a peer repeating or
     * overlapping blocks must not count the same bytes twice, or cwnd
     * (open_pipe) grows by what was never delivered. */
    uint32_t blocks[SACK_BLOCKS][2];
    int nblocks = 0;
    for (u16_t i = 0; i < optlen; ) {
        u8_t kind = optbyte(hdr, opt1len, opt2, i);
        if (kind == LWIP_TCP_OPT_EOL)
            break;
        if (kind == LWIP_TCP_OPT_NOP) {
            i++;
            continue;
        }
        if (i + 1 >= optlen)
            break;
        u8_t len = optbyte(hdr, opt1len, opt2, (u16_t)(i + 1));
        if (len < 2 || i + len > optlen)
            break;
        if (kind == 5 && (len - 2) % 8 == 0) {      /* SACK, RFC 2018 */
            for (u16_t b = (u16_t)(i + 2); b < i + len; b = (u16_t)(b + 8)) {
                uint32_t left = optword(hdr, opt1len, opt2, b);
                uint32_t right = optword(hdr, opt1len, opt2, (u16_t)(b + 4));
                if (!TCP_SEQ_LT(left, right) || !TCP_SEQ_GT(right, ack) ||
                        TCP_SEQ_GT(right, pcb->snd_nxt))
                    continue;       /* bogus or below the ACK (D-SACK) */
                if (TCP_SEQ_LT(left, ack))
                    left = ack;
                nblocks = sack_add(blocks, nblocks, left - ack, right - ack);
            }
        }
        i = (u16_t)(i + len);
    }
    r->have_sack = nblocks > 0;
    r->sacked = 0;
    r->sack_high = ack;
    for (int k = 0; k < nblocks; k++) {
        r->sacked += blocks[k][1] - blocks[k][0];
        if (TCP_SEQ_GT(ack + blocks[k][1], r->sack_high))
            r->sack_high = ack + blocks[k][1];
    }
    if (r->have_sack || r->in_recovery)
        mark_dirty(c);
    return ERR_OK;
}

/* In recovery, segments the peer SACKed have left the network: count
 * them out of what is in flight (RFC 6675's pipe), so that new data
 * keeps going out; its SACKs are what reveal a lost resend. lwIP
 * compares cwnd with everything above the cumulative ACK. */
static void open_pipe(struct tcp_pcb *pcb, const struct recovery *r)
{
    uint32_t w = pcb->ssthresh + r->sacked;
    if (w > (tcpwnd_size_t)~0)
        w = (tcpwnd_size_t)~0;
    if (w > pcb->cwnd)
        pcb->cwnd = (tcpwnd_size_t)w;
}

/* The MSS on the wire (pcb->mss is larger with offload). */
static u16_t wire_mss(const struct conn *c)
{
    return c->wire_mss ? c->wire_mss : c->pcb->mss;
}

/* Called after lwIP processed ACKs: resends the segment at the left edge
 * of the window when the peer's SACKs show it lost, ahead of lwIP's
 * retransmission timer. Our tcp_output() call, or lwIP's at the end of
 * tcp_input(), sends it. */
static void recover(struct conn *c)
{
    struct tcp_pcb *pcb = c->pcb;
    struct recovery *r = &c->rec;

    if (pcb == NULL || pcb->state < ESTABLISHED)
        return;
    uint32_t una = pcb->lastack;
    if (r->in_recovery && !TCP_SEQ_LT(una, r->recover))
        r->in_recovery = 0;
    if (pcb->unacked == NULL || !r->have_sack ||
            !TCP_SEQ_GT(r->sack_high, una))
        return;
    if (r->in_recovery)
        open_pipe(pcb, r);
    if (lwip_ntohl(pcb->unacked->tcphdr->seqno) != una)
        return;     /* a partly acknowledged segment: leave it to lwIP */
    int resent = r->have_resent && r->resent == una;
    /* lwIP's own fast retransmit (three duplicate ACKs) resent it. */
    if ((pcb->flags & TF_INFR) && !resent) {
        r->have_resent = 1;
        r->resent = una;
        r->resent_nxt = pcb->snd_nxt;
        if (!r->in_recovery) {
            r->in_recovery = 1;
            r->recover = pcb->snd_nxt;
        }
        return;
    }
    if (resent) {
        /* Resend it again only if data sent after the last resend has
         * arrived: on this path the resend was lost. */
        if (!TCP_SEQ_GT(r->sack_high, r->resent_nxt))
            return;
    } else if (!r->in_recovery) {
        /* Lost once the peer holds a full segment sent after it, or
         * the last byte sent. RFC 6675 waits for 3 segments against
         * reordering, but Linux peers compress their SACKs into one
         * or two ACKs, and with the small windows loss leaves three
         * never come: lwIP would wait for its timeout instead. A
         * reordered segment costs one needless resend. */
        if (r->sacked < wire_mss(c) && r->sack_high != pcb->snd_nxt) {
            /* Not yet: let a new segment out per SACK (limited
             * transmit, RFC 3042), so that more SACKs can tell. */
            if (r->limited_una != una) {
                r->limited_una = una;
                r->limited = 0;
            }
            if (r->limited < 2 && pcb->unsent != NULL) {
                r->limited++;
                TCP_WND_INC(pcb->cwnd, pcb->mss);
            }
            return;
        }
    }
    /* In recovery (NewReno's partial ACK), the new left edge is lost. */
    if (tcp_rexmit(pcb) != ERR_OK)
        return;
    if (!r->in_recovery) {
        r->in_recovery = 1;
        r->recover = pcb->snd_nxt;
        tcpwnd_size_t half = LWIP_MIN(pcb->cwnd, pcb->snd_wnd) / 2;
        if (half < 2u * pcb->mss)
            half = (tcpwnd_size_t)(2u * pcb->mss);
        pcb->ssthresh = half;
        pcb->cwnd = half;
    }
    open_pipe(pcb, r);
    /* Keeps lwIP from resending it again on three duplicate ACKs, and
     * ends with cwnd = ssthresh on the next advancing ACK. */
    tcp_set_flags(pcb, TF_INFR);
    pcb->rtime = 0;
    r->have_resent = 1;
    r->resent = una;
    r->resent_nxt = pcb->snd_nxt;
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
        recved(c, rx_len(p));
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
    recover(c);
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

/* lwIP starts every PCB with a 3 s RTO and, after the first sample,
 * lets the variance decay by a quarter per round trip: for a dozen
 * round trips a lost segment stalls the connection for seconds. The
 * handshake just gave a sample (we run while lwIP processes the ACK of
 * our SYN-ACK): start from it as RFC 6298 does (SRTT = R, RTTVAR = R/2,
 * lwIP keeps 8*SRTT and 4*RTTVAR), with a floor of RTO_MIN_TICKS for
 * the variance term so that a sub-tick round trip is not an RTO of 0. */
#define RTO_MIN_TICKS   3
static void seed_rtt(struct tcp_pcb *pcb)
{
    if (pcb->rttest == 0 || pcb->nrtx != 0)
        return;     /* the SYN-ACK was resent: no valid sample (Karn) */
    s16_t m = (s16_t)(tcp_ticks - pcb->rttest);
    if (m < 0)
        return;
    s16_t sv = (s16_t)(2 * m);
    pcb->sa = (s16_t)(m << 3);
    pcb->sv = sv > RTO_MIN_TICKS ? sv : RTO_MIN_TICKS;
    pcb->rto = (s16_t)((pcb->sa >> 3) + pcb->sv);
    pcb->rttest = 0;    /* taken: lwIP must not apply it again */
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    const struct conn_ops *ops = arg;

    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    /* Handshakes finish after the SYN's check: the limit holds here. */
    struct conn *c = nconns < net_max_conns() ? calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        tcp_abort(pcb);
        return ERR_ABRT;
    }
    c->pcb = pcb;
    c->ops = ops;
    nconns++;
    attach(c);
    seed_rtt(pcb);
    unsigned omss = libos_netif_offload_mss();
    if (omss) {
        /* lwIP set cwnd from the raised MSS after we return. */
        c->wire_mss = pcb->mss < omss ? pcb->mss : (u16_t)omss;
        pcb->mss = (u16_t)(c->wire_mss * TSO_FACTOR);
    }
    /* Request/response traffic (redis, HTTP) wants no Nagle delay. */
    tcp_nagle_disable(pcb);
    if (ops->opened)
        ops->opened(c);
    return ERR_OK;
}

unsigned libos_tcp_wire_mss(const unsigned char *ip)
{
    size_t ihl = (size_t)(ip[0] & 0xf) * 4;
    const unsigned char *tcp = ip + ihl;
    u16_t sport = (u16_t)(tcp[0] << 8 | tcp[1]);
    u16_t dport = (u16_t)(tcp[2] << 8 | tcp[3]);
    u32_t dst;

    memcpy(&dst, ip + 16, 4);
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb; pcb = pcb->next) {
        if (pcb->local_port == sport && pcb->remote_port == dport &&
                ip4_addr_get_u32(ip_2_ip4(&pcb->remote_ip)) == dst)
            return pcb->mss / TSO_FACTOR;
    }
    /* Not ours (cannot be large): the smallest MSS IPv4 allows. */
    return 536;
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
    seen_wnd(c, 0);
    ack_undefer(c);
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
        pbuf_free(c->rx);
        c->rx = NULL;
    }
    settle_wnd(pcb);
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
    recover(c);
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
    ack_deferred(c);
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

/* --- the TCP timer: only while something is timed ------------------------
 *
 * lwIP runs tcp_tmr() every TCP_TMR_INTERVAL while any PCB exists, so a
 * server with idle connections would wake every 5 ms. The build renames
 * the two lists lwIP's timeouts.c tests (tcp_active_pcbs, tcp_tw_pcbs) to
 * libos_tcp_timed (libos/libos.mk): its timer runs while that is non-NULL,
 * and libos_tcp_timer() sets it before every sleep. Keepalive and
 * TIME_WAIT are long waits: instead of ticking, the event loop sleeps
 * until they are due. While the timer is off, tcp_ticks (lwIP's clock for
 * idle times) keeps up with the wall clock here. */
struct tcp_pcb *libos_tcp_timed;
static uint64_t ticked_ms;      /* tcp_ticks counted up to here (timer off) */

/* Something lwIP's timer must act on soon: a retransmission, a probe of a
 * closed window, a delayed ACK, a state that times out, out-of-order
 * data, or queued output and closes that on_poll() retries. */
static int pcb_busy(const struct tcp_pcb *pcb)
{
    if (pcb->state != ESTABLISHED && pcb->state != CLOSE_WAIT)
        return 1;
    if (pcb->rtime >= 0 || pcb->persist_backoff > 0 || pcb->unacked ||
            pcb->unsent || pcb->refused_data || pcb->ooseq)
        return 1;
    if (pcb->flags & (TF_ACK_DELAY | TF_ACK_NOW | TF_CLOSEPEND | TF_NAGLEMEMERR))
        return 1;
    if (pcb->recv != on_recv || pcb->callback_arg == NULL)
        return 1;
    const struct conn *c = pcb->callback_arg;
    return c->head || c->closing || c->failed || c->dirty ||
            (c->peer_fin && !c->paused);
}

/* Ticks from now until lwIP's slow timer acts on a wait that started at
 * tick start and lasts more than ms; 0 if due. */
static uint32_t ticks_left(uint32_t start, uint32_t ms)
{
    uint32_t due = start + ms / TCP_SLOW_INTERVAL + 1;
    int32_t left = (int32_t)(due - tcp_ticks);
    return left > 0 ? (uint32_t)left : 0;
}

static void catch_up(uint64_t now_ms)
{
    uint64_t n = (now_ms - ticked_ms) / TCP_SLOW_INTERVAL;
    tcp_ticks += (u32_t)n;
    ticked_ms += n * TCP_SLOW_INTERVAL;
}

void libos_tcp_clock(uint64_t now_ms)
{
    if (libos_tcp_timed == NULL)
        catch_up(now_ms);
}

uint64_t libos_tcp_timer(uint64_t now_ms)
{
    struct tcp_pcb *busy = NULL;
    uint32_t wait = UINT32_MAX;         /* slow ticks */

    if (libos_tcp_timed == NULL)
        catch_up(now_ms);
    for (struct tcp_pcb *pcb = tcp_active_pcbs; pcb && !busy; pcb = pcb->next) {
        if (pcb_busy(pcb)) {
            busy = pcb;
        } else if (ip_get_option(pcb, SOF_KEEPALIVE)) {
            uint32_t t = ticks_left(pcb->tmr, pcb->keep_idle +
                    pcb->keep_cnt_sent * pcb->keep_intvl);
            if (t == 0)
                busy = pcb;
            else if (t < wait)
                wait = t;
        }
    }
    for (struct tcp_pcb *pcb = tcp_tw_pcbs; pcb && !busy; pcb = pcb->next) {
        uint32_t t = ticks_left(pcb->tmr, 2 * TCP_MSL);
        if (t == 0)
            busy = pcb;
        else if (t < wait)
            wait = t;
    }
    /* Turning on or off, tcp_ticks is up to date: the timer counted it,
     * or catch_up() did. */
    if ((busy == NULL) != (libos_tcp_timed == NULL))
        ticked_ms = now_ms;
    libos_tcp_timed = busy;
    if (busy) {
        tcp_timer_needed();
        return UINT64_MAX;      /* lwIP's sleep time has its timer */
    }
    return wait == UINT32_MAX ? UINT64_MAX : (uint64_t)wait * TCP_SLOW_INTERVAL;
}

int conn_keepalive(struct conn *c, unsigned idle_s, unsigned interval_s,
        unsigned count)
{
    struct tcp_pcb *pcb = c->pcb;

    if (pcb == NULL || c->dead)
        return -1;
    if (idle_s == 0) {
        ip_reset_option(pcb, SOF_KEEPALIVE);
        return 0;
    }
    if (interval_s == 0 || count == 0)
        return -1;
    /* lwIP counts in milliseconds, in 32 bits: idle + count * interval
     * stays below 2^32 ms. */
    if (idle_s > 86400 * 7)
        idle_s = 86400 * 7;
    if (interval_s > 3600)
        interval_s = 3600;
    if (count > 100)
        count = 100;
    pcb->keep_idle = idle_s * 1000u;
    pcb->keep_intvl = interval_s * 1000u;
    pcb->keep_cnt = count;
    pcb->keep_cnt_sent = 0;
    ip_set_option(pcb, SOF_KEEPALIVE);
    return 0;
}
