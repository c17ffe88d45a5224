# shellcheck shell=bash
# Checks, counters and the summary line of the test scripts under tests/cli
# and tests/e2e (run by ctest, each as its own test). A script sources it by
# its own path (or peers.sh or ota.sh, which source it):
#
#   . "$(dirname "$0")/../lib/check.sh"
#
# and ends with `finish`, which prints "N passed, N failed" as its last line
# and exits non-zero when a check failed. Each check prints "ok   NAME" or
# "FAIL NAME"; after quiet_checks, only failures are printed, as "FAIL: NAME".
# Nothing here changes the shell options of the script.

PASSED=0
FAILED=0
PIDS=() # background processes stopped (TERM, then waited for) on exit
PID=    # a server stopped by the script itself; killed on exit if still running
T=      # the scratch directory (see scratch)
# shellcheck disable=SC2034 # read by the scripts
VECTORS=${OTA32_TESTS:-$(dirname "${BASH_SOURCE[0]}")/..}/vectors # tests/vectors
INTEROP= # set by need_interop
CHECK_QUIET=

# quiet_checks: from here on, passed checks print nothing and failed ones
# "FAIL: NAME".
quiet_checks() { CHECK_QUIET=1; }

# ok [NAME], ko NAME [FILE]: count a passed / failed check. ko shows FILE,
# indented, after the failure.
ok() {
    PASSED=$((PASSED + 1))
    [ -n "${CHECK_QUIET:-}" ] || echo "ok   ${1:-}"
}
ko() {
    FAILED=$((FAILED + 1))
    if [ -n "${CHECK_QUIET:-}" ]; then echo "FAIL: $1"; else echo "FAIL $1"; fi
    if [ -n "${2:-}" ]; then sed 's/^/     | /' "$2"; fi
    return 0
}

# check NAME CMD...: passes when CMD succeeds.
check() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else ko "$name"; fi
}

# summary: the "N passed, N failed" line; fails when a check failed.
summary() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
# finish: summary, then exit with its status.
finish() {
    summary
    exit $?
}

# skip REASON: the script does not run; ctest reports it as skipped (exit 77).
skip() {
    echo "SKIP: $(basename "$0" .sh): $1"
    echo "0 passed, 0 failed"
    exit 77
}

# need_tools TOOL...: when one is not installed, the script is skipped.
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || skip "$tool is not installed"
    done
}

# need_interop FILE...: sets INTEROP to the directory of ESP-IDF's and
# esptool's reference files ($OTA32_INTEROP_DIR, else the build's setting);
# when one of the FILEs (relative to it) is missing, the script is skipped.
# Only the scripts under tests/interop call it.
need_interop() {
    local f
    INTEROP=${OTA32_INTEROP_DIR:-${OTA32_INTEROP_DEFAULT:-}}
    [ -n "$INTEROP" ] || skip "needs ESP-IDF's and esptool's reference files: OTA32_INTEROP_DIR is not set"
    for f in "$@"; do
        [ -e "$INTEROP/$f" ] ||
            skip "needs ESP-IDF's and esptool's reference files: $INTEROP/$f not found (OTA32_INTEROP_DIR=$INTEROP)"
    done
}

# scratch: a new private directory in $T, removed on exit (kept, and named on
# stderr, when KEEP or KEEP_T is set) once the processes in PIDS and PID are
# stopped.
scratch() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/ota32-test.XXXXXX")
    trap cleanup EXIT
}
cleanup() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill "$p" 2>/dev/null || true; done
    for p in ${PIDS[@]+"${PIDS[@]}"}; do wait "$p" 2>/dev/null || true; done
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null || true
    fi
    if [ -n "${KEEP:-}${KEEP_T:-}" ]; then
        echo "kept $T" >&2
    elif [ -n "$T" ]; then
        rm -rf "$T"
    fi
}

# test_app FILE [VERSION]: an app image made by `ota32 image make` (project
# ota32-test, version 1.0.0 unless given), as large as esptool's app-template
# (601808 bytes).
test_app() {
    "$OTA32" image make --version "${2:-1.0.0}" --project ota32-test --size 601808 -o "$1" >/dev/null
}

# ---- predicates for check ---------------------------------------------------

# eq GOT WANT
eq() { [ "$1" = "$2" ] || { echo "  expected [$2], got [$1]"; return 1; }; }
# has FILE TEXT: FILE contains TEXT (exact case).
has() { grep -qF -- "$2" "$1"; }
# has_i / hasnt_i FILE TEXT: FILE contains / lacks TEXT, in any case.
has_i() { grep -qiF -- "$2" "$1" || { echo "  $1 lacks [$2]"; return 1; }; }
hasnt_i() { ! grep -qiF -- "$2" "$1" || { echo "  $1 has [$2]"; return 1; }; }

# ---- checks with their own messages ------------------------------------------

expect_eq() { # NAME GOT WANT
    if [ "$2" == "$3" ]; then ok "$1"; else ko "$1: got '$2', want '$3'"; fi
}
expect_contains() { # NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then ok "$1"; else
        ko "$1: '$3' not in $2"
        sed 's/^/    | /' "$2" | tail -15
    fi
}
expect_not_contains() { # NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then ko "$1: '$3' found in $2"; else ok "$1"; fi
}
expect_lt() { # NAME A B
    if [ "$2" -lt "$3" ]; then ok "$1"; else ko "$1: $2 is not < $3"; fi
}
