/*
 * Large replies streamed as the client reads them instead of built whole:
 * LRANGE of many elements and GET of a large value. A reply of 10 MB
 * then costs about STREAM_HIGH of memory, not twice its size (the reply
 * buffer and libos' send queue), so a server whose keys fill the heap
 * still answers it, as redis-server does.
 *
 * The stream reads the object as it goes, so the object must not change
 * until the stream ends: a command that may write and names the key (or
 * FLUSHALL, FLUSHDB, SWAPDB), and freeing the object (expiry, eviction),
 * first finish the stream: the rest of the reply is written out whole
 * (stream_settle), as it would have been without streaming. While a
 * client's stream runs, its further requests wait (main.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libos/net.h>

#include "kv.h"

/* Produce more while less than this is queued for the client. */
#define STREAM_HIGH (512 * 1024)
/* Hand the reply buffer to libos in pieces of this size. */
#define STREAM_PIECE (64 * 1024)

enum { S_LIST, S_STRING };

struct stream {
    struct stream *prev, *next;
    struct client *c;
    struct obj *o;
    struct db *db;
    int kind;
    size_t pos, end;
    size_t klen;
    char key[];
};

static struct stream *streams;
size_t kv_streams;
int kv_dispatch_depth;

static void stream_end(struct stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->c->stream = NULL;
    kv_streams--;
    free(s);
}

/* Write up to the limit of queued output; 1 while more is left. */
static int fill(struct stream *s, size_t high)
{
    struct client *c = s->c;

    while (s->pos < s->end && !c->closing &&
           conn_pending(c->conn) + c->out.len < high) {
        if (s->kind == S_LIST) {
            struct sval *v = list_at(&s->o->u.list, s->pos++);
            reply_bulk(c, v->d, v->len);
            if (c->out.len >= STREAM_PIECE)
                reply_flush(c);
        } else {
            size_t n = s->end - s->pos < STREAM_PIECE ? s->end - s->pos : STREAM_PIECE;
            reply_flush(c);
            if (conn_write(c->conn, s->o->u.str->d + s->pos, n) < 0)
                c->closing = 1;
            s->pos += n;
        }
    }
    if (s->pos == s->end && s->kind == S_STRING)
        reply_raw(c, "\r\n", 2);
    reply_flush(c);
    if (c->closing) {
        /* Part of the reply is out: nothing else can follow it. */
        conn_close(c->conn);
        stream_end(s);
        return 0;
    }
    if (s->pos == s->end) {
        stream_end(s);
        return 0;
    }
    return 1;
}

static int start(struct client *c, struct obj *o, const struct arg *key,
                 int kind, size_t pos, size_t end)
{
    /* Only a command run straight from the input (not from EXEC) may
     * leave its reply unfinished. */
    if (kv_dispatch_depth != 1 || c->stream)
        return 0;
    struct stream *s = malloc(sizeof(*s) + key->len);
    if (!s)
        return 0;
    s->c = c;
    s->o = o;
    s->db = cdb(c);
    s->kind = kind;
    s->pos = pos;
    s->end = end;
    s->klen = key->len;
    memcpy(s->key, key->p, key->len);
    s->prev = NULL;
    s->next = streams;
    if (streams)
        streams->prev = s;
    streams = s;
    kv_streams++;
    c->stream = s;
    if (kind == S_STRING) {
        char b[32];
        reply_raw(c, b, snprintf(b, sizeof b, "$%zu\r\n", end));
    }
    fill(s, STREAM_HIGH);
    return 1;
}

int stream_list(struct client *c, struct obj *o, const struct arg *key,
                size_t from, size_t n)
{
    return n >= STREAM_MIN_ELEMENTS && start(c, o, key, S_LIST, from, from + n);
}

int stream_string(struct client *c, struct obj *o, const struct arg *key)
{
    return o->u.str->len >= STREAM_MIN_BYTES &&
           start(c, o, key, S_STRING, 0, o->u.str->len);
}

int stream_more(struct client *c)
{
    c->last_ms = kv_now;
    return fill(c->stream, STREAM_HIGH);
}

void stream_drop(struct client *c)
{
    stream_end(c->stream);
}

static void settle(struct stream *s)
{
    fill(s, (size_t)-1);
}

void stream_settle_obj(const struct obj *o)
{
    struct stream *s = streams, *next;
    for (; s; s = next) {
        next = s->next;
        if (s->o == o)
            settle(s);
    }
}

void stream_settle_cmd(const struct command *k, int argc, const struct arg *argv)
{
    int all = !strcmp(k->name, "flushall") || !strcmp(k->name, "flushdb") ||
              !strcmp(k->name, "swapdb");
    struct stream *s = streams, *next;
    for (; s; s = next) {
        next = s->next;
        int hit = all;
        for (int i = 1; i < argc && !hit; i++)
            hit = argv[i].len == s->klen && !memcmp(argv[i].p, s->key, s->klen);
        if (hit)
            settle(s);
    }
}
