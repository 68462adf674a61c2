#!/bin/sh
# /init of the HAP lab VM (hap/lab/lab.sh builds the initramfs). Runs each
# workload under `runnc trace` with the same fixed client load, writes the
# profiles to the second serial port and powers off.
#
# The load (the same for every sandbox of a workload, traced from the
# moment it starts to the moment it ends, the server already up):
#   redis: redis-benchmark -n 300 -c 1 -r 300 -d 1024 -t set,get: 300 SETs
#          of 1 KiB values on up to 300 keys, then 300 GETs, over one
#          connection each. The values are stored, so the server touches
#          memory it has not touched before on every run: a guest's first
#          touch of a page reaches the host's page-fault path (about 90
#          functions for the guest's shared memfd mapping), and a load of
#          3-byte values reached it on some runs only, so a gate on the
#          count failed by chance;
#   http:  curl fetching a 1 KiB file 300 times over one keep-alive
#          connection;
# and, for the offload's trade-off (README, "The offload default"), bulk
# data, plainly and with --net-offload:
#   http-bulk:  four curl clients in parallel, each fetching a 1 MiB file;
#   redis-bulk: redis-benchmark -n 20 -c 4 -d 65536 -t set,get: 20 SETs
#               of 64 KiB values, then 20 GETs, over four connections.
# (unikernels only: the native servers' bulk paths are not in question,
# and each workload costs CI time under TCG).
# The network: a client netns "cli" and a server netns "srv", joined by
# two veth pairs. Native and runc servers listen on veth1 (10.89.0.3, the
# client 10.89.0.1), as a server listens on its NIC. The unikernels' tap0
# meets veth3 the way runnc attaches a guest in a container (netns/handoff.go):
# tc ingress on each with a u32 match-all filter whose mirred action
# redirects every frame to the other's egress, no bridge and no address on
# veth3; the guest is 10.89.1.2, its client 10.89.1.1 on veth2.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
# Debian's busybox sh runs its own applets before anything in PATH, and
# busybox's ip has no netns: iproute2's by its full path.
IP=/usr/bin/ip
TC=/usr/sbin/tc
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /sys/fs/cgroup /sys/kernel/tracing /dev/pts
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tracefs tracefs /sys/kernel/tracing
mount -t devpts devpts /dev/pts
exec 0</dev/console 1>/dev/console 2>&1
echo "hap-lab: kernel $(uname -r), $(nproc) CPUs"
for m in sch_ingress cls_u32 act_mirred tun veth; do insmod /lib/modules/$m.ko || echo "hap-lab: insmod $m failed"; done
$IP link set lo up
stty -F /dev/ttyS1 raw -echo 2>/dev/null
echo "hap-lab: tracers: $(cat /sys/kernel/tracing/available_tracers), lockdown: $(cat /sys/kernel/security/lockdown 2>/dev/null || echo none)"

CLIENT=10.89.0.1 HOST=10.89.0.3 GCLIENT=10.89.1.1 GUEST=10.89.1.2
$IP netns add cli
$IP netns add srv
$IP -n cli link set lo up
$IP -n srv link set lo up
$IP -n cli link add veth0 type veth peer name veth1 netns srv
$IP -n cli addr add $CLIENT/24 dev veth0
$IP -n srv addr add $HOST/24 dev veth1
$IP -n cli link add veth2 type veth peer name veth3 netns srv
$IP -n cli addr add $GCLIENT/24 dev veth2
$IP -n srv tuntap add dev tap0 mode tap
for l in veth0 veth2; do $IP -n cli link set $l up; done
for l in veth1 veth3 tap0; do $IP -n srv link set $l up; done
redirect() { # FROM TO: every frame arriving on FROM leaves by TO
	$TC -n srv qdisc add dev $1 ingress &&
	$TC -n srv filter add dev $1 parent ffff: protocol all prio 1 u32 match u32 0 0 action mirred egress redirect dev $2
}
redirect veth3 tap0 || echo "hap-lab: tc redirect veth3 -> tap0 failed"
redirect tap0 veth3 || echo "hap-lab: tc redirect tap0 -> veth3 failed"

mkdir -p /var/lib/nginx/body /var/lib/nginx/proxy /var/lib/nginx/fastcgi \
	/var/lib/nginx/uwsgi /var/lib/nginx/scgi /var/log/nginx
