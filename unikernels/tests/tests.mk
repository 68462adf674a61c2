# ABI test guests: one folder per guest, unikernels/tests/NAME/NAME.c plus
# its manifest.json, linked to $(B)/unikernels/tests/NAME.spt against the
# spt bindings only (no libos). unikernels/tests/guests_test.go says how
# each must end.
TESTS_DIR := unikernels/tests
TEST_GUESTS := hello quiet globals time fpu tls blk net abort exception \
	zeropage seccomp syscall ssp
TEST_LIB_SRCS := $(TESTS_DIR)/lib/test.c

$(foreach g,$(TEST_GUESTS) wx lib,\
	$(eval EXTRA_CFLAGS_$(TESTS_DIR)/$(g)/ := -Werror -I$(TESTS_DIR)/lib))
$(foreach g,$(TEST_GUESTS),\
	$(eval $(call GUEST,$(B)/$(TESTS_DIR)/$(g).spt,$(TESTS_DIR)/$(g),$(TESTS_DIR)/$(g)/$(g).c $(TEST_LIB_SRCS))))

# These read the boot info (runnc/abi.h) for device fds and addresses.
$(B)/obj/$(TESTS_DIR)/syscall/syscall.o $(B)/obj/$(TESTS_DIR)/exception/exception.o \
	$(B)/obj/$(TESTS_DIR)/tls/tls.o: \
	$(B)/solo5/include/runnc/abi.h

# wx: the usual guest linker script with the text segment made writable
# too (FLAGS(7) = R+W+X). The tender must refuse it.
TEST_WX := $(B)/$(TESTS_DIR)/wx.spt
TEST_WX_LDS := $(B)/obj/$(TESTS_DIR)/wx/wx.lds
TEST_WX_OBJS := $(B)/obj/$(TESTS_DIR)/wx/wx.o $(B)/obj/$(TESTS_DIR)/lib/test.o \
	$(B)/obj/$(TESTS_DIR)/wx/manifest.o
$(TEST_WX_LDS): $(SOLO5_LDS)
	@mkdir -p $(dir $@)
	sed -E 's/^(\s*text\s+PT_LOAD\s+)FLAGS\(5\)/\1FLAGS(7)/' $< > $@.tmp
	@grep -Eq '^\s*text\s+PT_LOAD\s+FLAGS\(7\)' $@.tmp || \
		{ echo "$@: no 'text PT_LOAD FLAGS(5)' in $<" >&2; exit 1; }
	mv $@.tmp $@
$(TEST_WX): $(TEST_WX_OBJS) $(TEST_WX_LDS) $(SOLO5_TOOLCHAIN)
	@mkdir -p $(dir $@)
	$(CC) $(subst $(SOLO5_LDS),$(TEST_WX_LDS),$(GUEST_LDFLAGS)) \
		-Wl,--no-warn-rwx-segments -o $@ \
		$(SOLO5_SPT_O) $(TEST_WX_OBJS) -lgcc
EXTRA_ALL += $(TEST_WX)

.PHONY: test-guests
test-guests: $(B)/bin/runnc-spt $(patsubst %,$(B)/$(TESTS_DIR)/%.spt,$(TEST_GUESTS)) $(TEST_WX)
	$(GO) test -count=1 ./$(TESTS_DIR)/
