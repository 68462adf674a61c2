/* strings.h for libos guests. */
#ifndef _LIBOS_STRINGS_H
#define _LIBOS_STRINGS_H

#include <stddef.h>

int strcasecmp(const char *a, const char *b);
int strncasecmp(const char *a, const char *b, size_t n);
int ffs(int i);

#endif
