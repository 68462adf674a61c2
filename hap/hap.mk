# hap: the tracer in runnc (runnc trace), the lab (make hap-lab: kernel
# functions in a VM booted from Debian's kernel) and the report
# (make hap-report: table, JSON and chart into docs/hap/).

.PHONY: hap-lab hap-report hap-gate
hap-lab: all
	bash hap/lab/lab.sh

hap-report:
	$(GO) run ./hap/report -in $(B)/hap -out docs/hap

# The attack-profile gate alone (make test runs it too): the policies, the
# host workloads' syscalls, and the lab's kernel function counts against
# hap/baseline.json when build/hap holds lab results.
hap-gate: all
	$(GO) test -count=1 -run '^TestHAPGate$$' -v ./integration/
