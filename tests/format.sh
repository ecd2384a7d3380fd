#!/usr/bin/env bash
# Every C file follows .clang-format (LLVM style, 80 columns).
set -uo pipefail
: "${SRCDIR:?}"
cd "$SRCDIR"
command -v clang-format >/dev/null || { echo "FAIL: clang-format is not installed (scripts/setup.sh installs it)"; exit 1; }
bad=$(git ls-files '*.c' '*.h' 2>/dev/null | while read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$bad" ]; then
  echo "FAIL: not formatted (run clang-format -i on them):"; echo "$bad"; exit 1
fi
echo "ok   $(git ls-files '*.c' '*.h' | wc -l) C files formatted"
