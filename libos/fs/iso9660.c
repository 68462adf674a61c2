/*
 * A read-only ISO9660 filesystem with Rock Ridge names, on a Solo5
 * BLOCK_BASIC device (libos/fs.h).
 *
 * Everything on the image is untrusted: every record length, extent and
 * continuation is checked against the sector and the device before use,
 * and a bad image gives -EIO or -EINVAL, never a fault.
 *
 * Symlinks (Rock Ridge SL) are followed inside the image: an absolute
 * target starts at the image's root, one climbing above it is refused,
 * and a chain longer than MAX_LINKS (a loop) ends in -ELOOP.
 *
 * Sectors (2048 bytes) of metadata go through a small LRU cache so path
 * lookups and listings do not reread directories. File data bypasses it:
 * fs_read() reads whole device blocks straight into the caller's buffer
 * and uses the cache only for the partial blocks at either end.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "libos/fs.h"
#include "solo5.h"

#define SECTOR          2048
#define PVD_SECTOR      16
#define MAX_VD          64      /* volume descriptors scanned for the PVD */
#define CACHE_SLOTS     64
#define MAX_CE          16      /* SUSP continuation areas per record */
#define MAX_DEPTH       128     /* path components tracked for ".." */
#define REC_MIN         34      /* a directory record with a 1-byte name */
#define MAX_LINKS       40      /* symlinks followed in one lookup (Linux's) */
#define DEVICE_MAX      68      /* Solo5 device names, NUL included */

/* A file or directory, as its directory record describes it. */
struct node {
    uint64_t lba;           /* first sector of the extent */
    uint64_t size;          /* bytes */
    int is_dir;
    int64_t mtime;
};

struct fs_file {
    struct node n;
};

struct slot {
    uint64_t lba;
    uint64_t used;          /* LRU stamp; 0 = empty */
    uint8_t *data;
};

static struct {
    int mounted;
    char device[DEVICE_MAX];
    solo5_handle_t handle;
    uint64_t block_size;
    uint64_t sectors;       /* readable 2048-byte sectors on the device */
    struct node root;
    int susp;               /* the image uses SUSP (Rock Ridge) */
    unsigned susp_skip;     /* SUSP LEN_SKP */
    struct slot cache[CACHE_SLOTS];
    uint64_t clock;
    uint8_t *bounce;        /* one device block, when blocks > sectors */
} vol;

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
            | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* --- sectors ---------------------------------------------------------- */

/* Read sector (lba) into (buf). */
static int read_sector(uint64_t lba, uint8_t *buf)
{
    uint64_t bs = vol.block_size, off = lba * SECTOR;

    if (lba >= vol.sectors)
        return -EIO;
    if (bs <= SECTOR)
        return solo5_block_read(vol.handle, off, buf, SECTOR) == SOLO5_R_OK
                ? 0 : -EIO;
    /* Blocks larger than a sector: read the block holding it. */
    uint64_t boff = off - off % bs;
    if (solo5_block_read(vol.handle, boff, vol.bounce, bs) != SOLO5_R_OK)
        return -EIO;
    memcpy(buf, vol.bounce + (off - boff), SECTOR);
    return 0;
}

/*
 * Sector (lba) from the cache, read on a miss. The pointer is valid only
 * until the next call: callers copy what they keep.
 */
static const uint8_t *get_sector(uint64_t lba, int *err)
{
    struct slot *victim = &vol.cache[0];

    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct slot *s = &vol.cache[i];
        if (s->used && s->lba == lba) {
            s->used = ++vol.clock;
            return s->data;
        }
        if (s->used < victim->used)
            victim = s;
    }
    victim->used = 0;
    int rc = read_sector(lba, victim->data);
    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    victim->lba = lba;
    victim->used = ++vol.clock;
    return victim->data;
}

/* Is the extent of (n) inside the device? */
static int extent_ok(const struct node *n)
{
    uint64_t nsec = (n->size + SECTOR - 1) / SECTOR;

    return n->lba <= vol.sectors && nsec <= vol.sectors - n->lba;
}

/* --- directory records ------------------------------------------------- */

