# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# Peers of the end-to-end tests, all on the loopback interface: free ports and
# waiting for a listener, a test CA with server certificates, nginx and
# nghttpd with private configurations, `ota32 serve`, and a TCP proxy that
# injects faults. It sources check.sh: servers started here are added to PIDS
# (or set PID) and write into $T (see scratch), so that cleanup stops them.

PEERS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=./check.sh
. "$PEERS_LIB/check.sh"

# free_port: a TCP port free on 127.0.0.1 now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [HOST]: wait (10 s at most) until HOST (127.0.0.1) accepts
# connections on PORT.
wait_port() {
    local host=${2:-127.0.0.1}
    for _ in $(seq 1 100); do
        python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2)' \
            "$host" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 never opened" >&2
    return 1
}

# make_ca DIR KEY CN SAN [EXT...]: in DIR, a CA (ca.key, ca.crt, subject
# "ota32 test CA") and a server key and certificate it signed (server.key,
# server.crt) with subject CN and subjectAltName SAN (e.g.
# "DNS:localhost,IP:127.0.0.1"). KEY is rsa (2048 bits) or ec (P-256). Each
# EXT is one more extension of the server certificate (e.g.
# extendedKeyUsage=serverAuth). Valid for 2 days.
make_ca() {
    local dir=$1 key=$2 cn=$3 san=$4
    shift 4
    local newkey=(-newkey rsa:2048)
    if [ "$key" = ec ]; then newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256); fi
    mkdir -p "$dir" &&
        openssl req -x509 "${newkey[@]}" -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 2 \
            -subj "/CN=ota32 test CA" >/dev/null 2>&1 &&
        openssl req "${newkey[@]}" -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
            -subj "/CN=$cn" >/dev/null 2>&1 &&
        printf '%s\n' "subjectAltName=$san" "basicConstraints=CA:FALSE" "$@" >"$dir/ext.cnf" &&
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
            -CAcreateserial -out "$dir/server.crt" -days 2 -extfile "$dir/ext.cnf" >/dev/null 2>&1
}

# run_nginx DIR PORT HTTP: nginx in the foreground, one process, run from DIR
# (DIR/nginx.conf, DIR/logs/{error,access}.log, DIR/logs/stdout, DIR/tmp) with
# HTTP as the body of its http block (settings and server blocks); waits
# until PORT accepts connections.
run_nginx() {
    local dir=$1 port=$2 http=$3
    mkdir -p "$dir/logs" "$dir/tmp"
    cat >"$dir/nginx.conf" <<CONF
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
$http
}
CONF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/logs/stdout" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
}

# nginx_h2 ROOT PORT [CADIR]: nginx serving ROOT with HTTP/2 on PORT, from
# $T/nginx-PORT: over TLS with CADIR's server.crt and server.key (see
# make_ca) when CADIR is given, else h2c with prior knowledge. /status500
# and /status403 answer 500 and 403.
nginx_h2() {
    local root=$1 port=$2 ca=${3:-}
    local listen="listen 127.0.0.1:$port http2;" tls=""
    if [ -n "$ca" ]; then
        listen="listen 127.0.0.1:$port ssl http2;"
        tls="ssl_certificate $ca/server.crt; ssl_certificate_key $ca/server.key;"
    fi
    run_nginx "$T/nginx-$port" "$port" "    server {
        $listen
        server_name localhost;
        $tls
        root $root;
        location = /status500 { return 500; }
        location = /status403 { return 403; }
    }"
}

# start_nghttpd ROOT PORT [ADDR]: nghttpd serving ROOT over h2c on ADDR
# (127.0.0.1) port PORT, log in $T/nghttpd-PORT.log. nghttpd answers range
# requests with 200 and the whole file.
start_nghttpd() {
    local addr=${3:-127.0.0.1}
    nghttpd --no-tls -a "$addr" -d "$1" "$2" >"$T/nghttpd-$2.log" 2>&1 &
    PIDS+=($!)
    wait_port "$2" "$addr"
}

# start_server ARGS...: `ota32 serve ARGS` on a free port of 127.0.0.1,
# stdout in $T/out, stderr in $T/err; sets PID, and PORT once it listens.
# SERVE_SCHEME=https when it serves TLS; SERVE_NOFILE=N runs it under
# `ulimit -n N`.
start_server() {
    (
        if [ -n "${SERVE_NOFILE:-}" ]; then ulimit -n "$SERVE_NOFILE"; fi
        exec "$OTA32" serve "$@" --bind 127.0.0.1 --port 0
    ) >"$T/out" 2>"$T/err" &
    PID=$!
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n "s|.*listening on ${SERVE_SCHEME:-http}://127.0.0.1:\([0-9]*\) .*|\1|p" "$T/out")
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "server did not start:"
    cat "$T/out" "$T/err"
    return 1
}

# stop_server: SIGTERM to the server started by start_server; fails unless
# it exits 0.
stop_server() {
    kill -TERM "$PID"
    local rc=0
    wait "$PID" || rc=$?
    PID=
    return $rc
}

# start_proxy UPSTREAM_PORT PORT SPEC: forwards 127.0.0.1:PORT to the
# upstream. SPEC, comma-separated, applies to connection K (0-based):
#   cut:K:N    close connection K after N bytes from the server
#   stall:K:N  after N bytes from the server, forward nothing more (keep open)
#   swap:K:SRC:DST  when connection K is cut, move SRC over DST (file changed)
# Counters are written to $T/proxy-PORT.log (one line per connection).
start_proxy() {
    python3 "$PEERS_LIB/fault_proxy.py" "$1" "$2" "$3" "$T/proxy-$2.log" &
    PIDS+=($!)
    # not wait_port: a probe would count as connection 0
    for _ in $(seq 1 100); do
        [ -e "$T/proxy-$2.log.ready" ] && return 0
        sleep 0.1
    done
    return 1
}
