#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ota32 serve with ota32's own HTTP/2 client (`ota32 fetch`, what the device
# side uses): a verified download, HEAD, and a resumed download guarded by
# If-Range, including the case where the image changed in between.
set -u
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
quiet_checks
OTA32=${OTA32:?path to the ota32 tool}
scratch
APP=$T/app-esp32.bin
test_app "$APP" || { ko "ota32 image make"; finish; }
APP_SIZE=$(stat -c %s "$APP")

mkdir -p "$T/www"
cp "$APP" "$T/www/fw.bin"
start_server --dir "$T/www" || exit 1
U=http://127.0.0.1:$PORT/fw.bin

rc=0
"$OTA32" fetch "$U" --verify-image -o "$T/a.bin" >"$T/fetch.txt" 2>&1 || rc=$?
check "fetch --verify-image succeeds" eq "$rc" 0
check "fetched bytes" cmp -s "$T/a.bin" "$APP"
# the chip is checked: ESP32 by default, another with --chip
rc=0
"$OTA32" fetch "$U" --verify-image --chip esp32s2 -o "$T/s2.bin" >"$T/s2.txt" 2>&1 || rc=$?
check "fetch --chip esp32s2 of an ESP32 app fails" eq "$rc" 1
check "... naming both chips" has_i "$T/s2.txt" "image is for ESP32 (chip id 0), expected ESP32-S2 (chip id 2)"
check "... and writes nothing" test ! -e "$T/s2.bin"
check "server logged an h2c request" grep -qE '"GET /fw.bin" 200 '"$APP_SIZE"' [0-9]+ms h2c$' "$T/err"

"$OTA32" fetch "$U" --head >"$T/head.txt" 2>&1
etag=$(sed -n 's/^etag: *//p' "$T/head.txt")
check "HEAD reports the length" has_i "$T/head.txt" "content-length: $APP_SIZE"
check "HEAD reports the ETag" test -n "$etag"

# resume from byte 500000 while the validator still matches
"$OTA32" fetch "$U" --range 500000 --if-range "$etag" -o "$T/tail.bin" >/dev/null 2>&1
check "resumed download is the tail" cmp -s "$T/tail.bin" <(tail -c +500001 "$APP")
check "server answered 206" grep -qE '"GET /fw.bin" 206 '"$((APP_SIZE - 500000))"' ' "$T/err"

# the image is rebuilt: the old validator no longer matches, 200 with all
cp "$APP" "$T/www/fw.new"
touch -d '2001-01-01' "$T/www/fw.new"
mv "$T/www/fw.new" "$T/www/fw.bin"
"$OTA32" fetch "$U" --range 500000 --if-range "$etag" -o "$T/whole.bin" >/dev/null 2>&1
check "stale If-Range gets the whole image" cmp -s "$T/whole.bin" "$APP"
check "server answered 200" test "$(grep -c '"GET /fw.bin" 200 '"$APP_SIZE" "$T/err")" -ge 2

rc=0
stop_server || rc=$?
check "clean exit" eq "$rc" 0

finish
