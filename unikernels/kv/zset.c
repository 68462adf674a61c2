/*
 * Sorted sets: a dict from member to skiplist node for O(1) ZSCORE and
 * membership, and a skiplist ordered by (score, member bytes) whose links
 * carry spans, so rank lookups (ZRANGE, ZRANK) are O(log n) as well.
 */
#include <stdlib.h>
#include <string.h>

#include "kv.h"

static struct zs_node *node_new(int level, double score, struct dict_entry *m)
{
    struct zs_node *x = malloc(sizeof(*x) + level * sizeof(x->lv[0]));
    if (!x)
        return NULL;
    x->score = score;
    x->member = m;
    x->back = NULL;
    x->nlevel = level;
    for (int i = 0; i < level; i++) {
        x->lv[i].fwd = NULL;
        x->lv[i].span = 0;
    }
    return x;
}

struct zset *zset_new(void)
{
    struct zset *z = malloc(sizeof(*z));
    if (!z)
        return NULL;
    z->head = node_new(ZS_MAXLEVEL, 0, NULL);
    if (!z->head) {
        free(z);
        return NULL;
    }
    dict_init(&z->members);
    z->tail = NULL;
    z->len = 0;
    z->level = 1;
    return z;
}

void zset_free(struct zset *z)
{
    struct zs_node *x = z->head, *next;
    for (; x; x = next) {
        next = x->lv[0].fwd;
        free(x);
    }
    dict_clear(&z->members, NULL);
    free(z);
}

/* Does node x sort before (score, m)? */
static int before(const struct zs_node *x, double score, const char *m, size_t n)
{
    if (x->score != score)
        return x->score < score;
    size_t xl = x->member->klen;
    int c = memcmp(x->member->key, m, xl < n ? xl : n);
    return c < 0 || (c == 0 && xl < n);
}

/* P = 1/4 per extra level, as a geometric draw from one random word. */
static int random_level(void)
{
    uint64_t r = kv_rand();
    int level = 1;
    while (level < ZS_MAXLEVEL && (r & 3) == 0) {
        level++;
        r >>= 2;
    }
    return level;
}

static void sl_insert(struct zset *z, struct zs_node *x)
{
    struct zs_node *update[ZS_MAXLEVEL], *p = z->head;
    size_t rank[ZS_MAXLEVEL];
    const char *m = x->member->key;
    size_t n = x->member->klen;

    for (int i = z->level - 1; i >= 0; i--) {
        rank[i] = i == z->level - 1 ? 0 : rank[i + 1];
        while (p->lv[i].fwd && before(p->lv[i].fwd, x->score, m, n)) {
            rank[i] += p->lv[i].span;
            p = p->lv[i].fwd;
        }
        update[i] = p;
    }
    if (x->nlevel > z->level) {
        for (int i = z->level; i < x->nlevel; i++) {
            rank[i] = 0;
            update[i] = z->head;
            update[i]->lv[i].span = z->len;
        }
        z->level = x->nlevel;
    }
    for (int i = 0; i < x->nlevel; i++) {
        x->lv[i].fwd = update[i]->lv[i].fwd;
        update[i]->lv[i].fwd = x;
        x->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
        update[i]->lv[i].span = rank[0] - rank[i] + 1;
    }
    for (int i = x->nlevel; i < z->level; i++)
        update[i]->lv[i].span++;
    x->back = update[0] == z->head ? NULL : update[0];
    if (x->lv[0].fwd)
        x->lv[0].fwd->back = x;
    else
        z->tail = x;
    z->len++;
}

static void sl_unlink(struct zset *z, struct zs_node *x)
{
    struct zs_node *update[ZS_MAXLEVEL], *p = z->head;
    const char *m = x->member->key;
    size_t n = x->member->klen;

    for (int i = z->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && before(p->lv[i].fwd, x->score, m, n))
            p = p->lv[i].fwd;
        update[i] = p;
    }
    for (int i = 0; i < z->level; i++) {
        if (update[i]->lv[i].fwd == x) {
            update[i]->lv[i].span += x->lv[i].span - 1;
            update[i]->lv[i].fwd = x->lv[i].fwd;
        } else {
            update[i]->lv[i].span--;
        }
    }
    if (x->lv[0].fwd)
        x->lv[0].fwd->back = x->back;
    else
        z->tail = x->back;
    while (z->level > 1 && z->head->lv[z->level - 1].fwd == NULL)
        z->level--;
    z->len--;
}

int zset_add(struct zset *z, const char *m, size_t n, double score)
{
    int created;
    /* Redis keeps small sorted sets as text, where -0 reads back as 0. */
    if (score == 0)
        score = 0;
    struct dict_entry *e = dict_upsert(&z->members, m, n, &created);
    if (!e)
        return -1;
    if (!created) {
        struct zs_node *x = e->v.ptr;
        if (x->score == score)
            return 0;
        /* Rescoring: relink at the new position (keeps the node). */
        sl_unlink(z, x);
        x->score = score;
        for (int i = 0; i < x->nlevel; i++) {
            x->lv[i].fwd = NULL;
            x->lv[i].span = 0;
        }
        sl_insert(z, x);
        return 0;
    }
    struct zs_node *x = node_new(random_level(), score, e);
    if (!x) {
        dict_unlink(&z->members, e);
        free(e);
        return -1;
    }
    e->v.ptr = x;
    sl_insert(z, x);
    return 1;
}

int zset_remove(struct zset *z, const char *m, size_t n)
{
    struct dict_entry *e = dict_find(&z->members, m, n);
    if (!e)
        return 0;
    struct zs_node *x = e->v.ptr;
    sl_unlink(z, x);
    free(x);
    dict_unlink(&z->members, e);
    free(e);
    return 1;
}

struct zs_node *zset_at(const struct zset *z, size_t rank)
{
    if (rank >= z->len)
        return NULL;
    size_t want = rank + 1, traversed = 0;
    struct zs_node *p = z->head;
    for (int i = z->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && traversed + p->lv[i].span <= want) {
            traversed += p->lv[i].span;
            p = p->lv[i].fwd;
        }
        if (traversed == want)
            return p;
    }
    return NULL;
}

size_t zset_rank(const struct zset *z, const struct zs_node *x)
{
    size_t rank = 0;
    struct zs_node *p = z->head;
    const char *m = x->member->key;
    size_t n = x->member->klen;

    for (int i = z->level - 1; i >= 0; i--) {
        while (p->lv[i].fwd && before(p->lv[i].fwd, x->score, m, n)) {
            rank += p->lv[i].span;
            p = p->lv[i].fwd;
        }
    }
    return rank;    /* nodes strictly before x */
}
