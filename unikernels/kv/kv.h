/*
 * kv: an in-memory key-value server speaking RESP2 (the Redis protocol),
 * built as a unikernel on libos. Single-threaded: every callback runs from
 * libos_run(), so nothing here locks.
 *
 * Files: main.c (libos glue, connections, expiry timer), resp.c (request
 * parser, reply encoder), dict.c (the hash table), db.c (keyspace, objects,
 * expiry), list.c and zset.c (deque and skiplist), util.c (numbers, glob,
 * random), cmd.c (command table, dispatch, shared helpers, MULTI/EXEC/
 * WATCH), watch.c (the watched keys), cmd_server.c (connection and server
 * commands), cmd_keys.c (keyspace commands) and cmd_string.c, cmd_list.c,
 * cmd_set.c, cmd_hash.c, cmd_zset.c (per type), cmd_extra.c.
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* --- byte strings ---------------------------------------------------------- */

/* A stored, binary-safe byte string; d[len] is always a NUL for convenience. */
struct sval {
    size_t len, cap;
    char d[];
};

struct sval *sval_new(const char *p, size_t len);
/* Replace *sp's contents (reusing its memory when it fits); 0 or -1 (OOM). */
int sval_set(struct sval **sp, const char *p, size_t len);
/* Append to *sp, growing geometrically; 0 or -1 (OOM). */
int sval_append(struct sval **sp, const char *p, size_t len);

/* An argument of a request: points into the client's input buffer. */
struct arg {
    const char *p;
    size_t len;
};

/* --- hash table (dict.c) --------------------------------------------------- */

/* One key with its value; the key bytes live in the same allocation. Entries
 * never move once added, so other structures may point at them. */
struct dict_entry {
    struct dict_entry *next;
    uint64_t hash;
    union {
        void *ptr;
        double d;
    } v;
    size_t klen;
    char key[];         /* klen bytes and a NUL */
};

struct dict {
    struct dict_entry **tab;
    size_t size;        /* buckets: 0 or a power of two */
    size_t used;        /* entries */
};

struct dict_iter {
    const struct dict *d;
    size_t bucket;
    struct dict_entry *next;
};

void dict_init(struct dict *d);
struct dict_entry *dict_find(const struct dict *d, const char *k, size_t n);
/* Add a key known to be absent; v is zeroed. NULL when out of memory. */
struct dict_entry *dict_add(struct dict *d, const char *k, size_t n);
/* Find or add; *created says which. NULL when out of memory. */
struct dict_entry *dict_upsert(struct dict *d, const char *k, size_t n,
                               int *created);
/* Take the entry out of the table (the caller frees it and its value). */
void dict_unlink(struct dict *d, struct dict_entry *e);
/* Unlink and free the entries named by keys[0..n); free_values also frees
 * each entry's v.ptr. Returns how many were there. */
long long dict_remove_args(struct dict *d, const struct arg *keys, int n,
                           int free_values);
/* A random entry, or NULL if empty. */
struct dict_entry *dict_random(const struct dict *d);
/* Free every entry (free_val first, if given) and the table. */
void dict_clear(struct dict *d, void (*free_val)(struct dict_entry *e));
/* Iteration that tolerates unlinking the entry just returned. */
void dict_iter_init(struct dict_iter *it, const struct dict *d);
struct dict_entry *dict_iter_next(struct dict_iter *it);
/* Visit the entries of one bucket (for incremental sweeps); returns the next
 * bucket index, wrapping to 0. */
size_t dict_sweep_bucket(struct dict *d, size_t bucket,
                         int (*fn)(struct dict *d, struct dict_entry *e, void *arg),
                         void *arg);
uint64_t dict_hash(const char *k, size_t n);
void dict_seed(uint64_t seed);

/* --- list: a deque of svals (list.c) -------------------------------------- */

struct list {
    struct sval **a;
    size_t head, len, cap;  /* cap is 0 or a power of two */
};

