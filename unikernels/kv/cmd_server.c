/*
 * Connection and server commands: PING, SELECT, CLIENT, HELLO, INFO,
 * CONFIG. There is nothing to configure or authenticate, but clients
 * (redis-cli, redis-benchmark) ask, so the answers have the shapes they
 * expect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/heap.h>
#include <libos/net.h>

#include "kv.h"

size_t kv_clients, kv_total_conns;
long kv_maxclients = 10000, kv_timeout;
size_t kv_maxmemory;
struct client *kv_client_list;
uint64_t kv_total_cmds, kv_start_ms;

static void cmd_ping(struct client *c, int argc, struct arg *argv)
{
    if (argc > 2) {
        reply_error(c, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (argc == 2)
        reply_bulk(c, argv[1].p, argv[1].len);
    else
        reply_status(c, "PONG");
}

static void cmd_echo(struct client *c, int argc, struct arg *argv)
{
    reply_bulk(c, argv[1].p, argv[1].len);
}

static void cmd_quit(struct client *c, int argc, struct arg *argv)
{
    reply_ok(c);
    c->closing = 1;
}

static void cmd_select(struct client *c, int argc, struct arg *argv)
{
    long long n;
    if (arg_ll(c, &argv[1], &n) < 0)
        return;
    if (n < 0 || n >= KV_DBS) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    c->db = n;
    reply_ok(c);
}

static void cmd_auth(struct client *c, int argc, struct arg *argv)
{
    reply_error(c, "ERR AUTH <password> called without any password configured "
                   "for the default user. Are you sure your configuration is correct?");
}

static void cmd_hello(struct client *c, int argc, struct arg *argv)
{
    long long ver = 2;
    if (argc >= 2) {
        if (str2ll(argv[1].p, argv[1].len, &ver) < 0) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver != 2) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (int i = 2; i < argc; i++) {
        if (arg_is(&argv[i], "setname") && i + 1 < argc) {
            struct sval *v = sval_new(argv[i + 1].p, argv[i + 1].len);
            if (v) {
                free(c->name);
                c->name = v;
            }
            i++;
        } else if (arg_is(&argv[i], "auth") && i + 2 < argc) {
            i += 2;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'",
                         (int)(argv[i].len > 128 ? 128 : argv[i].len), argv[i].p);
            return;
        }
    }
    reply_array(c, 14);
    reply_bulk_str(c, "server");
    reply_bulk_str(c, "redis");
    reply_bulk_str(c, "version");
    reply_bulk_str(c, "7.0.0");
    reply_bulk_str(c, "proto");
    reply_int(c, 2);
    reply_bulk_str(c, "id");
    reply_int(c, c->id);
    reply_bulk_str(c, "mode");
    reply_bulk_str(c, "standalone");
    reply_bulk_str(c, "role");
    reply_bulk_str(c, "master");
    reply_bulk_str(c, "modules");
    reply_array(c, 0);
}

/* One line of CLIENT LIST / CLIENT INFO, in redis-server's format; self
 * is the caller, whose command is the one running. */
static int client_line(const struct client *c, const struct client *self,
                       const char *cmd, char *b, size_t size)
{
    char full[48];
    if (c != self) {
        cmd = c->last_cmd ? c->last_cmd : "NULL";
        if (c->last_sub[0]) {
            snprintf(full, sizeof full, "%s|%s", c->last_cmd, c->last_sub);
            cmd = full;
        }
    }
    return snprintf(b, size, "id=%llu addr=%s laddr=%s fd=0 name=%s age=%llu "
                    "idle=%llu flags=%s db=%d sub=0 psub=0 ssub=0 multi=%lld "
                    "qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=%zu obl=%zu oll=0 "
                    "omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=2\n",
                    (unsigned long long)c->id, c->addr, c->laddr,
                    c->name ? c->name->d : "",
                    (unsigned long long)((kv_now - c->created_ms) / 1000),
                    (unsigned long long)(c == self ? 0 : (kv_now - c->last_ms) / 1000),
                    c->multi ? "x" : "N", c->db,
                    c->multi ? (long long)c->multi_n : -1LL, c->in.len,
                    c->multiq.len, c->out.len,
                    cmd);
}

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]: every client
 * in id order (the list holds the newest first). */
