#!/usr/bin/env bash
# Fuzz every proto/ decoder with libFuzzer (docs/fuzzing.md): build each
# target in fuzz/ with clang -fsanitize=fuzzer,address,undefined into
# build-fuzz/, write its seed corpus from valid frames (fuzz_seeds), run it
# for SECONDS (default 60) on that corpus plus its regression cases
# (fuzz/regressions/<target>/), and report how many inputs ran. A crash stops
# with the input's path: fix the decoder, then keep the input as a named case
#   cp build-fuzz/crashes/<target>-crash-... fuzz/regressions/<target>/<what-it-does>
# Installs clang and libclang-rt-14-dev (Debian 12) if they are missing.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET]...   (no TARGET: all of them)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
case $secs in '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2 ;; esac

need=()
command -v clang > /dev/null || need+=(clang)
dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q 'install ok installed' \
  || need+=(libclang-rt-14-dev)
pkg-config --exists libsodium || need+=(libsodium-dev pkg-config)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "fuzz.sh: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
fi

all=(header frame dense update_meta payload_dense payload_sparse payload_randk
     payload_qsgd payload_sign payload_natural payload_block8 seal_open
     gcmsg secagg_msg secagg_masked)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

out=build-fuzz
mkdir -p "$out/bin" "$out/corpus" "$out/crashes" "$out/logs"
lib_src=(core/status.c core/rng.c proto/frame.c proto/payload.c proto/payload_sparse.c
         proto/payload_quant.c proto/seal.c proto/gcmsg.c
         proto/secagg_msg.c fuzz/seeds.c fuzz/oracle.c)
cflags=(-std=gnu11 -D_GNU_SOURCE -g -O1 -Iinclude -Iproto -Ifuzz $(pkg-config --cflags libsodium))
libs=($(pkg-config --libs libsodium) -lm)
san=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)

enc_of() {
  case $1 in
    payload_dense) echo FS_PL_DENSE ;; payload_sparse) echo FS_PL_SPARSE ;;
    payload_randk) echo FS_PL_RANDK ;; payload_qsgd) echo FS_PL_QSGD ;;
    payload_sign) echo FS_PL_SIGN ;; payload_natural) echo FS_PL_NATURAL ;;
    payload_block8) echo FS_PL_BLOCK8 ;;
  esac
}

# The seed writer (no instrumentation needed), the decoders once (with
# libFuzzer's coverage instrumentation), then one binary per target.
clang "${cflags[@]}" "${lib_src[@]}" fuzz/gen_main.c "${libs[@]}" -o "$out/bin/fuzz_seeds"
objs=()
for f in "${lib_src[@]}"; do
  o=$out/obj/$(basename "${f%.c}").o
  mkdir -p "$out/obj"
  clang "${cflags[@]}" -fsanitize=fuzzer-no-link,address,undefined \
    -fno-sanitize-recover=undefined -c "$f" -o "$o"
  objs+=("$o")
done
for t in "${targets[@]}"; do
  src=fuzz/fuzz_$t.c
  extra=()
  if [[ $t == payload_* ]]; then
    src=fuzz/fuzz_payload.c
    extra=(-DFS_FUZZ_ENC="$(enc_of "$t")")
  fi
  [ -f "$src" ] || { echo "fuzz.sh: unknown target '$t' (targets: ${all[*]})" >&2; exit 2; }
  clang "${cflags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    "${extra[@]}" "$src" "${objs[@]}" "${libs[@]}" -o "$out/bin/fuzz_$t"
done

status=0
total=0
printf '%-16s %8s %12s %10s %6s  %s\n' target seconds inputs inputs/s edges result
for t in "${targets[@]}"; do
  rm -rf "$out/corpus/$t"
  "$out/bin/fuzz_seeds" "$out/corpus" "$t" > /dev/null
  log=$out/logs/$t.log
  rc=0
  "$out/bin/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
    -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" "fuzz/regressions/$t" \
    > "$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  runs=${runs:-0}
  took=${took:-$secs}
  rate=$(( took > 0 ? runs / took : runs ))
  if [ $rc -eq 0 ] && [ "$runs" -gt 0 ]; then
    printf '%-16s %8s %12s %10s %6s  %s\n' "$t" "$took" "$runs" "$rate" "${cov:-?}" "no crash"
  else
    printf '%-16s %8s %12s %10s %6s  %s\n' "$t" "$took" "$runs" "$rate" "${cov:-?}" "CRASH (exit $rc; $log)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*fuzz check failed|artifact_prefix|Test unit written)' "$log" | head -8 || true
    status=1
  fi
  total=$((total + runs))
done
echo "fuzz.sh: ${#targets[@]} targets, $total inputs in all, ${secs} s each (clang $(clang -dumpversion))"
exit $status
