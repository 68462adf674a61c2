#!/usr/bin/env bash
# Fuzzes the C targets of fuzz/fuzz.mk one after another, each for
# FUZZTIME (as `go test -fuzztime`: 30s, 10m, 1h30m, or 1000x for a
# count of runs; default 10m). New inputs go to build/fuzz/work/NAME, crashes
# to build/fuzz/crash/NAME-*; the committed seeds in fuzz/corpus/NAME are
# read, never written. Usage: fuzz/run.sh [NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/fuzz
t=${FUZZTIME:-10m}
# A count of runs (1000x), or a duration in h, m and s (10m, 1m30s).
if [[ $t =~ ^([0-9]+)x$ ]]; then
	limit=(-runs="${BASH_REMATCH[1]}")
elif [[ $t =~ ^(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?$ && -n $t ]]; then
	limit=(-max_total_time=$((${BASH_REMATCH[2]:-0} * 3600 + ${BASH_REMATCH[4]:-0} * 60 + ${BASH_REMATCH[6]:-0})))
else
	echo "fuzz: FUZZTIME=$t: want a duration (30s, 10m, 1h30m) or a count (1000x)" >&2
	exit 2
fi
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
