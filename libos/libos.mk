# libos core, the lwIP port and the TCP API; lwIP's own sources come from
# Debian at build time (scripts/fetch-lwip.sh) into $(LWIP_DIR).

LWIP_STAMP := $(B)/src/lwip.stamp
$(LWIP_STAMP): scripts/fetch-lwip.sh
	bash scripts/fetch-lwip.sh
	touch $@

# IPv4, ARP, ICMP, UDP, TCP on Ethernet; NO_SYS=1, raw API only.
LWIP_SRCS := $(addprefix $(LWIP_DIR)/src/, \
	core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c \
	core/memp.c core/netif.c core/pbuf.c core/tcp.c core/tcp_in.c \
	core/tcp_out.c core/timeouts.c core/udp.c \
	core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c \
	core/ipv4/ip4_addr.c core/ipv4/ip4_frag.c \
	netif/ethernet.c)
# lwIP's TCP timer runs while these lists are non-empty; we run it only
# while a connection has something timed (libos_tcp_timer, net/tcp.c).
$(B)/obj/$(LWIP_DIR)/src/core/timeouts.o: EXTRA_CFLAGS_$(LWIP_DIR)/src/core/ := \
	-Dtcp_active_pcbs=libos_tcp_timed -Dtcp_tw_pcbs=libos_tcp_timed
$(B)/obj/$(LWIP_DIR)/src/core/timeouts.o: libos/libos.mk
# The sources appear when the stamp is made.
$(LWIP_SRCS): $(LWIP_STAMP) ;

LIBOS_CORE_SRCS := libos/core/main.c libos/core/loop.c libos/core/sys.c \
	libos/core/random.c libos/core/chacha20.c \
	libos/lwip/sys_arch.c libos/net/netif.c libos/net/tcp.c
LIBOS_SRCS += $(LIBOS_CORE_SRCS) $(LWIP_SRCS)

# Our sources include lwIP's headers.
$(patsubst %.c,$(B)/obj/%.o,$(LIBOS_CORE_SRCS)): | $(LWIP_STAMP)

# libos's ChaCha20 built for the host, for a comparison with Go's
# golang.org/x/crypto/chacha20 (libos/tests/libos_test.go, TestChaCha20).
CHACHA_HOST := $(B)/libos/tests/chacha_host
$(CHACHA_HOST): libos/tests/chachahost/main.c libos/core/chacha20.c libos/core/chacha20.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ libos/tests/chachahost/main.c libos/core/chacha20.c
EXTRA_ALL += $(CHACHA_HOST)
