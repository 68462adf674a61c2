# hap: the tracer in runnc (runnc trace), the lab (make hap-lab: kernel
# functions in a VM booted from Debian's kernel) and the report
# (make hap-report: table, JSON and chart into docs/hap/).
$(B)/bin/runnc: $(GO_SRCS)
	@mkdir -p $(dir $@)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/runnc
EXTRA_ALL += $(B)/bin/runnc

.PHONY: hap-lab hap-report
hap-lab: all
	bash hap/lab/lab.sh
