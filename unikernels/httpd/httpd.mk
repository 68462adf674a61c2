# httpd: an HTTP/1.1 static file server on libos, serving the rootfs image
# (integration/httpd_test.go, integration/httpd_bench_test.go).
EXTRA_CFLAGS_unikernels/httpd/ := -Werror
HTTPD_SRCS := $(addprefix unikernels/httpd/,httpd.c request.c mime.c cache.c)
$(eval $(call GUEST,$(B)/unikernels/httpd/httpd.spt,unikernels/httpd,$(HTTPD_SRCS),$(LIBOS_A)))

.PHONY: test-httpd
test-httpd: $(B)/bin/runnc-spt $(B)/unikernels/httpd/httpd.spt
	$(GO) test -count=1 -v -run HTTPD ./integration/
