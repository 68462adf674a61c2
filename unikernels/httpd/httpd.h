/*
 * httpd: an HTTP/1.1 static file server on libos. It serves the files of
 * the ISO9660 image on the "rootfs" block device.
 *
 * httpd.c   main(), connections, request dispatch, streaming
 * request.c request parsing and path normalisation
 * mime.c    Content-Type by file extension
 * cache.c   small files kept in memory
 */
#ifndef HTTPD_H
#define HTTPD_H

#include <stddef.h>
#include <stdint.h>

/* Limits on what a client may send. */
#define HTTP_MAX_LINE       8192    /* request line; 414 beyond */
#define HTTP_MAX_HEADER     16384   /* whole header section; 431 beyond */

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

struct request {
    enum http_method method;
    int minor;                  /* HTTP/1.minor */
    int keep_alive;             /* the client lets the connection stay open */
    int has_te;                 /* Transfer-Encoding: a body we cannot skip */
    uint64_t content_length;    /* body bytes to skip after the headers */
    /* One byte range (Range: bytes=first-last): last -1 for "to the end",
     * first -1 for the last `last` bytes. Anything else (several ranges,
     * other units, bad syntax) leaves has_range 0: the whole file. */
    int has_range;
    int64_t range_first, range_last;
    /* If-None-Match and If-Modified-Since as sent ("" if absent or
     * longer than the buffers: no condition, a 200). */
    char if_none_match[128];
    char if_modified_since[40];
    /* Decoded, normalised, absolute; a trailing '/' is kept. */
    char path[HTTP_MAX_LINE];
};

/*
 * Parse one request from buf. Returns the length of its header section
 * (the request line, headers and the empty line) once complete, 0 if more
 * bytes are needed, or -STATUS (-400, -414, -431, -505) if the request is
 * malformed or too large. Leading empty lines must be skipped first.
 */
long http_parse(const char *buf, size_t len, struct request *r);

/* Content-Type for a path, by its extension. */
const char *mime_type(const char *path);

/* A file held in memory. */
struct cached {
    const char *data;
    size_t len;
    const char *type;
    int64_t mtime;              /* the file's, for Last-Modified and ETag */
};

/* Files up to this size are kept in memory on first use. */
#define CACHE_MAX_FILE      (64 * 1024)
#define CACHE_BUDGET        (16 * 1024 * 1024)

/* Lower the budget (main(), from the heap's size). */
void cache_limit(size_t bytes);
const struct cached *cache_get(const char *key);
/* Copies data; returns NULL (and caches nothing) when over budget. */
const struct cached *cache_put(const char *key, const void *data, size_t len,
        const char *type, int64_t mtime);

#endif
