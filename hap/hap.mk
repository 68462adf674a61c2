# hap: the tracer in runnc (runnc trace), the lab (make hap-lab: kernel
# functions in a VM booted from Debian's kernel) and the report
# (make hap-report: table, JSON and chart into docs/hap/).

.PHONY: hap-lab hap-report hap-gate
hap-lab: all
	bash hap/lab/lab.sh

# With make bench's output (build/bench.txt) the report adds the offload's
# trade-off (lab functions against throughput); README.md's lab table and
# trade-off blocks are rewritten from the same data.
hap-report:
	$(GO) run ./hap/report -in $(B)/hap -out docs/hap -bench $(B)/bench.txt -readme README.md

# The attack-profile gate alone (make test runs it too): the policies, the
# host workloads' syscalls, and the lab's kernel function counts against
# hap/baseline.json when build/hap holds lab results.
hap-gate: all
	$(GO) test -count=1 -run '^TestHAPGate$$' -v ./integration/