/* A directory entry as found: its node and its name. */
struct entry {
    struct node n;
    char name[NAME_MAX + 1];
    int rr_name;            /* name came from a Rock Ridge NM entry */
    int special;            /* "." or ".." */
    int hidden;             /* Rock Ridge RE: shown through its CL link */
    int relocated;          /* Rock Ridge CL: n.lba is the real directory */
    int is_link;            /* Rock Ridge SL: a symlink (read_link()) */
    uint64_t rec_lba;       /* where the record is, to read it again */
    size_t rec_off;
};

/* A symlink's target as its SL components spell it, being assembled. */
struct target {
    char path[PATH_MAX];
    size_t len;
    int joined;             /* the last component continues (CONTINUE) */
    int err;
};

/* ISO 9660 7-byte date and time to seconds since the epoch. */
static int64_t iso_time(const uint8_t *d)
{
    struct tm tm = {
        .tm_year = d[0],
        .tm_mon = d[1] ? d[1] - 1 : 0,
        .tm_mday = d[2] ? d[2] : 1,
        .tm_hour = d[3],
        .tm_min = d[4],
        .tm_sec = d[5],
    };
    int gmtoff = (int8_t)d[6];      /* 15-minute units east of UTC */

    return (int64_t)timegm(&tm) - (int64_t)gmtoff * 15 * 60;
}

/* Append n bytes to the target; -ENAMETOOLONG past PATH_MAX. */
static void target_add(struct target *t, const void *s, size_t n)
{
    if (t->err || n >= sizeof t->path - t->len) {
        t->err = -ENAMETOOLONG;
        return;
    }
    memcpy(t->path + t->len, s, n);
    t->len += n;
    t->path[t->len] = '\0';
}

/*
 * The components of one SL entry (RRIP 4.1.3.1): each a flags byte, a
 * length and that many bytes of name; ROOT makes the target absolute,
 * CURRENT and PARENT are "." and "..", CONTINUE joins a name to the next
 * component's. A component running past the entry ends the target: -EIO.
 */
static void parse_sl(const uint8_t *p, size_t len, struct target *t)
{
    for (size_t i = 0; i + 2 <= len && !t->err; ) {
        uint8_t flags = p[i];
        size_t n = p[i + 1];
        const uint8_t *name = p + i + 2;
        if (n > len - i - 2) {
            t->err = -EIO;
            return;
        }
        i += 2 + n;
        if (flags & 0x38) {             /* ROOT, VOLROOT, HOST */
            target_add(t, "/", 1);
            t->joined = 1;              /* no '/' before the next name */
            continue;
        }
        if (!t->joined && t->len > 0)
            target_add(t, "/", 1);
        if (flags & 0x02)
            target_add(t, ".", 1);
        else if (flags & 0x04)
            target_add(t, "..", 2);
        else if (memchr(name, '\0', n) || memchr(name, '/', n))
            t->err = -EIO;              /* not a name: the image is bad */
        else
            target_add(t, name, n);
        t->joined = (flags & 0x01) != 0;
    }
}

/*
 * Walk the SUSP entries of a record's system use area (and the
 * continuation areas it names), taking the Rock Ridge name (NM), the
 * relocation entries (CL, RE) and whether it is a symlink (SL) into (e);
 * with (t), the symlink's target too.
 */
static int parse_susp(const uint8_t *area, size_t len, struct entry *e,
        struct target *t)
{
    uint8_t ce_buf[SECTOR];
    size_t name_len = 0;
    int have_nm = 0, name_done = 0;

