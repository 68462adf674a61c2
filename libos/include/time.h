/*
 * time.h for libos guests. Clocks come from Solo5: CLOCK_REALTIME is the
 * host's wall clock, CLOCK_MONOTONIC counts from an unspecified point.
 * There are no time zones: local time is UTC.
 */
#ifndef _LIBOS_TIME_H
#define _LIBOS_TIME_H

#include <stddef.h>
#include <sys/types.h>

#define CLOCK_REALTIME      0
#define CLOCK_MONOTONIC     1
#define CLOCKS_PER_SEC      1000000L

typedef long clock_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

struct tm {
    int tm_sec;
    int tm_min;
    int tm_hour;
    int tm_mday;
    int tm_mon;         /* 0-11 */
    int tm_year;        /* years since 1900 */
    int tm_wday;        /* 0 = Sunday */
    int tm_yday;        /* 0-365 */
    int tm_isdst;
    long tm_gmtoff;
    const char *tm_zone;
};

time_t time(time_t *t);
int clock_gettime(clockid_t clk, struct timespec *ts);
/* Processor time: monotonic time since boot, the only CPU user. */
clock_t clock(void);
double difftime(time_t end, time_t start);
struct tm *gmtime_r(const time_t *restrict t, struct tm *restrict tm);
struct tm *gmtime(const time_t *t);
struct tm *localtime_r(const time_t *restrict t, struct tm *restrict tm);
struct tm *localtime(const time_t *t);
time_t timegm(struct tm *tm);
time_t mktime(struct tm *tm);
size_t strftime(char *restrict buf, size_t size, const char *restrict fmt,
        const struct tm *restrict tm);

#endif
