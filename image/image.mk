# Image archives (`make images`, build/images/*.tar): the unikernels hello,
# abort, kv and httpd, and the non-unikernel peers busybox, redis and pause,
# written by image/mkimages with the image package (no docker build).
ENGINE_DEPS_STAMP := $(B)/.engine-deps
$(ENGINE_DEPS_STAMP): scripts/engine-deps.sh scripts/engine-packages.txt
	bash scripts/engine-deps.sh
	@mkdir -p $(B) && touch $@

$(B)/images/pause: image/pause/pause.c
	@mkdir -p $(dir $@)
	$(CC) -static -Os -Wall -Wextra -o $@ $<
	strip $@
$(B)/bin/mkimages: $(GO_SRCS)
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./image/mkimages
$(B)/images/.stamp: $(B)/bin/mkimages $(B)/images/pause $(ALL_GUESTS) $(ENGINE_DEPS_STAMP)
	$(B)/bin/mkimages -build $(B) -out $(B)/images -pause $(B)/images/pause
	@touch $@

.PHONY: images
images: all
	$(MAKE) $(B)/images/.stamp
