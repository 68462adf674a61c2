#!/usr/bin/env bash
# Installs what the build and the tests need on a fresh Debian 12 machine:
# the Debian packages in scripts/apt-packages.txt, a deb-src entry for the
# configured mirror (lwIP's sources come from `apt-get source lwip`), and
# the Go modules. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# deb-src for the configured mirror (lwIP comes from `apt-get source lwip`).
bash scripts/apt-src.sh
bash scripts/apt-install.sh scripts/apt-packages.txt redis-server nginx

go mod download
echo "deps: ok"
