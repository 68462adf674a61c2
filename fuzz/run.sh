#!/usr/bin/env bash
# Fuzzes the C targets of fuzz/fuzz.mk one after another, each for
# FUZZTIME (as `go test -fuzztime`: 30s, 10m, 1h, or 1000x for a count
# of runs; default 10m). New inputs go to build/fuzz/work/NAME, crashes
# to build/fuzz/crash/NAME-*; the committed seeds in fuzz/corpus/NAME are
# read, never written. Usage: fuzz/run.sh [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/fuzz
t=${FUZZTIME:-10m}
case $t in
*x) limit=(-runs="${t%x}") ;;
*s) limit=(-max_total_time="${t%s}") ;;
*m) limit=(-max_total_time=$((${t%m} * 60))) ;;
*h) limit=(-max_total_time=$((${t%h} * 3600))) ;;
*) echo "fuzz: FUZZTIME=$t: want a duration (30s, 10m, 1h) or a count (1000x)" >&2; exit 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kv_resp httpd_request iso9660 tcp_sack)

for name in "${targets[@]}"; do
	work=$bin/work/$name
	mkdir -p "$work" "$bin/crash"
	seeds=(fuzz/corpus/"$name")
	[ -d "$bin/corpus/$name" ] && seeds+=("$bin/corpus/$name")
	echo "fuzz: $name for $t"
	"$bin/$name" "${limit[@]}" -print_final_stats=1 \
		-artifact_prefix="$bin/crash/$name-" "$work" "${seeds[@]}"
done
