#!/usr/bin/env bash
# The quick-start demo: the kv unikernel under runnc-spt on a tap in a fresh
# network namespace, and Debian's redis-cli and redis-benchmark talking to
# it. Removes everything it made, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
spt=build/bin/runnc-spt
netns=build/bin/runnc-netns  # package netns for this script
kv=build/unikernels/kv/kv.spt
ns=runnc-demo-$$
guest_ip=10.0.0.2
pid=

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	[ -e "/run/netns/$ns" ] && "$netns" del "$ns" || true
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

"$netns" add "$ns" tap0 10.0.0.1/24

step "the seccomp policy runnc-spt installs for this guest"
"$netns" exec "$ns" "$spt" --print-filter --net:service0=tap0 "$kv"

step "start: runnc-spt --net:service0=tap0 kv.spt --ipv4=$guest_ip/24 (in netns $ns)"
"$netns" exec "$ns" "$spt" --net:service0=tap0 "$kv" --ipv4=$guest_ip/24 --ipv4-gateway=10.0.0.1 \
	> build/demo-guest.log 2>&1 &
pid=$!
for i in $(seq 100); do
	"$netns" exec "$ns" redis-cli -h $guest_ip ping >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat build/demo-guest.log; exit 1; }
	sleep 0.1
done
grep -E '^(Name|Threads|Seccomp):' /proc/$pid/status

step "redis-cli talks to the unikernel"
cli() { echo "\$ redis-cli $*"; "$netns" exec "$ns" redis-cli -h $guest_ip "$@"; }
cli ping
cli set greeting "hello from a unikernel"
cli get greeting
cli incr visits
cli rpush langs c go lua
cli lrange langs 0 -1

step "redis-benchmark against it"
"$netns" exec "$ns" redis-benchmark -h $guest_ip -q -n 20000 -c 50 -P 16 -t set,get,incr,lpush | tr "\r" "\n" | grep "requests per second"

step "the guest's console"
cat build/demo-guest.log
echo
echo "demo done: stopping pid $pid and removing netns $ns"
