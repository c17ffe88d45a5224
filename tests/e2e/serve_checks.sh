#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What ota32 serve refuses to hand to devices, and how it says so: merged
# images (made by `ota32 merge`, by esptool, and crafted), files that are not
# app images, apps for another chip, images larger than the smallest ota_N
# partition; at start, and as a 403 with the reason under --dir; --force;
# usage errors; the service block with --version.
set -u
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
quiet_checks
OTA32=${OTA32:?path to the ota32 tool}
scratch
APP=$T/app-esp32.bin
test_app "$APP" || { ko "ota32 image make"; finish; }

# A refused start: exit status 1 within a few seconds, no listener.
# shellcheck disable=SC2317 # called through check
refused() { # args...
    local rc=0
    timeout 20 "$OTA32" serve "$@" --bind 127.0.0.1 --port 0 >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 1 ] || { echo "  exit status $rc"; cat "$T/err"; return 1; }
    ! grep -q "listening on" "$T/out"
}

# --- inputs ---
"$OTA32" image make --version 2.0.1-dev --project blink --size 1572864 -o "$T/made.bin" >/dev/null
check "ota32 image make" test -s "$T/made.bin"
# a bootloader's first bytes stand in for one (a merged image only needs the magic there)
{ printf '\xe9\x03\x02\x20'; head -c 4092 /dev/zero; } >"$T/boot.bin"
"$OTA32" merge -o "$T/merged.bin" 0x1000 "$T/boot.bin" \
    0x8000 "$VECTORS/partitions_two_ota_8mb.bin" 0x20000 "$APP" >/dev/null
check "ota32 merge" test -s "$T/merged.bin"
# crafted: only the two markers a merged image has
python3 -c '
import sys
b = bytearray(b"\xff" * 0x30000)
b[0x1000] = 0xE9
b[0x8000:0x8002] = b"\xaa\x50"
open(sys.argv[1], "wb").write(b)' "$T/crafted.bin"
# padded to the flash size (esptool --pad-to-size 4MB), table overwritten
python3 -c '
import sys
b = bytearray(b"\xff" * (4 << 20))
b[0x1000] = 0xE9
open(sys.argv[1], "wb").write(b)' "$T/padded.bin"
printf 'not firmware\n' >"$T/notes.txt"
head -c 100000 "$APP" >"$T/truncated.bin"
cat >"$T/small.csv" <<'CSV'
# Name, Type, SubType, Offset, Size
nvs, data, nvs, 0x9000, 0x6000
otadata, data, ota, 0xf000, 0x2000
ota_0, app, ota_0, 0x20000, 0x200000
ota_1, app, ota_1, , 0x100000
CSV

# --- merged images ---
for m in merged.bin crafted.bin padded.bin; do
    check "merged $m refused" refused "$T/$m"
    check "merged $m explained" has_i "$T/err" "merged image (bootloader + partition table + app)"
    check "points to make flash-esp32-bin" has_i "$T/err" "make flash-esp32-bin"
    check "points to make build-esp32-ota" has_i "$T/err" "make build-esp32-ota"
done

# --- not app images ---
check "text file refused" refused "$T/notes.txt"
check "text file message" has_i "$T/err" "not a valid app image: offset 0x0"
check "truncated image refused" refused "$T/truncated.bin"
check "truncated message" has_i "$T/err" "not a valid app image"
check "one bad file stops the start" refused "$APP" "$T/notes.txt"
check "--force hint" has_i "$T/err" "--force"

# --- partition size ---
check "oversized image refused with --partitions" refused "$T/made.bin" --partitions "$T/small.csv"
check "names the image size" has_i "$T/err" "image is 1572864 bytes (0x180000)"
check "names the smallest ota partition" has_i "$T/err" "smallest OTA partition ota_1 (1048576 bytes, 0x100000)"
check "fitting image accepted" start_server "$APP" --partitions "$T/small.csv"
stop_server
check "bad partition CSV refused" refused "$APP" --partitions "$T/notes.txt"
printf 'nvs, data, nvs, 0x9000, 0x6000\nfactory, app, factory, 0x10000, 1M\n' >"$T/factory.csv"
check "table without ota partitions refused" refused "$APP" --partitions "$T/factory.csv"
check "says why" has_i "$T/err" "no ota_N app partition"

