/*
 * WATCH: optimistic locking for MULTI/EXEC, as redis-server does it. Each
 * database has a dict from watched key to the watches on it, and each client
 * the list of its own. Whatever modifies a key calls watch_touch() (redis's
 * signalModifiedKey): every client watching that key is marked, and its
 * next EXEC answers a nil array instead of running the transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

struct watch {
    struct watch *next_mine;            /* the client's watches */
    struct watch *prev_key, *next_key;  /* the watches on this key */
    struct dict_entry *key;             /* in watched[db]; v.ptr: first watch */
    struct client *c;
    int db;
};

static struct dict watched[KV_DBS];
static size_t watches;      /* all clients' together: 0 makes touching free */

int watch_key(struct client *c, const char *k, size_t n)
{
    for (struct watch *w = c->watches; w; w = w->next_mine)
        if (w->db == c->db && w->key->klen == n && !memcmp(w->key->key, k, n))
            return 0;
    /* A key already expired is absent: its deletion later changes nothing
     * (redis-server marks such a watch and ignores the expiry). */
    db_find(&kv_dbs[c->db], k, n);
    struct watch *w = malloc(sizeof(*w));
    if (!w)
        return -1;
    int created;
    struct dict_entry *e = dict_upsert(&watched[c->db], k, n, &created);
    if (!e) {
        free(w);
        return -1;
    }
    w->key = e;
    w->c = c;
    w->db = c->db;
    w->prev_key = NULL;
    w->next_key = e->v.ptr;
    if (w->next_key)
        w->next_key->prev_key = w;
    e->v.ptr = w;
    w->next_mine = c->watches;
    c->watches = w;
    watches++;
    return 0;
}

void watch_forget(struct client *c)
{
    struct watch *w = c->watches, *next;
    for (; w; w = next) {
        next = w->next_mine;
        if (w->prev_key)
            w->prev_key->next_key = w->next_key;
        else
            w->key->v.ptr = w->next_key;
        if (w->next_key)
            w->next_key->prev_key = w->prev_key;
        if (!w->key->v.ptr) {
            dict_unlink(&watched[w->db], w->key);
            free(w->key);
        }
        free(w);
        watches--;
    }
    c->watches = NULL;
    c->dirty_cas = 0;
}

void watch_touch(struct db *db, const char *k, size_t n)
{
    if (!watches)
        return;
    struct dict_entry *e = dict_find(&watched[db - kv_dbs], k, n);
    for (struct watch *w = e ? e->v.ptr : NULL; w; w = w->next_key)
        w->c->dirty_cas = 1;
}

void watch_touch_flush(struct db *db)
{
    if (!watches)
        return;
    struct dict_iter it;
    struct dict_entry *e;
    dict_iter_init(&it, &watched[db - kv_dbs]);
    while ((e = dict_iter_next(&it)))
        if (dict_find(&db->keys, e->key, e->klen))
            for (struct watch *w = e->v.ptr; w; w = w->next_key)
                w->c->dirty_cas = 1;
}

int watch_exec_ok(const struct client *c)
{
    if (c->dirty_cas)
        return 0;
    /* A watched key whose deadline passed since WATCH but that nothing
     * deleted yet has changed all the same. */
    for (struct watch *w = c->watches; w; w = w->next_mine) {
        struct dict_entry *e = dict_find(&kv_dbs[w->db].keys, w->key->key,
                                         w->key->klen);
        const struct obj *o = e ? e->v.ptr : NULL;
        if (o && o->expire && o->expire <= kv_now)
            return 0;
    }
    return 1;
}
