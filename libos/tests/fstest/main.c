/*
 * fstest: mounts the ISO9660 image on the "rootfs" block device and
 * reports what libos/fs.h sees, for libos/tests/libos_test.go to compare
 * with the files the image was made from.
 *
 *   walk                 every entry under "/", depth first:
 *                          D <mtime> <path>
 *                          F <size> <mtime> <fnv1a64> <path>
 *                        then "END <entries>"
 *   stat PATH...         "STAT <rc> <size> <is_dir> PATH" for each
 *   open PATH...         "OPEN <rc> PATH" for each
 *   read PATH OFF LEN    "READ <rc> <fnv1a64>": one fs_read() of LEN at OFF
 *   list PATH            "LIST <rc>" after the first 3 entries (stopping)
 *   bench PATH           read the file 1 MiB at a time, print MiB/s
 *
 * Files are hashed while being read in chunks of changing, odd sizes, so
 * the reader's partial-block and whole-block paths both run. Mount
 * failures print "MOUNT <rc>" and exit 1.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libos/fs.h>
#include <libos/libos.h>

#define FNV_OFFSET  0xcbf29ce484222325ULL
#define FNV_PRIME   0x100000001b3ULL
#define BUF_SIZE    (1 << 20)

static unsigned char *buf;
static long entries;

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* Hash the whole file at path; 0 or -errno. */
static int hash_file(const char *path, uint64_t *size, uint64_t *hash)
{
    static const size_t chunks[] = { 1, 511, 4096, 65536 + 3, 2048, BUF_SIZE };
    struct fs_file *f;
    int rc = fs_open(path, &f);

    if (rc < 0)
        return rc;
    uint64_t h = FNV_OFFSET, off = 0;
    for (int i = 0;; i++) {
        long n = fs_read(f, off, buf, chunks[i % 6]);
        if (n < 0) {
            fs_close(f);
            return (int)n;
        }
        if (n == 0)
            break;
        h = fnv(h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    *size = fs_size(f);
    *hash = h;
    fs_close(f);
    return off == *size ? 0 : -EIO;
}

static int walk(const char *name, const struct fs_stat *st, void *arg);

static int walk_dir(const char *path)
{
    return fs_list(*path ? path : "/", walk, (void *)path);
}

static int walk(const char *name, const struct fs_stat *st, void *arg)
{
    const char *dir = arg;
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(len);
    int rc = 0;

    if (!path)
        return -ENOMEM;
    snprintf(path, len, "%s/%s", dir, name);
    entries++;
    if (st->is_dir) {
        printf("D %lld %s\n", (long long)st->mtime, path);
        rc = walk_dir(path);
    } else {
        uint64_t size = 0, hash = 0;
        rc = hash_file(path, &size, &hash);
        if (rc == 0 && size != st->size)
            rc = -EIO;
        if (rc == 0)
            printf("F %llu %lld %016llx %s\n", (unsigned long long)size,
                    (long long)st->mtime, (unsigned long long)hash, path);
    }
    if (rc)
        printf("ERROR %d %s\n", rc, path);
    free(path);
    return rc;
}

static int stop_after_3(const char *name, const struct fs_stat *st, void *arg)
{
    return ++*(int *)arg == 3 ? 99 : 0;
}

int main(int argc, char **argv)
{
    int rc = fs_mount("rootfs");

    if (rc < 0) {
        printf("MOUNT %d\n", rc);
        return 1;
    }
    buf = malloc(BUF_SIZE);
    if (!buf) {
        printf("out of memory\n");
        return 1;
    }
    const char *cmd = argc > 1 ? argv[1] : "walk";

    if (strcmp(cmd, "walk") == 0) {
        rc = walk_dir("");
        printf("END %ld\n", entries);
        return rc ? 1 : 0;
    }
    if (strcmp(cmd, "stat") == 0) {
        for (int i = 2; i < argc; i++) {
            struct fs_stat st = { 0 };
            rc = fs_stat(argv[i], &st);
            printf("STAT %d %llu %d %s\n", rc, (unsigned long long)st.size,
                    st.is_dir, argv[i]);
        }
        return 0;
    }
    if (strcmp(cmd, "open") == 0) {
        for (int i = 2; i < argc; i++) {
            struct fs_file *f;
            rc = fs_open(argv[i], &f);
            if (rc == 0)
                fs_close(f);
            printf("OPEN %d %s\n", rc, argv[i]);
        }
        return 0;
    }
    if (strcmp(cmd, "read") == 0 && argc == 5) {
        struct fs_file *f;
        uint64_t off = strtoull(argv[3], NULL, 10);
        size_t len = strtoul(argv[4], NULL, 10);
        unsigned char *p = malloc(len + 1);
        long n = -ENOMEM;
        if (p && (rc = fs_open(argv[2], &f)) == 0) {
            n = fs_read(f, off, p, len);
            fs_close(f);
        } else if (p) {
            n = rc;
        }
        printf("READ %ld %016llx\n", n, n > 0 ?
                (unsigned long long)fnv(FNV_OFFSET, p, (size_t)n) : 0ULL);
        return 0;
    }
    if (strcmp(cmd, "list") == 0 && argc == 3) {
        int seen = 0;
        printf("LIST %d\n", fs_list(argv[2], stop_after_3, &seen));
        return 0;
    }
    if (strcmp(cmd, "bench") == 0 && argc == 3) {
        struct fs_file *f;
        if ((rc = fs_open(argv[2], &f)) < 0) {
            printf("OPEN %d\n", rc);
            return 1;
        }
        uint64_t start = libos_now_ms(), off = 0;
        long n;
        while ((n = fs_read(f, off, buf, BUF_SIZE)) > 0)
            off += (uint64_t)n;
        uint64_t ms = libos_now_ms() - start;
        printf("BENCH %llu bytes in %llu ms\n", (unsigned long long)off,
                (unsigned long long)ms);
        return n < 0;
    }
    printf("usage: fstest walk | stat PATH... | open PATH... | "
            "read PATH OFF LEN | list PATH | bench PATH\n");
    return 2;
}
