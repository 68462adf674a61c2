# The ISO9660 (Rock Ridge) reader of libos, libos/include/libos/fs.h.
LIBOS_SRCS += $(wildcard libos/fs/*.c)

# A guest that lists and reads an image for libos/tests/libos_test.go.
$(eval $(call GUEST,$(B)/libos/tests/fstest.spt,libos/tests/fstest,libos/tests/fstest/main.c,$(LIBOS_A)))
