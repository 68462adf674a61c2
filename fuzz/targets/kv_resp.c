/*
 * Fuzz target: kv's request parser (unikernels/kv/resp.c) as the server
 * drives it: through main.c's on_received(), the input cut into segments
 * as TCP might deliver them, so the resumable parse, the buffering of a
 * partial request and the input budget are all exercised. Commands are
 * not run; a stand-in cmd_dispatch() reads every argument and answers OK.
 *
 * The first input byte picks the segment size (1 to 128 bytes, or all at
 * once); the rest is the byte stream.
 */
#include <string.h>

#include "shim_conn.h"

#define main kv_main
#include "../../unikernels/kv/main.c"
#undef main

/* What main.c needs from the rest of kv. */
size_t kv_clients, kv_total_conns;
long kv_maxclients = 10000, kv_timeout;
struct client *kv_client_list;
uint64_t kv_total_cmds, kv_start_ms, kv_now;
struct db kv_dbs[KV_DBS];
size_t kv_maxmemory;
int kv_policy;
int kv_dispatch_depth;

int kv_policy_parse(const struct arg *a)
{
    return 0;
}

int kv_mem_value(const struct arg *a, unsigned long long *out)
{
    return 0;
}

/* The stand-in commands never stream. */
int stream_more(struct client *c)
{
    CHECK(0);
    return 0;
}

void stream_drop(struct client *c)
{
    CHECK(0);
}

void kv_clock(void)
{
    kv_now = libos_now_ms();
}

void cmd_init(void)
{
}

void dict_seed(uint64_t seed)
{
}

/* libos's generator behind kv_rand() (util.c); kv_main() seeds the dict
 * hash with it. A fixed sequence keeps runs reproducible. */
uint64_t libos_rand64(void)
{
    static uint64_t n;
    return ++n * 0x9e3779b97f4a7c15ULL;
}

void db_sweep(struct db *db, size_t max_buckets)
{
}

void watch_forget(struct client *c)
{
}

size_t libos_heap_size(void)
{
    return 64u << 20;
}

/* Half full: a request of a few MiB is dropped and answered -OOM. */
size_t libos_heap_used(void)
{
    return 32u << 20;
}

static size_t received;
static volatile unsigned char sink;

void cmd_dispatch(struct client *c, int argc, struct arg *argv)
{
    CHECK(argc > 0);
    for (int i = 0; i < argc; i++)
        for (size_t k = 0; k < argv[i].len; k++)
            sink ^= argv[i].p[k];
    reply_ok(c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *args[] = { "kv", NULL };
    CHECK(kv_main(1, args) == 0);
    CHECK(shim_ops != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    size_t seg = data[0] & 0x80 ? len : 1 + (data[0] & 0x7f);
    data++;
    len--;

    struct conn conn;
    shim_conn_init(&conn);
    shim_ops->opened(&conn);
    struct client *c = conn_data(&conn);
    CHECK(c != NULL);
    received = 0;
    for (size_t off = 0; off < len && !conn.closed; off += seg) {
        size_t n = len - off < seg ? len - off : seg;
        /* Each segment in its own exact allocation, as lwIP's pbufs. */
        char *p = malloc(n);
        CHECK(p != NULL);
        memcpy(p, data + off, n);
        shim_ops->received(&conn, p, n);
        free(p);
        received += n;
        /* Input is buffered as it arrives, not as a client announces. */
        CHECK(c->in.cap <= 2 * received + 64 * 1024);
    }
    shim_ops->closed(&conn);
    CHECK(conn_data(&conn) == NULL);
    shim_conn_free(&conn);
    return 0;
}