void list_init(struct list *l);
int list_push(struct list *l, struct sval *v, int left);   /* 0 or -1 */
struct sval *list_pop(struct list *l, int left);
struct sval *list_at(const struct list *l, size_t i);
void list_clear(struct list *l);

/* --- sorted set: dict + skiplist ordered by (score, member) (zset.c) ------- */

#define ZS_MAXLEVEL 32

struct zs_node {
    double score;
    struct dict_entry *member;  /* the dict entry owns the member bytes */
    struct zs_node *back;
    int nlevel;
    struct {
        struct zs_node *fwd;
        size_t span;            /* rank distance to fwd */
    } lv[];
};

struct zset {
    struct dict members;        /* member -> v.ptr = its zs_node */
    struct zs_node *head, *tail;
    size_t len;
    int level;
};

struct zset *zset_new(void);
void zset_free(struct zset *z);
/* Insert or rescore; returns 1 added, 0 updated, -1 OOM. */
int zset_add(struct zset *z, const char *m, size_t n, double score);
/* Remove a member; 1 if it was there. */
int zset_remove(struct zset *z, const char *m, size_t n);
/* Node at 0-based rank, NULL if out of range. */
struct zs_node *zset_at(const struct zset *z, size_t rank);
/* 0-based rank of an existing node. */
size_t zset_rank(const struct zset *z, const struct zs_node *x);

/* --- objects and the keyspace (db.c) --------------------------------------- */

enum obj_type { T_STRING, T_LIST, T_SET, T_HASH, T_ZSET };

struct obj {
    enum obj_type type;
    uint32_t lru;           /* kv_lru_clock at the last lookup (evict.c) */
    uint64_t expire;        /* libos_now_ms() deadline, 0 = persistent */
    union {
        struct sval *str;
        struct list list;
        struct dict set;    /* members, no values */
        struct dict hash;   /* field -> v.ptr = struct sval * */
        struct zset *zset;
    } u;
};

#define KV_DBS 16

struct db {
    struct dict keys;       /* key -> v.ptr = struct obj * */
    size_t expires;         /* keys with a deadline */
    size_t sweep_cursor;
};

extern struct db kv_dbs[KV_DBS];
/* Milliseconds since boot as of this round of the event loop (kv_clock,
 * db.c): one clock read per round, however many requests it serves. */
extern uint64_t kv_now;
void kv_clock(void);
/* Milliseconds since the Unix epoch (TIME, EXPIREAT, SET EXAT). */
uint64_t kv_wall_ms(void);
/* main.c: a key got a TTL: sweep expired keys until none is left. */
void kv_sweep_needed(void);

struct obj *obj_new(enum obj_type t);
void obj_free(struct obj *o);
const char *obj_type_name(enum obj_type t);

/* Look a key up, deleting it first if it has expired. */
struct dict_entry *db_find(struct db *db, const char *k, size_t n);
/* The object, or NULL if absent or expired. */
struct obj *db_get(struct db *db, const char *k, size_t n);
/* The key's entry in one lookup, added if absent or expired (*created set,
 * v.ptr NULL). A created entry must get an object (db_put) or be dropped
 * (db_abandon) before anything else looks at the keyspace. */
struct dict_entry *db_upsert(struct db *db, const char *k, size_t n, int *created);
/* Store o in the entry, freeing the object it held; o's expire counts. */
void db_put(struct db *db, struct dict_entry *e, struct obj *o);
void db_abandon(struct db *db, struct dict_entry *e);
/* Store o under the key, replacing (and freeing) any old value. o's expire is
 * kept as the caller set it. Returns 0 or -1 (OOM; o is not taken). */
int db_set(struct db *db, const char *k, size_t n, struct obj *o);
int db_delete(struct db *db, const char *k, size_t n);
void db_delete_entry(struct db *db, struct dict_entry *e);
void db_set_expire(struct db *db, struct obj *o, uint64_t when);
void db_flush(struct db *db);
/* Remove expired keys: max_buckets buckets, and up to 16 times that while
 * more than a quarter of the keys seen had expired. */
