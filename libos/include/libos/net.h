/*
 * An event-driven TCP API on lwIP (raw API, NO_SYS=1), single-threaded.
 *
 * A server registers callbacks with net_listen(); libos_run() calls them.
 * Output is buffered by libos without limit (heap permitting): conn_write()
 * never blocks and never short-writes; bytes are handed to lwIP as the
 * peer's window allows. Apps that stream large data watch conn_pending()
 * and refill from the writable() callback.
 */
#ifndef LIBOS_NET_H
#define LIBOS_NET_H

#include <stddef.h>
#include <stdint.h>

struct conn;

struct conn_ops {
    /* A new connection was accepted. Optional. */
    void (*opened)(struct conn *c);
    /* Bytes from the peer, in order; data is valid only during the call. */
    void (*received)(struct conn *c, const char *data, size_t len);
    /* Pending output fell to or below NET_LOW_WATER since the last call. Optional. */
    void (*writable)(struct conn *c);
    /* The connection is gone (peer closed, reset, error, or after
     * conn_close() finished); c is freed when this returns. Optional. */
    void (*closed)(struct conn *c);
};

#define NET_LOW_WATER (64 * 1024)

/* Listen on TCP port on all addresses; 0 on success, -1 on error. */
int net_listen(uint16_t port, const struct conn_ops *ops);

/* Connections served at once: LIBOS_MAX_CONNS, lowered to one per 16
 * KiB of heap (about 1900 at --mem=32, 3900 at --mem=64, 8192 from
 * --mem=160). A client past it is reset at its SYN: refused, never left
 * waiting. */
int net_max_conns(void);

/* Queue len bytes for sending; 0 on success, -1 if out of memory. */
int conn_write(struct conn *c, const void *data, size_t len);

/* Bytes queued (in libos and lwIP) and not yet acknowledged by the peer. */
size_t conn_pending(const struct conn *c);

/* Bytes written on every connection, closed ones included, that the
 * peers have not acknowledged yet. closed() follows conn_close() once the
 * output is in lwIP's hands, before the peer has it: an app that ends the
 * guest after its last close waits for this to reach 0 first, or what
 * was still in flight is lost. */
size_t net_unacked(void);

/* Close once all pending output is sent; closed() follows. */
void conn_close(struct conn *c);

/* Stop reading from the peer until conn_resume() (back-pressure). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);

/* TCP keepalive, off by default: after idle_s seconds without input,
 * probe every interval_s seconds (at most 3600); after count unanswered
 * probes the connection is reset and closed() follows. idle_s 0 turns it
 * off. Returns 0, or -1 for a gone connection or a zero interval/count. */
int conn_keepalive(struct conn *c, unsigned idle_s, unsigned interval_s,
        unsigned count);

/* One pointer of app state per connection. */
void conn_set_data(struct conn *c, void *data);
void *conn_data(const struct conn *c);

/* The connection's IPv4 addresses and ports (for logs and CLIENT LIST). */
struct conn_addr {
    uint8_t ip[4];              /* as on the wire: 10.0.0.1 is {10,0,0,1} */
    uint16_t port;
};
/* Fills both; -1 once the connection is closing and its PCB is gone. */
int conn_addrs(const struct conn *c, struct conn_addr *local,
        struct conn_addr *peer);

#endif
