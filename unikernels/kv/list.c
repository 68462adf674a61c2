/*
 * Lists are ring buffers of value pointers: O(1) push and pop at both ends
 * and O(1) access by index, which LRANGE and LINDEX rely on.
 */
#include <stdlib.h>

#include "kv.h"

void list_init(struct list *l)
{
    l->a = NULL;
    l->head = l->len = l->cap = 0;
}

static int grow(struct list *l)
{
    size_t cap = l->cap ? l->cap * 2 : 8;
    struct sval **a = malloc(cap * sizeof(*a));
    if (!a)
        return -1;
    for (size_t i = 0; i < l->len; i++)
        a[i] = l->a[(l->head + i) & (l->cap - 1)];
    free(l->a);
    l->a = a;
    l->cap = cap;
    l->head = 0;
    return 0;
}

int list_push(struct list *l, struct sval *v, int left)
{
    if (l->len == l->cap && grow(l) < 0)
        return -1;
    if (left) {
        l->head = (l->head - 1) & (l->cap - 1);
        l->a[l->head] = v;
    } else {
        l->a[(l->head + l->len) & (l->cap - 1)] = v;
    }
    l->len++;
    return 0;
}

struct sval *list_pop(struct list *l, int left)
{
    if (l->len == 0)
        return NULL;
    struct sval *v;
    if (left) {
        v = l->a[l->head];
        l->head = (l->head + 1) & (l->cap - 1);
    } else {
        v = l->a[(l->head + l->len - 1) & (l->cap - 1)];
    }
    l->len--;
    return v;
}

struct sval *list_at(const struct list *l, size_t i)
{
    return i < l->len ? l->a[(l->head + i) & (l->cap - 1)] : NULL;
}

void list_clear(struct list *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(list_at(l, i));
    free(l->a);
    list_init(l);
}
