/*
 * kv's entry point and its glue to libos: one client per TCP connection,
 * every complete request in a segment answered in one write (so pipelines
 * cost one conn_write per segment), and a timer that sweeps expired keys
 * while keys with a TTL exist.
 *
 * Usage (after libos' own options): kv [--port=N] [--tcp-keepalive=SECONDS]
 *     [--maxmemory=BYTES] [--maxmemory-policy=noeviction|allkeys-lru|allkeys-random]
 * (maxmemory takes redis-server's units: 100mb, 1gb; 0, the default, is
 * the heap less a reserve, see cmd.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/heap.h>
#include <libos/libos.h>
#include <libos/net.h>
#include <solo5.h>

#include "kv.h"

#define SWEEP_MS 100
#define SWEEP_BUCKETS 1024
/* Stop reading from a client whose unread replies pile up beyond this. */
#define PAUSE_AT (8 * 1024 * 1024)
#define FLUSH_AT (64 * 1024)
/* Give an idle client's input buffer back once it grew past this. */
#define KEEP_IN (64 * 1024)
/* The input budget, the largest request one client may send, is this
 * fraction of the heap: a few clients sending large values at once still
 * leave room to store them and to serve everyone else. */
#define INPUT_SHARE 4

static uint64_t next_id;

static void fmt_addr(char out[24], const struct conn_addr *a)
{
    snprintf(out, 24, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3],
             a->port);
}

/* Connections past maxclients get redis-server's error and a close; they
 * carry this marker rather than a client. */
static struct client refused;

static struct client *client_new(struct conn *conn)
{
    struct client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->conn = conn;
    c->id = ++next_id;
    c->ps.argc = -1;
    c->ps.bulklen = -1;
    c->created_ms = c->last_ms = kv_now;
    struct conn_addr local, peer;
    if (conn_addrs(conn, &local, &peer) == 0) {
        fmt_addr(c->addr, &peer);
        fmt_addr(c->laddr, &local);
    } else {
        strcpy(c->addr, "?");
        strcpy(c->laddr, "?");
    }
    c->next = kv_client_list;
    if (c->next)
        c->next->prev = c;
    kv_client_list = c;
    conn_set_data(conn, c);
    kv_clients++;
    kv_total_conns++;
    return c;
}

/* --tcp-keepalive=SECONDS, as Redis's tcp-keepalive: probe a client idle
 * that long, every third of it, and drop it after 3 unanswered probes.
 * 0 (the default here) sends none. */
static long keepalive_s;


/* SHUTDOWN: every connection is closed once its replies are out, new
 * ones are closed at once, and libos_run() ends when the clients are gone
 * and have acknowledged all their replies, or once no client has read
 * anything for SHUTDOWN_GRACE_MS (clients that do not read): main()
 * returns 0, the guest's exit status. A client still reading keeps the
 * guest up, however slowly it reads. (Before, the guest ended when the
 * last client was closed, with its last replies still in flight, or at a
 * fixed deadline: on a loaded host a client reading 5 MB through a 64 KiB
 * window missed its last replies and never saw the close.) */
#define SHUTDOWN_GRACE_MS 3000
static int shutting_down;
static uint64_t shutdown_deadline;
static size_t shutdown_unacked;     /* net_unacked() at the last poll */

static void shutdown_poll(void *arg)
{
    kv_clock();
    size_t unacked = net_unacked();
    if (unacked < shutdown_unacked)
        shutdown_deadline = kv_now + SHUTDOWN_GRACE_MS;
    shutdown_unacked = unacked;
    if ((kv_clients == 0 && unacked == 0) || kv_now >= shutdown_deadline)
        libos_stop();
    else
        libos_timer(10, shutdown_poll, NULL);
}

void kv_shutdown(void)
{
    if (shutting_down)
        return;
    shutting_down = 1;
    libos_log("kv: SHUTDOWN: closing %zu connections and exiting\n", kv_clients);
    for (struct client *c = kv_client_list; c; c = c->next) {
        if (c->stream) {
            /* Its stream, and the requests waiting behind it, finish
             * first (on_writable), as redis-server answers what it read. */
            c->close_after = 1;
        } else if (!c->closing) {
            c->closing = 1;
            conn_close(c->conn);
        }
    }
    shutdown_deadline = kv_now + SHUTDOWN_GRACE_MS;
    shutdown_unacked = net_unacked();
    libos_timer(0, shutdown_poll, NULL);
}

