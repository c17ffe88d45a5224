#!/usr/bin/env bash
# Power cut at every flash operation of a whole update cycle (download,
# verify, switch, NVS records, the bootloader's otadata rewrite, the new
# firmware's confirmation): before, after and inside (torn) each operation,
# every one of them (not a sample), with a larger image than the CI run's
# 80 KB. After each cut the device must boot a valid image and, after further
# power cycles, finish the update (v2 running, VALID, OTA_VERSION recorded).
# Runs the test_powercut binary built next to ota32 (build/release/tests/).
# Target: zero failed cut points. A failed cut point is a correctness failure
# (a bricked or stuck device), not a missed figure: FAIL, exit 1.
#
#   bash bench/bench_ota_powercut.sh [path/to/ota32]
#       BENCH_POWERCUT_KB=N image size in KB (default 512; at least 67)
#       BENCH_POWERCUT_TIMEOUT=S time limit (default 1200)
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_ota_powercut "${1:-build/release/ota32}"
KB=${BENCH_POWERCUT_KB:-512}
LIMIT=${BENCH_POWERCUT_TIMEOUT:-1200}
BIN=$(dirname "$OTA32")/tests/test_powercut
[ -x "$BIN" ] || bench_broken "$BIN not built (make release builds it)"
unset OTA32_POWERCUT_SAMPLE OTA32_POWERCUT_ONLY OTA32_TEST_VERBOSE

echo "bench_ota_powercut: every cut point of a whole update cycle, $KB KB image (limit $LIMIT s)"
start=$(now_us)
TMPDIR=$T OTA32_POWERCUT_IMAGE_KB=$KB bench_run timeout "$LIMIT" "$BIN" >"$T/out.txt" 2>&1
rc=$?
secs=$(awk -v a="$start" -v b="$(now_us)" 'BEGIN {printf "%.1f", (b - a) / 1e6}')
[ "$rc" = 124 ] && { tail -20 "$T/out.txt"; bench_broken "did not finish within $LIMIT s"; }
line=$(grep "power cuts:" "$T/out.txt")
if [ -z "$line" ]; then
    tail -20 "$T/out.txt"
    bench_broken "test_powercut exited $rc without a result"
fi
# "power cuts: N cut points tried (OPS operations x 3 kinds, KB KB image), F failed, R rollbacks, ..."
read -r tried ops failed rollbacks < <(sed -E \
    's/.*: ([0-9]+) cut points tried \(([0-9]+) operations.* ([0-9]+) failed, ([0-9]+) rollbacks.*/\1 \2 \3 \4/' <<<"$line")
printf '\n%-10s %-12s %-12s %-8s %-22s %s\n' image "flash ops" "cut points" failed "rollbacks" elapsed
printf '%-10s %-12s %-12s %-8s %-22s %s s\n' "$KB KB" "$ops" "$tried" "$failed" "$rollbacks" "$secs"
echo
if [ "$rc" = 0 ] && [ "$failed" = 0 ]; then
    printf 'target: %-68s PASS\n' "every cut point boots a valid image and completes the update"
    exit 0
fi
grep "cut " "$T/out.txt" | head -10
printf 'target: %-68s FAIL\n' "every cut point boots a valid image and completes the update"
exit 1
