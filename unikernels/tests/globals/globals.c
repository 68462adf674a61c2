/*
 * The tender loads every segment as linked: initialised data, a .bss that
 * reads as zero all the way (also past the data's last file page), rodata,
 * and writable globals; and the heap it reports is usable.
 */
#include "test.h"

/* Not static: the compiler must not assume their values. */
int initialised = 42;
uint64_t initialised_array[4] = { 1, 2, 3, 0xfeedfacecafebeefULL };
const char rodata_string[] = "read-only data";
int writable = 1;
/* Large enough to span many pages past the end of .data in the file. */
uint8_t bss_zeroed[3 * 4096 + 123];
uint64_t bss_word;

static void check_zero(const volatile uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CHECK(p[i] == 0);
}

int solo5_app_main(const struct solo5_start_info *si)
{
    t_puts("\n**** Solo5 standalone test_globals ****\n\n");

    CHECK(*(volatile int *)&initialised == 42);
    CHECK(initialised_array[0] == 1 && initialised_array[1] == 2 &&
            initialised_array[2] == 3 &&
            initialised_array[3] == 0xfeedfacecafebeefULL);

    CHECK(t_strcmp(rodata_string, "read-only data") == 0);
    CHECK(sizeof rodata_string == 15);

    check_zero(bss_zeroed, sizeof bss_zeroed);
    check_zero((const volatile uint8_t *)&bss_word, sizeof bss_word);

    /* Writes stick. */
    volatile int *w = &writable;
    CHECK(*w == 1);
    *w = 2;
    CHECK(*w == 2);
    volatile uint8_t *b = bss_zeroed;
    b[0] = 0xaa;
    b[sizeof bss_zeroed - 1] = 0x55;
    CHECK(b[0] == 0xaa && b[sizeof bss_zeroed - 1] == 0x55);
    initialised_array[3]++;
    CHECK(*(volatile uint64_t *)&initialised_array[3] == 0xfeedfacecafebef0ULL);

    /* The heap lies above the guest's own image and its first and last
     * bytes are usable (the stack is at its top; stay well below it). */
    extern char _end[];
    CHECK(si->heap_start >= (uintptr_t)_end);
    CHECK(si->heap_size >= 65536);
    volatile uint8_t *heap = (volatile uint8_t *)si->heap_start;
    heap[0] = 0x5a;
    heap[si->heap_size / 2] = 0xa5;
    CHECK(heap[0] == 0x5a && heap[si->heap_size / 2] == 0xa5);

    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
