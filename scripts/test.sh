#!/usr/bin/env bash
# Runs every test. Called by `make test` after the build. Needs root (taps,
# network namespaces, tracefs, seccomp probes) and refuses to start without
# it (--check-root: only that check). Fails when any test fails or skips,
# unless the skip is listed in scripts/allowed-skips.txt with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
	echo "make test: must run as root (network namespaces, taps, tracefs); nothing was tested" >&2
	exit 1
fi
[ "${1:-}" = --check-root ] && exit 0
ulimit -S -c 0  # soft only: tests may raise it to check guests dump no core
go vet ./...
go build -o build/bin/testreport ./internal/testreport
# build/test.json keeps every event; build/test.log what plain go test
# would print, plus the count of passed, failed and skipped tests.
go test -count=1 -timeout 40m -p 2 -json ./... | tee build/test.json |
	build/bin/testreport scripts/allowed-skips.txt 2>&1 | tee build/test.log
