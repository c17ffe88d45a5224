#!/usr/bin/env bash
# Helpers for the OTA end-to-end tests (sourced by tests/e2e/ota_*.sh): a
# scratch directory, pass/fail accounting, test images and devices, nginx
# (h2 over TLS, h2c), nghttpd, and a small TCP proxy that cuts, stalls or
# swaps the served file to inject faults. Run directly, it checks the proxy.
set -uo pipefail

OTA32=${OTA32:?path to the ota32 tool}
OTA32_SHARED=${OTA32_SHARED:?path to the shared reference data}
T=$(mktemp -d "${TMPDIR:-/tmp}/ota32-e2e.XXXXXX")
PIDS=()
PASSED=0
FAILED=0

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null
    done
    [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $*"; }

expect_eq() { # NAME GOT WANT
    if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
expect_contains() { # NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then pass "$1"; else
        fail "$1: '$3' not in $2"
        sed 's/^/    | /' "$2" | tail -15
    fi
}
expect_not_contains() { # NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then fail "$1: '$3' found in $2"; else pass "$1"; fi
}
expect_lt() { # NAME A B
    if [ "$2" -lt "$3" ]; then pass "$1"; else fail "$1: $2 is not < $3"; fi
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # PORT
    local i
    for i in $(seq 1 100); do
        python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$1)))" && return 0
        sleep 0.1
    done
    echo "port $1 never opened" >&2
    return 1
}

# json FILE KEY[.KEY...]: print a value from a JSON file ("" when absent).
json() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print("" if v is None else str(v).lower() if isinstance(v, bool) else v)
except Exception:
    print("")
EOF
}

# ---- images and devices ---------------------------------------------------

make_images() {
    cp "$OTA32_SHARED/vectors/partitions_two_ota_8mb.csv" "$T/parts.csv"
    "$OTA32" image make --version v1 --project demo --size 200000 -o "$T/v1.bin" >/dev/null &&
        "$OTA32" image make --version v2 --project demo --size 1048576 -o "$T/v2.bin" >/dev/null &&
        "$OTA32" image make --version v3 --project demo --size 1048576 --seed other \
            -o "$T/v3.bin" >/dev/null
}

new_device() { # NAME -> $T/NAME.flash running v1 in ota_0
    rm -f "$T/$1.flash"
    "$OTA32" device create "$T/$1.flash" --partitions "$T/parts.csv" --app "$T/v1.bin" >/dev/null
}

write_config() { # FILE URL VERSION
    printf '{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_service","attributes":{"url":"%s","version":"%s"}}]}\n' \
        "$2" "$3" >"$1"
}

# run_device NAME CONFIG [args...]: runs `device run --once`, output in
# $T/NAME.out (stdout+stderr), summary in $T/NAME.json, status in $RC.
run_device() {
    local name=$1 cfg=$2
    shift 2
    timeout 120 "$OTA32" device run "$T/$name.flash" --config "$cfg" --once --poll 1 \
        --retry-base-ms 200 --json-summary "$T/$name.json" "$@" >"$T/$name.out" 2>&1
    RC=$?
}

# inspect NAME: boot partition, its state and the stored version, one line.
inspect() {
    "$OTA32" flash inspect "$T/$1.flash" --json >"$T/$1.inspect.json" 2>/dev/null
    echo "$(json "$T/$1.inspect.json" boot.partition) $(json "$T/$1.inspect.json" boot.state)" \
        "$(json "$T/$1.inspect.json" nvs.ota_version)"
}

# ---- servers ----------------------------------------------------------------

# start_nginx ROOT PORT [tls]: nginx serving ROOT with HTTP/2 (TLS with the CA
# from make_ca when "tls", else h2c with prior knowledge). /status500 and
# /status403 answer 500 and 403.
start_nginx() {
    local root=$1 port=$2 mode=${3:-h2c} dir="$T/nginx-$2"
    mkdir -p "$dir/logs" "$dir/tmp"
    local listen="listen 127.0.0.1:$port http2;"
    local tls=""
    if [ "$mode" == tls ]; then
        listen="listen 127.0.0.1:$port ssl http2;"
        tls="ssl_certificate $T/ca/server.crt; ssl_certificate_key $T/ca/server.key;"
    fi
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 64; }
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
    default_type application/octet-stream;
    server {
        $listen
        server_name localhost;
        $tls
        root $root;
        location = /status500 { return 500; }
        location = /status403 { return 403; }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/logs/stdout" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
}

