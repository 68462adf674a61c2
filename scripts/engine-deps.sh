#!/usr/bin/env bash
# Installs what the engine tests need (scripts/engine-packages.txt): Docker,
# containerd, Podman, runc as the peer runtime, the CNI plugins for the CRI
# and Podman networks, and a static busybox for the non-unikernel images.
# The tests start their own dockerd and containerd on private sockets, so
# any daemon the install started is stopped again. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/apt-install.sh scripts/engine-packages.txt docker containerd
echo "engine-deps: ok"
