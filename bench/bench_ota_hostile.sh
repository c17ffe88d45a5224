#!/usr/bin/env bash
# The device against hostile HTTP/2 servers (tests/lib/hostile_h2.py, which
# needs Debian's python3-h2), each beside an honest run of the same server
# in the same invocation:
#   - bytes received in a failing update cycle (Range ignored, the connection
#     cut ever later) / image size: at most 3;
#   - time to give up on a trickle of 1 body byte every 10 s / the configured
#     attempt deadline: at most 1 (20 s here, the rate checked over 10 s;
#     the request ends at the deadline, closing it takes a few ms more);
#   - peak heap with a 100 KB response header vs the honest update's: within
#     the documented bound (at most 20 KB more, OTA32_HTTP_MAX_ALLOC).
#
#   bash bench/bench_ota_hostile.sh [path/to/ota32]
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_ota_hostile "${1:-build/release/ota32}"
H2PY=/usr/bin/python3
"$H2PY" -c 'import h2, hpack' 2>/dev/null || bench_broken "python3-h2 is missing (scripts/install-deps.sh)"
DEADLINE_MS=20000

"$OTA32" image make --version v1 --project bench --size 200000 -o "$T/v1.bin" >/dev/null ||
    bench_broken "image make failed"
"$OTA32" image make --version v2 --project bench --size 1048576 -o "$T/v2.bin" >/dev/null ||
    bench_broken "image make failed"
IMG=$(stat -c %s "$T/v2.bin")

# run MODE [args...]: one config check against the server in MODE; the
# summary in $T/MODE.json.
run() {
    local mode=$1 port=""
    shift
    "$H2PY" "$SRC/tests/lib/hostile_h2.py" "$mode" "$T/v2.bin" >"$T/port" 2>"$T/server.err" &
    local pid=$!
    BENCH_PIDS+=("$pid")
    for _ in $(seq 1 100); do
        port=$(head -n1 "$T/port" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || bench_broken "the server ($mode) did not start"
    "$OTA32" device create "$T/dev.flash" --partitions "$SRC/partitions.csv" --app "$T/v1.bin" \
        --force >/dev/null || bench_broken "device create failed"
    device_cfg "$T/dev.cfg" "http://127.0.0.1:$port/fw.bin" v2
    bench_run timeout 120 "$OTA32" device run "$T/dev.flash" --config "$T/dev.cfg" --once --quiet \
        --retry-base-ms 200 --json-summary "$T/${mode%%:*}.json" "$@" >"$T/run.log" 2>&1
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

summary() { # NAME KEY...
    "$H2PY" - "$T/$1.json" "${@:2}" <<'PY' || bench_broken "unexpected summary"
import json, sys
s = json.load(open(sys.argv[1]))
print(" ".join(str(s[k]) for k in sys.argv[2:]))
PY
}

echo "bench_ota_hostile: a 1 MB update against hostile HTTP/2 servers, beside an honest one"
run honest
read -r rx_h heap_h secs_h res_h <<<"$(summary honest bytes_received peak_heap seconds result)"
[ "$res_h" = "up to date" ] || bench_broken "the honest update failed ($res_h)"
run ignore-range-drop --max-retries 20 --attempt-timeout 120000
read -r rx_r res_r <<<"$(summary ignore-range-drop bytes_received result)"
[ "$res_r" = "update failed" ] || bench_broken "the restarting server's cycle did not fail"
run trickle:10 --rate-window 10000 --attempt-timeout "$DEADLINE_MS"
read -r secs_t res_t <<<"$(summary trickle seconds result)"
[ "$res_t" = "update failed" ] || bench_broken "the trickle did not fail"
run header-flood
read -r heap_f res_f <<<"$(summary header-flood peak_heap result)"
[ "$res_f" = "update failed" ] || bench_broken "the header flood was not refused"

printf '\n%-44s %14s %14s %8s\n' case honest hostile ratio
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
printf '%-44s %14s %14s %8s\n' "bytes received / image ($IMG B)" "$rx_h" "$rx_r" \
    "$(ratio "$rx_r" "$IMG")"
printf '%-44s %14s %14s %8s\n' "time to give up on 1 B / 10 s (s) / deadline" "$secs_h" "$secs_t" \
    "$(ratio "$secs_t" "$((DEADLINE_MS / 1000))")"
printf '%-44s %14s %14s %8s\n' "peak heap, 100 KB header (B)" "$heap_h" "$heap_f" \
    "$(ratio "$heap_f" "$heap_h")"
echo
verdict "$(awk -v a="$rx_r" -v b="$IMG" 'BEGIN {print (a <= 3 * b) ? 1 : 0}')" \
    "a failing cycle receives at most 3x the image"
# The last request ends at the deadline itself; closing it and the summary
# take a few milliseconds more.
verdict "$(awk -v a="$secs_t" -v b="$DEADLINE_MS" 'BEGIN {print (a * 1000 <= b + 50) ? 1 : 0}')" \
    "a trickle is given up at the attempt deadline (+50 ms to close)"
verdict "$([ "$heap_f" -le $((heap_h + 20480)) ] && echo 1 || echo 0)" \
    "peak heap with a 100 KB header within the bound (honest + 20 KB)"
exit 0
