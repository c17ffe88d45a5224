#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 fetch` against real HTTP/2 servers: nghttpd for h2c (prior
# knowledge) and nginx over TLS with a CA and a server certificate made here.
# Byte-exact downloads, Range + If-Range, Basic auth, redirects (absolute,
# relative, chained, looping), error statuses, certificate and host name
# verification, and a TLS server without h2 in ALPN.
set -uo pipefail
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
OTA32=${OTA32:?path to the ota32 tool}
need_tools nginx nghttpd openssl python3 sha256sum
scratch

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Content: a 3.5 MB random blob and a real ESP32 app image.
mkdir -p "$T/www/fw" "$T/www/private" "$T/www/r"
head -c 3500000 /dev/urandom >"$T/www/fw/big.bin"
test_app "$T/www/fw/app.bin" || ko "ota32 image make"
cp "$T/www/fw/app.bin" "$T/www/private/app.bin"

# ---- h2c with prior knowledge: nghttpd ----
H2C=$(free_port)
start_nghttpd "$T/www" "$H2C" || { echo "nghttpd did not start"; cat "$T/nghttpd-$H2C.log"; }

if "$OTA32" fetch "http://127.0.0.1:$H2C/fw/big.bin" -o "$T/h2c.bin" >"$T/out" 2>&1 &&
  [ "$(sha "$T/h2c.bin")" = "$(sha "$T/www/fw/big.bin")" ] &&
  grep -q '^status: *200$' "$T/out" && grep -q '^bytes: *3500000$' "$T/out" &&
  grep -q '^content-length: *3500000$' "$T/out"; then
  ok "h2c: 3.5 MB byte-exact"
else ko "h2c: 3.5 MB byte-exact" "$T/out"; fi

# The peak heap of the client stays bounded by the window, not the body.
peak=$(sed -n 's/^peak heap: *\([0-9]*\) bytes.*/\1/p' "$T/out")
if [ -n "$peak" ] && [ "$peak" -lt 65536 ]; then ok "h2c: peak heap $peak < 64 KiB"
else ko "h2c: peak heap '$peak' < 64 KiB" "$T/out"; fi

if "$OTA32" fetch "http://127.0.0.1:$H2C/fw/big.bin" --window 1M -o "$T/h2c1m.bin" >"$T/out" 2>&1 &&
  [ "$(sha "$T/h2c1m.bin")" = "$(sha "$T/www/fw/big.bin")" ]; then
  ok "h2c: --window 1M byte-exact"
else ko "h2c: --window 1M byte-exact" "$T/out"; fi

if "$OTA32" fetch "http://127.0.0.1:$H2C/fw/app.bin" --verify-image >"$T/out" 2>&1 &&
  grep -q '^image: *ok, 601808 bytes, chip ESP32' "$T/out" &&
  grep -q '^app project: *ota32-test$' "$T/out"; then
  ok "h2c: --verify-image reports the app descriptor"
else ko "h2c: --verify-image reports the app descriptor" "$T/out"; fi
if ! "$OTA32" fetch "http://127.0.0.1:$H2C/fw/big.bin" --verify-image >"$T/out" 2>&1 &&
  grep -q 'ota32: fetch: image: .*0xe9\|ota32: fetch: image: .*magic' "$T/out"; then
  ok "h2c: --verify-image rejects a non-image early"
else ko "h2c: --verify-image rejects a non-image early" "$T/out"; fi

if ! "$OTA32" fetch "http://127.0.0.1:$H2C/fw/missing.bin" >"$T/out" 2>&1 &&
  grep -q "server answered 404 for http://127.0.0.1:$H2C/fw/missing.bin" "$T/out"; then
  ok "h2c: 404 named"
else ko "h2c: 404 named" "$T/out"; fi

# IPv6 literal, when the host has an IPv6 loopback.
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
  H2C6=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])')
  start_nghttpd "$T/www" "$H2C6" ::1
  if "$OTA32" fetch "http://[::1]:$H2C6/fw/app.bin" -o "$T/v6.bin" >"$T/out" 2>&1 &&
    [ "$(sha "$T/v6.bin")" = "$(sha "$T/www/fw/app.bin")" ] &&
    grep -q "^url: *http://\[::1\]:$H2C6/fw/app.bin$" "$T/out"; then
    ok "h2c over IPv6 [::1]"
  else ko "h2c over IPv6 [::1]" "$T/out"; fi
else
  echo "note: no IPv6 loopback, IPv6 literal not tested here (unit-tested in test_url)"
fi

# ---- TLS: a CA and a server certificate for 127.0.0.1 (IP SAN only) ----
cd "$T" || exit 1
make_ca "$T" rsa 127.0.0.1 IP:127.0.0.1 extendedKeyUsage=serverAuth
printf 'ota:%s\n' "$(openssl passwd -apr1 's3cr:t@x')" >htpasswd

