/*
 * A read-only ISO9660 filesystem (with Rock Ridge names) on a Solo5
 * BLOCK_BASIC device, usually "rootfs". Paths are absolute, '/'-separated.
 * Functions return 0 (or a byte count) on success and -errno on failure
 * (-ENOENT, -ENOTDIR, -EISDIR, -EIO, -EINVAL, -ENOMEM, -ENAMETOOLONG).
 *
 * Symlinks are followed, as stat(2) and open(2) do, but never out of the
 * image: an absolute target starts at the image's root, a target whose
 * ".." climbs above the root gives -EACCES, and more than 40 links in one
 * path (a loop) -ELOOP; a dangling link is -ENOENT.
 */
#ifndef LIBOS_FS_H
#define LIBOS_FS_H

#include <stddef.h>
#include <stdint.h>

struct fs_stat {
    uint64_t size;          /* bytes */
    int is_dir;
    int64_t mtime;          /* seconds since the epoch, UTC */
};

struct fs_file;

/* Mount the ISO9660 image on the named block device. */
int fs_mount(const char *device);

int fs_stat(const char *path, struct fs_stat *st);
int fs_open(const char *path, struct fs_file **f);
/* Read up to len bytes at off; returns bytes read (0 at end of file). */
long fs_read(struct fs_file *f, uint64_t off, void *buf, size_t len);
uint64_t fs_size(const struct fs_file *f);
void fs_close(struct fs_file *f);

/* Call fn for each entry of the directory (not "." and ".."); stops early
 * and returns fn's value if fn returns non-zero. A symlink is listed with
 * what it leads to; one that leads nowhere (fs_stat fails) is left out. */
int fs_list(const char *path,
            int (*fn)(const char *name, const struct fs_stat *st, void *arg),
            void *arg);

#endif
