#!/usr/bin/env bash
# k8s-build.sh: builds kubelet, kube-apiserver and kubectl of the pinned
# Kubernetes release (K8S_VERSION, the one place it is named) into a cache
# directory outside the repository and prints that bin directory as its
# last line. Debian packages none of them, so they are built from the Go
# module proxy through a wrapper module (written here, never committed)
# that requires k8s.io/kubernetes and replaces each of its staging modules
# (k8s.io/api, k8s.io/client-go, ...; read from its go.mod, where they point
# at ./staging/src) with the published v0.MINOR.PATCH of the same release.
# A second run finds the binaries and returns at once. The Go caches of the
# build are private to the cache directory (about 3 GB) and removed after a
# successful build, so the binaries are all that stays.
#
# Environment: RUNNC_K8S_CACHE overrides the cache directory.
set -euo pipefail

K8S_VERSION=v1.34.4
STAGING_VERSION=v0.${K8S_VERSION#v1.}
CACHE=${RUNNC_K8S_CACHE:-/var/cache/runnc/k8s-$K8S_VERSION}
BIN=$CACHE/bin
CMDS=(kubelet kube-apiserver kubectl)

if [ -f "$BIN/.version" ] && [ "$(cat "$BIN/.version")" = "$K8S_VERSION" ]; then
	echo "$BIN"
	exit 0
fi

SRC=$CACHE/src
export GOCACHE=$CACHE/go/cache GOMODCACHE=$CACHE/go/mod
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=local
mkdir -p "$SRC" "$BIN"
cd "$SRC"
start=$(date +%s)

# The kubernetes go.mod names its staging modules; fetch it alone first.
kmod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
[ -f "$kmod" ] || { echo "k8s-build: no go.mod for k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
mapfile -t staging < <(sed -n 's|^\s*\(k8s\.io/[^ ]*\) => \./staging/src/.*|\1|p' "$kmod")
[ ${#staging[@]} -gt 0 ] || { echo "k8s-build: no staging modules in $kmod" >&2; exit 1; }

{
	echo "// Written by scripts/k8s-build.sh: builds Kubernetes $K8S_VERSION's commands."
	echo "module runnc.local/k8s-build"
	echo
	echo "go 1.24.0"
	echo
	echo "godebug default=go1.24"
	echo
	echo "require k8s.io/kubernetes $K8S_VERSION"
	echo
	echo "replace ("
	for m in "${staging[@]}"; do echo "	$m => $m $STAGING_VERSION"; done
	echo ")"
} > go.mod
rm -f go.sum
echo "k8s-build: Kubernetes $K8S_VERSION, ${#staging[@]} staging modules at $STAGING_VERSION, into $BIN" >&2

# component-base's version variables: kubectl version and the node's
# kubeletVersion show the release instead of v0.0.0-master.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
vpkg=k8s.io/component-base/version
ldflags="-s -w -X $vpkg.gitVersion=$K8S_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
pkgs=()
for c in "${CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
# go get with the version: without it, go get takes the newest release.
vpkgs=("${pkgs[@]/%/@$K8S_VERSION}")
go get "${vpkgs[@]}" >&2
got=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
[ "$got" = "$K8S_VERSION" ] || { echo "k8s-build: resolved k8s.io/kubernetes $got, want $K8S_VERSION" >&2; exit 1; }
go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}" >&2
for c in "${CMDS[@]}"; do [ -x "$BIN/$c" ] || { echo "k8s-build: $BIN/$c missing" >&2; exit 1; }; done
echo "$K8S_VERSION" > "$BIN/.version"
echo "k8s-build: built in $(( $(date +%s) - start ))s" >&2
chmod -R u+w "$CACHE/go" && rm -rf "$CACHE/go"
echo "$BIN"
