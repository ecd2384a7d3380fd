#!/usr/bin/env bash
# The README's second command: set everything up and run every test (Check
# unit suites and the MPI integration tests), then print one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
. scripts/env.sh
set +e
meson test -C build --print-errorlogs "$@"
rc=$?
set -e
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("result") in ("OK", "EXPECTEDFAIL"):
        passed += 1
    else:
        failed += 1
print(f"tests: {passed} passed, {failed} failed")
PY
exit $rc