void db_sweep(struct db *db, size_t max_buckets);

/* --- clients and replies (resp.c, main.c) ---------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

/* Parser state for a request that has not fully arrived. */
struct parse {
    long argc;              /* -1: header not read yet */
    long done;              /* arguments complete */
    long bulklen;           /* -1: next bulk header not read yet */
    size_t off;             /* bytes of the request consumed so far */
    int inline_req;
    /* A request too large to hold is read and dropped, then answered
     * -OOM: skip is what is left of the bulk string being dropped. */
    int discard;
    size_t skip;
    /* A request with a bulk string of KV_BIG_BULK bytes or more that has
     * not fully arrived is assembled out of the input (own): each large
     * bulk string in an sval of its own (client.big, filled as its bytes
     * arrive: fill is what it still needs, with its CRLF), the other
     * arguments copied to client.held; held_bytes counts both. */
    int own;
    size_t fill;
    size_t held_bytes;
};

struct client {
    struct conn *conn;
    uint64_t id;
    int db;
    int closing;            /* QUIT or protocol error: read no more */
    int paused;
    struct buf in;          /* unparsed input (partial request) */
    struct buf out;         /* replies not yet handed to conn_write */
    struct buf scratch;     /* unquoted inline arguments */
    struct parse ps;
    struct arg *argv;       /* argument offsets while parsing, pointers after */
    size_t argcap;
    /* The request's large bulk strings, assembled in place (ps.own): a
     * command that stores one takes it (arg_take), the rest are freed
     * after the command ran (resp_done). */
    struct sval **big;
    size_t nbig, bigcap, big_next;
    struct buf held;        /* the other arguments of such a request */
    struct sval *name;
    /* MULTI: 1 queuing, 2 queuing after an error (EXEC aborts); the queued
     * commands serialized in multiq (cmd.c): argc, then each length and
     * its bytes. */
    int multi;
    size_t multi_n;
    struct buf multiq;
    struct watch *watches;  /* WATCH (watch.c) */
    int dirty_cas;          /* a watched key changed: EXEC answers nil */
    uint64_t created_ms;
    uint64_t last_ms;       /* last input, for the timeout option */
    struct stream *stream;  /* a reply still being produced (stream.c) */
    int close_after;        /* SHUTDOWN: close once the stream is out */
    /* The running command's reply could not be held (reply_oom) and
     * whether part of it went out already (reply_sent): cmd_dispatch()
     * then answers -OOM instead, or the client is closed. */
    int reply_oom, reply_sent;
    const char *last_cmd;   /* for CLIENT LIST: the name, and a */
    char last_sub[16];      /* subcommand's ("client|list") */
    char addr[24], laddr[24];   /* "ip:port" of the peer and of kv */
    struct client *prev, *next;     /* kv_client_list */
};

#define PROTO_ERR_MAX 128
/* Parse one request from buf[0..len). Returns the bytes consumed (> 0) with
 * *argc set (0 for an empty request to skip); 0 if more input is needed;
 * -1 on a protocol error (err holds the message). */
long resp_parse(struct client *c, const char *buf, size_t len, long *argc,
                char err[PROTO_ERR_MAX]);

/* Bulk strings from this size on that arrive in more than one piece are
 * assembled in an sval of their own, which a command may keep. */
#define KV_BIG_BULK (16 * 1024)
/* The sval holding argument a as it arrived, if it was assembled in one
 * (a large bulk string): the caller owns it from now on. NULL otherwise. */
struct sval *arg_take(struct client *c, const struct arg *a);
/* After resp_parse() returned a request and it ran: free what it held
 * (nothing while a request is still partial). */
void resp_done(struct client *c);
/* A closing client: free all of the parser's memory. */
void resp_free(struct client *c);

