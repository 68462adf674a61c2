/*
 * TLS, x86_64 variant II, local-exec: the block is [.tdata .tbss] followed
 * by the thread pointer, which points at itself. The FS base is set with
 * wrfsbase where the CPU and kernel have FSGSBASE; elsewhere the tender
 * allows arch_prctl(ARCH_SET_FS, addr) for addresses in guest memory, to
 * guests that use TLS. The boot info says which.
 */
#include "spt.h"

extern char _stdata[], _etdata[], _tls_memsz[], _tls_align[];

static uintptr_t data_size(void)
{
    uintptr_t align = (uintptr_t)_tls_align, memsz = (uintptr_t)_tls_memsz;
    if (align == 0)
        align = 1;
    return (memsz + align - 1) & ~(align - 1);
}

size_t solo5_tls_size(void)
{
    return data_size() + sizeof(uintptr_t);
}

uintptr_t solo5_tls_tp_offset(uintptr_t tls)
{
    return tls + data_size();
}

solo5_result_t solo5_tls_init(uintptr_t tls)
{
    uint8_t *p = (uint8_t *)tls;
    size_t tdata = (size_t)(_etdata - _stdata);
    size_t n = data_size();

    if (tls == 0)
        return SOLO5_R_EINVAL;
    for (size_t i = 0; i < tdata; i++)
        p[i] = (uint8_t)_stdata[i];
    for (size_t i = tdata; i < n; i++)
        p[i] = 0;
    *(uintptr_t *)solo5_tls_tp_offset(tls) = solo5_tls_tp_offset(tls);
    return SOLO5_R_OK;
}

solo5_result_t solo5_set_tls_base(uintptr_t base)
{
    uint32_t flags = runnc_boot_info->flags;

    /* Outside guest memory nothing is mapped; refusing it here keeps both
     * ways alike (the filter would kill the arch_prctl). */
    if (base >= runnc_boot_info->mem_size)
        return SOLO5_R_EINVAL;
    if (flags & RUNNC_BOOT_FSGSBASE) {
        __asm__ __volatile__("wrfsbase %0" : : "r"(base) : "memory");
        return SOLO5_R_OK;
    }
    if (flags & RUNNC_BOOT_TLS_ARCH_PRCTL)
        return spt_syscall3(SYS_arch_prctl, SPT_ARCH_SET_FS, (long)base, 0) == 0 ?
            SOLO5_R_OK : SOLO5_R_EUNSPEC;
    return SOLO5_R_EUNSPEC;
}
