#!/usr/bin/env bash
# ota32 serve against nginx: h2load with 1000 concurrent h2c clients
# downloading a 1.5 MB app image over loopback. Prints requests/s, MiB/s,
# failures, peak RSS (VmHWM) and server CPU time for both, and the ratios.
# nginx runs one worker process (bench/serve/nginx.conf.in), as ota32 serve
# runs one event loop. One run, bounded in count (-n) and time (timeout);
# exits 1 if ota32 serve failed any request.
#
#   bash bench/bench_serve.sh [path/to/ota32]
set -u
OTA32=${1:-${OTA32:-build/release/ota32}}
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${BENCH_CLIENTS:-1000}
REQUESTS=${BENCH_REQUESTS:-2000}
SIZE=1572864

for tool in h2load nginx python3; do
    command -v "$tool" >/dev/null || { echo "bench_serve: $tool not found"; exit 1; }
done
[ -x "$OTA32" ] || { echo "bench_serve: $OTA32 is not executable"; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((CLIENTS + 100)) ]; then
    echo "bench_serve: open-file limit $(ulimit -n) is too low for $CLIENTS clients"
    exit 1
fi

T=$(mktemp -d)
chmod 755 "$T" # nginx workers may run as another user
SPID= NPID=
cleanup() {
    [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
    [ -n "$NPID" ] && kill -KILL "$NPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/www"
"$OTA32" image make --version bench-1 --project bench --size "$SIZE" -o "$T/www/app.bin" \
    >/dev/null || exit 1
chmod 644 "$T/www/app.bin"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
vmhwm_kb() { # pid...: sum of peak resident set sizes
    local total=0 kb
    for p in "$@"; do
        kb=$(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}
cpu_ms() { # pid...: user + system CPU time, ms
    local total=0 t
    for p in "$@"; do
        t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null)
        total=$((total + ${t:-0}))
    done
    echo $((total * 1000 / $(getconf CLK_TCK)))
}
# h2load summary -> "req/s MB/s succeeded failed errored"
run_h2load() { # url
    timeout 300 h2load -c "$CLIENTS" -n "$REQUESTS" -m 1 -T 60 "$1" >"$T/h2load.txt" 2>&1
    python3 - "$T/h2load.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s, ([\d.]+)([KMG]?B)/s", t)
r = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
              r"(\d+) errored, (\d+) timeout", t)
s = re.search(r"status codes: (\d+) 2xx", t)
if not m or not r:
    print("0 0 0 -1 -1")
    sys.exit()
# h2load prints binary units (1 MB = 2^20 bytes)
unit = {"B": 1 / 1048576, "KB": 1 / 1024, "MB": 1, "GB": 1024}[m.group(5)]
mbs = float(m.group(4)) * unit
ok = int(s.group(1)) if s else 0
print(m.group(3), "%.1f" % mbs, ok, r.group(2), int(r.group(3)) + int(r.group(4)))
PY
}

echo "bench_serve: $CLIENTS clients, $REQUESTS requests of a $((SIZE / 1024)) KiB image, h2c, loopback"

# --- ota32 serve ---
OPORT=$(free_port)
"$OTA32" serve "$T/www/app.bin" --bind 127.0.0.1 --port "$OPORT" --quiet \
    >"$T/ota32.out" 2>"$T/ota32.err" &
SPID=$!
for _ in $(seq 100); do grep -q "listening on" "$T/ota32.out" && break; sleep 0.1; done
grep -q "listening on" "$T/ota32.out" || { cat "$T/ota32.err"; exit 1; }
read -r o_rps o_mbs o_ok o_fail o_err < <(run_h2load "http://127.0.0.1:$OPORT/app.bin")
o_rss=$(vmhwm_kb "$SPID")
o_cpu=$(cpu_ms "$SPID")
cp "$T/h2load.txt" "$T/h2load-ota32.txt"
kill -TERM "$SPID"
wait "$SPID" 2>/dev/null
SPID=

# --- nginx ---
NPORT=$(free_port)
sed -e "s|@DIR@|$T|g" -e "s|@PORT@|$NPORT|g" "$HERE/serve/nginx.conf.in" >"$T/nginx.conf"
[ "$(id -u)" = 0 ] && sed -i '1i user root;' "$T/nginx.conf"
nginx -p "$T" -c "$T/nginx.conf" >"$T/nginx.out" 2>&1 &
NPID=$!
for _ in $(seq 100); do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$NPORT" 2>/dev/null && break
    sleep 0.1
done
if ! kill -0 "$NPID" 2>/dev/null; then
    echo "bench_serve: nginx did not start:"
    cat "$T/nginx.out" "$T/nginx-error.log" 2>/dev/null
    exit 1
fi
read -r n_rps n_mbs n_ok n_fail n_err < <(run_h2load "http://127.0.0.1:$NPORT/app.bin")
n_rss=$(vmhwm_kb "$NPID" $(pgrep -P "$NPID"))
n_cpu=$(cpu_ms "$NPID" $(pgrep -P "$NPID"))
cp "$T/h2load.txt" "$T/h2load-nginx.txt"
kill -QUIT "$NPID" 2>/dev/null
wait "$NPID" 2>/dev/null
NPID=

printf '\n%-12s %9s %9s %9s %6s %7s %9s %8s\n' server "req/s" "MiB/s" succeeded failed errored "peak RSS" "CPU"
printf '%-12s %9s %9s %9s %6s %7s %6s MB %6s s\n' "ota32 serve" "$o_rps" "$o_mbs" "$o_ok" \
    "$o_fail" "$o_err" "$((o_rss / 1024))" "$(awk "BEGIN{printf \"%.2f\", $o_cpu/1000}")"
printf '%-12s %9s %9s %9s %6s %7s %6s MB %6s s\n' "nginx" "$n_rps" "$n_mbs" "$n_ok" \
    "$n_fail" "$n_err" "$((n_rss / 1024))" "$(awk "BEGIN{printf \"%.2f\", $n_cpu/1000}")"
python3 - "$o_rps" "$n_rps" "$o_rss" "$n_rss" "$o_cpu" "$n_cpu" <<'PY'
import sys
o, n, orss, nrss, ocpu, ncpu = map(float, sys.argv[1:])
print("\nota32/nginx: throughput %.2fx, peak RSS %.2fx, server CPU %.2fx" %
      (o / n if n else 0, orss / nrss if nrss else 0, ocpu / ncpu if ncpu else 0))
PY
if [ "$o_ok" != "$REQUESTS" ] || [ "$o_fail" != 0 ] || [ "$o_err" != 0 ]; then
    echo "bench_serve: ota32 serve had failures:"
    tail -20 "$T/h2load-ota32.txt"
    exit 1
fi
