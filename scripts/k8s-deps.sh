#!/usr/bin/env bash
# Installs what `make k8s-test` needs from Debian: the engine tests'
# packages (containerd, the CNI plugins, ...) and scripts/k8s-packages.txt
# (etcd; nft, to find and remove the nftables tables the kubelet's
# iptables calls make). The test starts its own etcd and containerd on
# private ports and sockets, so any daemon the install started is stopped
# again. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine-deps.sh
bash scripts/apt-install.sh scripts/k8s-packages.txt etcd
echo "k8s-deps: ok"
