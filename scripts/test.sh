#!/usr/bin/env bash
# The README's second command: set everything up and run every test (Check
# unit suites and the MPI integration tests), then print one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
set +e
echo "== tests (release build: build/)"
meson test -C build --print-errorlogs "$@"
rc=$?
if [ "${FEDSIM_NO_SANITIZE:-0}" != 1 ]; then
  echo "== tests again under AddressSanitizer + UBSan (build-asan/)"
  scripts/sanitize.sh "$@"
  rc2=$?
  [ $rc -ne 0 ] || rc=$rc2
  logs="build/meson-logs/testlog.json build-asan/meson-logs/testlog.json"
else
  logs="build/meson-logs/testlog.json"
fi
set -e
# One closing line for both builds (a skipped test counts as neither).
/usr/bin/python3 - $logs <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        res = r.get("result")
        if res in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif res == "SKIP":
            skipped += 1
            print(f"skipped: {r.get('name')} ({path})")
        else:
            failed += 1
            print(f"failed: {r.get('name')} ({path})")
line = f"tests: {passed} passed, {failed} failed"
print(line + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
