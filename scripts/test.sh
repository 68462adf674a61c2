#!/usr/bin/env bash
# Runs every test. Called by `make test` after the build; needs root (taps,
# network namespaces, tracefs).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -S -c 0  # soft only: tests may raise it to check guests dump no core
go vet ./...
go test -count=1 -timeout 40m -p 2 ./... 2>&1 | tee build/test.log
