/*
 * The binary ABI between the runnc-spt tender and the spt bindings.
 *
 * This is ours, not upstream Solo5's: apps never include it (they use
 * solo5.h). The tender fills a struct runnc_boot_info in guest memory and
 * jumps to the guest's entry point with
 *
 *   %rdi = guest address of the struct runnc_boot_info (read-only page),
 *   %rsp = heap_start + heap_size, 16-byte aligned (the initial stack),
 *   FS base = 0, signal handlers default, seccomp filter installed.
 *
 * Flags and features are additions within a version: a guest built before
 * RUNNC_BOOT_TLS_ARCH_PRCTL ignores it, a tender built before it never sets
 * it, and either way the guest falls back to what it did before. So is a
 * field appended in boot-page space older tenders leave zero, with a flag
 * that says it is filled (RUNNC_BOOT_RNG_SEED): an older guest never reads
 * it, a guest under an older tender finds the flag clear.
 *
 * The layout is fixed (little endian, x86_64) and mirrored in Go by
 * tender/layout.go; any change bumps RUNNC_ABI_VERSION. Guests carry the
 * version they were built for in a RUNNC_NOTE_ABI ELF note and a tender
 * refuses any other version.
 */
#ifndef RUNNC_ABI_H
#define RUNNC_ABI_H

#include <stdint.h>

#define RUNNC_ABI_VERSION       1
#define RUNNC_ABI_TARGET_SPT    1

/* ELF notes: name "RUNNC" (with NUL, 6 bytes), these types. */
#define RUNNC_NOTE_NAME         "RUNNC"
#define RUNNC_NOTE_ABI          1   /* desc: struct runnc_abi_note */
#define RUNNC_NOTE_MANIFEST     2   /* desc: struct runnc_manifest_note + entries */
#define RUNNC_NOTE_FEATURES     3   /* desc: uint32_t RUNNC_FEATURE_* */

/*
 * Features are additions within an ABI version: the bindings announce what
 * they handle in a RUNNC_NOTE_FEATURES note (older tenders skip it), and a
 * tender uses a feature only with guests that announce it, so guests built
 * before it keep working unchanged.
 */
#define RUNNC_FEATURE_VNET_HDR  (1u << 0)  /* RUNNC_DEVF_VNET_HDR understood */
/* The guest sets a TLS base with solo5_set_tls_base. A non-empty PT_TLS
 * segment says so too; a library OS that manages TLS blocks without
 * __thread variables of its own adds a features note with this bit, so
 * that on CPUs without FSGSBASE the tender allows arch_prctl(ARCH_SET_FS). */
#define RUNNC_FEATURE_TLS       (1u << 1)
/* The guest reads its NET devices with runnc_net_read_offload()
 * (runnc/net_offload.h): it takes frames of up to RUNNC_NET_TSO_MAX
 * bytes and TCP/UDP checksums the host left partial. A library OS says
 * so in its own features note; the bindings alone do not, since an app
 * reading with solo5_net_read() wants MTU-sized frames. */
#define RUNNC_FEATURE_VNET_RX   (1u << 2)

struct runnc_abi_note {
    uint32_t abi_version;           /* RUNNC_ABI_VERSION */
    uint32_t abi_target;            /* RUNNC_ABI_TARGET_SPT */
};

#define RUNNC_NAME_MAX          68  /* device name incl. NUL (67 chars) */
#define RUNNC_MAX_DEVICES       63  /* fits a solo5_handle_set_t */

#define RUNNC_DEV_NET_BASIC     1
#define RUNNC_DEV_BLOCK_BASIC   2

#define RUNNC_DEVF_READONLY     (1u << 0)  /* BLOCK: writes are refused */
/* NET: every frame read from or written to the tap starts with a 10-byte
 * struct virtio_net_hdr (IFF_VNET_HDR); unless RUNNC_DEVF_VNET_RX, the
 * tap's offloads towards the guest are off, so frames read are whole and
 * checksummed. Set only with
 * the tender's --net-offload and for guests with RUNNC_FEATURE_VNET_HDR. */
#define RUNNC_DEVF_VNET_HDR     (1u << 1)
/* NET, with RUNNC_DEVF_VNET_HDR: the tap's offloads towards the guest are
 * on (TUN_F_CSUM|TUN_F_TSO4): a frame read may be one TCP/IPv4 segment of
 * up to 64 KiB (the header's gso_type says so) and may carry a partial
 * checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM). Set only for guests with
 * RUNNC_FEATURE_VNET_RX; the bindings' solo5_net_read() still returns
 * only whole, checksummed frames within the MTU. */