static void client_list(struct client *c, int argc, struct arg *argv)
{
    int none = 0;
    struct arg *ids = NULL;
    int nids = 0;
    if (argc >= 4 && arg_is(&argv[2], "type") && argc == 4) {
        if (arg_is(&argv[3], "master") || arg_is(&argv[3], "replica") ||
            arg_is(&argv[3], "slave") || arg_is(&argv[3], "pubsub")) {
            none = 1;
        } else if (!arg_is(&argv[3], "normal")) {
            reply_errorf(c, "ERR Unknown client type '%.*s'",
                         (int)(argv[3].len > 128 ? 128 : argv[3].len), argv[3].p);
            return;
        }
    } else if (argc >= 4 && arg_is(&argv[2], "id")) {
        ids = &argv[3];
        nids = argc - 3;
        for (int i = 0; i < nids; i++) {
            long long v;
            if (str2ll(ids[i].p, ids[i].len, &v) < 0 || v <= 0) {
                reply_error(c, "ERR Invalid client ID");
                return;
            }
        }
    } else if (argc != 2) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    struct buf out = {0};
    struct client *last = kv_client_list;
    while (last && last->next)
        last = last->next;
    for (struct client *x = last; x && !none; x = x->prev) {
        if (nids) {
            int want = 0;
            for (int i = 0; i < nids && !want; i++) {
                long long v;
                str2ll(ids[i].p, ids[i].len, &v);
                want = (unsigned long long)v == x->id;
            }
            if (!want)
                continue;
        }
        char line[512];
        int n = client_line(x, c, "client|list", line, sizeof line);
        if (n >= (int)sizeof line)
            n = sizeof line - 1;
        if (out.len + n > out.cap) {
            size_t cap = out.cap ? out.cap * 2 : 4096;
            char *p = realloc(out.p, cap);
            if (!p) {
                free(out.p);
                reply_error(c, ERR_OOM);
                return;
            }
            out.p = p;
            out.cap = cap;
        }
        memcpy(out.p + out.len, line, n);
        out.len += n;
    }
    reply_bulk(c, out.p ? out.p : "", out.len);
    free(out.p);
}

static void cmd_client(struct client *c, int argc, struct arg *argv)
{
    char b[512];
    if (arg_is(&argv[1], "setname") && argc == 3) {
        for (size_t i = 0; i < argv[2].len; i++) {
            if (argv[2].p[i] <= ' ' || argv[2].p[i] > '~') {
                reply_error(c, "ERR Client names cannot contain spaces, newlines "
                               "or special characters.");
                return;
            }
        }
        struct sval *v = sval_new(argv[2].p, argv[2].len);
        if (!v) {
            reply_error(c, ERR_OOM);
            return;
        }
        free(c->name);
        c->name = v;
        reply_ok(c);
    } else if (arg_is(&argv[1], "getname") && argc == 2) {
        if (c->name && c->name->len)
            reply_bulk(c, c->name->d, c->name->len);
        else
            reply_null(c);
    } else if (arg_is(&argv[1], "id") && argc == 2) {
        reply_int(c, c->id);
    } else if (arg_is(&argv[1], "list")) {
        client_list(c, argc, argv);
    } else if (arg_is(&argv[1], "info") && argc == 2) {
        client_line(c, c, "client|info", b, sizeof(b));
        reply_bulk_str(c, b);
    } else if (arg_is(&argv[1], "setinfo") || arg_is(&argv[1], "reply") ||
               arg_is(&argv[1], "no-evict") || arg_is(&argv[1], "no-touch") ||
               arg_is(&argv[1], "tracking") || arg_is(&argv[1], "caching") ||
               arg_is(&argv[1], "pause") || arg_is(&argv[1], "unpause") ||
               arg_is(&argv[1], "kill")) {
        reply_ok(c);    /* nothing to do in a single-tenant server */
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p);
    }
}

static int section_wanted(int argc, struct arg *argv, const char *name, int dflt)
{
    if (argc < 2)
        return dflt;
    for (int i = 1; i < argc; i++)
        if (arg_is(&argv[i], name) || arg_is(&argv[i], "all") ||
            arg_is(&argv[i], "everything") || (dflt && arg_is(&argv[i], "default")))
            return 1;
    return 0;
}

