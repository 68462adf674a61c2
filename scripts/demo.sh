#!/usr/bin/env bash
# The quick-start demo: the kv unikernel started as a container, the way
# engines start containers: `runnc create` of an OCI bundle whose prestart
# hook plugs a veth into the container as eth0 (as Docker does), `runnc
# start`, then Debian's redis-cli and redis-benchmark against the
# container's address, `runnc kill` and `runnc delete`. Removes everything
# it made, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
runnc="$top/build/bin/runnc"
kv=build/unikernels/kv/kv.spt
ns=runnc-demo-$$            # the "engine's" network: a bridge at $gw
gw=10.0.0.1
ip=10.0.0.2
id=kv-demo-$$
root=/run/runnc-demo-$$
bundle=$top/build/demo-bundle

R() { "$runnc" --root "$root" "$@"; }
cleanup() {
	R delete --force "$id" 2>/dev/null || true
	rm -rf "$root"
	ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add name br0 type bridge stp_state 0 forward_delay 0
ip -n "$ns" addr add $gw/24 dev br0
ip -n "$ns" link set br0 up

# The bundle: kv.spt in the rootfs, and a config.json from `runnc spec`
# with a prestart hook that gives the container its eth0.
rm -rf "$bundle" && mkdir -p "$bundle/rootfs"
cp "$kv" "$bundle/rootfs/kv.spt"
cat > "$bundle/net-hook.sh" <<EOF
#!/bin/sh
# prestart hook: the container's state (JSON) is on stdin.
set -e
pid=\$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
ip -n $ns link add name vh\$pid type veth peer name eth0 netns /proc/\$pid/ns/net
ip -n $ns link set vh\$pid master br0 up
nsenter --net=/proc/\$pid/ns/net ip addr add $ip/24 dev eth0
nsenter --net=/proc/\$pid/ns/net ip link set eth0 up
nsenter --net=/proc/\$pid/ns/net ip route add default via $gw
EOF
chmod +x "$bundle/net-hook.sh"
(cd "$bundle" && "$runnc" spec --unikernel /kv.spt)
sed -i "s|\"ociVersion\": \"\([^\"]*\)\",|\"ociVersion\": \"\1\",\n\t\"hooks\": {\"prestart\": [{\"path\": \"$bundle/net-hook.sh\"}]},|" "$bundle/config.json"

step "runnc create --bundle build/demo-bundle $id"
R create --bundle "$bundle" --pid-file "$bundle/pid" "$id" > build/demo-guest.log 2>&1
R state "$id"

step "runnc start $id"
R start "$id"
pid=$(cat "$bundle/pid")
for i in $(seq 100); do
	ip netns exec "$ns" redis-cli -h $ip ping >/dev/null 2>&1 && break
	[ "$(R state "$id" | sed -n 's/.*"status": "\(.*\)".*/\1/p')" = running ] || { cat build/demo-guest.log; exit 1; }
	sleep 0.1
done
R list
echo "the container's process, pid $pid:"
grep -E '^(Name|Threads|Seccomp|NoNewPrivs|CapEff):' /proc/$pid/status

step "redis-cli talks to the unikernel at the container's address $ip"
cli() { echo "\$ redis-cli $*"; ip netns exec "$ns" redis-cli -h $ip "$@"; }
cli ping
cli set greeting "hello from a unikernel"
cli get greeting
cli incr visits
cli rpush langs c go lua
cli lrange langs 0 -1

step "redis-benchmark against it"
ip netns exec "$ns" redis-benchmark -h $ip -q -n 20000 -c 50 -P 16 -t set,get,incr,lpush | tr "\r" "\n" | grep "requests per second"

step "runnc kill $id; runnc delete $id"
R kill "$id" SIGTERM
for i in $(seq 100); do
	[ "$(R state "$id" | sed -n 's/.*"status": "\(.*\)".*/\1/p')" = stopped ] && break
	sleep 0.05
done
R state "$id" | grep status
R delete "$id"
R list

step "the guest's console"
cat build/demo-guest.log
echo
echo "demo done: removing netns $ns"