start_nghttpd() { # ROOT PORT (h2c; nghttpd answers ranges with 200)
    nghttpd --no-tls -d "$1" "$2" >"$T/nghttpd-$2.log" 2>&1 &
    PIDS+=($!)
    wait_port "$2"
}

# make_ca: a CA and a server certificate for localhost / 127.0.0.1 in $T/ca.
make_ca() {
    mkdir -p "$T/ca"
    (
        cd "$T/ca" || exit 1
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
            -subj "/CN=ota32 test CA" >/dev/null 2>&1 &&
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
                -subj "/CN=localhost" >/dev/null 2>&1 &&
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >ext.cnf &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -out server.crt -days 2 -extfile ext.cnf >/dev/null 2>&1
    )
}

# start_proxy UPSTREAM_PORT PORT SPEC: forwards 127.0.0.1:PORT to the
# upstream. SPEC, comma-separated, applies to connection K (0-based):
#   cut:K:N    close connection K after N bytes from the server
#   stall:K:N  after N bytes from the server, forward nothing more (keep open)
#   swap:K:SRC:DST  when connection K is cut, move SRC over DST (file changed)
# Counters are written to $T/proxy-PORT.log (one line per connection).
start_proxy() {
    cat >"$T/proxy.py" <<'EOF'
import os, socket, sys, threading
up, port, spec, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cuts, stalls, swaps = {}, {}, {}
for item in filter(None, spec.split(",")):
    f = item.split(":")
    if f[0] == "cut": cuts[int(f[1])] = int(f[2])
    elif f[0] == "stall": stalls[int(f[1])] = int(f[2])
    elif f[0] == "swap": swaps[int(f[1])] = (f[2], f[3])
lock = threading.Lock()
count = [0]
def pipe(a, b, k, limit, stall, res):
    n = 0
    try:
        while True:
            d = a.recv(16384)
            if not d: break
            if stall is not None and n + len(d) > stall:
                d = d[:max(0, stall - n)]
                if d: b.sendall(d); n += len(d)
                threading.Event().wait(3600)
            if limit is not None and n + len(d) >= limit:
                b.sendall(d[:limit - n]); n = limit; res["cut"] = True; break
            b.sendall(d); n += len(d)
    except OSError:
        pass
    res["bytes"] = n
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    with lock:
        k = count[0]; count[0] += 1
    s = socket.create_connection(("127.0.0.1", up))
    res = {}
    t = threading.Thread(target=pipe, args=(c, s, k, None, None, {}), daemon=True)
    t.start()
    pipe(s, c, k, cuts.get(k), stalls.get(k), res)
    if res.get("cut") and k in swaps:
        os.replace(*swaps[k])
    with open(log, "a") as f:
        f.write("%d %d %s\n" % (k, res.get("bytes", 0), "cut" if res.get("cut") else "end"))
    c.close(); s.close()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(16)
open(log + ".ready", "w").close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
    python3 "$T/proxy.py" "$1" "$2" "$3" "$T/proxy-$2.log" &
    PIDS+=($!)
    local i # not wait_port: a probe would count as connection 0
    for i in $(seq 1 100); do
        [ -e "$T/proxy-$2.log.ready" ] && return 0
        sleep 0.1
    done
    return 1
}

# Run directly: check the proxy itself against nghttpd.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    mkdir -p "$T/www"
    head -c 300000 /dev/urandom >"$T/www/blob"
    UP=$(free_port)
    start_nghttpd "$T/www" "$UP"
    P=$(free_port)
    start_proxy "$UP" "$P" "cut:0:50000"
    curl -s --http2-prior-knowledge -o "$T/a" "http://127.0.0.1:$P/blob"
    got=$(stat -c %s "$T/a" 2>/dev/null || echo 0)
    expect_lt "proxy: first connection cut short" "$got" 50000
    curl -s --http2-prior-knowledge -o "$T/b" "http://127.0.0.1:$P/blob"
    cmp -s "$T/b" "$T/www/blob" && pass "proxy: second connection passes through" ||
        fail "proxy: second connection differs"
    expect_contains "proxy: log counts the cut" "$T/proxy-$P.log" "0 50000 cut"
    finish
fi
