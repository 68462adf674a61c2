/* sys/time.h for libos guests. */
#ifndef _LIBOS_SYS_TIME_H
#define _LIBOS_SYS_TIME_H

#include <sys/types.h>

struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};

/* tz must be NULL: there are no time zones. */
int gettimeofday(struct timeval *restrict tv, void *restrict tz);

#endif
