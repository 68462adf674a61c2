/*
 * The command table and dispatcher, and the helpers the command files
 * share. Replies and error texts follow Redis 7.0 so redis-cli and
 * redis-benchmark work as they do against the real server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/heap.h>

#include "kv.h"

static struct dict commands;

static cmd_fn cmd_multi, cmd_exec, cmd_discard, cmd_watch, cmd_unwatch;
static int multi_queue(struct client *c, int argc, struct arg *argv);

/* --- shared helpers ----------------------------------------------------------- */

struct db *cdb(struct client *c)
{
    return &kv_dbs[c->db];
}

int arg_is(const struct arg *a, const char *s)
{
    size_t n = strlen(s);
    if (a->len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char x = a->p[i];
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (x != s[i])
            return 0;
    }
    return 1;
}

int arg_ll(struct client *c, const struct arg *a, long long *v)
{
    if (str2ll(a->p, a->len, v) < 0) {
        reply_error(c, ERR_NOTINT);
        return -1;
    }
    return 0;
}

/* The optional COUNT of LPOP/RPOP/SPOP/ZPOPMIN/ZPOPMAX. */
int arg_count(struct client *c, const struct arg *a, long long *v)
{
    if (str2ll(a->p, a->len, v) < 0 || *v < 0) {
        reply_error(c, "ERR value is out of range, must be positive");
        return -1;
    }
    return 0;
}

int arg_double(struct client *c, const struct arg *a, double *v)
{
    if (str2double(a->p, a->len, v) < 0) {
        reply_error(c, ERR_NOTFLOAT);
        return -1;
    }
    return 0;
}

void touch_arg(struct client *c, const struct arg *a)
{
    watch_touch(cdb(c), a->p, a->len);
}

void reply_wrongtype(struct client *c)
{
    reply_error(c, ERR_WRONGTYPE);
}

struct obj *lookup_typed(struct client *c, const struct arg *key,
                         enum obj_type t, int *wrong)
{
    struct obj *o = db_get(cdb(c), key->p, key->len);
    *wrong = o && o->type != t;
    return *wrong ? NULL : o;
}

struct obj *lookup_or_create(struct client *c, const struct arg *key,
                             enum obj_type t)
{
    int created;
    struct dict_entry *e = db_upsert(cdb(c), key->p, key->len, &created);
    if (!e) {
        reply_error(c, ERR_OOM);
        return NULL;
    }
    if (!created) {
        struct obj *o = e->v.ptr;
        if (o->type != t) {
            reply_wrongtype(c);
            return NULL;
        }
        return o;
    }
    struct obj *o = obj_new(t);
    if (!o) {
        db_abandon(cdb(c), e);
        reply_error(c, ERR_OOM);
        return NULL;
    }
    db_put(cdb(c), e, o);
    return o;
}

/* --- table and dispatch ------------------------------------------------------- */

static void cmd_command(struct client *c, int argc, struct arg *argv)
{
    if (argc == 1 || arg_is(&argv[1], "docs")) {
        /* No command docs: redis-cli 7 then falls back to its built-in help. */
        reply_array(c, 0);
    } else if (arg_is(&argv[1], "count")) {
        reply_int(c, cmd_count());
    } else if (arg_is(&argv[1], "info")) {
        reply_array(c, argc - 2);
        for (int i = 2; i < argc; i++)
            reply_null_array(c);
    } else if (arg_is(&argv[1], "list")) {
        struct dict_iter it;
        struct dict_entry *e;
        reply_array(c, commands.used);
        dict_iter_init(&it, &commands);
        while ((e = dict_iter_next(&it)))
            reply_bulk(c, e->key, e->klen);
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p);
    }
}

/* --- MULTI / EXEC / DISCARD / WATCH ----------------------------------------------- */

static int multi_put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* Copy the request into the client's queue: its arguments point into the
 * input buffer, which the next read reuses. */
static int multi_queue(struct client *c, int argc, struct arg *argv)
{
    if (multi_put(&c->multiq, &argc, sizeof(argc)) < 0)
        return -1;
    for (int i = 0; i < argc; i++)
        if (multi_put(&c->multiq, &argv[i].len, sizeof(argv[i].len)) < 0 ||
            multi_put(&c->multiq, argv[i].p, argv[i].len) < 0)
            return -1;
    c->multi_n++;
    return 0;
}

