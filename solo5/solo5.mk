# The Solo5-style guest toolchain: headers, spt bindings, linker script,
# installed into $(B)/solo5 for apps in this tree and for users' own.
SPT_SRCS := $(wildcard solo5/bindings/spt/*.c)
SPT_OBJS := $(patsubst solo5/bindings/spt/%.c,$(B)/solo5/obj/%.o,$(SPT_SRCS))
SPT_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding \
	$(SSP_CFLAGS) -fno-pie -fno-pic -mno-red-zone \
	-fno-tree-loop-distribute-patterns -nostdinc -isystem $(GCC_INC) \
	-Isolo5/include

$(B)/solo5/obj/%.o: solo5/bindings/spt/%.c solo5/bindings/spt/spt.h solo5/include/solo5.h solo5/include/runnc/abi.h solo5/include/runnc/net_offload.h solo5/include/runnc/entropy.h $(CFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(SPT_CFLAGS) -c -o $@ $<
# start.c sets the stack protector's guard: nothing in it may check one.
$(B)/solo5/obj/start.o: SPT_CFLAGS += -fno-stack-protector
$(SOLO5_SPT_O): $(SPT_OBJS)
	@mkdir -p $(dir $@)
	ld -r -o $@ $^
$(SOLO5_LDS): solo5/bindings/spt/solo5_spt.lds
	@mkdir -p $(dir $@)
	cp $< $@
$(B)/solo5/include/%.h: solo5/include/%.h
	@mkdir -p $(dir $@)
	cp $< $@
EXTRA_ALL += $(B)/solo5/include/runnc/abi.h $(B)/solo5/include/runnc/net_offload.h \
	$(B)/solo5/include/runnc/entropy.h