static void on_opened(struct conn *conn)
{
    static const char full[] = "-ERR max number of clients reached\r\n";

    kv_clock();
    if (shutting_down) {
        conn_set_data(conn, &refused);
        conn_close(conn);
        return;
    }
    if (kv_clients >= (size_t)kv_maxclients) {
        conn_set_data(conn, &refused);
        conn_write(conn, full, sizeof full - 1);
        conn_close(conn);
        return;
    }
    if (!client_new(conn)) {
        conn_close(conn);
        return;
    }
    if (kv_timeout > 0)
        kv_sweep_needed();
    if (keepalive_s > 0) {
        long intvl = keepalive_s / 3 > 0 ? keepalive_s / 3 : 1;
        conn_keepalive(conn, (unsigned)keepalive_s, (unsigned)intvl, 3);
    }
}

/* Buffer input as it arrives: doubling, but never past what the partial
 * request is known to need, so a large value costs its size once. */
static int in_append(struct client *c, const char *p, size_t len)
{
    if (c->in.len + len > c->in.cap) {
        size_t cap = c->in.cap ? c->in.cap : 1024;
        while (cap < c->in.len + len)
            cap *= 2;
        size_t want = resp_want(c);
        if (want >= c->in.len + len && cap > want)
            cap = want;
        char *n = realloc(c->in.p, cap);
        if (!n)
            return -1;
        c->in.p = n;
        c->in.cap = cap;
    }
    memcpy(c->in.p + c->in.len, p, len);
    c->in.len += len;
    return 0;
}

/* Run the requests in c->in and data (in that order) and keep what is
 * left of a partial request. Stops after a command whose reply streams
 * (stream.c): the requests behind it wait, in c->in, until it is sent. */
static void serve(struct client *c, const char *data, size_t len)
{
    struct conn *conn = c->conn;

    /* Parse straight from the segment unless a request is already partly
     * buffered; only an incomplete tail gets copied. */
    const char *buf = data;
    size_t blen = len, pos = 0;
    int copied = c->in.len > 0;
    if (copied) {
        if (len && in_append(c, data, len) < 0) {
            c->closing = 1;
            conn_close(conn);
            return;
        }
        buf = c->in.p;
        blen = c->in.len;
    }
    while (pos < blen && !c->closing && !c->stream) {
        long argc;
        char err[PROTO_ERR_MAX];
        long n = resp_parse(c, buf + pos, blen - pos, &argc, err);
        if (n == 0)
            break;      /* the parser may have grown c->in: buf is stale now */
        if (n < 0) {
            reply_errorf(c, "ERR %s", err);
            c->closing = 1;
            break;
        }
        pos += n;
        if (argc > 0)
            cmd_dispatch(c, argc, c->argv);
        resp_done(c);
        if (c->out.len >= FLUSH_AT)
            reply_flush(c);
    }
    reply_flush(c);
    if (c->closing) {
        c->in.len = 0;
        conn_close(conn);
        return;
    }

    size_t left = blen - pos;
    if (copied) {
        memmove(c->in.p, c->in.p + pos, left);
        c->in.len = left;
    } else if (left && in_append(c, data + pos, left) < 0) {
        c->closing = 1;
        conn_close(conn);
        return;
    }
    if (c->in.len == 0 && c->in.cap > KEEP_IN) {
        free(c->in.p);
        c->in.p = NULL;
        c->in.cap = 0;
    }
    if (!c->paused && (c->stream || conn_pending(conn) > PAUSE_AT)) {
        c->paused = 1;
        conn_pause(conn);
    }
}

static void on_received(struct conn *conn, const char *data, size_t len)
{
    struct client *c = conn_data(conn);
    if (c == &refused)
        return;
    if (!c && !(c = client_new(conn))) {
        conn_close(conn);
        return;
    }
    if (c->closing)
        return;
    kv_clock();
    c->last_ms = kv_now;
    if (c->close_after)
        return;     /* SHUTDOWN: only what came before it is answered */
    if (c->stream) {
        /* Replies wait for the stream: keep the requests for later. */
        if (in_append(c, data, len) < 0) {
            c->closing = 1;
            conn_close(conn);
        }
        return;
    }
    serve(c, data, len);
}

static void on_writable(struct conn *conn)
{
    struct client *c = conn_data(conn);
    if (c == &refused || !c || c->closing)
        return;
    kv_clock();
    if (c->stream && stream_more(c))
        return;
    if (c->in.len && !c->stream) {
        /* Requests that waited for a stream (or its settling). */
        serve(c, NULL, 0);
        if (c->stream || c->closing)
            return;
    }
    if (c->close_after && !c->stream) {
        c->closing = 1;
        conn_close(conn);
        return;
    }
    if (c->paused && conn_pending(conn) <= PAUSE_AT / 2) {
        c->paused = 0;
        conn_resume(conn);
    }
}

