#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `make demo` (scripts/demo.sh): bold headings on a terminal only, never when
# piped or with NO_COLOR set.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}" "${OTA32_SRC:?}"
need_tools script
scratch
DEMO=$OTA32_SRC/scripts/demo.sh

DEMO_DIR=$T/piped bash "$DEMO" "$OTA32" >"$T/piped.out" 2>&1 </dev/null
check "piped: demo succeeds" eq "$?" 0
check "piped: headings" grep -q "^== A virtual ESP32" "$T/piped.out"
check "piped: no escape codes" eq "$(grep -c $'\033' "$T/piped.out")" 0

# on a terminal (script gives it one): bold headings, unless NO_COLOR
script -qec "DEMO_DIR='$T/tty' bash '$DEMO' '$OTA32'" /dev/null >"$T/tty.out" 2>&1
check "terminal: bold headings" grep -q $'\033\\[1m== A virtual ESP32' "$T/tty.out"
script -qec "NO_COLOR=1 DEMO_DIR='$T/nocolor' bash '$DEMO' '$OTA32'" /dev/null >"$T/nc.out" 2>&1
check "NO_COLOR on a terminal: headings" grep -q "== A virtual ESP32" "$T/nc.out"
check "NO_COLOR on a terminal: no bold" eq "$(grep -c $'\033\\[1m' "$T/nc.out")" 0

finish
