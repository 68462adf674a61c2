# Fuzz targets for the C that parses hostile input, built for the host
# with clang's libFuzzer, AddressSanitizer and UBSan from the guests' own
# sources (fuzz/targets/shim.c stands in for libos and Solo5):
#   kv_resp        kv's RESP parser, through main.c's input buffering
#   httpd_request  httpd's request parser and path decoding
#   iso9660        the ISO9660 / Rock Ridge reader over an image in memory
#   tcp_sack       the TCP option walk reading SACK blocks
# `make test` runs each over its seed corpus (fuzz/fuzz_test.go);
# `make fuzz` fuzzes each for FUZZTIME (fuzz/run.sh).

FUZZ_CC := clang
FUZZ_BIN := $(B)/fuzz
FUZZ_TARGETS := kv_resp httpd_request iso9660 tcp_sack
# libos's own headers without its libc (the host's is used).
FUZZ_INC := $(FUZZ_BIN)/include
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-unused-parameter \
	-Wno-sign-compare -Wno-macro-redefined \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I$(FUZZ_INC) -I$(B)/solo5/include
FUZZ_COMMON := fuzz/targets/shim.c fuzz/targets/shim.h libos/core/sys.c $(FUZZ_INC)/libos $(B)/solo5/include/solo5.h

$(FUZZ_INC)/libos:
	@mkdir -p $(dir $@)
	ln -sfn $(abspath libos/include/libos) $@

# $(call FUZZ_TARGET,NAME,SOURCES,DEPS,FLAGS) links $(FUZZ_BIN)/NAME from
# fuzz/targets/NAME.c, the shim, libos's console and clock, and SOURCES; DEPS are the files it
# includes (the guest sources whose statics it reaches).
define FUZZ_TARGET
$(FUZZ_BIN)/$(1): fuzz/targets/$(1).c $(2) $(3) $(FUZZ_COMMON)
	@mkdir -p $$(dir $$@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(4) -o $$@ fuzz/targets/$(1).c fuzz/targets/shim.c \
		libos/core/sys.c $(2)
endef

$(eval $(call FUZZ_TARGET,kv_resp,fuzz/targets/shim_conn.c unikernels/kv/resp.c \
	unikernels/kv/util.c,unikernels/kv/main.c unikernels/kv/kv.h fuzz/targets/shim_conn.h))
$(eval $(call FUZZ_TARGET,httpd_request,fuzz/targets/shim_conn.c \
	unikernels/httpd/request.c unikernels/httpd/mime.c \
	unikernels/httpd/cache.c libos/fs/iso9660.c,unikernels/httpd/httpd.c \
	unikernels/httpd/httpd.h fuzz/targets/shim_conn.h))
$(eval $(call FUZZ_TARGET,iso9660,,libos/fs/iso9660.c))
# lwIP's headers come with libos/libos.mk's LWIP_STAMP, named here by its
# path: that fragment is read after this one.
$(eval $(call FUZZ_TARGET,tcp_sack,,libos/net/tcp.c $(B)/src/lwip.stamp,\
	-Ilibos/lwip/include -I$(LWIP_DIR)/src/include))

# The ISO seeds are images genisoimage makes of small trees, from sector
# 16 on (fuzz/targets/iso9660.c supplies the system area).
FUZZ_ISO_SEEDS := $(FUZZ_BIN)/corpus/iso9660
$(FUZZ_ISO_SEEDS).stamp: fuzz/iso-seeds.sh
	bash fuzz/iso-seeds.sh $(FUZZ_ISO_SEEDS)
	touch $@

FUZZ_ALL := $(addprefix $(FUZZ_BIN)/,$(FUZZ_TARGETS)) $(FUZZ_ISO_SEEDS).stamp
EXTRA_ALL += $(FUZZ_ALL)
