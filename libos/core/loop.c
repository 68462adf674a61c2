/*
 * The event loop: network input, lwIP timers, libos timers, deferred
 * connection work, then sleep in solo5_yield() until the next deadline
 * or until a frame arrives.
 */
#include <stdlib.h>
#include <solo5.h>
#include <libos/libos.h>
#include "lwip/timeouts.h"
#include "libos_priv.h"

/* Frames handled per round before timers and deferred work run again. */
#define RX_BUDGET       128
/* Longest sleep, so that nothing waits on a lost wakeup for long. */
#define MAX_SLEEP_MS    100

struct timer {
    struct timer *next;
    uint64_t due_ms;
    void (*fn)(void *arg);
    void *arg;
};

static struct timer *timers;    /* sorted by due_ms */
static int stopping;

int libos_timer(uint64_t ms, void (*fn)(void *arg), void *arg)
{
    struct timer *t = malloc(sizeof *t);
    if (t == NULL)
        return -1;
    t->due_ms = libos_now_ms() + ms;
    t->fn = fn;
    t->arg = arg;
    struct timer **pp = &timers;
    /* After timers due at the same time: they fire in creation order. */
    while (*pp && (*pp)->due_ms <= t->due_ms)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    return 0;
}

/* Fires the timers due now; ones they add for "now" wait a round. */
static void run_timers(void)
{
    uint64_t now = libos_now_ms();
    struct timer *due = NULL, **tail = &due;

    while (timers && timers->due_ms <= now) {
        *tail = timers;
        tail = &timers->next;
        timers = timers->next;
    }
    *tail = NULL;
    while (due) {
        struct timer *t = due;
        due = t->next;
        t->fn(t->arg);
        free(t);
    }
}

void libos_stop(void)
{
    stopping = 1;
}

void libos_run(void)
{
    int net = libos_netif_ready();

    stopping = 0;
    while (!stopping) {
        int more = 0;
        if (net) {
            int n = libos_netif_poll(RX_BUDGET);
            if (n < 0) {
                /* The device is gone: let the closed() callbacks of the
                 * connections it took along run, then return. */
                while (libos_tcp_service())
                    ;
                break;
            }
            if (n == RX_BUDGET)
                more = 1;
            sys_check_timeouts();
        }
        run_timers();
        if (net && libos_tcp_service())
            more = 1;
        if (stopping)
            break;
        if (!timers && !(net && libos_tcp_busy()))
            break;

        /* Sleep until the nearest deadline, or just poll if work is left. */
        uint64_t now = libos_now_ms();
        uint64_t sleep_ms = MAX_SLEEP_MS;
        if (more) {
            sleep_ms = 0;
        } else {
            if (net) {
                u32_t t = sys_timeouts_sleeptime();
                if (t != SYS_TIMEOUTS_SLEEPTIME_INFINITE && t < sleep_ms)
                    sleep_ms = t;
            }
            if (timers) {
                uint64_t t = timers->due_ms > now ? timers->due_ms - now : 0;
                if (t < sleep_ms)
                    sleep_ms = t;
            }
        }
        solo5_handle_set_t ready = 0;
        solo5_yield(libos_now_ns() + sleep_ms * 1000000, &ready);
    }
}
