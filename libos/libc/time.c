/*
 * time.h and sys/time.h on Solo5's clocks. There are no time zones:
 * local time is UTC.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "solo5.h"

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    solo5_time_t ns;

    if (clk == CLOCK_REALTIME)
        ns = solo5_clock_wall();
    else if (clk == CLOCK_MONOTONIC)
        ns = solo5_clock_monotonic();
    else {
        errno = EINVAL;
        return -1;
    }
    ts->tv_sec = (time_t)(ns / 1000000000ULL);
    ts->tv_nsec = (long)(ns % 1000000000ULL);
    return 0;
}

time_t time(time_t *t)
{
    time_t now = (time_t)(solo5_clock_wall() / 1000000000ULL);

    if (t)
        *t = now;
    return now;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    solo5_time_t ns = solo5_clock_wall();

    (void)tz;
    tv->tv_sec = (time_t)(ns / 1000000000ULL);
    tv->tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000);
    return 0;
}

clock_t clock(void)
{
    static solo5_time_t start;
    solo5_time_t now = solo5_clock_monotonic();

    if (!start)
        start = now;
    return (clock_t)((now - start) / 1000);
}

double difftime(time_t end, time_t start)
{
    return (double)(end - start);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;                                   /* 0-399 */
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0-365 */
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct tm *gmtime_r(const time_t *restrict t, struct tm *restrict tm)
{
    long secs = *t, days = secs / 86400, rem = secs % 86400;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    tm->tm_hour = (int)(rem / 3600);
    tm->tm_min = (int)(rem / 60 % 60);
    tm->tm_sec = (int)(rem % 60);
    tm->tm_wday = (int)((days % 7 + 11) % 7);  /* 1970-01-01 was Thursday */

    /* Inverse of days_from_civil, in 400-year eras from 0000-03-01. */
    long z = days + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    long y = yoe + era * 400 + (m <= 2);

    tm->tm_year = (int)(y - 1900);
    tm->tm_mon = m - 1;
    tm->tm_mday = d;
    tm->tm_yday = (int)(days - days_from_civil(y, 1, 1));
    tm->tm_isdst = 0;
    tm->tm_gmtoff = 0;
    tm->tm_zone = "UTC";
    return tm;
}

struct tm *gmtime(const time_t *t)
{
    static struct tm tm;

    return gmtime_r(t, &tm);
}

struct tm *localtime_r(const time_t *restrict t, struct tm *restrict tm)
{
    return gmtime_r(t, tm);
}

struct tm *localtime(const time_t *t)
{
    return gmtime(t);
}

/* Seconds since the epoch of a UTC (tm); out-of-range fields carry over,
 * and (tm) is normalised as mktime() does. */
time_t timegm(struct tm *tm)
{
    long mon = tm->tm_mon, year = tm->tm_year + 1900L;

    year += mon / 12;
    mon %= 12;
    if (mon < 0) {
        mon += 12;
        year--;
    }
    time_t t = (time_t)(days_from_civil(year, (int)mon + 1, 1)
            + tm->tm_mday - 1) * 86400
            + tm->tm_hour * 3600L + tm->tm_min * 60L + tm->tm_sec;
    gmtime_r(&t, tm);
    return t;
}

time_t mktime(struct tm *tm)
{
    return timegm(tm);
}

static const char *const wday_names[] = {
    "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday",
};
static const char *const mon_names[] = {
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
};

static const char *name_of(const char *const *names, int i, int n)
{
    return i >= 0 && i < n ? names[i] : "?";
}

