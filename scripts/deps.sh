#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian 12 machine:
# the Debian packages in scripts/apt-packages.txt, a deb-src entry for the
# configured mirror (lwIP's sources come from `apt-get source lwip`), and
# the Go modules. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(grep -v '^\s*#' scripts/apt-packages.txt | grep -v '^\s*$')

# deb-src for the configured mirror (lwIP comes from `apt-get source lwip`).
bash scripts/apt-src.sh

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
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