    for (int hops = 0;; hops++) {
        uint64_t ce_lba = 0, ce_off = 0, ce_len = 0;
        size_t i = 0;

        while (i + 4 <= len) {
            const uint8_t *p = area + i;
            size_t elen = p[2];
            if (elen < 4 || elen > len - i)
                break;          /* padding or damage: the area ends */
            if (p[0] == 'S' && p[1] == 'T')
                break;
            if (p[0] == 'C' && p[1] == 'E' && elen >= 28) {
                ce_lba = le32(p + 4);
                ce_off = le32(p + 12);
                ce_len = le32(p + 20);
            } else if (p[0] == 'N' && p[1] == 'M' && elen >= 5
                    && !name_done) {
                uint8_t flags = p[4];
                if (!(flags & 0x6)) {   /* not CURRENT/PARENT */
                    size_t n = elen - 5;
                    if (name_len + n > NAME_MAX)
                        return -ENAMETOOLONG;
                    memcpy(e->name + name_len, p + 5, n);
                    name_len += n;
                    have_nm = 1;
                    if (!(flags & 1))   /* no CONTINUE: the name is whole */
                        name_done = 1;
                }
            } else if (p[0] == 'C' && p[1] == 'L' && elen >= 12) {
                e->relocated = 1;
                e->n.lba = le32(p + 4);
            } else if (p[0] == 'R' && p[1] == 'E') {
                e->hidden = 1;
            } else if (p[0] == 'S' && p[1] == 'L' && elen >= 5) {
                e->is_link = 1;
                if (t)
                    parse_sl(p + 5, elen - 5, t);
            }
            i += elen;
        }

        if (!ce_len)
            break;
        if (hops == MAX_CE || ce_off >= SECTOR || ce_len > SECTOR - ce_off)
            return -EIO;
        int err = 0;
        const uint8_t *s = get_sector(ce_lba, &err);
        if (!s)
            return err;
        memcpy(ce_buf, s + ce_off, ce_len);
        area = ce_buf;
        len = ce_len;
    }
    if (have_nm && name_len > 0) {
        e->name[name_len] = '\0';
        if (memchr(e->name, '\0', name_len) || memchr(e->name, '/', name_len))
            return -EIO;
        e->rr_name = 1;
    }
    return 0;
}

/* The name of a record without Rock Ridge: "README.TXT;1" -> "readme.txt". */
static void iso_name(const uint8_t *id, size_t len, char *out)
{
    size_t n = 0;

    for (; n < len && id[n] != ';'; n++) {
        uint8_t c = id[n];
        if (c == '\0' || c == '/')
            c = '_';    /* never valid in a name; keep the string whole */
        out[n] = (char)(c >= 'A' && c <= 'Z' ? c | 32 : c);
    }
    while (n > 0 && out[n - 1] == '.')
        n--;
    out[n] = '\0';
}

/* Decode directory record (rec) of (len) bytes into (e); with (t), a
 * symlink's target too. */
static int parse_record(const uint8_t *rec, size_t len, struct entry *e,
        struct target *t)
{
    size_t id_len = rec[32];

    if (len < REC_MIN || 33 + id_len > len || id_len == 0)
        return -EIO;
    memset(e, 0, sizeof(*e));
    e->n.lba = le32(rec + 2) + (uint64_t)rec[1];  /* after any XAR */
    e->n.size = le32(rec + 10);
    e->n.is_dir = (rec[25] & 0x02) != 0;
    e->n.mtime = iso_time(rec + 18);
    if (id_len == 1 && rec[33] <= 1) {
        e->special = 1;
        strcpy(e->name, rec[33] ? ".." : ".");
        return 0;
    }
    if (id_len > NAME_MAX)
        return -EIO;
    iso_name(rec + 33, id_len, e->name);

    if (vol.susp) {
        size_t su = 33 + id_len + (id_len % 2 == 0) + vol.susp_skip;
        if (su < len) {
            int rc = parse_susp(rec + su, len - su, e, t);
            if (rc < 0)
                return rc;
        }
    }
    if (e->name[0] == '\0')
        return -EIO;
    return 0;
}

/* A position in a directory, kept as an offset so that no cache pointer
 * lives across calls that may evict it. */
struct dir_iter {
    struct node dir;
    uint64_t pos;
};

/* The next record of the directory: 1 with (e) filled, 0 at the end. */
static int dir_next(struct dir_iter *it, struct entry *e)
{
    uint8_t rec[256];

    while (it->pos < it->dir.size) {
        uint64_t off = it->pos % SECTOR;
        int err = 0;
        const uint8_t *s = get_sector(it->dir.lba + it->pos / SECTOR, &err);
        if (!s)
            return err;
        size_t len = s[off];
        if (len == 0) {
            /* Records never cross sectors; the rest of this one is empty. */
            it->pos += SECTOR - off;
            continue;
        }
        if (len < REC_MIN || off + len > SECTOR)
            return -EIO;
        memcpy(rec, s + off, len);
        uint64_t rec_lba = it->dir.lba + it->pos / SECTOR;
        it->pos += len;
        int rc = parse_record(rec, len, e, NULL);
        if (rc == -ENAMETOOLONG)
            continue;   /* a Rock Ridge name no path could reach */
        if (rc < 0)
            return rc;
        if (rec[25] & 0x04)     /* associated file: not a name of its own */
            continue;
        e->rec_lba = rec_lba;
        e->rec_off = off;
        return 1;
    }
    return 0;
}

