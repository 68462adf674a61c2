#!/usr/bin/env bash
# apt-install.sh LIST SERVICE...: installs the Debian packages named in
# LIST (one a line, # comments) that are missing, then stops SERVICEs:
# Debian starts some daemons on install where an init is running, and the
# tests start their own. Called by deps.sh and engine-deps.sh.
set -euo pipefail
list=$1
shift
mapfile -t pkgs < <(grep -v '^\s*#' "$list" | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	echo "deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
for s in "$@"; do
	if command -v service >/dev/null && [ -d /run/systemd/system ]; then service "$s" stop >/dev/null 2>&1 || true; fi
done
