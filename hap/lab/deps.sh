#!/usr/bin/env bash
# What the HAP lab needs besides the build's packages: the Debian
# packages in hap/lab/packages.txt (installed), and Debian's linux-image-amd64
# (downloaded and unpacked into DIR/kernel, not installed: the VM boots
# it). Safe to run again.
set -euo pipefail
DIR=$1
bash "$(dirname "$0")/../../scripts/apt-install.sh" "$(dirname "$0")/packages.txt" redis-server nginx
# The meta package names the current image package.
img=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ { print $2; exit }')
[ -n "$img" ] || { echo "hap-lab: no linux-image package behind linux-image-amd64" >&2; exit 1; }
kver=${img#linux-image-}
if [ "$(cat "$DIR/kernel/version" 2>/dev/null)" != "$kver" ]; then
	rm -rf "$DIR/kernel"
	mkdir -p "$DIR/kernel"
	(cd "$DIR/kernel" && apt-get download "$img" >/dev/null 2>&1 || (apt-get update -q && apt-get download "$img"))
	dpkg-deb -x "$DIR"/kernel/"$img"_*.deb "$DIR/kernel/root"
	rm -f "$DIR"/kernel/*.deb
	echo "$kver" >"$DIR/kernel/version"
fi