/* Follow a Rock Ridge child link: the real directory's "." gives its size. */
static int resolve_relocated(struct entry *e)
{
    struct dir_iter it = { .dir = { .lba = e->n.lba, .size = SECTOR } };
    struct entry dot;

    if (!extent_ok(&it.dir))
        return -EIO;
    int rc = dir_next(&it, &dot);
    if (rc <= 0)
        return rc < 0 ? rc : -EIO;
    if (!dot.special || !dot.n.is_dir || dot.n.lba != e->n.lba)
        return -EIO;
    e->n.size = dot.n.size;
    e->n.is_dir = 1;
    return 0;
}

/* The next visible entry (not ".", "..", or a relocated original). */
static int dir_next_visible(struct dir_iter *it, struct entry *e)
{
    for (;;) {
        int rc = dir_next(it, e);
        if (rc <= 0)
            return rc;
        if (e->special || e->hidden)
            continue;
        if (e->relocated && (rc = resolve_relocated(e)) < 0)
            return rc;
        if (!extent_ok(&e->n))
            return -EIO;
        return 1;
    }
}

/*
 * Is (e), an entry of the root, the directory genisoimage -R makes to hold
 * directories relocated for depth ("rr_moved")? It is not part of the
 * tree the image was made from, so listings leave it out when everything
 * in it is a relocated directory (RE), shown where it belongs.
 */
static int is_rr_moved(const struct entry *e)
{
    if (!e->n.is_dir || !e->rr_name || (strcmp(e->name, "rr_moved") != 0
            && strcmp(e->name, ".rr_moved") != 0))
        return 0;
    struct dir_iter it = { .dir = e->n };
    struct entry sub;
    int rc;
    while ((rc = dir_next(&it, &sub)) > 0)
        if (!sub.special && !sub.hidden)
            return 0;
    return rc == 0;
}

static int name_matches(const struct entry *e, const char *name, size_t len)
{
    if (strlen(e->name) != len)
        return 0;
    if (e->rr_name)
        return memcmp(e->name, name, len) == 0;
    return strncasecmp(e->name, name, len) == 0;
}

/* The target of symlink (e), read again from its record into (t). */
static int read_link(const struct entry *e, struct target *t)
{
    uint8_t rec[256];
    struct entry again;
    int err = 0;
    const uint8_t *s = get_sector(e->rec_lba, &err);

    if (!s)
        return err;
    size_t len = s[e->rec_off];
    if (len < REC_MIN || e->rec_off + len > SECTOR)
        return -EIO;
    memcpy(rec, s + e->rec_off, len);
    t->len = 0;
    t->path[0] = '\0';
    t->joined = 0;
    t->err = 0;
    int rc = parse_record(rec, len, &again, t);
    if (rc < 0)
        return rc;
    if (t->err)
        return t->err;
    return t->len > 0 ? 0 : -ENOENT;
}

/*
 * Resolve an absolute path to its node, following symlinks the way
 * Linux does (each at most MAX_LINKS deep: -ELOOP), inside the image
 * only: an absolute target starts at the image's root, and a target
 * whose ".." would climb above the root is refused (-EACCES) rather
 * than stopped there, since the link meant something outside the image.
 * (A ".." above the root in the path given stays at the root, as "/..".)
 */
