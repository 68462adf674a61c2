#!/usr/bin/env bash
# Installs what the engine tests need (scripts/engine-packages.txt): Docker,
# containerd, Podman, runc as the peer runtime, the CNI plugins for the CRI
# and Podman networks, and a static busybox for the non-unikernel images.
# Debian would start dockerd and containerd on install where an init runs;
# the tests start their own daemons on private sockets, so any daemon the
# install itself started is stopped again. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(grep -v '^\s*#' scripts/engine-packages.txt | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	echo "engine-deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "${missing[@]}"
	if command -v service >/dev/null && [ -d /run/systemd/system ]; then
		for s in docker containerd; do service "$s" stop >/dev/null 2>&1 || true; done
	fi
fi
echo "engine-deps: ok"