cat >/lab/nginx.conf <<'CONF'
user root;
worker_processes 1;
pid /tmp/nginx.pid;
error_log /tmp/nginx-error.log;
events { worker_connections 64; }
http {
	access_log off;
	sendfile on;
	default_type application/octet-stream;
	server { listen 80; root /lab/site; }
}
CONF

for i in $(seq 300); do echo 'url = "http://IP/1k.bin"'; done >/lab/urls
redis_load() { echo "$IP netns exec cli redis-benchmark -h $1 -p 6379 -n 300 -c 1 -r 300 -d 1024 -t set,get -q"; }
http_load() { sed "s/IP/$1/" /lab/urls >/tmp/urls-$1; echo "$IP netns exec cli curl -sf -K /tmp/urls-$1 -o /dev/null"; }
redis_bulk_load() { echo "$IP netns exec cli redis-benchmark -h $1 -p 6379 -n 20 -c 4 -d 65536 -t set,get -q"; }
http_bulk_load() {
	for i in 1 2 3 4; do printf 'url = "http://%s/1m.bin"\noutput = "/dev/null"\n' $1; done >/tmp/bulk-$1
	echo "$IP netns exec cli curl -sf -Z --parallel-max 4 -K /tmp/bulk-$1"
}

# A runc bundle whose rootfs is the VM's own files (runc gets its own
# mount namespace; the root is an initramfs, hence --no-pivot), joining
# srv's network namespace: runc's default namespaces and capabilities.
bundle() {
	b=/tmp/bundle-$1; shift
	mkdir -p $b/rootfs
	for d in bin sbin usr lib lib64 etc lab var; do
		[ -e /$d ] && mkdir -p $b/rootfs/$d && mount --bind /$d $b/rootfs/$d
	done
	mkdir -p $b/rootfs/proc $b/rootfs/dev $b/rootfs/sys $b/rootfs/tmp $b/rootfs/run
	args=""
	for a in "$@"; do args="$args${args:+,}\"$a\""; done
	cat >$b/config.json <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": [$args],
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_DAC_OVERRIDE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "lab",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
    {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
      {"type": "network", "path": "/run/netns/srv"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
	echo $b
}

wait_redis() {
	for i in $(seq 600); do
		$IP netns exec cli redis-cli -h $1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	echo "hap-lab: redis on $1 not ready"; return 1
}
wait_http() {
	for i in $(seq 600); do
		$IP netns exec cli curl -sf -o /dev/null http://$1/1k.bin && return 0
		sleep 0.1
	done
	echo "hap-lab: http on $1 not ready"; return 1
}

# emit FILE: frame it onto the results port.
emit() {
	{ echo "@@file $(basename $1)"; cat $1; echo "@@end"; } >/dev/ttyS1
}

# measure FILE NAME LOAD TRACE-TARGET...: trace the target while LOAD runs.
measure() {
	file=$1 name=$2 load=$3; shift 3
	t0=$(date +%s)
	if runnc "$@" --name "$name" --load "$load" -o /tmp/$file --json >/dev/null 2>/tmp/$file.err; then
		emit /tmp/$file
		echo "hap-lab: $name: $(grep -o '"unique_functions": [0-9]*' /tmp/$file), $(grep -o '"unique_syscalls": [0-9]*' /tmp/$file), $(($(date +%s) - t0)) s"
	else
		echo "hap-lab: $name: trace failed:"; cat /tmp/$file.err
	fi
}

stop() { kill "$@" 2>/dev/null; for p in "$@"; do while kill -0 $p 2>/dev/null; do sleep 0.1; done; done; }
# hap.only=FILE[,FILE...] on the kernel command line
# (HAP_LAB_ONLY=lab-redis-kv,lab-http-native) runs only those workloads.
ONLY=$(sed -n 's/.*hap\.only=\([^ ]*\).*/\1/p' /proc/cmdline)
want() { [ -z "$ONLY" ] || case ",$ONLY," in *",${1%.json},"*) true ;; *) false ;; esac; }
T0=$(date +%s)

# --- redis -----------------------------------------------------------------
if want lab-redis-native.json; then
	$IP netns exec srv redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --save "" --appendonly no >/tmp/redis.log 2>&1 &
	pid=$!
	wait_redis $HOST && measure lab-redis-native.json "redis:native redis-server" "$(redis_load $HOST)" trace --pid $pid
	stop $pid
fi

