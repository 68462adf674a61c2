# The small C library of libos: string, ctype, stdlib (malloc, strto*,
# qsort), stdio (printf family on the console), time. Headers are in
# libos/include.
LIBOS_SRCS += $(wildcard libos/libc/*.c)

# Keep gcc from turning the loops of memcpy and memset into calls to
# memcpy and memset themselves.
EXTRA_CFLAGS_libos/libc/ := -fno-tree-loop-distribute-patterns

# A guest checking the library from the inside (libos/tests/libos_test.go).
$(eval $(call GUEST,$(B)/libos/tests/libctest.spt,libos/tests/libctest,libos/tests/libctest/main.c,$(LIBOS_A)))

# libos's strtod.c built for the host, its functions renamed libos_*, and
# a driver comparing them with glibc's strtold/strtod bit for bit
# (libos/tests/libos_test.go, TestStrtodGlibc).
STRTOD_HOST := $(B)/libos/tests/strtod_host
$(STRTOD_HOST): libos/tests/strtodhost/main.c libos/libc/strtod.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -c -o $@.o -Dstrtold=libos_strtold \
		-Dstrtod=libos_strtod -Dstrtof=libos_strtof -Datof=libos_atof \
		libos/libc/strtod.c
	$(CC) -std=gnu11 -O2 -Wall -o $@ libos/tests/strtodhost/main.c $@.o
EXTRA_ALL += $(STRTOD_HOST)
