#!/usr/bin/env bash
# Fetches lwIP 2.1.x sources from Debian (`apt-get source lwip`) and unpacks
# them, Debian's patches applied, into build/src/lwip (src/core,
# src/include, src/netif, ...). Nothing fetched is committed. Safe to run
# again: a stamp file records a finished unpack.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=build/src/lwip
stamp=build/src/lwip.stamp
if [ -f "$stamp" ] && [ -f "$dest/src/core/tcp.c" ]; then
	exit 0
fi

srcver() { apt-cache showsrc lwip 2>/dev/null | awk '/^Version:/ {print $2; exit}'; }

ver=$(srcver)
if [ -z "$ver" ]; then
	# No deb-src entry yet: add one for the configured mirror.
	bash "$(dirname "$0")/apt-src.sh"
	ver=$(srcver)
fi
if [ -z "$ver" ]; then
	# An entry exists but its index was never fetched.
	apt-get update -q
	ver=$(srcver)
fi
case "$ver" in
2.1.*) ;;
"") echo "fetch-lwip: apt-cache knows no source package lwip (check deb-src entries)" >&2; exit 1 ;;
*) echo "fetch-lwip: Debian offers lwip $ver, the port needs 2.1.x" >&2; exit 1 ;;
esac

mkdir -p build/src
work=$(mktemp -d build/src/lwip-fetch.XXXXXX)
trap 'rm -rf "$work"' EXIT
# apt drops privileges to _apt for downloads; let it write here.
chmod 0777 "$work"
(cd "$work" && apt-get source -q --download-only "lwip=$ver")
dpkg-source -q -x "$work"/lwip_*.dsc "$work/lwip"
[ -f "$work/lwip/src/core/tcp.c" ] || { echo "fetch-lwip: unpacked tree has no src/core/tcp.c" >&2; exit 1; }
rm -rf "$dest"
mv "$work/lwip" "$dest"
echo "$ver" > "$stamp"
echo "fetch-lwip: lwip $ver in $dest"
