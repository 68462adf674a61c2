# kv: an in-memory key-value server speaking RESP (the Redis protocol) on
# libos (integration/kv_test.go, integration/kv_bench_test.go).
EXTRA_CFLAGS_unikernels/kv/ := -Werror
KV_SRCS := $(addprefix unikernels/kv/,main.c resp.c dict.c db.c list.c zset.c \
	util.c cmd.c cmd_server.c cmd_keys.c cmd_string.c cmd_list.c cmd_set.c \
	cmd_hash.c cmd_zset.c cmd_extra.c watch.c evict.c stream.c)
$(eval $(call GUEST,$(B)/unikernels/kv/kv.spt,unikernels/kv,$(KV_SRCS),$(LIBOS_A)))

.PHONY: test-kv
test-kv: $(B)/bin/runnc-spt $(B)/unikernels/kv/kv.spt
	$(GO) test -count=1 -v -run KV ./integration/
