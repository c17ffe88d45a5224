#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ota32 serve over TLS: a CA and a server certificate made here with the
# openssl CLI; ALPN "h2" (curl --http2, nghttp) and "http/1.1"; byte-exact
# downloads and ranges; a client that is not TLS does not take it down.
set -u
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
quiet_checks
OTA32=${OTA32:?path to the ota32 tool}
scratch
APP=$T/app-esp32.bin
test_app "$APP" || { ko "ota32 image make"; finish; }
APP_SIZE=$(stat -c %s "$APP")

# --- a private CA and a server certificate for 127.0.0.1 / localhost ---
cd "$T" || exit 1
make_ca "$T" ec localhost "IP:127.0.0.1,DNS:localhost"
check "certificates made" test -s server.crt -a -s ca.crt

SERVE_SCHEME=https start_server "$APP" --tls-cert server.crt --tls-key server.key || exit 1
U=https://127.0.0.1:$PORT
F=$U/app-esp32.bin

check "banner shows the https URL" has_i "$T/out" "$F"
sed -n '/^{/,/^}/p' "$T/out" >block.json
check "service block url is https" python3 -c '
import json, sys
b = json.load(open("block.json"))
assert b["attributes"]["url"] == sys.argv[1], b
assert b["attributes"]["version"] == "1.0.0", b' "$F"

r=$(curl -sS --http2 --cacert ca.crt -o h2.bin -w '%{http_code} %{http_version}' "$F")
check "h2 over TLS (ALPN h2)" eq "$r" "200 2"
check "h2 bytes" cmp -s h2.bin "$APP"
r=$(curl -sS --http1.1 --cacert ca.crt -o h1.bin -w '%{http_code} %{http_version}' "$F")
check "HTTP/1.1 over TLS (ALPN http/1.1)" eq "$r" "200 1.1"
check "HTTP/1.1 bytes" cmp -s h1.bin "$APP"
r=$(curl -sS --http1.1 --no-alpn --cacert ca.crt -o noalpn.bin -w '%{http_code} %{http_version}' "$F")
check "TLS without ALPN falls back to HTTP/1.1" eq "$r" "200 1.1"
check "no-ALPN bytes" cmp -s noalpn.bin "$APP"
r=$(curl -sS --http2 --cacert ca.crt -D rh -o r.bin -w '%{http_code}' -r 1000-1999 "$F")
check "range over h2/TLS" eq "$r" 206
check "range header" has_i rh "content-range: bytes 1000-1999/$APP_SIZE"
check "range body" cmp -s r.bin <(tail -c +1001 "$APP" | head -c 1000)
nghttp "$F" >ng.bin 2>/dev/null
check "nghttp over TLS" cmp -s ng.bin "$APP"
h2load -c 10 -n 40 -m 4 "$F" >h2load.txt 2>&1
check "h2load over TLS: all succeeded" has_i h2load.txt "40 succeeded, 0 failed, 0 errored, 0 timeout"
check "h2load over TLS: every byte" has_i h2load.txt "($((APP_SIZE * 40))) data"
check "h2load negotiated h2" has_i h2load.txt "Application protocol: h2"
h2load --h1 -c 5 -n 10 "$F" >h2load1.txt 2>&1
check "h2load HTTP/1.1 over TLS" has_i h2load1.txt "10 succeeded, 0 failed, 0 errored, 0 timeout"
echo | openssl s_client -connect "127.0.0.1:$PORT" -alpn h2 -CAfile ca.crt >sc.txt 2>&1
check "ALPN h2 negotiated" has_i sc.txt "ALPN protocol: h2"
check "certificate verifies against the CA" has_i sc.txt "Verify return code: 0 (ok)"
check "untrusted without the CA" eq "$(curl -s -o /dev/null -w '%{http_code}' "$F"; echo " $?")" "000 60"
r=$(curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/app-esp32.bin")
check "plain h2c to the TLS port fails" eq "$r" "000"
r=$(curl -sS --http2 --cacert ca.crt -o /dev/null -w '%{http_code}' "$U/../etc/passwd" --path-as-is)
check "404 over TLS" eq "$r" 404
r=$(curl -sS --http2 --cacert ca.crt -o again.bin -w '%{http_code}' "$F")
check "still serving after a non-TLS client" eq "$r" 200
check "access log says h2" grep -qE '"GET /app-esp32.bin" 200 '"$APP_SIZE"' [0-9]+ms h2$' "$T/err"
check "access log says http/1.1" grep -qE '"GET /app-esp32.bin" 200 '"$APP_SIZE"' [0-9]+ms http/1.1$' "$T/err"

rc=0
stop_server || rc=$?
check "clean exit on SIGTERM" eq "$rc" 0
check "summary counts h2 connections" grep -qE 'connections \(h2 [1-9]' "$T/out"

# --- TLS setup errors are reported ---
rc=0
"$OTA32" serve "$APP" --tls-cert ca.crt --tls-key server.key --port 0 >o2 2>e2 || rc=$?
check "mismatched key refused" eq "$rc" 1
check "mismatched key message" has_i e2 "server.key"
rc=0
"$OTA32" serve "$APP" --tls-cert server.crt --port 0 >o2 2>e2 || rc=$?
check "--tls-cert without --tls-key is a usage error" eq "$rc" 2

finish
