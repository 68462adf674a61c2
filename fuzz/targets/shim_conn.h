/*
 * Host stand-in for libos's connections (libos/net.h), for the servers'
 * fuzz targets: what a server writes is kept for checks, and the ops it
 * registers with net_listen() are where the target feeds input in.
 */
#ifndef FUZZ_SHIM_CONN_H
#define FUZZ_SHIM_CONN_H

#include <libos/net.h>

#include "shim.h"

/* A connection as a server sees it. Output is kept (up to a limit, then
 * only counted) so checks can look at it. */
struct conn {
    void *data;
    int closed;             /* conn_close() was called */
    int paused;
    size_t written;         /* bytes passed to conn_write() */
    char *out;              /* the first out_len of them */
    size_t out_len, out_cap;
};

void shim_conn_init(struct conn *c);
void shim_conn_free(struct conn *c);

/* The ops the server passed to net_listen(). */
extern const struct conn_ops *shim_ops;

#endif
