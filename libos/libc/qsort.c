/*
 * qsort(): introsort. Quicksort with a median-of-three pivot, insertion
 * sort for short runs, and heapsort when the recursion gets too deep, so
 * the worst case stays O(n log n) whatever the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef int (*cmp_fn)(const void *, const void *);

static void swap(char *a, char *b, size_t size)
{
    if (a == b)
        return;
    if (size % 8 == 0 && ((uintptr_t)a | (uintptr_t)b) % 8 == 0) {
        for (; size; size -= 8, a += 8, b += 8) {
            uint64_t t = *(uint64_t *)a;
            *(uint64_t *)a = *(uint64_t *)b;
            *(uint64_t *)b = t;
        }
        return;
    }
    for (; size; size--, a++, b++) {
        char t = *a;
        *a = *b;
        *b = t;
    }
}

static void insertion_sort(char *base, size_t n, size_t size, cmp_fn cmp)
{
    for (size_t i = 1; i < n; i++)
        for (char *p = base + i * size; p > base && cmp(p - size, p) > 0;
                p -= size)
            swap(p - size, p, size);
}

static void sift_down(char *base, size_t root, size_t n, size_t size,
        cmp_fn cmp)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n
                && cmp(base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (cmp(base + root * size, base + child * size) >= 0)
            return;
        swap(base + root * size, base + child * size, size);
        root = child;
    }
}

static void heap_sort(char *base, size_t n, size_t size, cmp_fn cmp)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(base, i, n, size, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        swap(base, base + end * size, size);
        sift_down(base, 0, end, size, cmp);
    }
}

static void intro_sort(char *base, size_t n, size_t size, cmp_fn cmp,
        int depth)
{
    while (n > 16) {
        if (depth-- == 0) {
            heap_sort(base, n, size, cmp);
            return;
        }
        /* Median of first, middle, last goes to the front as the pivot. */
        char *lo = base, *mid = base + (n / 2) * size,
             *hi = base + (n - 1) * size;
        if (cmp(mid, lo) < 0)
            swap(mid, lo, size);
        if (cmp(hi, mid) < 0) {
            swap(hi, mid, size);
            if (cmp(mid, lo) < 0)
                swap(mid, lo, size);
        }
        swap(base, mid, size);

        /* Hoare partition around base[0]. */
        size_t i = 0, j = n;
        for (;;) {
            do
                i++;
            while (i < n && cmp(base + i * size, base) < 0);
            do
                j--;
            while (cmp(base + j * size, base) > 0);
            if (i >= j)
                break;
            swap(base + i * size, base + j * size, size);
        }
        swap(base, base + j * size, size);

        /* Recurse into the smaller side, loop on the larger one. */
        size_t left = j, right = n - j - 1;
        if (left < right) {
            intro_sort(base, left, size, cmp, depth);
            base += (j + 1) * size;
            n = right;
        } else {
            intro_sort(base + (j + 1) * size, right, size, cmp, depth);
            n = left;
        }
    }
    insertion_sort(base, n, size, cmp);
}

void qsort(void *base, size_t n, size_t size, cmp_fn cmp)
{
    int depth = 0;

    if (n < 2 || size == 0)
        return;
    for (size_t m = n; m; m >>= 1)
        depth += 2;
    intro_sort(base, n, size, cmp, depth);
}
