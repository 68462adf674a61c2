# The small C library of libos: string, ctype, stdlib (malloc, strto*,
# qsort), stdio (printf family on the console), time. Headers are in
# libos/include.
LIBOS_SRCS += $(wildcard libos/libc/*.c)

# Keep gcc from turning the loops of memcpy and memset into calls to
# memcpy and memset themselves.
EXTRA_CFLAGS_libos/libc/ := -fno-tree-loop-distribute-patterns

# A guest checking the library from the inside (libos/tests/libos_test.go).
$(eval $(call GUEST,$(B)/libos/tests/libctest.spt,libos/tests/libctest,libos/tests/libctest/main.c,$(LIBOS_A)))
