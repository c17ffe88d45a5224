#!/usr/bin/env bash
# Power cuts at every flash operation of a whole update cycle (download,
# verify, switch, NVS records, the bootloader's otadata rewrite, confirm),
# before, after and inside each one, with a larger image than the CI run.
# usage: bench/bench_ota_powercut.sh [IMAGE_KB]   (default 512)
# Uses the test_powercut binary of $OTA32_BUILD (default build/release).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OTA32_BUILD:-$SRC/build/release}
BIN=$BUILD/tests/test_powercut
[ -x "$BIN" ] || { echo "bench_ota_powercut: $BIN not built (cmake --build $BUILD --target test_powercut)" >&2; exit 2; }
export OTA32_SHARED=${OTA32_SHARED:-$SRC/../shared}
export OTA32_POWERCUT_IMAGE_KB=${1:-512}
unset OTA32_POWERCUT_SAMPLE
start=$(date +%s)
"$BIN"
echo "elapsed: $(( $(date +%s) - start )) s"
