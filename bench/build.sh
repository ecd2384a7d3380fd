#!/usr/bin/env bash
# Build the bench programs into build/bench-bin/ against the layers' libraries (run
# meson/ninja first: scripts/setup.sh). No change to the project's meson
# files is needed; bench/meson.build does the same if the top-level
# meson.build gets `subdir('bench')`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/bench-bin"
ninja -C "$root/build" >/dev/null
mkdir -p "$out"
cc=${CC:-cc}
flags="-std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE"
inc="-I$root/include -I$root/proto -I$root/compress -I$root/secure -I$root/sim -I$root/client -I$root/server -I$root/app -I$root/build/include"
# The layers' libraries, top layer first (meson.build).
libs=""
for l in app server client sim compress proto secure core; do libs="$libs $root/build/libfs_$l.a"; done
deps="$(pkg-config --cflags --libs ompi-c openblas lapacke libsodium yaml-0.1 zlib libcjson) -lm"
# shellcheck disable=SC2086
$cc $flags $inc -o "$out/bench_local" "$root/bench/bench_local.c" $libs $deps
# shellcheck disable=SC2086
$cc $flags -o "$out/bench_sgemm" "$root/bench/bench_sgemm.c" $(pkg-config --cflags --libs openblas)
# shellcheck disable=SC2086
$cc $flags $inc -o "$out/bench_seal" "$root/bench/bench_seal.c" $libs $deps
echo "bench: built $out/bench_local $out/bench_sgemm $out/bench_seal"
