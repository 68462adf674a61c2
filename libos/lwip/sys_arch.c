/*
 * lwIP's system hooks under NO_SYS=1: only the millisecond clock.
 */
#include "lwip/opt.h"
#include "lwip/sys.h"
#include <libos/libos.h>

/* Wraps after 49 days; lwIP compares times modulo 2^32. The time a round
 * of the event loop began: lwIP asks many times per round. */
u32_t sys_now(void)
{
    return (u32_t)libos_round_ms();
}