TLS=$(free_port)
NOH2=$(free_port)
run_nginx "$T/nginx" "$TLS" "  absolute_redirect off;
  ssl_certificate $T/server.crt;
  ssl_certificate_key $T/server.key;
  server {
    listen 127.0.0.1:$TLS ssl http2;
    root $T/www;
    location /private/ { auth_basic \"ota32\"; auth_basic_user_file $T/htpasswd; }
    location = /r/abs { return 302 /fw/big.bin; }
    location = /r/rel { return 301 ../fw/app.bin; }
    location = /r/chain { return 307 rel; }
    location = /r/loop { return 302 /r/loop; }
    location = /forbidden { return 403; }
    location = /boom { return 500; }
  }
  server {
    listen 127.0.0.1:$NOH2 ssl;
    root $T/www;
  }" || { echo "nginx did not start"; cat "$T/nginx/logs/stdout" "$T/nginx/logs/error.log"; }
B="https://127.0.0.1:$TLS"

if "$OTA32" fetch "$B/fw/big.bin" --ca ca.crt -o tls.bin >out 2>&1 &&
  [ "$(sha tls.bin)" = "$(sha www/fw/big.bin)" ] && grep -q '^status: *200$' out; then
  ok "TLS h2: 3.5 MB byte-exact"
else ko "TLS h2: 3.5 MB byte-exact" out; fi
peak=$(sed -n 's/^peak heap: *\([0-9]*\) bytes.*/\1/p' out)
if [ -n "$peak" ] && [ "$peak" -lt 65536 ]; then ok "TLS h2: peak heap $peak < 64 KiB"
else ko "TLS h2: peak heap '$peak' < 64 KiB" out; fi
etag=$(sed -n 's/^etag: *//p' out)
lastmod=$(sed -n 's/^last-modified: *//p' out)

# Range + If-Range: 206 while the validator matches, 200 once it does not.
tail -c +1000001 www/fw/big.bin >tail.expected
if [ -n "$etag" ] &&
  "$OTA32" fetch "$B/fw/big.bin" --ca ca.crt --range 1000000 --if-range "$etag" -o part.bin \
    >out 2>&1 && grep -q '^status: *206$' out &&
  grep -q '^content-range: *from 1000000 of 3500000$' out &&
  [ "$(sha part.bin)" = "$(sha tail.expected)" ]; then
  ok "Range + If-Range (ETag $etag): 206, the tail byte-exact"
else ko "Range + If-Range (ETag): 206" out; fi
if [ -n "$lastmod" ] &&
  "$OTA32" fetch "$B/fw/big.bin" --ca ca.crt --range 1000000 --if-range "$lastmod" >out 2>&1 &&
  grep -q '^status: *206$' out && grep -q '^bytes: *2500000$' out; then
  ok "Range + If-Range (Last-Modified): 206"
else ko "Range + If-Range (Last-Modified): 206" out; fi
if "$OTA32" fetch "$B/fw/big.bin" --ca ca.crt --range 1000000 --if-range '"changed"' -o full.bin \
  >out 2>&1 && grep -q '^status: *200$' out && grep -q '^bytes: *3500000$' out &&
  [ "$(sha full.bin)" = "$(sha www/fw/big.bin)" ]; then
  ok "Range + stale If-Range: 200 with the whole file"
else ko "Range + stale If-Range: 200" out; fi
if "$OTA32" fetch "$B/fw/big.bin" --ca ca.crt --range 3499990 >out 2>&1 &&
  grep -q '^status: *206$' out && grep -q '^bytes: *10$' out; then
  ok "Range without If-Range: the last 10 bytes"
else ko "Range without If-Range" out; fi

# Basic auth from the URL's userinfo (percent-decoded: password "s3cr:t@x").
if "$OTA32" fetch "https://ota:s3cr%3At%40x@127.0.0.1:$TLS/private/app.bin" --ca ca.crt \
  -o priv.bin >out 2>&1 && [ "$(sha priv.bin)" = "$(sha www/fw/app.bin)" ] &&
  grep -q "^url: *https://127.0.0.1:$TLS/private/app.bin$" out; then
  ok "Basic auth: download, credentials not printed"
else ko "Basic auth: download" out; fi
if ! "$OTA32" fetch "https://ota:wrong@127.0.0.1:$TLS/private/app.bin?sig=SECRET" --ca ca.crt \
  >out 2>&1 && grep -q "server answered 401 for https://127.0.0.1:$TLS/private/app.bin?<redacted>" out &&
  ! grep -q 'wrong\|SECRET' out; then
  ok "Basic auth: wrong password -> 401, credentials and query redacted"
else ko "Basic auth: wrong password -> 401" out; fi
if ! "$OTA32" fetch "$B/private/app.bin" --ca ca.crt >out 2>&1 &&
  grep -q "server answered 401" out; then
  ok "Basic auth: none -> 401"
else ko "Basic auth: none -> 401" out; fi

# Redirects.
if "$OTA32" fetch "$B/r/abs" --ca ca.crt -o r.bin >out 2>&1 &&
  [ "$(sha r.bin)" = "$(sha www/fw/big.bin)" ] &&
  grep -q "^redirects: *1 (to $B/fw/big.bin)$" out; then
  ok "redirect: 302 absolute path"
else ko "redirect: 302 absolute path" out; fi
if "$OTA32" fetch "$B/r/rel" --ca ca.crt -o r.bin >out 2>&1 &&
  [ "$(sha r.bin)" = "$(sha www/fw/app.bin)" ] &&
  grep -q "^redirects: *1 (to $B/fw/app.bin)$" out; then
  ok "redirect: 301 relative ../fw/app.bin"
else ko "redirect: 301 relative" out; fi
if "$OTA32" fetch "$B/r/chain" --ca ca.crt -o r.bin >out 2>&1 &&
  [ "$(sha r.bin)" = "$(sha www/fw/app.bin)" ] && grep -q "^redirects: *2 " out; then
  ok "redirect: 307 relative then 301 relative"
else ko "redirect: chain" out; fi
if ! "$OTA32" fetch "$B/r/loop" --ca ca.crt --max-redirects 3 >out 2>&1 &&
  grep -q "too many redirects: 3 followed, last answer 302 for $B/r/loop" out; then
  ok "redirect: a loop stops at the limit"
else ko "redirect: a loop stops at the limit" out; fi
if ! "$OTA32" fetch "$B/r/chain" --ca ca.crt --max-redirects 1 >out 2>&1 &&
  grep -q "too many redirects: 1 followed" out; then
  ok "redirect: limit 1 refuses a chain of 2"
else ko "redirect: limit 1 refuses a chain of 2" out; fi

# Error statuses, named.
for st in 404:/fw/none.bin 403:/forbidden 500:/boom; do
  code=${st%%:*} path=${st#*:}
  if ! "$OTA32" fetch "$B$path?token=abc" --ca ca.crt >out 2>&1 &&
    grep -q "server answered $code for $B$path?<redacted>" out && ! grep -q token out; then
    ok "status $code named, query redacted"
  else ko "status $code named" out; fi
done

# Certificate and host name verification.
if ! "$OTA32" fetch "$B/fw/app.bin" >out 2>&1 &&
  grep -q "TLS: certificate verify failed: unable to get local issuer certificate for host 127.0.0.1" out; then
  ok "TLS: unknown CA refused by default"
else ko "TLS: unknown CA refused by default" out; fi
if ! "$OTA32" fetch "https://localhost:$TLS/fw/app.bin" --ca ca.crt >out 2>&1 &&
  grep -q "TLS: certificate verify failed: .*mismatch for host localhost" out; then
  ok "TLS: host name mismatch refused"
else ko "TLS: host name mismatch refused" out; fi
if "$OTA32" fetch "$B/fw/app.bin" --insecure --quiet >out 2>&1; then
  ok "TLS: --insecure skips verification"
else ko "TLS: --insecure skips verification" out; fi
if ! "$OTA32" fetch "https://127.0.0.1:$NOH2/fw/app.bin" --ca ca.crt >out 2>&1 &&
  grep -q "TLS: 127.0.0.1:$NOH2 offers none of the protocols asked for by ALPN (h2)" out; then
  ok "TLS without h2 in ALPN refused"
else ko "TLS without h2 in ALPN refused" out; fi

# Usage errors exit 2.
"$OTA32" fetch "ftp://h/x" >out 2>&1
rc=$?
if [ $rc = 2 ] && grep -q "scheme 'ftp' is not supported" out; then ok "bad URL: exit 2, named"
else ko "bad URL: exit 2 (got $rc)" out; fi
"$OTA32" fetch "$B/x" --window 12 >out 2>&1
rc=$?
if [ $rc = 2 ]; then ok "bad option: exit 2"; else ko "bad option: exit 2 (got $rc)" out; fi

"$OTA32" fetch >out 2>&1
rc=$?
if [ $rc = 2 ] && grep -q '^usage: ota32 fetch URL' out; then ok "no URL: usage, exit 2"
else ko "no URL: usage, exit 2 (got $rc)" out; fi
if "$OTA32" fetch --help >out 2>&1 && grep -q -- '--verify-image' out; then ok "--help: exit 0"
else ko "--help: exit 0" out; fi

finish