static int lookup(const char *path, struct node *out)
{
    static struct node stack[MAX_DEPTH];   /* ancestors, for ".." */
    static char work[2][PATH_MAX];          /* the path with links spliced in */
    static struct target target;
    int depth = 0, links = 0, which = 0;
    struct node cur = vol.root;
    const char *link_end = NULL;    /* components before it came from links */

    if (!vol.mounted)
        return -ENODEV;
    if (!path || path[0] != '/')
        return -EINVAL;
    size_t plen = strlen(path);
    int want_dir = plen > 1 && path[plen - 1] == '/';

    for (const char *p = path; *p;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, "/");
        const char *name = p;
        p += len;
        if (!cur.is_dir)
            return -ENOTDIR;
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        if (len == 1 && name[0] == '.')
            continue;
        if (len == 2 && name[0] == '.' && name[1] == '.') {
            if (depth > 0)
                cur = stack[--depth];
            else if (link_end != NULL && name < link_end)
                return -EACCES;
            continue;
        }

        struct dir_iter it = { .dir = cur };
        struct entry e;
        int rc;
        while ((rc = dir_next_visible(&it, &e)) > 0 && !name_matches(&e, name,
                len))
            ;
        if (rc < 0)
            return rc;
        if (rc == 0)
            return -ENOENT;
        if (e.is_link) {
            if (++links > MAX_LINKS)
                return -ELOOP;
            if ((rc = read_link(&e, &target)) < 0)
                return rc;
            /* The rest of the path, after the target; p points into the
             * caller's path or the other work buffer, never this one. */
            char *next = work[which ^= 1];
            size_t rest = strlen(p);
            if (target.len + rest >= PATH_MAX)
                return -ENAMETOOLONG;
            memcpy(next, target.path, target.len);
            memcpy(next + target.len, p, rest + 1);
            size_t from_links = target.len;
            if (link_end != NULL && link_end > p)
                from_links += (size_t)(link_end - p);
            link_end = next + from_links;
            if (next[0] == '/') {
                cur = vol.root;
                depth = 0;
            }
            p = next;
            continue;       /* from the directory holding the link */
        }
        if (depth == MAX_DEPTH)
            return -ENAMETOOLONG;
        stack[depth++] = cur;
        cur = e.n;
    }
    if (want_dir && !cur.is_dir)
        return -ENOTDIR;
    *out = cur;
    return 0;
}

/* --- the API ------------------------------------------------------------ */

static int find_pvd(uint8_t *pvd)
{
    for (uint64_t lba = PVD_SECTOR; lba < PVD_SECTOR + MAX_VD; lba++) {
        int rc = read_sector(lba, pvd);
        if (rc < 0)
            return rc;
        if (memcmp(pvd + 1, "CD001", 5) != 0 || pvd[6] != 1)
            return -EINVAL;
        if (pvd[0] == 1)
            return 0;
        if (pvd[0] == 255)
            break;
    }
    return -EINVAL;
}

/* Does the root's "." record start with the SUSP SP entry? */
static int detect_susp(void)
{
    int err = 0;
    const uint8_t *s = get_sector(vol.root.lba, &err);

    if (!s)
        return err;
    size_t len = s[0], id_len = s[32];
    if (len < REC_MIN || id_len != 1)
        return -EIO;
    size_t su = 33 + id_len + (id_len % 2 == 0);
    const uint8_t *sp = s + su;
    if (su + 7 <= len && sp[0] == 'S' && sp[1] == 'P' && sp[2] >= 7
            && sp[4] == 0xBE && sp[5] == 0xEF) {
        vol.susp = 1;
        vol.susp_skip = sp[6];
    }
    return 0;
}

static void unmount(void)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        free(vol.cache[i].data);
        vol.cache[i].data = NULL;
        vol.cache[i].used = 0;
    }
    free(vol.bounce);
    vol.bounce = NULL;
    vol.mounted = 0;
}

int fs_mount(const char *device)
{
    struct solo5_block_info info;
    uint8_t *pvd;
    int rc;

    if (!device || strlen(device) >= sizeof(vol.device))
        return -EINVAL;
    if (vol.mounted)
        return strcmp(device, vol.device) == 0 ? 0 : -EBUSY;
    /* Solo5 lets a device be acquired once: keep the handle for good. */
    if (strcmp(device, vol.device) != 0) {
        if (solo5_block_acquire(device, &vol.handle, &info) != SOLO5_R_OK)
            return -ENODEV;
        if (info.block_size == 0 || (info.block_size & (info.block_size - 1))
                || info.block_size > 65536)
            return -EINVAL;
        strcpy(vol.device, device);
        vol.block_size = info.block_size;
        vol.sectors = info.capacity / SECTOR;
    }

    for (int i = 0; i < CACHE_SLOTS; i++)
        if (!(vol.cache[i].data = malloc(SECTOR)))
            goto nomem;
    if (vol.block_size > SECTOR && !(vol.bounce = malloc(vol.block_size)))
        goto nomem;
    vol.clock = 0;
    vol.susp = 0;
    vol.susp_skip = 0;

    pvd = vol.cache[0].data;    /* borrowed before the cache is in use */
    if ((rc = find_pvd(pvd)) < 0)
        goto fail;
    if (le16(pvd + 128) != SECTOR) {
        rc = -EINVAL;           /* other logical block sizes: not made */
        goto fail;
    }
    const uint8_t *root = pvd + 156;
    if (root[0] < REC_MIN || !(root[25] & 0x02)) {
        rc = -EINVAL;
        goto fail;
    }
    vol.root.lba = le32(root + 2);
    vol.root.size = le32(root + 10);
    vol.root.is_dir = 1;
    vol.root.mtime = iso_time(root + 18);
    if (!extent_ok(&vol.root) || vol.root.size == 0) {
        rc = -EIO;
        goto fail;
    }
    if ((rc = detect_susp()) < 0)
        goto fail;
    vol.mounted = 1;
    return 0;

nomem:
    rc = -ENOMEM;
fail:
    unmount();
    return rc;
}

