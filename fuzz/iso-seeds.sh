#!/usr/bin/env bash
# Makes the seed images of the iso9660 fuzz target into DIR: genisoimage
# images (Rock Ridge and plain ISO9660) of small trees, each cut to start
# at sector 16, the volume descriptors.
set -euo pipefail
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# A tree with what the reader handles: nested and deep directories (Rock
# Ridge relocates past depth 8), long and mixed-case names, an empty file,
# a file over a few sectors, symlinks of every kind the reader follows or
# refuses (relative, absolute, to a directory, a chain, a loop, dangling,
# climbing out of the root, a target long enough for a continuation area).
t=$tmp/tree
mkdir -p "$t/dir/sub" "$t/a/b/c/d/e/f/g/h/i/j" "$t/Mixed Case"
echo hello >"$t/index.html"
: >"$t/empty"
head -c 9000 /dev/zero | tr '\0' 'x' >"$t/dir/sub/big.bin"
echo deep >"$t/a/b/c/d/e/f/g/h/i/j/deep.txt"
echo long >"$t/$(printf 'n%.0s' $(seq 1 200)).txt"
echo m >"$t/Mixed Case/File.TXT"
ln -s ../index.html "$t/dir/link"
ln -s /dir/sub/big.bin "$t/abs"
ln -s dir/sub "$t/dirlink"
ln -s abs "$t/chain"
ln -s loop2 "$t/loop1"
ln -s loop1 "$t/loop2"
ln -s nowhere "$t/dangling"
ln -s ../../index.html "$t/dir/out"
ln -s "$(printf 'component/%.0s' $(seq 1 60))x" "$t/longlink"

mk() {
	local name=$1; shift
	genisoimage -quiet -no-pad "$@" -o "$tmp/$name.iso" "$t" 2>/dev/null
	# Seeds stay small: the system area is the target's, and the padding
	# genisoimage adds at the end is zeros.
	dd if="$tmp/$name.iso" of="$out/$name" bs=2048 skip=16 status=none
}
mk rockridge -R
mk rational -r
mk plain -l
rm -f "$t"/n*.txt "$t/dir/link" "$t/longlink" "$t/loop"* "$t/chain"
rm -rf "$t/a"
mk small-rr -R
mk small -l
