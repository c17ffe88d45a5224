# shellcheck shell=bash disable=SC2034
# Helpers shared by bench/*.sh (sourced, not run: `make bench` runs only
# bench/*.sh, not this directory).
#
# Conventions of every benchmark script:
#   - $1 is the ota32 binary (default build/release/ota32);
#   - loopback only, private peers (nghttpd, nginx) started in a temp dir and
#     always stopped, the temp dir always removed;
#   - bounded in time (timeout) and count (a fixed number of runs);
#   - a table, then one "target: ... PASS|MISS" line per target;
#   - exit 0 when the run worked, whatever the figures (a missed target prints
#     MISS); exit 1 only when the run itself broke (a peer did not start, a
#     download or update failed, output could not be parsed).

bench_init() { # NAME OTA32: sets BENCH, OTA32, SRC, T; installs the cleanup trap
    BENCH=$1
    OTA32=$2
    SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    case $OTA32 in /*) ;; *) OTA32=$PWD/$OTA32 ;; esac
    [ -x "$OTA32" ] || bench_broken "$OTA32 is not built (make release)"
    T=$(mktemp -d "${TMPDIR:-/tmp}/ota32-$BENCH.XXXXXX") || bench_broken "mktemp failed"
    chmod 755 "$T" # nginx workers may run as another user
    BENCH_PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local p
    for p in "${BENCH_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${BENCH_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    BENCH_PIDS=()
    [ -n "${T:-}" ] && rm -rf "$T"
}

# bench_run CMD...: run CMD in the background and wait for it, so that an
# interrupt stops it at once (the cleanup kills it) instead of after it ends.
bench_run() {
    "$@" &
    local pid=$! rc
    BENCH_PIDS+=("$pid")
    wait "$pid"
    rc=$?
    local keep=() p
    for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
    return "$rc"
}

bench_broken() { # MESSAGE: the run itself failed
    echo "$BENCH: BROKEN RUN: $*" >&2
    exit 1
}

need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null || bench_broken "$t not found (scripts/install-deps.sh installs it)"
    done
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # PORT PID: wait until something listens on 127.0.0.1:PORT (max 10 s)
    local i
    for i in $(seq 100); do
        kill -0 "$2" 2>/dev/null || return 1
        python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
            "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# start_nghttpd DIR: h2c (prior knowledge) file server on loopback; sets NGHTTPD_PORT
start_nghttpd() {
    need_tools nghttpd
    NGHTTPD_PORT=$(free_port)
    nghttpd --no-tls -a 127.0.0.1 -d "$1" "$NGHTTPD_PORT" >"$T/nghttpd.log" 2>&1 &
    local pid=$!
    BENCH_PIDS+=("$pid")
    wait_port "$NGHTTPD_PORT" "$pid" || { cat "$T/nghttpd.log" >&2; bench_broken "nghttpd did not start"; }
}

now_us() { # wall clock in microseconds, without forking
    local t=${EPOCHREALTIME/./}
    echo "${t#0}"
}

# Statistics over one number per line on stdin.
stat_median() { sort -g | awk '{a[NR] = $1} END {if (!NR) exit 1; print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
stat_min() { sort -g | head -1; }
stat_max() { sort -g | tail -1; }

json_get() { # FILE KEY
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

verdict() { # COND(0|1) TEXT: prints "target: TEXT ... PASS|MISS"
    if [ "$1" = 1 ]; then printf 'target: %-68s PASS\n' "$2"; else printf 'target: %-68s MISS\n' "$2"; fi
}

# device_cfg FILE URL VERSION: a machine config with one OTA service
device_cfg() {
    printf '{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_service","attributes":{"url":"%s","version":"%s"}}]}\n' \
        "$2" "$3" >"$1"
}
