/*
 * libos: the library OS runnc unikernels are built on.
 *
 * libos owns solo5_app_main(): it sets up the heap, parses the Solo5
 * cmdline into argv, consumes its own options (below), brings up the
 * network interface if a NET_BASIC device named "service0" is in the
 * manifest and an address was given, and calls the app's
 *
 *     int main(int argc, char **argv);
 *
 * argv[0] is "unikernel"; the app sees only the arguments libos did not
 * consume. Returning from main() exits the unikernel with that status.
 *
 * libos options (anywhere on the cmdline, --opt=value form):
 *   --ipv4=ADDR/PREFIX      IPv4 address and prefix length of service0
 *   --ipv4-gateway=ADDR     default gateway
 *   --net=NAME              NET_BASIC device to use (default "service0")
 *   --mtu=N                 override the device MTU (default: from tender)
 */
#ifndef LIBOS_LIBOS_H
#define LIBOS_LIBOS_H

#include <stdint.h>
#include <stddef.h>

int main(int argc, char **argv);

/* Milliseconds of monotonic time since boot. */
uint64_t libos_now_ms(void);

/*
 * libos_now_ms() as of the start of the event loop's current round, read
 * once when solo5_yield() returned (lwIP's clock, sys_now, too); outside
 * the loop, the clock itself. Callbacks that need the time of the event
 * they handle should use it: each clock read is a system call, and a
 * round may deliver hundreds of segments. It lags the clock by at most
 * the time the round has run so far.
 */
uint64_t libos_round_ms(void);

/*
 * Run the event loop: poll the network, run lwIP timers, fire callbacks
 * (net.h) and timers. Returns only after libos_stop(), when there is
 * nothing left to wait for (no listener, no connection, no timer), or when
 * the network device failed for good (its tap was deleted): then every
 * connection is closed (closed() callbacks run), the failure is logged
 * once, and the unikernel exits with status 1 when main() returns.
 */
void libos_run(void);
void libos_stop(void);

/* A one-shot timer: fn(arg) runs from libos_run() after ms milliseconds. */
int libos_timer(uint64_t ms, void (*fn)(void *arg), void *arg);

/*
 * Random numbers from a ChaCha20 generator with fast key erasure, keyed at
 * boot by the tender's getrandom (runnc/entropy.h): fit for secrets,
 * tokens and hash seeds. Under a tender too old to pass a seed the clock
 * keys it, and libos says so on the console at boot.
 */
void libos_random(void *buf, size_t len);
uint32_t libos_rand32(void);
uint64_t libos_rand64(void);

/* Print to the console (printf-style). */
int libos_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