if want lab-redis-runc.json; then
	b=$(bundle redis redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --save "" --appendonly no)
	runc run -d --no-pivot --bundle $b redis >/tmp/runc-redis.log 2>&1 </dev/null || cat /tmp/runc-redis.log
	wait_redis $HOST && measure lab-redis-runc.json "redis:runc redis-server" "$(redis_load $HOST)" --root /run/runc trace redis
	runc kill redis KILL; sleep 0.5; runc delete -f redis
fi

# kv plainly (lab-redis-kv.json), with --net-offload, and with its memory
# prefaulted (--mem-prefault: the guest never page-faults on it).
for v in plain offload prefault; do
	file=lab-redis-kv.json opt="" name="redis:runnc-spt kv"
	[ $v = offload ] && file=lab-redis-kv-offload.json opt=--net-offload:service0 name="$name --net-offload"
	[ $v = prefault ] && file=lab-redis-kv-prefault.json opt=--mem-prefault name="$name --mem-prefault"
	want $file || continue
	$IP netns exec srv runnc-spt --net:service0=tap0 $opt /lab/kv.spt --ipv4=$GUEST/24 --ipv4-gateway=$GCLIENT >/tmp/kv.log 2>&1 &
	pid=$!
	wait_redis $GUEST && measure $file "$name" "$(redis_load $GUEST)" trace --pid $pid
	stop $pid
done

# --- redis-bulk: 64 KiB values ----------------------------------------------
for v in plain offload; do
	opt="" name="redis-bulk:runnc-spt kv"
	[ $v = offload ] && opt=--net-offload:service0 name="$name --net-offload"
	want lab-redis-bulk-kv-$v.json || continue
	$IP netns exec srv runnc-spt --net:service0=tap0 $opt /lab/kv.spt --ipv4=$GUEST/24 --ipv4-gateway=$GCLIENT >/tmp/kv.log 2>&1 &
	pid=$!
	wait_redis $GUEST && measure lab-redis-bulk-kv-$v.json "$name" "$(redis_bulk_load $GUEST)" trace --pid $pid
	stop $pid
done

# --- http ------------------------------------------------------------------
if want lab-http-native.json; then
	$IP netns exec srv nginx -c /lab/nginx.conf -g "daemon off;" >/tmp/nginx.log 2>&1 &
	pid=$!
	wait_http $HOST && measure lab-http-native.json "http:native nginx" "$(http_load $HOST)" trace --pid $pid
	stop $pid
fi

if want lab-http-runc.json; then
	b=$(bundle nginx nginx -c /lab/nginx.conf -g "daemon off;")
	runc run -d --no-pivot --bundle $b nginx >/tmp/runc-nginx.log 2>&1 </dev/null || cat /tmp/runc-nginx.log
	wait_http $HOST && measure lab-http-runc.json "http:runc nginx" "$(http_load $HOST)" --root /run/runc trace nginx
	runc kill nginx KILL; sleep 0.5; runc delete -f nginx
fi

for v in plain offload; do
	want lab-http-httpd-$v.json || continue
	opt=""; [ $v = offload ] && opt=--net-offload:service0
	$IP netns exec srv runnc-spt --net:service0=tap0 --block:rootfs=/lab/site.iso $opt /lab/httpd.spt --ipv4=$GUEST/24 --ipv4-gateway=$GCLIENT >/tmp/httpd.log 2>&1 &
	pid=$!
	name="http:runnc-spt httpd"; [ $v = offload ] && name="$name --net-offload"
	wait_http $GUEST && measure lab-http-httpd-$v.json "$name" "$(http_load $GUEST)" trace --pid $pid
	stop $pid
done

# --- http-bulk: four parallel downloads of 1 MiB ----------------------------
for v in plain offload; do
	want lab-http-bulk-httpd-$v.json || continue
	opt="" name="http-bulk:runnc-spt httpd"
	[ $v = offload ] && opt=--net-offload:service0 name="$name --net-offload"
	$IP netns exec srv runnc-spt --net:service0=tap0 --block:rootfs=/lab/site.iso $opt /lab/httpd.spt --ipv4=$GUEST/24 --ipv4-gateway=$GCLIENT >/tmp/httpd.log 2>&1 &
	pid=$!
	wait_http $GUEST && measure lab-http-bulk-httpd-$v.json "$name" "$(http_bulk_load $GUEST)" trace --pid $pid
	stop $pid
done

uname -r >/tmp/kernel.txt
emit /tmp/kernel.txt
echo "hap-lab: done in $(($(date +%s) - T0)) s"
poweroff -f