static void on_closed(struct conn *conn)
{
    struct client *c = conn_data(conn);
    if (c == &refused)
        conn_set_data(conn, NULL);
    if (!c || c == &refused)
        return;
    if (c->stream)
        stream_drop(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        kv_client_list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->in.p);
    free(c->out.p);
    free(c->scratch.p);
    resp_free(c);
    free(c->argv);
    free(c->name);
    free(c->multiq.p);
    watch_forget(c);
    free(c);
    conn_set_data(conn, NULL);
    kv_clients--;
}

static const struct conn_ops ops = {
    .opened = on_opened,
    .received = on_received,
    .writable = on_writable,
    .closed = on_closed,
};

/* The sweep runs only while keys with a TTL exist, so that an idle
 * server sleeps (libos wakes for nothing else). */
static int sweeping;

/* CONFIG timeout: close clients idle that long, as redis-server does
 * (silently), once a second. */
static void idle_sweep(void)
{
    static uint64_t last;

    if (kv_timeout <= 0 || kv_now - last < 1000)
        return;
    last = kv_now;
    for (struct client *c = kv_client_list; c; c = c->next) {
        if (!c->closing && kv_now - c->last_ms >= (uint64_t)kv_timeout * 1000) {
            c->closing = 1;
            conn_close(c->conn);
        }
    }
}

static void sweep(void *arg)
{
    size_t left = 0;

    kv_clock();
    for (int i = 0; i < KV_DBS; i++) {
        db_sweep(&kv_dbs[i], SWEEP_BUCKETS);
        left += kv_dbs[i].expires;
    }
    idle_sweep();
    /* CONFIG timeout needs the sweep while clients are connected. */
    sweeping = left > 0 || (kv_timeout > 0 && kv_client_list);
    if (sweeping)
        libos_timer(SWEEP_MS, sweep, NULL);
}

void kv_sweep_needed(void)
{
    if (!sweeping) {
        sweeping = 1;
        libos_timer(SWEEP_MS, sweep, NULL);
    }
}

int main(int argc, char **argv)
{
    long port = 6379;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--port=", 7) == 0) {
            port = strtol(a + 7, NULL, 10);
        } else if (strcmp(a, "--port") == 0 && i + 1 < argc) {
            port = strtol(argv[++i], NULL, 10);
        } else if (strncmp(a, "--tcp-keepalive=", 16) == 0) {
            char *end;
            keepalive_s = strtol(a + 16, &end, 10);
            if (*end || end == a + 16 || keepalive_s < 0 || keepalive_s > 86400) {
                libos_log("kv: bad %s (seconds, 0 to 86400)\n", a);
                return 2;
            }
            continue;
        } else if (strncmp(a, "--maxmemory=", 12) == 0) {
            struct arg v = {a + 12, strlen(a + 12)};
            unsigned long long bytes;
            if (!kv_mem_value(&v, &bytes)) {
                libos_log("kv: bad %s (bytes, or with a unit: 100mb, 1gb)\n", a);
                return 2;
            }
            kv_maxmemory = bytes;
            continue;
        } else if (strncmp(a, "--maxmemory-policy=", 19) == 0) {
            struct arg v = {a + 19, strlen(a + 19)};
            int p = kv_policy_parse(&v);
            if (p < 0) {
                libos_log("kv: bad %s (noeviction, allkeys-lru or allkeys-random)\n", a);
                return 2;
            }
            kv_policy = p;
            continue;
        } else {
            libos_log("kv: unknown argument %s (usage: kv [--port=N] "
                      "[--tcp-keepalive=SECONDS] [--maxmemory=BYTES] "
                      "[--maxmemory-policy=POLICY])\n", a);
            return 2;
        }
        if (port <= 0 || port > 65535) {
            libos_log("kv: bad port %s\n", a);
            return 2;
        }
    }

    kv_clock();
    kv_start_ms = kv_now;
    if (kv_maxclients > net_max_conns())
        kv_maxclients = net_max_conns();
    if (libos_heap_size() / INPUT_SHARE < kv_input_max)
        kv_input_max = libos_heap_size() / INPUT_SHARE;
    dict_seed(kv_rand());
    cmd_init();
    if (net_listen(port, &ops) < 0) {
        libos_log("kv: cannot listen on port %ld\n", port);
        return 1;
    }
    libos_log("kv: ready, RESP on port %ld\n", port);
    libos_run();
    return 0;
}
