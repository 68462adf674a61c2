# echo: a TCP echo unikernel on libos (guest/), the network stack's own
# test (echo_test.go; the C lives in a subfolder because Go refuses .c
# files beside a non-cgo package).
EXTRA_CFLAGS_unikernels/echo/guest/ := -Werror
$(eval $(call GUEST,$(B)/unikernels/echo/echo.spt,unikernels/echo/guest,unikernels/echo/guest/echo.c,$(LIBOS_A)))

.PHONY: test-echo
test-echo: $(B)/bin/runnc-spt $(B)/unikernels/echo/echo.spt
	$(GO) test -count=1 -v ./unikernels/echo/