static void fill_stat(const struct node *n, struct fs_stat *st)
{
    st->size = n->size;
    st->is_dir = n->is_dir;
    st->mtime = n->mtime;
}

int fs_stat(const char *path, struct fs_stat *st)
{
    struct node n;
    int rc = lookup(path, &n);

    if (rc < 0)
        return rc;
    fill_stat(&n, st);
    return 0;
}

int fs_open(const char *path, struct fs_file **f)
{
    struct node n;
    int rc = lookup(path, &n);

    if (rc < 0)
        return rc;
    if (n.is_dir)
        return -EISDIR;
    struct fs_file *file = malloc(sizeof(*file));
    if (!file)
        return -ENOMEM;
    file->n = n;
    *f = file;
    return 0;
}

uint64_t fs_size(const struct fs_file *f)
{
    return f->n.size;
}

void fs_close(struct fs_file *f)
{
    free(f);
}

long fs_read(struct fs_file *f, uint64_t off, void *buf, size_t len)
{
    uint8_t *dst = buf;
    uint64_t bs = vol.block_size;

    if (!vol.mounted)
        return -ENODEV;
    if (off >= f->n.size)
        return 0;
    if (len > f->n.size - off)
        len = (size_t)(f->n.size - off);
    if (len > LONG_MAX)
        len = LONG_MAX;

    uint64_t pos = f->n.lba * SECTOR + off, end = pos + len;
    while (pos < end) {
        if (pos % bs == 0 && end - pos >= bs) {
            /* Whole blocks go straight to the caller, all in one read
             * (the bindings make one host call per 64 KiB). */
            uint64_t n = (end - pos) - (end - pos) % bs;
            if (pos + n > vol.sectors * SECTOR
                    || solo5_block_read(vol.handle, pos, dst, n)
                    != SOLO5_R_OK)
                return -EIO;
            pos += n;
            dst += n;
            continue;
        }
        /* A partial block: copy from the cached sector, up to the next
         * block boundary so whole blocks can follow. */
        int err = 0;
        const uint8_t *s = get_sector(pos / SECTOR, &err);
        if (!s)
            return err;
        uint64_t in = pos % SECTOR, n = SECTOR - in;
        if (bs - pos % bs < n)
            n = bs - pos % bs;
        if (n > end - pos)
            n = end - pos;
        memcpy(dst, s + in, n);
        pos += n;
        dst += n;
    }
    return (long)len;
}

int fs_list(const char *path,
        int (*fn)(const char *name, const struct fs_stat *st, void *arg),
        void *arg)
{
    struct node dir;
    int rc = lookup(path, &dir);

    if (rc < 0)
        return rc;
    if (!dir.is_dir)
        return -ENOTDIR;

    struct dir_iter it = { .dir = dir };
    struct entry e;
    int is_root = dir.lba == vol.root.lba;
    while ((rc = dir_next_visible(&it, &e)) > 0) {
        struct fs_stat st;
        if (is_root && is_rr_moved(&e))
            continue;
        if (e.is_link) {
            /* As stat(2) through the link; one that leads nowhere in
             * the image (dangling, a loop, out of the root) is left
             * out, as nothing could be opened by its name. */
            static char full[PATH_MAX + NAME_MAX + 2];
            struct node n;
            int w = snprintf(full, sizeof full, "%s/%s", path, e.name);
            if (w < 0 || (size_t)w >= sizeof full || lookup(full, &n) < 0)
                continue;
            e.n = n;
        }
        fill_stat(&e.n, &st);
        int stop = fn(e.name, &st, arg);
        if (stop)
            return stop;
    }
    return rc;
}
