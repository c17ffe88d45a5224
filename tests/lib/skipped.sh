#!/usr/bin/env bash
# The tests ctest skipped in its last run, each with the reason it printed
# (its "SKIP: ..." line), read from the run's log:
#
#   bash tests/lib/skipped.sh BUILD/Testing/Temporary/LastTest.log [--none]
#
# With --none, any skipped test is an error (exit 1): where the interop
# reference files and every peer tool are installed, as in CI, everything runs.
set -euo pipefail
log=${1:?usage: skipped.sh LastTest.log [--none]}
[ -f "$log" ] || { echo "skipped.sh: $log: no such file" >&2; exit 2; }
lines=$(awk '
    /^[0-9]+\/[0-9]+ Test: / { sub(/^[0-9]+\/[0-9]+ Test: /, ""); name = $0; next }
    /^SKIP: / && name != "" {
        reason = $0; sub(/^SKIP: [^:]*: /, "", reason)
        printf "  %s: %s\n", name, reason; name = ""
    }' "$log")
[ -n "$lines" ] || exit 0
echo "Skipped, and why:"
echo "$lines"
if [ "${2:-}" = --none ]; then
    echo "skipped.sh: $(wc -l <<<"$lines") test(s) skipped where none may be" >&2
    exit 1
fi
if grep -q "^  interop/" <<<"$lines"; then
    echo "(the interop tests need ESP-IDF's and esptool's reference files: see tests/README.md)"
fi
