#!/usr/bin/env bash
# ota32 serve over TLS: a CA and a server certificate made here with the
# openssl CLI; ALPN "h2" (curl --http2, nghttp) and "http/1.1"; byte-exact
# downloads and ranges; a client that is not TLS does not take it down.
set -u
OTA32=${OTA32:?path to the ota32 tool}
SHARED=${OTA32_SHARED:?shared test data}
APP=$SHARED/esp-images/app-template-esp32.bin
APP_SIZE=$(stat -c %s "$APP")

pass=0 fail=0
T=$(mktemp -d)
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
check() {
    local name=$1
    shift
    if "$@"; then
        pass=$((pass + 1))
    else
        echo "FAIL: $name"
        fail=$((fail + 1))
    fi
}
eq() { [ "$1" = "$2" ] || { echo "  expected [$2], got [$1]"; return 1; }; }
has() { grep -qiF -- "$2" "$1" || { echo "  $1 lacks [$2]"; return 1; }; }

# --- a private CA and a server certificate for 127.0.0.1 / localhost ---
cd "$T"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=ota32 test CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile ext.cnf -out server.pem 2>/dev/null
check "certificates made" test -s server.pem -a -s ca.pem

"$OTA32" serve "$APP" --tls-cert server.pem --tls-key server.key --bind 127.0.0.1 --port 0 \
    >"$T/out" 2>"$T/err" &
PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's|.*listening on https://127.0.0.1:\([0-9]*\) .*|\1|p' "$T/out")
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "server did not start"; cat "$T/out" "$T/err"; exit 1; }
U=https://127.0.0.1:$PORT
F=$U/app-template-esp32.bin

check "banner shows the https URL" has "$T/out" "$F"
sed -n '/^{/,/^}/p' "$T/out" >block.json
check "service block url is https" python3 -c '
import json, sys
b = json.load(open("block.json"))
assert b["attributes"]["url"] == sys.argv[1], b
assert b["attributes"]["version"] == "1cd5752", b' "$F"

r=$(curl -sS --http2 --cacert ca.pem -o h2.bin -w '%{http_code} %{http_version}' "$F")
check "h2 over TLS (ALPN h2)" eq "$r" "200 2"
check "h2 bytes" cmp -s h2.bin "$APP"
r=$(curl -sS --http1.1 --cacert ca.pem -o h1.bin -w '%{http_code} %{http_version}' "$F")
check "HTTP/1.1 over TLS (ALPN http/1.1)" eq "$r" "200 1.1"
check "HTTP/1.1 bytes" cmp -s h1.bin "$APP"
r=$(curl -sS --http1.1 --no-alpn --cacert ca.pem -o noalpn.bin -w '%{http_code} %{http_version}' "$F")
check "TLS without ALPN falls back to HTTP/1.1" eq "$r" "200 1.1"
check "no-ALPN bytes" cmp -s noalpn.bin "$APP"
r=$(curl -sS --http2 --cacert ca.pem -D rh -o r.bin -w '%{http_code}' -r 1000-1999 "$F")
check "range over h2/TLS" eq "$r" 206
check "range header" has rh "content-range: bytes 1000-1999/$APP_SIZE"
check "range body" cmp -s r.bin <(tail -c +1001 "$APP" | head -c 1000)
nghttp "$F" >ng.bin 2>/dev/null
check "nghttp over TLS" cmp -s ng.bin "$APP"
h2load -c 10 -n 40 -m 4 "$F" >h2load.txt 2>&1
check "h2load over TLS: all succeeded" has h2load.txt "40 succeeded, 0 failed, 0 errored, 0 timeout"
check "h2load over TLS: every byte" has h2load.txt "($((APP_SIZE * 40))) data"
check "h2load negotiated h2" has h2load.txt "Application protocol: h2"
h2load --h1 -c 5 -n 10 "$F" >h2load1.txt 2>&1
check "h2load HTTP/1.1 over TLS" has h2load1.txt "10 succeeded, 0 failed, 0 errored, 0 timeout"
echo | openssl s_client -connect "127.0.0.1:$PORT" -alpn h2 -CAfile ca.pem >sc.txt 2>&1
check "ALPN h2 negotiated" has sc.txt "ALPN protocol: h2"
check "certificate verifies against the CA" has sc.txt "Verify return code: 0 (ok)"
check "untrusted without the CA" eq "$(curl -s -o /dev/null -w '%{http_code}' "$F"; echo " $?")" "000 60"
r=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/app-template-esp32.bin")
check "plain h2c to the TLS port fails" eq "$r" "000"
r=$(curl -sS --http2 --cacert ca.pem -o /dev/null -w '%{http_code}' "$U/../etc/passwd" --path-as-is)
check "404 over TLS" eq "$r" 404
r=$(curl -sS --http2 --cacert ca.pem -o again.bin -w '%{http_code}' "$F")
check "still serving after a non-TLS client" eq "$r" 200
check "access log says h2" grep -qE '"GET /app-template-esp32.bin" 200 '"$APP_SIZE"' [0-9]+ms h2$' "$T/err"
check "access log says http/1.1" grep -qE '"GET /app-template-esp32.bin" 200 '"$APP_SIZE"' [0-9]+ms http/1.1$' "$T/err"

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
check "clean exit on SIGTERM" eq "$rc" 0
check "summary counts h2 connections" grep -qE 'connections \(h2 [1-9]' "$T/out"

# --- TLS setup errors are reported ---
rc=0
"$OTA32" serve "$APP" --tls-cert ca.pem --tls-key server.key --port 0 >o2 2>e2 || rc=$?
check "mismatched key refused" eq "$rc" 1
check "mismatched key message" has e2 "server.key"
rc=0
"$OTA32" serve "$APP" --tls-cert server.pem --port 0 >o2 2>e2 || rc=$?
check "--tls-cert without --tls-key is a usage error" eq "$rc" 2

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