static void cmd_info(struct client *c, int argc, struct arg *argv)
{
    size_t cap = 4096 + KV_DBS * 80, n = 0;
    char *b = malloc(cap);
    if (!b) {
        reply_error(c, ERR_OOM);
        return;
    }
    uint64_t up = (kv_now - kv_start_ms) / 1000;
#define ADD(...) \
    do { \
        if (n) \
            n += snprintf(b + n, cap - n, "\r\n"); \
        n += snprintf(b + n, cap - n, __VA_ARGS__); \
    } while (0)
    if (section_wanted(argc, argv, "server", 1))
        ADD("# Server\r\nredis_version:7.0.0\r\nredis_git_sha1:00000000\r\n"
            "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\n"
            "os:Solo5 spt unikernel\r\narch_bits:64\r\nmonotonic_clock:libos\r\n"
            "multiplexing_api:libos\r\natomicvar_api:none\r\ngcc_version:0.0.0\r\n"
            "process_id:1\r\nprocess_supervised:no\r\n"
            "run_id:%016llx%016llx00000000\r\ntcp_port:6379\r\n"
            "server_time_usec:0\r\nuptime_in_seconds:%llu\r\n"
            "uptime_in_days:%llu\r\nhz:10\r\nconfigured_hz:10\r\n"
            "lru_clock:0\r\nexecutable:/unikernel\r\nconfig_file:\r\nio_threads_active:0\r\n",
            (unsigned long long)kv_start_ms * 2654435761u,
            (unsigned long long)kv_start_ms ^ 0x5eed,
            (unsigned long long)up, (unsigned long long)up / 86400);
    if (section_wanted(argc, argv, "clients", 1))
        ADD("# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\n"
            "maxclients:%ld\r\nclient_recent_max_input_buffer:0\r\n"
            "client_recent_max_output_buffer:0\r\nblocked_clients:0\r\n"
            "tracking_clients:0\r\nclients_in_timeout_table:0\r\n", kv_clients,
            kv_maxclients);
    if (section_wanted(argc, argv, "memory", 1))
        ADD("# Memory\r\nused_memory:%zu\r\nused_memory_human:%.2fM\r\n"
            "used_memory_peak:%zu\r\ntotal_system_memory:%zu\r\n"
            "maxmemory:%zu\r\nmaxmemory_human:%.2fM\r\n"
            "maxmemory_policy:%s\r\nmem_allocator:libc\r\n",
            libos_heap_used(), libos_heap_used() / 1048576.0, libos_heap_peak(),
            libos_heap_size(), kv_maxmemory, kv_maxmemory / 1048576.0,
            kv_policy_name());
    if (section_wanted(argc, argv, "persistence", 1))
        ADD("# Persistence\r\nloading:0\r\nasync_loading:0\r\n"
            "rdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\n"
            "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n");
    if (section_wanted(argc, argv, "stats", 1))
        ADD("# Stats\r\ntotal_connections_received:%zu\r\n"
            "total_commands_processed:%llu\r\nexpired_keys:%llu\r\nevicted_keys:%llu\r\n"
            "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n", kv_total_conns,
            (unsigned long long)kv_total_cmds, (unsigned long long)kv_expired_keys,
            (unsigned long long)kv_evicted_keys, (unsigned long long)kv_keyspace_hits,
            (unsigned long long)kv_keyspace_misses);
    if (section_wanted(argc, argv, "replication", 1))
        ADD("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
            "master_failover_state:no-failover\r\nmaster_repl_offset:0\r\n");
    if (section_wanted(argc, argv, "cpu", 1))
        ADD("# CPU\r\nused_cpu_sys:0.000000\r\nused_cpu_user:0.000000\r\n");
    if (section_wanted(argc, argv, "cluster", 1))
        ADD("# Cluster\r\ncluster_enabled:0\r\n");
    if (section_wanted(argc, argv, "keyspace", 1)) {
        ADD("# Keyspace\r\n");
        for (int i = 0; i < KV_DBS; i++)
            if (kv_dbs[i].keys.used)
                n += snprintf(b + n, cap - n, "db%d:keys=%zu,expires=%zu,avg_ttl=0\r\n",
                              i, kv_dbs[i].keys.used, kv_dbs[i].expires);
    }
#undef ADD
    reply_bulk(c, b, n < cap ? n : cap - 1);
    free(b);
}

