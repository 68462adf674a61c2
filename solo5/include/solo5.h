/*
 * solo5.h: the guest API of runnc unikernels.
 *
 * Source-compatible with upstream Solo5 0.6 and later: the same functions,
 * types, constants and semantics, so an application written for upstream
 * Solo5 compiles unchanged against this header and links against runnc's
 * spt bindings (solo5_spt.o). See README.md, "Build your own unikernel".
 *
 * Calling a device function with a handle that was not acquired, or on a
 * device missing from the manifest, aborts the application.
 */
#ifndef SOLO5_H_INCLUDED
#define SOLO5_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Results of the calls returning solo5_result_t. */
typedef enum {
    SOLO5_R_OK = 0,     /* done */
    SOLO5_R_AGAIN,      /* nothing now; an identical later call may succeed */
    SOLO5_R_EINVAL,     /* invalid argument */
    SOLO5_R_EUNSPEC     /* failed for another reason */
} solo5_result_t;

/*
 * Entry point. (*info) is read-only start-of-day data. The heap is the
 * single read/write, non-executable region [heap_start, heap_start +
 * heap_size); the initial stack grows down from its end. Returning from
 * solo5_app_main() is solo5_exit(<return value>).
 */
struct solo5_start_info {
    const char *cmdline;
    uintptr_t heap_start;
    size_t heap_size;
};

int solo5_app_main(const struct solo5_start_info *info);

/* Exit statuses; 255 and above are reserved for Solo5. */
#define SOLO5_EXIT_SUCCESS      0
#define SOLO5_EXIT_FAILURE      1
#define SOLO5_EXIT_ABORT        255

void solo5_exit(int status) __attribute__((noreturn));
void solo5_abort(void) __attribute__((noreturn));

/*
 * Thread-local storage, local-exec model only:
 *   tls = calloc(solo5_tls_size(), 1);
 *   solo5_tls_init(tls);
 *   solo5_set_tls_base(solo5_tls_tp_offset(tls));
 */
size_t solo5_tls_size(void);
uintptr_t solo5_tls_tp_offset(uintptr_t tls);
solo5_result_t solo5_tls_init(uintptr_t tls);
solo5_result_t solo5_set_tls_base(uintptr_t base);

/* Time, in nanoseconds. */
typedef uint64_t solo5_time_t;

/* Monotonic time since an unspecified point in the past. */
solo5_time_t solo5_clock_monotonic(void);
/* Wall clock time (UTC) since the UNIX epoch. */
solo5_time_t solo5_clock_wall(void);

/* I/O handles, and sets of up to 64 of them (bit n is handle n). */
typedef uint64_t solo5_handle_t;
typedef uint64_t solo5_handle_set_t;

/*
 * Sleep until monotonic time reaches (deadline) or a network device has
 * input. If (ready_set) is not NULL it receives the handles ready for input.
 */
void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set);

/* Best-effort console output. */
void solo5_console_write(const char *buf, size_t size);

/* Network devices. */
#define SOLO5_NET_ALEN          6   /* Ethernet address length */
#define SOLO5_NET_HLEN          14  /* Ethernet header length */

struct solo5_net_info {
    uint8_t mac_address[SOLO5_NET_ALEN];
    size_t mtu;                 /* not including the Ethernet header */
};

/* Acquire the NET_BASIC device (name) of the manifest; once per name. */
solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
        struct solo5_net_info *info);
/* Send one frame (with Ethernet header, at most mtu + SOLO5_NET_HLEN bytes)
 * without blocking; dropped silently if the host has no room. */
solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf,
        size_t size);
/* Receive one frame without blocking; SOLO5_R_AGAIN if none.
 * (size) must be at least mtu + SOLO5_NET_HLEN. */
solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf,
        size_t size, size_t *read_size);

/* Block devices. Offsets are in bytes. */
typedef uint64_t solo5_off_t;

struct solo5_block_info {
    solo5_off_t capacity;       /* bytes */
    solo5_off_t block_size;     /* the unit of I/O, bytes */
};

/* Acquire the BLOCK_BASIC device (name) of the manifest; once per name. */
solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
        struct solo5_block_info *info);
/* Write or read whole blocks: (size) a nonzero multiple of block_size,
 * (offset) a multiple of it, [offset, offset + size) inside the device;
 * otherwise SOLO5_R_EINVAL. (Upstream's implementations take one block
 * at a time; the spt bindings make one host call per 64 KiB.) */
solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
        const uint8_t *buf, size_t size);
solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
        uint8_t *buf, size_t size);

#endif
