# runnc: one way to build and test. `make` builds everything into build/,
# `make test` runs every test, `make demo` runs the quick-start demo,
# `make bench` prints benchmark ratios. Parts of the tree add their own
# rules in a */*.mk fragment included below.

SHELL := /bin/bash
.DEFAULT_GOAL := all
B := build
GO ?= go
CC := gcc
export GOFLAGS ?= -mod=mod

# --- guests (freestanding C on the Solo5 ABI) --------------------------------
LWIP_DIR := $(B)/src/lwip
LIBOS_A := $(B)/libos/libos.a
GCC_INC := $(shell $(CC) -print-file-name=include)
# The stack protector as upstream Solo5 builds apps: a global guard that
# the bindings set from the tender's entropy at boot.
SSP_CFLAGS := -fstack-protector-strong -mstack-protector-guard=global
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
	-ffreestanding $(SSP_CFLAGS) -fno-pie -fno-pic -mno-red-zone \
	-fno-omit-frame-pointer -nostdinc -isystem $(GCC_INC) \
	-I$(B)/solo5/include -Ilibos/include -Ilibos/lwip/include -I$(LWIP_DIR)/src/include
SOLO5_SPT_O := $(B)/solo5/lib/spt/solo5_spt.o
SOLO5_LDS := $(B)/solo5/lib/spt/solo5_spt.lds
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(SOLO5_LDS) \
	-Wl,-z,max-page-size=0x1000 -Wl,--build-id=none
MANIFEST_TOOL := $(B)/bin/runnc-manifest
SOLO5_TOOLCHAIN := $(SOLO5_SPT_O) $(SOLO5_LDS) $(MANIFEST_TOOL) \
	$(B)/solo5/include/solo5.h