size_t strftime(char *restrict buf, size_t size, const char *restrict fmt,
        const struct tm *restrict tm)
{
    size_t len = 0;

    for (; *fmt; fmt++) {
        char tmp[64];
        const char *s = tmp;
        size_t n;

        if (*fmt != '%') {
            tmp[0] = *fmt;
            tmp[1] = '\0';
        } else {
            switch (*++fmt) {
            case 'a':
                snprintf(tmp, sizeof(tmp), "%.3s",
                        name_of(wday_names, tm->tm_wday, 7));
                break;
            case 'A':
                s = name_of(wday_names, tm->tm_wday, 7);
                break;
            case 'b':
            case 'h':
                snprintf(tmp, sizeof(tmp), "%.3s",
                        name_of(mon_names, tm->tm_mon, 12));
                break;
            case 'B':
                s = name_of(mon_names, tm->tm_mon, 12);
                break;
            case 'c':
                snprintf(tmp, sizeof(tmp), "%.3s %.3s %2d %02d:%02d:%02d %ld",
                        name_of(wday_names, tm->tm_wday, 7),
                        name_of(mon_names, tm->tm_mon, 12), tm->tm_mday,
                        tm->tm_hour, tm->tm_min, tm->tm_sec,
                        tm->tm_year + 1900L);
                break;
            case 'C':
                snprintf(tmp, sizeof(tmp), "%02ld", (tm->tm_year + 1900L) / 100);
                break;
            case 'd':
                snprintf(tmp, sizeof(tmp), "%02d", tm->tm_mday);
                break;
            case 'D':
                snprintf(tmp, sizeof(tmp), "%02d/%02d/%02ld", tm->tm_mon + 1,
                        tm->tm_mday, (tm->tm_year + 1900L) % 100);
                break;
            case 'e':
                snprintf(tmp, sizeof(tmp), "%2d", tm->tm_mday);
                break;
            case 'F':
                snprintf(tmp, sizeof(tmp), "%ld-%02d-%02d",
                        tm->tm_year + 1900L, tm->tm_mon + 1, tm->tm_mday);
                break;
            case 'H':
                snprintf(tmp, sizeof(tmp), "%02d", tm->tm_hour);
                break;
            case 'I':
                snprintf(tmp, sizeof(tmp), "%02d",
                        tm->tm_hour % 12 ? tm->tm_hour % 12 : 12);
                break;
            case 'j':
                snprintf(tmp, sizeof(tmp), "%03d", tm->tm_yday + 1);
                break;
            case 'm':
                snprintf(tmp, sizeof(tmp), "%02d", tm->tm_mon + 1);
                break;
            case 'M':
                snprintf(tmp, sizeof(tmp), "%02d", tm->tm_min);
                break;
            case 'n':
                s = "\n";
                break;
            case 'p':
                s = tm->tm_hour < 12 ? "AM" : "PM";
                break;
            case 'R':
                snprintf(tmp, sizeof(tmp), "%02d:%02d", tm->tm_hour,
                        tm->tm_min);
                break;
            case 's': {
                struct tm copy = *tm;
                snprintf(tmp, sizeof(tmp), "%ld", (long)timegm(&copy));
                break;
            }
            case 'S':
                snprintf(tmp, sizeof(tmp), "%02d", tm->tm_sec);
                break;
            case 't':
                s = "\t";
                break;
            case 'T':
                snprintf(tmp, sizeof(tmp), "%02d:%02d:%02d", tm->tm_hour,
                        tm->tm_min, tm->tm_sec);
                break;
            case 'u':
                snprintf(tmp, sizeof(tmp), "%d",
                        tm->tm_wday ? tm->tm_wday : 7);
                break;
            case 'w':
                snprintf(tmp, sizeof(tmp), "%d", tm->tm_wday);
                break;
            case 'y':
                snprintf(tmp, sizeof(tmp), "%02ld",
                        (tm->tm_year + 1900L) % 100);
                break;
            case 'Y':
                snprintf(tmp, sizeof(tmp), "%ld", tm->tm_year + 1900L);
                break;
            case 'z':
                s = "+0000";
                break;
            case 'Z':
                s = "UTC";
                break;
            case '%':
                s = "%";
                break;
            default:
                /* Unknown: copy "%x" as written (or a lone '%' at the end). */
                tmp[0] = '%';
                tmp[1] = *fmt;
                tmp[2] = '\0';
                if (!*fmt)
                    fmt--;
                break;
            }
        }
        n = strlen(s);
        if (len + n >= size)
            return 0;
        memcpy(buf + len, s, n);
        len += n;
    }
    if (len >= size)
        return 0;
    buf[len] = '\0';
    return len;
}
