#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The device's OTA service against a hostile HTTP/2 server (tests/lib/
# hostile_h2.py, python3-h2 plus raw frames): restarts that never finish,
# trickles, PINGs, 1xx and WINDOW_UPDATE floods, protocol violations, header
# floods, 206 answers that do not match the If-Range, offset or length, and
# Content-Length lies, RST_STREAM, GOAWAY and REFUSED_STREAM mid-transfer.
# Each case checks the result, the bytes received, the time taken, the
# reason logged, the peak heap, and what the device boots afterwards.
set -uo pipefail
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
OTA32=${OTA32:?path to the ota32 tool}
# Debian's python3-h2 is installed for the system interpreter.
H2PY=/usr/bin/python3
"$H2PY" -c 'import h2, hpack' 2>/dev/null ||
    skip "python3-h2 is not installed (scripts/install-deps.sh installs it)"
scratch
make_images || { ko "image make"; finish; }
IMG=$(stat -c %s "$T/v2.bin")

# Short deadlines, so that each case takes a few seconds: 1 KB/s over 1 s,
# 4 s per attempt, retries 100 ms apart (twice).
LIMITS=(--retry-base-ms 100 --max-retries 2 --min-rate 1024 --rate-window 1000
    --attempt-timeout 4000)

# hostile NAME MODE [args...]: a new device NAME, the server in MODE, one
# config check (device run --once); sets RC and MS (wall time of the run).
hostile() {
    local name=$1 mode=$2 port="" pid
    shift 2
    "$H2PY" "$OTA32_TESTS/lib/hostile_h2.py" "$mode" "$T/v2.bin" >"$T/$name.port" \
        2>"$T/$name.server" &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 1 100); do
        port=$(head -n1 "$T/$name.port" 2>/dev/null)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || ko "$name: server did not start" "$T/$name.server"
    new_device "$name"
    write_config "$T/$name.cfg" "http://127.0.0.1:$port/fw.bin" v2
    local t0
    t0=$(date +%s%3N)
    run_device "$name" "$T/$name.cfg" "${LIMITS[@]}" "$@"
    MS=$(($(date +%s%3N) - t0))
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    flatten "$name"
}

# The summary's fields of run NAME as "key=value" lines in $T/NAME.kv (one
# interpreter start per run, not per field); field NAME KEY prints one.
flatten() {
    "$H2PY" - "$T/$1.json" >"$T/$1.kv" <<'PY'
import json, sys
try:
    for k, v in json.load(open(sys.argv[1])).items():
        print("%s=%s" % (k, v))
except Exception:
    pass
PY
}
field() { sed -n "s/^$2=//p" "$T/$1.kv"; }

# boots NAME: what the device boots now: "partition state version".
boots() {
    "$OTA32" flash inspect "$T/$1.flash" --json 2>/dev/null | "$H2PY" -c '
import json, sys
j = json.load(sys.stdin)
print(j["boot"]["partition"], j["boot"]["state"], j["nvs"].get("ota_version") or "")'
}

expect_le() { # NAME A B
    if [ "$2" -le "$3" ]; then ok "$1"; else ko "$1: $2 is not <= $3"; fi
}

# failed NAME REASON MAX_MS: the check failed with REASON in the summary's
# error, within MAX_MS, and the old firmware still boots, VALID.
failed() {
    expect_eq "$1: exit status 1" "$RC" 1
    expect_eq "$1: result" "$(field "$1" result)" "update failed"
    expect_contains "$1: reason" "$T/$1.json" "$2"
    expect_le "$1: time (ms)" "$MS" "$3"
    expect_eq "$1: old firmware boots" "$(boots "$1")" "ota_0 VALID "
}

# installed NAME: the update went through and v2 boots after confirming.
installed() {
    expect_eq "$1: exit status 0" "$RC" 0
    expect_eq "$1: v2 boots, confirmed" "$(boots "$1")" "ota_1 VALID v2"
    expect_le "$1: bytes received <= 3x the image" "$(field "$1" bytes_received)" \
        $((3 * IMG))
}

# Positive control: the same server, honest. Its peak heap is the reference.
hostile honest honest
installed honest
expect_eq "honest: one request" "$(field honest requests)" 1
expect_eq "honest: each byte once" "$(field honest bytes_received)" "$IMG"
REF_HEAP=$(field honest peak_heap)
# Whatever the server sends, at most one refused buffer (20 KB) more.
HEAP_BOUND=$((REF_HEAP + 20480))