# Objects follow their flags: a change of GUEST_CFLAGS or SPT_CFLAGS (as
# when the stack protector was turned on) rebuilds them in an old build/.
CFLAGS_STAMP := $(B)/obj/.cflags
$(CFLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(GUEST_CFLAGS) | $(SPT_CFLAGS)' | cmp -s - $@ || \
		echo '$(GUEST_CFLAGS) | $(SPT_CFLAGS)' > $@
.PHONY: FORCE

# Every guest object lives in $(B)/obj/ at its source path. It may
# include any of the toolchain's installed headers: all are prerequisites,
# so a parallel build from a clean tree never compiles before they exist.
GUEST_HEADERS = $(B)/solo5/include/solo5.h $(B)/solo5/include/runnc/abi.h \
	$(B)/solo5/include/runnc/net_offload.h $(B)/solo5/include/runnc/entropy.h
$(B)/obj/%.o: %.c $(GUEST_HEADERS) $(CFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) $(EXTRA_CFLAGS_$(dir $<)) -MMD -MP -c -o $@ $<
$(B)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<
# A folder's manifest.json becomes manifest.o (an ELF note) in its obj dir.
$(B)/obj/%/manifest.c: %/manifest.json $(MANIFEST_TOOL)
	@mkdir -p $(dir $@)
	$(MANIFEST_TOOL) gen $< $@
$(B)/obj/%/manifest.o: $(B)/obj/%/manifest.c $(CFLAGS_STAMP)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

# $(call GUEST,OUT,SRCDIR,SOURCES,EXTRA) links OUT from the objects of
# SOURCES (paths), SRCDIR/manifest.json and EXTRA (archives, after the objects).
define GUEST
$(1): $(patsubst %,$(B)/obj/%.o,$(basename $(3))) $(B)/obj/$(2)/manifest.o $(SOLO5_TOOLCHAIN) $(4)
	@mkdir -p $$(dir $$@)
	$(CC) $(GUEST_LDFLAGS) -o $$@ $(SOLO5_SPT_O) $(patsubst %,$(B)/obj/%.o,$(basename $(3))) $(B)/obj/$(2)/manifest.o $(4) -lgcc
ALL_GUESTS += $(1)
endef

# --- host tools (Go) -----------------------------------------------------------
GO_SRCS := $(shell find . -name '*.go' -not -path './build/*') go.mod
STUB := tender/stub/stub.elf
$(B)/bin/runnc-spt: $(GO_SRCS) $(STUB)
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/runnc-spt
# runnc links libcontainer's nsenter (cgo) and libseccomp for the CRI pod
# sandbox's linux.seccomp; the tender it starts stays static.
$(B)/bin/runnc: $(GO_SRCS)
	@mkdir -p $(dir $@)
	CGO_ENABLED=1 $(GO) build -tags seccomp -trimpath -ldflags '-s -w' -o $@ ./cmd/runnc
$(B)/bin/runnc-manifest: $(GO_SRCS)
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/runnc-manifest
# The demo's network namespace and tap, made by package netns.
$(B)/bin/runnc-netns: $(GO_SRCS)
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/runnc-netns

# The loader stub the tender execs into: static, freestanding, a few KB,
# linked far above any guest memory.
STUB_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Werror -ffreestanding -fno-stack-protector \
	-fpie -nostdinc -isystem $(GCC_INC) -Isolo5/include -fno-asynchronous-unwind-tables
$(STUB): tender/stub/stub.c tender/stub/plan.h
	$(CC) $(STUB_CFLAGS) -nostdlib -static -no-pie -Wl,-Ttext-segment=0x6f0000000000 \
		-Wl,--build-id=none -Wl,-z,noexecstack -Wl,-z,max-page-size=0x1000 -o $@ $< -lgcc
	strip $@

include $(sort $(wildcard */*.mk */*/*.mk))

# libos: fragments under libos/ add their sources to LIBOS_SRCS.
$(LIBOS_A): $(patsubst %,$(B)/obj/%.o,$(basename $(LIBOS_SRCS)))
	@mkdir -p $(dir $@)
	rm -f $@ && ar qcs $@ $^

# --- top-level targets -------------------------------------------------------
DEPS_STAMP := $(B)/.deps
$(DEPS_STAMP): scripts/deps.sh
	bash scripts/deps.sh
	@mkdir -p $(B) && touch $@
.PHONY: all deps test bench demo clean fuzz hostile-test install engine-test k8s-test
# Keep generated manifest.c files for debugging.
.PRECIOUS: $(B)/obj/%/manifest.c
deps: $(DEPS_STAMP)

all: $(DEPS_STAMP)
	$(MAKE) build-all
build-all: $(B)/bin/runnc-spt $(B)/bin/runnc-netns $(B)/bin/runnc $(SOLO5_TOOLCHAIN) $(ALL_GUESTS) $(EXTRA_ALL)

# The root check first: without root the deps step would fail later and
# less clearly.
test:
	@bash scripts/test.sh --check-root
	$(MAKE) all
	bash scripts/test.sh

# The long hostile-client runs (integration/hostile_long_test.go, several
# minutes): thousands of connections, curl churn.
hostile-test: all
	$(GO) test -count=1 -timeout 30m -tags hostile -run Hostile -v ./integration/

bench: all
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./integration/... | tee $(B)/bench.txt
	$(MAKE) images
	set -o pipefail; $(GO) test -tags engines -count=1 -run '^$$' -bench . -benchtime 1x ./integration/engines/ | tee -a $(B)/bench.txt

demo: all
	bash scripts/demo.sh

# runnc finds its tender next to itself.
PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/bin/runnc $(B)/bin/runnc-spt $(DESTDIR)$(PREFIX)/bin/

# The engine tests (integration/engines): real dockerd, containerd (CRI,
# ctr) and Podman, started and stopped by the tests; slow, so not in `test`.
engine-test: images
	$(GO) vet -tags engines ./integration/engines/
	set -o pipefail; $(GO) test -tags engines -count=1 -timeout 30m -v ./integration/engines/ 2>&1 | tee $(B)/engine-test.log

# The Kubernetes node test (integration/k8s): etcd, kube-apiserver,
# containerd and kubelet started and stopped by the test, the README's
# RuntimeClass and pod applied with kubectl. scripts/k8s-build.sh builds
# the Kubernetes binaries once into /var/cache/runnc (RUNNC_K8S_CACHE to
# move it; about 13 minutes on 2 cores the first time) and prints where.
K8S_DEPS_STAMP := $(B)/.k8s-deps
$(K8S_DEPS_STAMP): scripts/k8s-deps.sh scripts/k8s-packages.txt scripts/engine-packages.txt
	bash scripts/k8s-deps.sh
	@mkdir -p $(B) && touch $@
k8s-test: $(K8S_DEPS_STAMP) images
	$(GO) vet -tags k8s ./integration/k8s/
	set -o pipefail; bin=$$(bash scripts/k8s-build.sh | tail -1) && \
	RUNNC_K8S_BIN=$$bin $(GO) test -tags k8s -count=1 -timeout 20m -v ./integration/k8s/ 2>&1 | tee $(B)/k8s-test.log

# Every fuzzer for FUZZTIME each (default 10m): Go's, then the C targets
# of fuzz/fuzz.mk.
fuzz: all
	$(GO) test -run '^$$' -fuzz FuzzCheckELF -fuzztime $${FUZZTIME:-10m} -fuzzminimizetime 3s -timeout 0 ./tender/
	bash fuzz/run.sh

clean:
	rm -rf $(B) $(STUB)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