/* What redis-benchmark and redis-cli ask for; all read-only. */
static const char *const config_params[][2] = {
    {"save", ""},
    {"appendonly", "no"},
    {"databases", "16"},
    {"port", "6379"},
    {"bind", "*"},
    {"maxmemory", "$maxmemory"},
    {"maxmemory-policy", "$policy"},
    {"maxmemory-samples", "$samples"},
    {"maxclients", "$maxclients"},
    {"timeout", "$timeout"},
    {"tcp-keepalive", "0"},
    {"hz", "10"},
    {"dir", "/"},
    {"dbfilename", "dump.rdb"},
    {"protected-mode", "no"},
    {"proto-max-bulk-len", "536870912"},
    {"io-threads", "1"},
    {"cluster-enabled", "no"},
};
#define N_PARAMS (sizeof(config_params) / sizeof(config_params[0]))

/* A memory value as redis-server reads it: digits and an optional unit
 * (b, k, kb, m, mb, g, gb; k is 1000, kb 1024), case-insensitive. */
int kv_mem_value(const struct arg *a, unsigned long long *out)
{
    static const struct { const char *unit; unsigned long long mul; } units[] = {
        {"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000000},
        {"mb", 1048576}, {"g", 1000000000}, {"gb", 1073741824},
    };
    size_t d = 0;
    while (d < a->len && a->p[d] >= '0' && a->p[d] <= '9')
        d++;
    long long n;
    if (d == 0 || str2ll(a->p, d, &n) < 0)
        return 0;
    struct arg unit = {a->p + d, a->len - d};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (arg_is(&unit, units[i].unit)) {
            *out = (unsigned long long)n * units[i].mul;
            return 1;
        }
    return 0;
}

/* CONFIG SET: maxclients, timeout and maxmemory (with the noeviction
 * policy) take effect; every other parameter
 * is refused (it would change nothing). All values are checked before
 * any is applied, as redis-server does. */
static void config_set(struct client *c, int argc, struct arg *argv)
{
    long maxclients = kv_maxclients, timeout = kv_timeout;
    size_t maxmemory = kv_maxmemory;
    int policy = kv_policy;
    long samples = kv_evict_samples;

    for (int i = 2; i < argc; i += 2) {
        const struct arg *name = &argv[i], *val = &argv[i + 1];
        int is_max = arg_is(name, "maxclients");
        if (arg_is(name, "maxmemory")) {
            unsigned long long bytes;
            if (!kv_mem_value(val, &bytes)) {
                reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
                             "'maxmemory') - argument must be a memory value");
                return;
            }
            maxmemory = (size_t)bytes;
            continue;
        }
        if (arg_is(name, "maxmemory-policy")) {
            policy = kv_policy_parse(val);
            if (policy == -1) {
                reply_error(c, "ERR CONFIG SET failed (possibly related to argument "
                            "'maxmemory-policy') - argument(s) must be one of the "
                            "following: volatile-lru, volatile-lfu, volatile-random, "
                            "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
                            "noeviction");
                return;
            }
            if (policy == -2) {
                reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
                             "'maxmemory-policy') - not supported by kv (noeviction, "
                             "allkeys-lru, allkeys-random are)");
                return;
            }
            continue;
        }
        if (arg_is(name, "maxmemory-samples")) {
            long long v;
            if (str2ll(val->p, val->len, &v) < 0 || v < 1 || v > 64) {
                reply_error(c, "ERR CONFIG SET failed (possibly related to argument "
                            "'maxmemory-samples') - argument must be between 1 and 64 inclusive");
                return;
            }
            samples = v;
            continue;
        }
        int known = 0;
        for (size_t k = 0; k < N_PARAMS; k++)
            known |= arg_is(name, config_params[k][0]);
        if (!known) {
            reply_errorf(c, "ERR Unknown option or number of arguments for "
                         "CONFIG SET - '%.*s'", (int)(name->len > 128 ? 128 : name->len),
                         name->p);
            return;
        }
        if (!is_max && !arg_is(name, "timeout")) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
                         "'%.*s') - not supported by kv", (int)name->len, name->p);
            return;
        }
        long long v;
        if (str2ll(val->p, val->len, &v) < 0 || v < (is_max ? 1 : 0) || v > 2147483647) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
                         "'%.*s') - argument couldn't be parsed into an integer",
                         (int)name->len, name->p);
            return;
        }
        if (is_max && v > net_max_conns()) {
            reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
                         "'maxclients') - The operating system is not able to "
                         "handle the specified number of clients, try with %d",
                         net_max_conns());
            return;
        }
        *(is_max ? &maxclients : &timeout) = (long)v;
    }
    kv_maxclients = maxclients;
    kv_timeout = timeout;
    if (kv_timeout > 0)
        kv_sweep_needed();
    kv_maxmemory = maxmemory;
    kv_policy = policy;
    kv_evict_samples = samples;
    reply_ok(c);
}

