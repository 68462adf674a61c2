#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian 12 machine:
# the Debian packages in scripts/apt-packages.txt, a deb-src entry for the
# configured mirror (lwIP's sources come from `apt-get source lwip`), and
# the Go modules. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')

# deb-src for the same mirror and suite as the configured deb entries.
src=/etc/apt/sources.list.d/runnc-src.sources
if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 debian | awk '{print $2}')
	[ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -m1 debian | awk '{print $2}')
	[ -n "$uri" ] || uri=http://deb.debian.org/debian
	. /etc/os-release
	cat > "$src" <<EOT
Types: deb-src
URIs: $uri
Suites: ${VERSION_CODENAME:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
fi

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
need_update=1
[ -f "$src" ] && [ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -m1 '_source_Sources')" ] && need_update=0
if [ ${#missing[@]} -gt 0 ] || [ $need_update = 1 ]; then
	apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts some daemons on install where an init is running; the tests
# start their own, so leave none of ours behind.
for s in redis-server nginx; do
	if command -v service >/dev/null && [ -d /run/systemd/system ]; then service "$s" stop >/dev/null 2>&1 || true; fi
done

go mod download
echo "deps: ok"
