#!/usr/bin/env bash
# Adds a deb-src entry for the Debian mirror and suite the machine already
# uses, so `apt-get source` works; refreshes the indexes if it added one.
# Does nothing when a deb-src entry exists.
set -euo pipefail
if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	exit 0
fi
uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 debian | awk '{print $2}' || true)
[ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -m1 debian | awk '{print $2}' || true)
[ -n "$uri" ] || uri=http://deb.debian.org/debian
. /etc/os-release
cat > /etc/apt/sources.list.d/runnc-src.sources <<EOT
Types: deb-src
URIs: $uri
Suites: ${VERSION_CODENAME:-bookworm}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOT
apt-get update -q
