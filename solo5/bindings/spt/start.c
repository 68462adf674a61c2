/*
 * Entry point of a guest. The tender jumps to _start with %rdi pointing at
 * the boot info and %rsp 16-byte aligned at the top of the heap region.
 *
 * Apps and libos are built with -fstack-protector-strong
 * -mstack-protector-guard=global (as upstream Solo5): every protected
 * function compares a canary copied from __stack_chk_guard. The guard is
 * set here, before the first protected function runs, so this file is
 * built without the protector (solo5.mk) and spt_main never returns.
 */
#include "spt.h"

const struct runnc_boot_info *runnc_boot_info;

/* The stack protector's guard (gcc's -mstack-protector-guard=global). */
uintptr_t __stack_chk_guard;

void spt_main(const struct runnc_boot_info *bi)
    __attribute__((noreturn, used, no_stack_protector));

__asm__(
    ".section .text.start, \"ax\", @progbits\n"
    ".globl _start\n"
    ".type _start, @function\n"
    "_start:\n"
    "    xorl %ebp, %ebp\n"
    "    call spt_main\n"
    "    ud2\n"
    ".previous\n");

void spt_main(const struct runnc_boot_info *bi)
{
    static struct solo5_start_info si;

    if (bi->magic != RUNNC_BOOT_MAGIC || bi->abi_version != RUNNC_ABI_VERSION) {
        spt_console_puts("Solo5: boot info does not match this guest's ABI\n");
        solo5_exit(SOLO5_EXIT_ABORT);
    }
    runnc_boot_info = bi;
    /* The guest has no getrandom: the tender passes entropy for the guard
     * alone (random numbers have their own seed, runnc/entropy.h, so none
     * of them can tell the guard). A tender from before the field leaves
     * it 0; the cycle counter is a weak stand-in.
     * The low byte is zero, as glibc's, so that an overflow by a string
     * function stops at the canary's NUL. */
    uint64_t guard = bi->entropy;
    if (guard == 0) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
        guard = ((uint64_t)hi << 32 | lo) * 0x9e3779b97f4a7c15ULL;
    }
    __stack_chk_guard = (uintptr_t)(guard & ~0xffULL);
    si.cmdline = (const char *)bi->cmdline;
    si.heap_start = bi->heap_start;
    si.heap_size = bi->heap_size;
    solo5_exit(solo5_app_main(&si));
}

/* The interpreter the host kernel would load to exec this file directly:
 * one that cannot exist, so that it refuses (runnc/abi.h). */
static const char interp[] __attribute__((section(".interp"), used)) =
    RUNNC_INTERP;

/* Marks the guest as built for this ABI; the tender refuses others. */
static const struct {
    uint32_t namesz, descsz, type;
    char name[8];
    struct runnc_abi_note desc;
} abi_note __attribute__((section(".note.runnc.abi"), aligned(4), used)) = {
    .namesz = sizeof(RUNNC_NOTE_NAME),
    .descsz = sizeof(struct runnc_abi_note),
    .type = RUNNC_NOTE_ABI,
    .name = RUNNC_NOTE_NAME,
    .desc = { RUNNC_ABI_VERSION, RUNNC_ABI_TARGET_SPT },
};

/* What these bindings handle beyond the base ABI (see abi.h). */
static const struct {
    uint32_t namesz, descsz, type;
    char name[8];
    uint32_t desc;
} features_note __attribute__((section(".note.runnc.features"), aligned(4), used)) = {
    .namesz = sizeof(RUNNC_NOTE_NAME),
    .descsz = sizeof(uint32_t),
    .type = RUNNC_NOTE_FEATURES,
    .name = RUNNC_NOTE_NAME,
    .desc = RUNNC_FEATURE_VNET_HDR,
};