#define RUNNC_DEVF_VNET_RX      (1u << 3)
/* BLOCK: besides single blocks anywhere, the filter allows one pread64 or
 * pwrite64 of any multiple of the block size up to runnc_block_io_max()
 * bytes at offsets up to capacity - runnc_block_io_max() (BPF cannot add
 * offset and count; the device's tail goes block by block). Without the
 * flag (an older tender), only single blocks. */
#define RUNNC_DEVF_BLOCK_IO     (1u << 2)
/* The largest such call, before the limits of a device's own block size
 * and capacity (runnc_block_io_max). */
#define RUNNC_BLOCK_IO_MAX      (64u * 1024)

#define RUNNC_MANIFEST_VERSION  1

struct runnc_manifest_entry {
    char name[RUNNC_NAME_MAX];      /* NUL-terminated, [a-zA-Z0-9_]+ */
    uint32_t type;                  /* RUNNC_DEV_* */
};                                  /* 72 bytes */

struct runnc_manifest_note {
    uint32_t version;               /* RUNNC_MANIFEST_VERSION */
    uint32_t entries;               /* <= RUNNC_MAX_DEVICES */
    struct runnc_manifest_entry e[];
};

/*
 * Every guest has a PT_INTERP naming this path, which cannot be a file (it
 * ends in a slash): the host kernel refuses to exec a guest directly
 * (ENOENT, or EACCES if someone made the directory) before any of its code
 * runs. The tender accepts this PT_INTERP and refuses every other.
 */
#define RUNNC_INTERP            "/nonexistent/runnc/"

/* Guest memory layout. */
#define RUNNC_GUEST_MIN_ADDR    0x10000UL   /* below: never mapped (NULL page) */
#define RUNNC_BOOT_INFO_ADDR    0x10000UL   /* read-only for the guest */
#define RUNNC_CMDLINE_ADDR      0x12000UL
#define RUNNC_CMDLINE_MAX       8192
#define RUNNC_GUEST_BASE        0x100000UL  /* guests are linked here */

#define RUNNC_BOOT_MAGIC        0x6f6f62636e6e7572ULL  /* "runncboo" */
#define RUNNC_BOOT_FSGSBASE     (1u << 0)  /* wrfsbase usable (AT_HWCAP2) */
/* No FSGSBASE, and the guest uses TLS: the filter allows
 * arch_prctl(ARCH_SET_FS, addr) for addr < mem_size. With neither flag a
 * guest cannot set a TLS base (solo5_set_tls_base returns EUNSPEC). */
#define RUNNC_BOOT_TLS_ARCH_PRCTL (1u << 1)
/* rng_seed is the guest address of RUNNC_RNG_SEED_SIZE bytes of the
 * tender's getrandom, drawn apart from the stack guard's (entropy), for
 * the guest's random number generator (runnc/entropy.h). They lie in
 * writable guest memory above the initial stack (heap_start + heap_size
 * <= rng_seed, rng_seed + RUNNC_RNG_SEED_SIZE <= mem_size), so that the
 * bindings can wipe them once taken. A tender before it leaves the flag
 * and the field zero; a guest before it ignores both (its heap is a few
 * bytes smaller). */
#define RUNNC_BOOT_RNG_SEED     (1u << 2)
#define RUNNC_RNG_SEED_SIZE     32

struct runnc_device {               /* 128 bytes */
    char name[RUNNC_NAME_MAX];      /*   0 */
    uint32_t type;                  /*  68 RUNNC_DEV_* */
    int32_t fd;                     /*  72 host fd (tap or block file) */
    uint32_t flags;                 /*  76 RUNNC_DEVF_* */
    uint8_t mac[8];                 /*  80 NET: guest MAC (6 bytes used) */
    uint64_t mtu;                   /*  88 NET: without Ethernet header */
    uint64_t capacity;              /*  96 BLOCK: bytes */
    uint64_t block_size;            /* 104 BLOCK: bytes */
    uint64_t reserved1[2];          /* 112 */
};

struct runnc_boot_info {            /* 8136 bytes */
    uint64_t magic;                 /*  0 RUNNC_BOOT_MAGIC */
    uint32_t abi_version;           /*  8 */
    uint32_t flags;                 /* 12 RUNNC_BOOT_* */
    uint64_t cmdline;               /* 16 guest address, NUL-terminated */
    uint64_t mem_size;              /* 24 top of guest memory */
    uint64_t heap_start;            /* 32 */
    uint64_t heap_size;             /* 40 stack grows down from the end */
    uint32_t ndevices;              /* 48 */
    uint32_t reserved0;             /* 52 */
    uint64_t entropy;               /* 56 random bits for the stack protector
                                       guard only (0 from tenders before it) */
    struct runnc_device devices[RUNNC_MAX_DEVICES]; /* 64, in manifest order */
    uint64_t rng_seed;              /* 8128 with RUNNC_BOOT_RNG_SEED: address */
};

#endif
