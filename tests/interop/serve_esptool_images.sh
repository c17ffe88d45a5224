#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 serve` with esptool's own files: its app-template app is served, its
# merge-bin output and its bootloader are refused at start with the reason.
set -u
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
OTA32=${OTA32:?path to the ota32 tool}
need_interop esp-images/app-template-esp32.bin esp-images/bootloader-esp32.bin vectors/merged.bin \
    esp-images/blink-esp32s2.bin
scratch

refused() { # args...
    local rc=0
    timeout 20 "$OTA32" serve "$@" --bind 127.0.0.1 --port 0 >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 1 ] || { echo "  exit status $rc"; cat "$T/err"; return 1; }
    ! grep -q "listening on" "$T/out"
}

APP=$INTEROP/esp-images/app-template-esp32.bin
check "app-template served" start_server "$APP"
curl -sS --http2-prior-knowledge -o "$T/got.bin" "http://127.0.0.1:$PORT/app-template-esp32.bin"
check "app-template bytes" cmp -s "$T/got.bin" "$APP"
check "service block names its version" has "$T/out" '"version": "1cd5752"'
stop_server
check "esptool's merged image refused" refused "$INTEROP/vectors/merged.bin"
check "esptool's merged image message names the file" has_i "$T/err" \
    "vectors/merged.bin: 732880 bytes, this is a merged image"
check "bootloader refused" refused "$INTEROP/esp-images/bootloader-esp32.bin"
check "bootloader: not an app image" has_i "$T/err" "not a valid app image"
S2=$INTEROP/esp-images/blink-esp32s2.bin
check "ESP-IDF's ESP32-S2 app refused by default" refused "$S2"
check "  for its chip" has_i "$T/err" "wrong chip: this app is for ESP32-S2 (chip id 2), the devices are ESP32"
check "served with --chip esp32s2" start_server "$S2" --chip esp32s2
curl -sS --http2-prior-knowledge -o "$T/got.bin" "http://127.0.0.1:$PORT/blink-esp32s2.bin"
check "  its bytes" cmp -s "$T/got.bin" "$S2"
stop_server

finish