/* The bytes the partial request parsed so far needs at least (up to the
 * end of the bulk string it is in), counted from its start; 0 if unknown.
 * For growing the input buffer to exactly that. */
size_t resp_want(const struct client *c);
/* The input budget: the largest request a client may send, in bytes (set
 * from the heap size at start). */
extern size_t kv_input_max;

void reply_raw(struct client *c, const void *p, size_t len);
void reply_status(struct client *c, const char *s);
void reply_ok(struct client *c);
/* err is the full message, starting with its code: "ERR ..." */
void reply_error(struct client *c, const char *err);
void reply_errorf(struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_int(struct client *c, long long v);
void reply_bulk(struct client *c, const char *p, size_t len);
void reply_bulk_str(struct client *c, const char *s);
void reply_bulk_ll(struct client *c, long long v);
void reply_bulk_double(struct client *c, double d);
void reply_null(struct client *c);          /* $-1 */
void reply_null_array(struct client *c);    /* *-1 */
void reply_array(struct client *c, long long n);
void reply_flush(struct client *c);

extern const char *const ERR_WRONGTYPE, *const ERR_NOTINT, *const ERR_SYNTAX,
    *const ERR_OOM, *const ERR_NOTFLOAT, *const ERR_OVERFLOW;

/* --- commands (cmd*.c) ----------------------------------------------------- */

typedef void cmd_fn(struct client *c, int argc, struct arg *argv);

struct command {
    const char *name;       /* lower case */
    cmd_fn *fn;
    int arity;              /* n: exactly n words; -n: at least n */
};

void cmd_init(void);
void cmd_dispatch(struct client *c, int argc, struct arg *argv);
size_t cmd_count(void);

/* Helpers shared by the command files. */
struct db *cdb(struct client *c);
int arg_is(const struct arg *a, const char *s);     /* case-insensitive */
int arg_ll(struct client *c, const struct arg *a, long long *v);     /* replies on error */
int arg_count(struct client *c, const struct arg *a, long long *v);  /* >= 0; replies on error */
int arg_double(struct client *c, const struct arg *a, double *v);
/* The key's object if it has type t; NULL with *wrong set if another type. */
struct obj *lookup_typed(struct client *c, const struct arg *key,
                         enum obj_type t, int *wrong);
/* Lookup or create a container object of type t; replies and returns NULL on
 * WRONGTYPE or OOM. */
struct obj *lookup_or_create(struct client *c, const struct arg *key,
                             enum obj_type t);
void reply_wrongtype(struct client *c);
/* The string at key: 0 with *o (maybe NULL), or -1 after a WRONGTYPE reply. */
int get_string(struct client *c, const struct arg *key, struct obj **o);

/* Shared free function for hash-field values. */
void free_sval_entry(struct dict_entry *e);


extern const struct command kv_server_commands[], kv_keys_commands[],
    kv_string_commands[], kv_list_commands[],
    kv_set_commands[], kv_hash_commands[], kv_zset_commands[],
    kv_extra_commands[];

extern size_t kv_clients, kv_total_conns;
/* CONFIG maxclients (at most net_max_conns(), as redis-server lowers it
 * to what its file limit allows) and timeout (seconds idle; 0: never). */
extern long kv_maxclients, kv_timeout;
/* CONFIG maxmemory in bytes (0: kv_memory_limit(), the heap less a
 * reserve); writes past it get -OOM (cmd.c). */
extern size_t kv_maxmemory;
size_t kv_memory_limit(void);
/* A memory value as redis-server reads it ("100mb", "2gb", "1000"): 1 if
 * valid. */
int kv_mem_value(const struct arg *a, unsigned long long *out);
extern struct client *kv_client_list;
/* SHUTDOWN (main.c): close every connection, then exit with status 0. */
void kv_shutdown(void);
extern uint64_t kv_total_cmds, kv_start_ms, kv_expired_keys;

/* --- maxmemory policy and keyspace statistics (evict.c) ------------------ */

enum { KV_NOEVICTION, KV_ALLKEYS_LRU, KV_ALLKEYS_RANDOM };
extern int kv_policy;
/* CONFIG maxmemory-samples: keys looked at per eviction and database. */
extern long kv_evict_samples;
const char *kv_policy_name(void);
/* A policy's index; -2 for redis-server's policies kv lacks, -1 unknown. */
int kv_policy_parse(const struct arg *a);
/* The limit in force: maxmemory, or kv_memory_limit() if that is 0. */
size_t kv_limit(void);
/* Used memory past the limit: evict by policy until below it; 1 if it is
 * still past (noeviction, or no keys left), 0 if not. */
int kv_over_limit(void);
extern uint64_t kv_evicted_keys, kv_keyspace_hits, kv_keyspace_misses;
/* Advances once per command; objects remember it when looked up. */
extern uint32_t kv_lru_clock;
/* The running command is a read: its lookups count as hits or misses. */
extern int kv_cmd_reading;

/* Command classes, from redis-server's command flags. */
#define KV_CMD_READ     1   /* reads keys (redis's readonly) */
#define KV_CMD_NOWRITE  2   /* changes no data */
#define KV_CMD_SUBCMD  4   /* a container: CLIENT LIST is "client|list" */
void kv_classify(const struct command *k);     /* cmd_init(), once each */
int kv_cmd_class(const struct command *k);
/* Remember the command a client runs, for CLIENT LIST. */
void kv_note_cmd(struct client *c, const struct command *k, int cls, int argc,
                 const struct arg *argv);

/* --- replies streamed as the client reads them (stream.c) ----------------- */

#define STREAM_MIN_ELEMENTS 1024
#define STREAM_MIN_BYTES (256 * 1024)
/* Streams running, and how deep cmd_dispatch() is (EXEC runs commands). */
extern size_t kv_streams;
extern int kv_dispatch_depth;
/* Send the n elements of list o from index from (after the array header)
 * or string o whole, as the client reads; 0 if the caller must reply
 * itself (too small, or inside EXEC). */
int stream_list(struct client *c, struct obj *o, const struct arg *key,
                size_t from, size_t n);
int stream_string(struct client *c, struct obj *o, const struct arg *key);
/* main.c, when the client can take more: 1 while the stream goes on. */
int stream_more(struct client *c);
/* The client is gone. */
void stream_drop(struct client *c);
/* Finish the streams that read o, or that a command may change. */
void stream_settle_obj(const struct obj *o);
void stream_settle_cmd(const struct command *k, int argc, const struct arg *argv);

/* --- WATCH (watch.c) -------------------------------------------------------- */

struct watch;
/* Watch key k of the client's database; 0, or -1 when out of memory. */
int watch_key(struct client *c, const char *k, size_t n);
/* UNWATCH: drop the client's watches and its dirty mark. */
void watch_forget(struct client *c);
/* The key was modified (redis' signalModifiedKey): mark its watchers. */
void watch_touch(struct db *db, const char *k, size_t n);
/* FLUSHDB/FLUSHALL of db, before it: mark watchers of the keys it holds. */
void watch_touch_flush(struct db *db);
/* EXEC may run: no watched key was modified or expired since WATCH. */
int watch_exec_ok(const struct client *c);
/* Shorthand for commands: the key in argument a of the client's database. */
void touch_arg(struct client *c, const struct arg *a);

/* --- util.c ---------------------------------------------------------------- */

/* Redis' strict integer syntax: no spaces, no '+', no leading zeros. */
int str2ll(const char *p, size_t len, long long *v);
int ll2str(char *buf, long long v);     /* returns length; buf >= 21 bytes */
int str2double(const char *p, size_t len, double *v);
/* printf("%.17g") exactly, plus "inf"/"-inf"; returns length; buf >= 32. */
int double2str(char *buf, double d);
int glob_match(const char *pat, size_t plen, const char *s, size_t slen,
               int nocase);
uint64_t kv_rand(void);

#endif
