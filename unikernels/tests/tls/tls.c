/*
 * Thread-local storage the way a libOS with threads uses it: two TLS
 * blocks set up with solo5_tls_init() and switched with
 * solo5_set_tls_base(); each keeps its own values of __thread variables,
 * initialised from .tdata and zeroed for .tbss. It says which way the
 * bindings set the FS base (wrfsbase or arch_prctl), as the boot info
 * tells them, so the test can check the tender chose the way it should.
 */
#include "test.h"
#include "runnc/abi.h"

extern const struct runnc_boot_info *runnc_boot_info;

__thread volatile uint64_t tdata_var = 0x1122334455667788ULL;
__thread volatile uint32_t tbss_var;
__thread volatile uint8_t tbss_array[100];

/* Two blocks; solo5_tls_size() must fit. Aligned for any TLS alignment. */
static uint8_t block_a[1024] __attribute__((aligned(64)));
static uint8_t block_b[1024] __attribute__((aligned(64)));

static void use(uint8_t *block)
{
    CHECK(solo5_set_tls_base(solo5_tls_tp_offset((uintptr_t)block)) == SOLO5_R_OK);
}

/* Whether (block) holds the 8 bytes of (v), i.e. TLS really lives there. */
static int holds(const uint8_t *block, uint64_t v)
{
    for (size_t i = 0; i + 8 <= solo5_tls_size(); i++) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; j--)
            w = (w << 8) | block[i + (size_t)j];
        if (w == v)
            return 1;
    }
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    t_puts("\n**** Solo5 standalone test_tls ****\n\n");
    if (runnc_boot_info->flags & RUNNC_BOOT_FSGSBASE)
        t_puts("TLS base via wrfsbase\n");
    else if (runnc_boot_info->flags & RUNNC_BOOT_TLS_ARCH_PRCTL)
        t_puts("TLS base via arch_prctl\n");
    else
        t_puts("TLS base: no way to set it\n");

    size_t size = solo5_tls_size();
    CHECK(size > 0 && size <= sizeof block_a);
    CHECK(solo5_tls_tp_offset((uintptr_t)block_a) > (uintptr_t)block_a);
    CHECK(solo5_tls_tp_offset((uintptr_t)block_a) < (uintptr_t)block_a + size);
    CHECK(solo5_tls_init(0) == SOLO5_R_EINVAL);
    /* Outside guest memory: an error, not a kill, on either way. */
    CHECK(solo5_set_tls_base(runnc_boot_info->mem_size) == SOLO5_R_EINVAL);
    CHECK(solo5_set_tls_base(~(uintptr_t)0) == SOLO5_R_EINVAL);

    /* Dirty the blocks first: init must set .tdata and zero .tbss. */
    for (size_t i = 0; i < sizeof block_a; i++)
        block_a[i] = block_b[i] = 0xee;
    CHECK(solo5_tls_init((uintptr_t)block_a) == SOLO5_R_OK);
    CHECK(solo5_tls_init((uintptr_t)block_b) == SOLO5_R_OK);

    use(block_a);
    CHECK(tdata_var == 0x1122334455667788ULL);
    CHECK(tbss_var == 0);
    for (int i = 0; i < 100; i++)
        CHECK(tbss_array[i] == 0);
    tdata_var = 0xaaaaaaaa00000001ULL;
    tbss_var = 1;
    tbss_array[99] = 0xa;

    use(block_b);
    CHECK(tdata_var == 0x1122334455667788ULL);
    CHECK(tbss_var == 0);
    CHECK(tbss_array[99] == 0);
    tdata_var = 0xbbbbbbbb00000002ULL;
    tbss_var = 2;
    tbss_array[99] = 0xb;

    for (int round = 0; round < 10; round++) {
        use(block_a);
        CHECK(tdata_var == 0xaaaaaaaa00000001ULL + (uint64_t)round);
        CHECK(tbss_var == 1 && tbss_array[99] == 0xa);
        tdata_var = tdata_var + 1;
        use(block_b);
        CHECK(tdata_var == 0xbbbbbbbb00000002ULL);
        CHECK(tbss_var == 2 && tbss_array[99] == 0xb);
    }

    /* The values live in the blocks we gave, nowhere else. */
    CHECK(holds(block_a, 0xaaaaaaaa00000001ULL + 10));
    CHECK(holds(block_b, 0xbbbbbbbb00000002ULL));
    CHECK(!holds(block_a, 0xbbbbbbbb00000002ULL));

    t_puts("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
