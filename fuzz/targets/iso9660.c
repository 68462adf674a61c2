/*
 * Fuzz target: the ISO9660 / Rock Ridge reader (libos/fs/iso9660.c) over
 * an image in memory. The input is the image from sector 16 (the volume
 * descriptors) on; the target puts the 16 empty sectors of the system
 * area in front, so mutations land on what the reader parses. The block
 * size of the device, 512 to 4096 bytes, comes from the input's length.
 *
 * Each input is mounted afresh and walked like a server would: every
 * directory listed (to a bounded depth and count), every entry looked up
 * by its path, every file read whole and at odd offsets.
 */
#include <errno.h>
#include <string.h>

#include "shim.h"
/* The reader's statics (vol, unmount) are what a remount must reset. */
#include "../../libos/fs/iso9660.c"

#define SYSTEM_AREA     (16 * SECTOR)
#define MAX_VISITS      256
#define WALK_DEPTH      8
#define READ_MAX        (256 * 1024)

static int visits;
static uint8_t readbuf[READ_MAX];

static int depth_of(const char *path)
{
    int d = 0;
    for (; *path; path++)
        d += *path == '/';
    return d;
}

static void walk(const char *dir);

static int visit(const char *name, const struct fs_stat *st, void *arg)
{
    const char *dir = arg;
    char path[4096];
    struct fs_stat again;
    struct fs_file *f;

    CHECK(name[0] != '\0' && strchr(name, '/') == NULL);
    CHECK(strlen(name) <= NAME_MAX);
    if (++visits > MAX_VISITS)
        return 1;
    int n = snprintf(path, sizeof path, "%s%s%s", dir,
            dir[1] ? "/" : "", name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    /* A listed name may still fail to resolve on a damaged image (a
     * second entry of the same name earlier in the directory, or an
     * error further on), but never crash. */
    if (fs_stat(path, &again) != 0)
        return 0;
    if (st->is_dir) {
        if (depth_of(path) < WALK_DEPTH)
            walk(path);
        /* What fs_stat() calls a directory fs_open() refuses. */
        int rc = fs_open(path, &f);
        CHECK(again.is_dir ? rc == -EISDIR : rc != -EISDIR);
        if (rc == 0)
            fs_close(f);
        return 0;
    }
    if (fs_open(path, &f) != 0)
        return 0;
    uint64_t size = fs_size(f);
    size_t want = size < READ_MAX ? (size_t)size : READ_MAX;
    long got = fs_read(f, 0, readbuf, want);
    CHECK(got < 0 || (size_t)got == want);
    if (size > 1) {
        got = fs_read(f, size / 2 + 1, readbuf, 3000);
        CHECK(got < 0 || (uint64_t)got <= size - (size / 2 + 1));
    }
    CHECK(fs_read(f, size, readbuf, 10) == 0);
    fs_close(f);
    return 0;
}

static void walk(const char *dir)
{
    fs_list(dir, visit, (void *)dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static uint8_t *img;
    static size_t img_cap;
    size_t total = SYSTEM_AREA + len;

    if (total > img_cap) {
        free(img);
        img = malloc(total);
        CHECK(img != NULL);
        img_cap = total;
    }
    memset(img, 0, SYSTEM_AREA);
    memcpy(img + SYSTEM_AREA, data, len);
    /* An exact copy for the device, so reads past it are ASan's. */
    uint64_t bs = 512u << (len % 4);
    size_t cap = total - total % bs;
    uint8_t *dev = malloc(cap ? cap : 1);
    CHECK(dev != NULL);
    memcpy(dev, img, cap);
    shim_block_set(dev, cap, bs);

    /* A new device name each time makes fs_mount() acquire it again. */
    static unsigned gen;
    char name[16];
    snprintf(name, sizeof name, "rootfs%u", gen++ % 2);
    if (fs_mount(name) == 0) {
        visits = 0;
        struct fs_stat st;
        CHECK(fs_stat("/", &st) == 0 && st.is_dir);
        walk("/");
        fs_stat("/a/../b/./c/", &st);
        fs_stat("/../../x", &st);
        /* Through the seeds' symlinks, and on past them. */
        fs_stat("/dirlink/big.bin", &st);
        fs_stat("/dirlink/../../index.html", &st);
        fs_stat("/loop1/x", &st);
        unmount();
    }
    free(dev);
    return 0;
}