# --- --force: warn, then serve ---
check "--force serves a merged image" start_server "$T/merged.bin" "$T/made.bin" --force \
    --version 9.9.9
check "--force warns" has_i "$T/err" "merged.bin: warning:"
curl -sS --http2-prior-knowledge -o "$T/got.bin" "http://127.0.0.1:$PORT/merged.bin"
check "--force bytes" cmp -s "$T/got.bin" "$T/merged.bin"
curl -sS --http2-prior-knowledge -o "$T/got.bin" "http://127.0.0.1:$PORT/made.bin"
check "made image served" cmp -s "$T/got.bin" "$T/made.bin"
awk '/^made.bin:/{f=1} f&&/^{/{p=1} p{print} p&&/^}/{exit}' "$T/out" >"$T/block.json"
check "--version overrides the app descriptor" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b["attributes"]["version"] == "9.9.9", b
assert b["attributes"]["url"].endswith("/made.bin"), b' "$T/block.json"
stop_server

# --- service block from the app descriptor of a made image ---
check "made image served without --force" start_server "$T/made.bin" --quiet
check "banner describes the image" has_i "$T/out" 'made.bin: ESP32 app "blink", version "2.0.1-dev"'
sed -n '/^{/,/^}/p' "$T/out" >"$T/block.json"
check "block version from the descriptor" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
assert b == {"name": "OTA", "namespace": "rdk", "type": "generic", "model": "ota_service",
             "attributes": {"url": b["attributes"]["url"], "version": "2.0.1-dev"}}, b' \
    "$T/block.json"
curl -sS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$PORT/made.bin"
stop_server
check "--quiet: no access log" hasnt_i "$T/err" '"GET /made.bin"'
check "--quiet: summary still printed" has_i "$T/out" "stopped after"