static void cmd_config(struct client *c, int argc, struct arg *argv)
{
    if (arg_is(&argv[1], "get") && argc >= 3) {
        int hit[N_PARAMS] = {0};
        size_t n = 0;
        for (int i = 2; i < argc; i++)
            for (size_t k = 0; k < N_PARAMS; k++)
                if (!hit[k] && glob_match(argv[i].p, argv[i].len, config_params[k][0],
                                          strlen(config_params[k][0]), 1)) {
                    hit[k] = 1;
                    n++;
                }
        reply_array(c, 2 * n);
        for (size_t k = 0; k < N_PARAMS; k++)
            if (hit[k]) {
                reply_bulk_str(c, config_params[k][0]);
                char v[24];
                const char *val = config_params[k][1];
                if (!strcmp(val, "$maxclients") || !strcmp(val, "$timeout")) {
                    snprintf(v, sizeof v, "%ld",
                             val[1] == 'm' ? kv_maxclients : kv_timeout);
                    val = v;
                } else if (!strcmp(val, "$maxmemory")) {
                    snprintf(v, sizeof v, "%zu", kv_maxmemory);
                    val = v;
                } else if (!strcmp(val, "$policy")) {
                    val = kv_policy_name();
                } else if (!strcmp(val, "$samples")) {
                    snprintf(v, sizeof v, "%ld", kv_evict_samples);
                    val = v;
                }
                reply_bulk_str(c, val);
            }
    } else if (arg_is(&argv[1], "set") && argc >= 4 && argc % 2 == 0) {
        config_set(c, argc, argv);
    } else if (arg_is(&argv[1], "resetstat") && argc == 2) {
        kv_evicted_keys = kv_keyspace_hits = kv_keyspace_misses = 0;
        kv_expired_keys = 0;
        reply_ok(c);
    } else if (
               (arg_is(&argv[1], "rewrite") && argc == 2)) {
        reply_ok(c);
    } else if (arg_is(&argv[1], "get") || arg_is(&argv[1], "set") ||
               arg_is(&argv[1], "resetstat") || arg_is(&argv[1], "rewrite")) {
        char name[32];
        size_t k;
        for (k = 0; k < argv[1].len && k < sizeof(name) - 1; k++)
            name[k] = argv[1].p[k] | 0x20;
        name[k] = 0;
        reply_errorf(c, "ERR wrong number of arguments for 'config|%s' command", name);
    } else {
        reply_errorf(c, "ERR unknown subcommand '%.*s'. Try CONFIG HELP.",
                     (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p);
    }
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: kv keeps nothing on disk,
 * so with SAVE or without, it closes every connection (after the replies
 * each is owed; the caller gets none, as from redis-server) and the guest
 * exits with status 0 (main.c). */
static void cmd_shutdown(struct client *c, int argc, struct arg *argv)
{
    int save = 0, nosave = 0, other = 0, abort = 0;
    for (int i = 1; i < argc; i++) {
        if (arg_is(&argv[i], "nosave"))
            nosave = 1;
        else if (arg_is(&argv[i], "save"))
            save = 1;
        else if (arg_is(&argv[i], "now") || arg_is(&argv[i], "force"))
            other = 1;
        else if (arg_is(&argv[i], "abort"))
            abort = 1;
        else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if ((abort && (save || nosave || other)) || (save && nosave)) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (abort) {
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    kv_shutdown();
}

const struct command kv_server_commands[] = {
    {"ping", cmd_ping, -1},
    {"echo", cmd_echo, 2},
    {"quit", cmd_quit, -1},
    {"select", cmd_select, 2},
    {"auth", cmd_auth, -2},
    {"hello", cmd_hello, -1},
    {"client", cmd_client, -2},
    {"info", cmd_info, -1},
    {"config", cmd_config, -2},
    {"shutdown", cmd_shutdown, -1},
    {NULL, NULL, 0},
};
