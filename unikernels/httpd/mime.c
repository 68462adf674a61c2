/* Content-Type by extension. */
#include <string.h>
#include <strings.h>

#include "httpd.h"

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    { "html", "text/html; charset=utf-8" },
    { "htm",  "text/html; charset=utf-8" },
    { "css",  "text/css" },
    { "js",   "text/javascript" },
    { "mjs",  "text/javascript" },
    { "json", "application/json" },
    { "txt",  "text/plain; charset=utf-8" },
    { "png",  "image/png" },
    { "jpg",  "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif",  "image/gif" },
    { "svg",  "image/svg+xml" },
    { "ico",  "image/x-icon" },
    { "wasm", "application/wasm" },
};

const char *mime_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');

    /* A dot in a directory name or a leading dot is not an extension. */
    if (dot != NULL && (slash == NULL || dot > slash + 1)) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}