static void multi_reset(struct client *c)
{
    c->multi = 0;
    c->multi_n = 0;
    c->multiq.len = 0;
}

static void cmd_multi(struct client *c, int argc, struct arg *argv)
{
    if (c->multi) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->multi = 1;
    reply_ok(c);
}

static void cmd_discard(struct client *c, int argc, struct arg *argv)
{
    if (!c->multi) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_reset(c);
    watch_forget(c);
    reply_ok(c);
}

static void cmd_watch(struct client *c, int argc, struct arg *argv)
{
    if (c->multi) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    /* Once dirty, the next EXEC fails whatever else is watched. */
    for (int i = 1; i < argc && !c->dirty_cas; i++)
        if (watch_key(c, argv[i].p, argv[i].len) < 0) {
            reply_error(c, ERR_OOM);
            return;
        }
    reply_ok(c);
}

static void cmd_unwatch(struct client *c, int argc, struct arg *argv)
{
    watch_forget(c);
    reply_ok(c);
}

static void cmd_exec(struct client *c, int argc, struct arg *argv)
{
    if (!c->multi) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (c->multi == 2) {
        multi_reset(c);
        watch_forget(c);
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    if (!watch_exec_ok(c)) {
        multi_reset(c);
        watch_forget(c);
        reply_null_array(c);
        return;
    }
    /* Unwatch first, as redis-server does: the transaction's own writes
     * are no change to this client. */
    watch_forget(c);
    /* Take the queue: the commands run outside MULTI. */
    struct buf q = c->multiq;
    size_t n = c->multi_n;
    c->multiq = (struct buf){0};
    multi_reset(c);
    reply_array(c, n);
    size_t off = 0;
    struct arg *av = NULL;
    int avcap = 0;
    for (size_t i = 0; i < n; i++) {
        int ac;
        memcpy(&ac, q.p + off, sizeof(ac));
        off += sizeof(ac);
        if (ac > avcap) {
            struct arg *na = realloc(av, ac * sizeof(*av));
            if (!na) {
                /* The array is promised: answer the rest with errors. */
                for (; i < n; i++)
                    reply_error(c, ERR_OOM);
                break;
            }
            av = na;
            avcap = ac;
        }
        for (int j = 0; j < ac; j++) {
            memcpy(&av[j].len, q.p + off, sizeof(av[j].len));
            off += sizeof(av[j].len);
            av[j].p = q.p + off;
            off += av[j].len;
        }
        cmd_dispatch(c, ac, av);
    }
    free(av);
    free(q.p);
}

static const struct command kv_commands[] = {
    {"command", cmd_command, -1},
    {"multi", cmd_multi, 1},
    {"exec", cmd_exec, 1},
    {"discard", cmd_discard, 1},
    {"watch", cmd_watch, -2},
    {"unwatch", cmd_unwatch, 1},
    {NULL, NULL, 0},
};

static const struct command *const tables[] = {
    kv_commands, kv_server_commands, kv_keys_commands, kv_string_commands,
    kv_list_commands, kv_set_commands, kv_hash_commands, kv_zset_commands,
    kv_extra_commands,
};

/* The commands that may need memory (redis-server's "denyoom" ones): when
 * used memory is above maxmemory they get -OOM, as from redis-server with
 * maxmemory-policy noeviction; reads, deletes, PING, INFO still run. */
static const char *const denyoom_names[] = {
    "set", "setnx", "setex", "psetex", "getset", "append", "incr", "decr",
    "incrby", "decrby", "mset", "msetnx", "lpush", "rpush", "lpushx",
    "rpushx", "lset", "sadd", "hset", "hmset", "hsetnx", "hincrby", "zadd",
    "zincrby", "setrange", "incrbyfloat",
};
#define N_DENYOOM (sizeof(denyoom_names) / sizeof(denyoom_names[0]))
static const struct command *denyoom[N_DENYOOM];

void cmd_init(void)
{
    dict_init(&commands);
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const struct command *k = tables[t]; k->name; k++) {
            struct dict_entry *e = dict_add(&commands, k->name, strlen(k->name));
            if (e)
                e->v.ptr = (void *)k;
            kv_classify(k);
            for (size_t i = 0; i < N_DENYOOM; i++)
                if (!strcmp(k->name, denyoom_names[i]))
                    denyoom[i] = k;
        }
}