# 1. Range ignored, the connection cut ever later: at most 3x the image.
hostile restarts ignore-range-drop --max-retries 20 --attempt-timeout 60000
failed restarts "3x the image, without a whole image" 20000
expect_le "restarts: bytes received <= 3x the image" \
    "$(field restarts bytes_received)" $((3 * IMG))
expect_contains "restarts: the long back-off" "$T/restarts.out" "next attempt in 3600 s"

# 2. Slow servers: a byte every 0.5 s, PINGs only, 103s, WINDOW_UPDATE(+1)s.
hostile trickle trickle
failed trickle "no whole image within 4000 ms" 6000
expect_contains "trickle: too slow logged" "$T/trickle.out" "too slow: "
hostile pings pings
failed pings "too slow: 0 body bytes in" 6000
hostile informational informational
failed informational "more than 8 informational (1xx) responses" 6000
hostile wflood window-flood
failed wflood "too slow: 0 body bytes in" 6000
# A config change during a slow download stops it at once.
# (The new config is written once the download has begun.)
(
    for _ in $(seq 1 300); do
        grep -qs "ota: updating" "$T/changed.out" && break
        sleep 0.1
    done
    sleep 1
    write_config "$T/changed.cfg" "http://127.0.0.1:1/fw.bin" v3
) &
hostile changed trickle --attempt-timeout 60000 --rate-window 60000
failed changed "the update is no longer wanted" 15000
expect_contains "changed: the change logged" "$T/changed.out" "the config changed during the download"

# 4. Protocol violations keep nghttp2's reason; three requests, then the
# long back-off.
violation() { # NAME MODE REASON
    hostile "$1" "$2"
    failed "$1" "$3" 6000
    expect_eq "$1: three requests" "$(field "$1" requests)" 3
    expect_contains "$1: the long back-off" "$T/$1.out" "next attempt in 3600 s"
    expect_not_contains "$1: no bare session end" "$T/$1.out" "session ended"
}
violation wu0 window-update-0 "WINDOW_UPDATE: window_size_increment == 0"
violation push push-promise "PUSH_PROMISE: push disabled"
violation settings bad-settings "SETTINGS: invalid SETTINGS_ENBLE_PUSH"
violation bigframe oversized-frame "too large frame size"
violation http1 http1 "peer does not support HTTP/2 properly"

# 5. Header floods: refused with a clear error, the heap within its bound.
violation hflood header-flood "-byte buffer (at most 20480): refused"
expect_le "hflood: peak heap" "$(field hflood peak_heap)" "$HEAP_BOUND"
violation hlist header-list "larger than 16384 bytes: refused"
expect_le "hlist: peak heap" "$(field hlist peak_heap)" "$HEAP_BOUND"

# 3. 206 answers that are not what was asked: start over, never a bad image.
hostile ifrange if-range-ignored
installed ifrange
expect_eq "ifrange: restarted once" "$(field ifrange restarts)" 1
expect_contains "ifrange: reason" "$T/ifrange.out" "is not the If-Range sent"
hostile offset range-wrong-offset
installed offset
expect_eq "offset: restarted once" "$(field offset restarts)" 1
hostile star range-star
installed star
expect_eq "star: resumed" "$(field star resumes)" 1
expect_eq "star: each byte once" "$(field star bytes_received)" "$IMG"
expect_not_contains "star: no length change" "$T/star.out" "file length changed"

# Transfers broken mid-way, then an honest server: resumed or restarted.
for c in short-body long-body rst-mid goaway-mid refused; do
    hostile "$c" "$c"
    installed "$c"
    expect_le "$c: time (ms)" "$MS" 6000
    expect_le "$c: peak heap" "$(field "$c" peak_heap)" "$HEAP_BOUND"
done
expect_contains "short-body: reason" "$T/short-body.out" "stream reset (PROTOCOL_ERROR)"
expect_contains "rst-mid: reason" "$T/rst-mid.out" "stream reset (INTERNAL_ERROR)"
expect_eq "rst-mid: resumed" "$(field rst-mid resumes)" 1
expect_contains "refused: reason" "$T/refused.out" "REFUSED_STREAM"

finish
