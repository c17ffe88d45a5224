#!/usr/bin/env bash
# `ota32 serve` against nginx (http2, h2c on loopback): h2load with 1000
# concurrent clients downloading a 1.5 MB app image. Both servers run for the
# whole benchmark with private configs in a temp dir; h2load rounds alternate
# between them (ota32 first on odd rounds, nginx first on even ones).
# nginx runs one worker process (bench/serve/nginx.conf.in), as ota32 serve
# runs one event loop, with 16 KB DATA chunks (its best setting for large
# files: the 8 KB default costs it about twice the CPU per byte). h2load runs
# one thread per core: a single-threaded h2load saturates before either
# server on a small machine, and then only measures itself.
# Reports per server: median and min requests/s and MiB/s over the rounds,
# failures summed over all rounds, peak RSS (VmHWM, nginx master + worker;
# reset before each round, the highest round shown) and the RSS left after
# each round, and server CPU time per round.
# Targets: zero failed requests for ota32 serve; its median requests/s at
# least nginx's (ratio >= 1.00).
#
#   bash bench/bench_serve.sh [path/to/ota32]
#       BENCH_CLIENTS (1000)  BENCH_REQUESTS per round (2000)  BENCH_ROUNDS (5)
#       BENCH_THREADS h2load threads (one per core)
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_serve "${1:-build/release/ota32}"
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${BENCH_CLIENTS:-1000}
REQUESTS=${BENCH_REQUESTS:-2000}
ROUNDS=${BENCH_ROUNDS:-5}
THREADS=${BENCH_THREADS:-$(nproc 2>/dev/null || echo 1)}
[ "$THREADS" -gt "$CLIENTS" ] && THREADS=$CLIENTS
SIZE=1572864
need_tools h2load nginx python3

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CLIENTS + 100)) ]; then
    bench_broken "open-file limit $(ulimit -n) is too low for $CLIENTS clients"
fi

mkdir -p "$T/www"
"$OTA32" image make --version bench-1 --project bench --size "$SIZE" -o "$T/www/app.bin" \
    >/dev/null || bench_broken "image make failed"
chmod 644 "$T/www/app.bin"

vmhwm_kb() { # pid...: sum of peak resident set sizes
    local total=0 kb p
    for p in "$@"; do
        kb=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}
vmrss_kb() { # pid...: sum of current resident set sizes
    local total=0 kb p
    for p in "$@"; do
        kb=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}
reset_hwm() { # pid...: start a new peak (Linux: clear_refs 5 resets VmHWM)
    local p
    for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null; done
}
cpu_ms() { # pid...: user + system CPU time, ms
    local total=0 t p
    for p in "$@"; do
        t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null)
        total=$((total + ${t:-0}))
    done
    echo $((total * 1000 / $(getconf CLK_TCK)))
}
# parse_h2load OUT -> "req/s MiB/s succeeded failed errored" on stdout
parse_h2load() {
    python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s, ([\d.]+)([KMG]?B)/s", t)
r = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
              r"(\d+) errored, (\d+) timeout", t)
s = re.search(r"status codes: (\d+) 2xx", t)
if not m or not r:
    sys.exit(1)
# h2load prints binary units (1 MB = 2^20 bytes)
unit = {"B": 1 / 1048576, "KB": 1 / 1024, "MB": 1, "GB": 1024}[m.group(5)]
ok = int(s.group(1)) if s else 0
print(m.group(3), "%.1f" % (float(m.group(4)) * unit), ok, r.group(2), int(r.group(3)) + int(r.group(4)))
PY
}

# --- ota32 serve ---
OPORT=$(free_port)
# every client comes from 127.0.0.1: lift the per-address limit
"$OTA32" serve "$T/www/app.bin" --bind 127.0.0.1 --port "$OPORT" --quiet \
    --max-conns-per-client "$CLIENTS" >"$T/ota32.out" 2>"$T/ota32.err" &
SPID=$!
BENCH_PIDS+=("$SPID")
wait_port "$OPORT" "$SPID" || { cat "$T/ota32.err" >&2; bench_broken "ota32 serve did not start"; }

# --- nginx ---
NPORT=$(free_port)
sed -e "s|@DIR@|$T|g" -e "s|@PORT@|$NPORT|g" "$HERE/serve/nginx.conf.in" >"$T/nginx.conf"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$T/nginx.conf"
nginx -p "$T" -c "$T/nginx.conf" >"$T/nginx.out" 2>&1 &
NPID=$!
BENCH_PIDS+=("$NPID")
wait_port "$NPORT" "$NPID" ||
    { cat "$T/nginx.out" "$T/nginx-error.log" >&2 2>/dev/null; bench_broken "nginx did not start"; }

echo "bench_serve: $CLIENTS clients, $REQUESTS requests of a $((SIZE / 1024)) KiB image per round," \
    "$ROUNDS rounds per server, h2c, loopback, h2load with $THREADS threads"