# --- --dir: a refused file answers 403 with the reason (a header a device
# logs, and the body), the others are served ---
mkdir -p "$T/www"
cp "$T/merged.bin" "$T/www/merged.bin"
cp "$APP" "$T/www/app.bin"
wrong_chip "$APP" "$T/www/s2.bin"
cp "$T/made.bin" "$T/www/big.bin"
check "--dir starts with a bad file inside" start_server --dir "$T/www" --partitions "$T/small.csv"
check "--dir reports the bad file" has_i "$T/err" "merged.bin: not served: "
# code REASON_FILE URL_PATH: the status, headers in REASON_FILE
code() { curl -sS --http2-prior-knowledge -D "$1" -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT/$2"; }
r=$(code "$T/h" merged.bin)
check "merged file in --dir: 403, not 5xx (no retry helps)" eq "$r" 403
check "403 body says why" has_i "$T/body" "refusing to serve this file: 732880 bytes, this is a merged image"
check "reason header for the device" has_i "$T/h" "ota32-reason: merged image (bootloader + partition table + app), not an app image"
check "log says why" has_i "$T/err" "refusing /merged.bin: "
r=$(code "$T/h" s2.bin)
check "ESP32-S2 app in --dir: 403" eq "$r" 403
check "wrong chip reason" has_i "$T/h" "ota32-reason: wrong chip: this app is for ESP32-S2 (chip id 2), the devices are ESP32"
r=$(code "$T/h" big.bin)
check "oversized image in --dir: 403" eq "$r" 403
check "oversized reason" has_i "$T/h" "ota32-reason: image is 1572864 bytes (0x180000), larger than the smallest OTA partition ota_1"
r=$(curl -sS --http1.1 -D "$T/h" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/s2.bin")
check "HTTP/1.1: 403 and the reason too" eq "$r/$(grep -ci '^ota32-reason: wrong chip' "$T/h")" 403/1
r=$(code "$T/h" app.bin)
check "good file in --dir: 200" eq "$r" 200
check "no reason header on a 200" hasnt_i "$T/h" "ota32-reason"
# replace the good file with a bad one while serving: checked again
cp "$T/notes.txt" "$T/www/app.bin"
r=$(code "$T/h" app.bin)
check "file replaced by a non-image: 403" eq "$r" 403
check "its reason" has_i "$T/h" "ota32-reason: not a valid app image: offset 0x0"
stop_server
# the positive control of the chip check: under --chip esp32s2 the chip is
# accepted (this ESP32 app with an ESP32-S2 chip id then fails the S2's
# memory map instead; tests/interop serves a real ESP32-S2 app)
cp "$APP" "$T/www/esp32.bin"
check "--chip esp32s2 starts" start_server --dir "$T/www" --chip esp32s2
code "$T/h" s2.bin >/dev/null
check "--chip esp32s2: not refused for its chip" hasnt_i "$T/h" "wrong chip"
r=$(code "$T/h" esp32.bin)
check "--chip esp32s2: an ESP32 app is refused" eq "$r/$(grep -ci 'ota32-reason: wrong chip: this app is for ESP32 ' "$T/h")" 403/1
stop_server
check "an ESP32-S2 app given as FILE is refused at start" refused "$T/www/s2.bin"
check "and says so" has_i "$T/err" "wrong chip: this app is for ESP32-S2"
rc=0; "$OTA32" serve "$APP" --chip esp99 >/dev/null 2>"$T/err" || rc=$?
check "unknown --chip: usage error" eq "$rc" 2

# --- a device pointed at a refused file logs the server's reason and does
# not retry; beside it, the same server updates a device with a good file ---
check "device images" make_images
cp "$T/merged.bin" "$T/www/merged.bin"
cp "$T/v2.bin" "$T/www/v2.bin"
check "server for the devices" start_server --dir "$T/www"
run_update refused "http://127.0.0.1:$PORT/merged.bin" v2
check "device: the update failed" eq "$RC" 1
check "device logs the reason" has_i "$T/refused.out" \
    "server answered 403 for http://127.0.0.1:$PORT/merged.bin: merged image (bootloader + partition table + app), not an app image"
check "device asked once (a 4xx is not retried)" eq "$(json "$T/refused.json" requests)" 1
check "device still runs v1" eq "$(inspect refused)" "ota_0 VALID "
run_update good "http://127.0.0.1:$PORT/v2.bin" v2
check "device: good file updates" eq "$RC/$(inspect good)" "0/ota_1 VALID v2"
stop_server

# --- usage ---
rc=0; "$OTA32" serve --help >"$T/help" 2>&1 || rc=$?
check "--help exits 0" eq "$rc" 0
check "--help documents --partitions" has_i "$T/help" "--partitions CSV"
rc=0; "$OTA32" serve >/dev/null 2>"$T/err" || rc=$?
check "nothing to serve: usage error" eq "$rc" 2
rc=0; "$OTA32" serve "$APP" --bogus >/dev/null 2>"$T/err" || rc=$?
check "unknown option: usage error" eq "$rc" 2
rc=0; "$OTA32" serve "$APP" --port 70000 >/dev/null 2>"$T/err" || rc=$?
check "bad port: usage error" eq "$rc" 2
rc=0; "$OTA32" serve "$APP" --version "$(printf 'v%.0s' $(seq 129))" >/dev/null 2>"$T/err" || rc=$?
check "version over 128 characters: usage error" eq "$rc" 2
check "missing file" refused "$T/nope.bin"
check "missing file message" has_i "$T/err" "nope.bin: No such file or directory"
mkdir -p "$T/other"
cp "$APP" "$T/other/app.bin"
check "two files with one URL refused" refused "$T/www/merged.bin" "$T/other/app.bin" "$T/www/app.bin" --force
check "says which URL" has_i "$T/err" "would both be served at /app.bin"

finish