/* Above the limit (maxmemory if set, else the heap less a reserve: an
 * eighth, at least 2 MB, that keeps connections, replies and deletes
 * working when the keys fill the rest) after evicting what the policy
 * allows, for a command that needs memory. */
static int over_maxmemory(const struct command *k)
{
    if (!kv_over_limit())
        return 0;
    for (size_t i = 0; i < N_DENYOOM; i++)
        if (denyoom[i] == k)
            return 1;
    return 0;
}

size_t kv_memory_limit(void)
{
    size_t heap = libos_heap_size(), reserve = heap / 8;
    if (reserve < 2 * 1024 * 1024)
        reserve = 2 * 1024 * 1024;
    return heap > reserve ? heap - reserve : 0;
}

size_t cmd_count(void)
{
    return commands.used;
}

static void unknown_command(struct client *c, int argc, struct arg *argv)
{
    /* "'a' 'b' " up to about 128 bytes, like Redis 7. */
    char args[160];
    size_t n = 0;
    args[0] = 0;
    for (int i = 1; i < argc && n < 128; i++) {
        int room = 128 - (int)n;
        int len = argv[i].len < (size_t)room ? (int)argv[i].len : room;
        n += snprintf(args + n, sizeof(args) - n, "'%.*s' ", len, argv[i].p);
        if (n >= sizeof(args))
            n = sizeof(args) - 1;
    }
    reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s",
                 (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].p, args);
}

void cmd_dispatch(struct client *c, int argc, struct arg *argv)
{
    char name[32];
    const struct command *k = NULL;

    kv_total_cmds++;
    if (argv[0].len < sizeof(name)) {
        for (size_t i = 0; i < argv[0].len; i++) {
            char x = argv[0].p[i];
            name[i] = x >= 'A' && x <= 'Z' ? x + ('a' - 'A') : x;
        }
        struct dict_entry *e = dict_find(&commands, name, argv[0].len);
        if (e)
            k = e->v.ptr;
    }
    if (!k) {
        unknown_command(c, argc, argv);
        if (c->multi)
            c->multi = 2;
        return;
    }
    if ((k->arity > 0 && argc != k->arity) || argc < -k->arity) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", k->name);
        if (c->multi)
            c->multi = 2;
        return;
    }
    /* redis-server's "no-multi" commands (of kv's, only SHUTDOWN). */
    if (c->multi && !strcmp(k->name, "shutdown")) {
        reply_error(c, "ERR Command not allowed inside a transaction");
        c->multi = 2;
        return;
    }
    if (c->multi && k->fn != cmd_exec && k->fn != cmd_discard &&
        k->fn != cmd_multi && k->fn != cmd_watch) {
        if (multi_queue(c, argc, argv) < 0) {
            c->multi = 2;
            reply_error(c, ERR_OOM);
        } else {
            reply_status(c, "QUEUED");
        }
        return;
    }
    kv_lru_clock++;
    int cls = kv_cmd_class(k);
    kv_cmd_reading = cls & KV_CMD_READ;
    if (over_maxmemory(k)) {
        reply_error(c, ERR_OOM);
        return;
    }
    kv_note_cmd(c, k, cls, argc, argv);
    if (kv_streams && !(cls & KV_CMD_NOWRITE))
        stream_settle_cmd(k, argc, argv);
    /* A reply that cannot be held becomes -OOM if none of it went out. */
    size_t mark = c->out.len;
    int sent = c->reply_sent;
    c->reply_sent = 0;
    kv_dispatch_depth++;
    k->fn(c, argc, argv);
    kv_dispatch_depth--;
    if (c->reply_oom) {
        c->reply_oom = 0;
        c->out.len = mark;
        reply_error(c, ERR_OOM);
    }
    c->reply_sent |= sent;
    kv_cmd_reading = 0;
}