: >"$T/ota32.txt"
: >"$T/nginx.txt"
round() { # ota32|nginx N
    local pids url before after
    if [ "$1" = ota32 ]; then pids=("$SPID"); url="http://127.0.0.1:$OPORT/app.bin"
    else mapfile -t pids < <(echo "$NPID"; pgrep -P "$NPID"); url="http://127.0.0.1:$NPORT/app.bin"; fi
    reset_hwm "${pids[@]}"
    before=$(cpu_ms "${pids[@]}")
    local res
    bench_run timeout 300 h2load -t "$THREADS" -c "$CLIENTS" -n "$REQUESTS" -m 1 -T 60 "$url" \
        >"$T/h2load-$1-$2.txt" 2>&1
    res=$(parse_h2load "$T/h2load-$1-$2.txt") ||
        { tail -20 "$T/h2load-$1-$2.txt" >&2; bench_broken "$1: could not read h2load's output"; }
    after=$(cpu_ms "${pids[@]}")
    kill -0 "${pids[0]}" 2>/dev/null || bench_broken "$1 died during round $2"
    local fds=0 p
    for p in "${pids[@]}"; do fds=$((fds + $(find "/proc/$p/fd" -lname 'socket:*' 2>/dev/null | wc -l))); done
    local line
    line="$res $((after - before)) $(vmhwm_kb "${pids[@]}") $(vmrss_kb "${pids[@]}") $fds"
    echo "$line" >>"$T/$1.txt"
    printf '  round %d %-6s %s\n' "$2" "$1" "$(awk '{printf "%7.1f req/s %7.1f MiB/s, %s ok, %s failed, %s errored, CPU %.2f s, peak RSS %d MB, after: RSS %d MB, %d sockets", $1, $2, $3, $4, $5, $6 / 1000, $7 / 1024, $8 / 1024, $9}' <<<"$line")"
}
for i in $(seq "$ROUNDS"); do
    if [ $((i % 2)) = 1 ]; then round ota32 "$i"; round nginx "$i"
    else round nginx "$i"; round ota32 "$i"; fi
done
# peak RSS: the highest of the rounds' peaks (each round starts a new peak)
o_rss=$(cut -d' ' -f7 "$T/ota32.txt" | stat_max)
n_rss=$(cut -d' ' -f7 "$T/nginx.txt" | stat_max)

summary() { # NAME LABEL RSS_KB
    local f=$T/$1.txt
    printf '%-12s %9.1f %9.1f %9.1f %9.1f %9s %6s %7s %6s MB %7s\n' "$2" \
        "$(cut -d' ' -f1 "$f" | stat_median)" "$(cut -d' ' -f1 "$f" | stat_min)" \
        "$(cut -d' ' -f2 "$f" | stat_median)" "$(cut -d' ' -f2 "$f" | stat_min)" \
        "$(awk '{s += $3} END {print s}' "$f")" "$(awk '{s += $4} END {print s}' "$f")" \
        "$(awk '{s += $5} END {print s}' "$f")" "$(($3 / 1024))" \
        "$(cut -d' ' -f6 "$f" | stat_median | awk '{printf "%.2f s", $1 / 1000}')"
}
printf '\n%-12s %9s %9s %9s %9s %9s %6s %7s %9s %7s\n' server "req/s med" "req/s min" "MiB/s med" \
    "MiB/s min" succeeded failed errored "peak RSS" "CPU/rnd"
summary ota32 "ota32 serve" "$o_rss"
summary nginx "nginx" "$n_rss"
o_med=$(cut -d' ' -f1 "$T/ota32.txt" | stat_median)
n_med=$(cut -d' ' -f1 "$T/nginx.txt" | stat_median)
o_cpu=$(cut -d' ' -f6 "$T/ota32.txt" | stat_median)
n_cpu=$(cut -d' ' -f6 "$T/nginx.txt" | stat_median)
o_bad=$(awk '{s += $4 + $5} END {print s}' "$T/ota32.txt")
o_ok=$(awk '{s += $3} END {print s}' "$T/ota32.txt")
n_bad=$(awk '{s += $4 + $5} END {print s}' "$T/nginx.txt")
awk -v o="$o_med" -v n="$n_med" -v orss="$o_rss" -v nrss="$n_rss" -v oc="$o_cpu" -v nc="$n_cpu" 'BEGIN {
    printf "\nratio ota32/nginx: throughput %.2f (median req/s), peak RSS %.2f, server CPU %.2f\n",
        o / n, orss / nrss, (nc > 0) ? oc / nc : 0 }'
o_first=$(head -1 "$T/ota32.txt" | cut -d' ' -f8)
o_last=$(tail -1 "$T/ota32.txt" | cut -d' ' -f8)
echo "RSS left after the first and the last round: ota32 serve $((o_first / 1024)) -> $((o_last / 1024)) MB," \
    "nginx $(($(head -1 "$T/nginx.txt" | cut -d' ' -f8) / 1024)) -> $(($(tail -1 "$T/nginx.txt" | cut -d' ' -f8) / 1024)) MB"
[ "$ROUNDS" -gt 1 ] && [ "$o_last" -gt $((o_first * 5 / 4 + 4096)) ] &&
    echo "note: ota32 serve keeps memory from round to round (RSS grows between rounds)"
[ "$n_bad" = 0 ] || echo "note: nginx itself had $n_bad failed or errored requests"
verdict "$([ "$o_bad" = 0 ] && [ "$o_ok" = $((REQUESTS * ROUNDS)) ] && echo 1 || echo 0)" \
    "ota32 serve: zero failed requests ($o_bad failed or errored)"
verdict "$(awk -v o="$o_med" -v n="$n_med" 'BEGIN {print (o >= n) ? 1 : 0}')" \
    "ota32 serve throughput >= nginx (median req/s ratio >= 1.00)"
exit 0
