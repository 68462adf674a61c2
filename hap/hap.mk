# hap: the tracer in runnc (runnc trace), the lab (make hap-lab: kernel
# functions in a VM booted from Debian's kernel) and the report
# (make hap-report: table, JSON and chart into docs/hap/).

.PHONY: hap-lab hap-report
hap-lab: all
	bash hap/lab/lab.sh
