#!/usr/bin/env bash
# The HAP lab (make hap-lab): measures the unique host kernel functions and
# system calls each workload reaches, in a VM booted from Debian's kernel,
# where function tracing is allowed (the host may be in lockdown).
#
# 1. Installs what it needs (hap/lab/deps.sh): qemu, busybox, runc, and
#    Debian's linux-image-amd64, unpacked into build/hap/lab/kernel (not
#    installed).
# 2. Builds an initramfs: busybox, hap/lab/init.sh as /init, the tun,
#    veth and tc (ingress, u32, mirred) modules of that kernel, runnc (the tracer), runnc-spt
#    and the kv and httpd guests, Debian's redis-server, nginx, runc, ip,
#    redis-benchmark, redis-cli and curl with their libraries.
# 3. Boots it under qemu-system-x86_64 (TCG; HAP_LAB_ACCEL=kvm where KVM
#    works; for HAP_LAB_TIMEOUT seconds at most, 2400 by default (a loaded
#    2-core machine took 1563 s); only the
#    workloads HAP_LAB_ONLY=lab-redis-kv,... names if set) and collects
#    the per-workload JSON the VM writes to its
#    second serial port into build/hap/.
#
# The workloads and the load are in init.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=build
LAB=$B/hap/lab
OUT=$B/hap
ACCEL=${HAP_LAB_ACCEL:-tcg}
start=$(date +%s)

bash hap/lab/deps.sh "$LAB"
KVER=$(cat "$LAB/kernel/version")
KDIR=$LAB/kernel/root

for f in $B/bin/runnc $B/bin/runnc-spt $B/unikernels/kv/kv.spt $B/unikernels/httpd/httpd.spt; do
	[ -e "$f" ] || { echo "hap-lab: $f missing (run make first)" >&2; exit 1; }
done

# --- the initramfs --------------------------------------------------------
R=$LAB/initramfs
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,etc,proc,sys,dev,tmp,run,var,root,lab,lib/modules,usr/bin,usr/sbin}
ln -s ../run "$R/var/run"
cp /bin/busybox "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"
done

# copy BIN: the file (symlinks followed) at the same path, with every
# library ldd lists and the dynamic loader.
copy() {
	local bin=$1 dst=${2:-$1}
	mkdir -p "$R$(dirname "$dst")"
	cp -L "$bin" "$R$dst"
	ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
		[ -e "$R$lib" ] && continue
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
}
for bin in /usr/bin/redis-server /usr/bin/redis-benchmark /usr/bin/redis-cli \
	/usr/sbin/nginx /usr/sbin/runc /usr/bin/curl /usr/bin/ip /usr/sbin/tc; do
	copy "$bin"
done
# ip(8) must win over busybox's: it has netns.
ln -sf /usr/bin/ip "$R/sbin/ip"
ln -sf /usr/bin/ip "$R/bin/ip"
copy "$B/bin/runnc" /usr/bin/runnc # links libseccomp
cp $B/bin/runnc-spt "$R/usr/bin/"
cp $B/unikernels/kv/kv.spt $B/unikernels/httpd/httpd.spt "$R/lab/"
for m in net/sched/sch_ingress net/sched/cls_u32 net/sched/act_mirred drivers/net/tun drivers/net/veth; do
	cp "$KDIR/lib/modules/$KVER/kernel/$m.ko" "$R/lib/modules/"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf 'hosts: files\n' >"$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"

# The site both HTTP servers serve: a 1 KiB file, and a 1 MiB one for the
# bulk loads.
rm -rf "$LAB/site"
mkdir -p "$LAB/site"
head -c 1024 /dev/zero | tr '\0' 'x' >"$LAB/site/1k.bin"
head -c $((1 << 20)) /dev/urandom >"$LAB/site/1m.bin"
echo '<html><body>hap lab</body></html>' >"$LAB/site/index.html"
cp -r "$LAB/site" "$R/lab/site"
genisoimage -quiet -R -o "$R/lab/site.iso" "$LAB/site"
cp hap/lab/init.sh "$R/init"
chmod +x "$R/init"
echo "$KVER" >"$R/lab/kernel-version"
(cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$LAB/initramfs.gz"
echo "hap-lab: initramfs $(du -h "$LAB/initramfs.gz" | cut -f1), kernel $KVER, accel $ACCEL"

# --- boot ------------------------------------------------------------------
rm -f "$LAB/console.log" "$LAB/results.txt"
timeout ${HAP_LAB_TIMEOUT:-2400} qemu-system-x86_64 -accel "$ACCEL" -cpu max -smp ${HAP_LAB_CPUS:-1} -m 2048 \
	-kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$LAB/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1 init=/init${HAP_LAB_ONLY:+ hap.only=$HAP_LAB_ONLY}" \
	-display none -no-reboot -nic none \
	-serial "file:$LAB/console.log" -serial "file:$LAB/results.txt" \
	-monitor none
tail -n 40 "$LAB/console.log"

# The VM framed each file: "@@file NAME", its lines, "@@end".
mkdir -p "$OUT"
if [ -n "${HAP_LAB_ONLY:-}" ]; then
	for f in ${HAP_LAB_ONLY//,/ }; do rm -f "$OUT/$f.json"; done
else
	rm -f "$OUT"/lab-*.json
fi
tr -d '\r' <"$LAB/results.txt" | awk -v out="$OUT" '
	/^@@file / { f = out "/" $2; printf "" > f; next }
	/^@@end/ { close(f); f = ""; next }
	f != "" { print >> f }'
n=$(ls "$OUT"/lab-*.json 2>/dev/null | wc -l)
end=$(date +%s)
echo "hap-lab: $n workload results in $OUT, $((end - start)) s in all"
grep -q '^hap-lab: done' "$LAB/console.log" || { echo "hap-lab: the VM did not finish its workloads (see $LAB/console.log)" >&2; exit 1; }
[ "$n" -gt 0 ]
