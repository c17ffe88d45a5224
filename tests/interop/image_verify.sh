#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# `ota32 image verify`: the reference images pass; each device-side rule
# rejects with its offset and field; exit codes 0 / 1 / 2.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
need_interop esp-images/app-template-esp32.bin esp-images/bootloader-esp32.bin vectors/signed/app_rsa_3sig.bin \
    esp-images/blink-esp32s2.bin
IMG=$INTEROP/esp-images
scratch

# expect_ok DESC FILE EXPECTED-STDOUT [ARGS...]
expect_ok() {
  local desc=$1 file=$2 want=$3
  shift 3
  local out
  out=$("$OTA32" image verify "$file" "$@" 2>"$T/err")
  local rc=$?
  if [ $rc -eq 0 ] && [ "$out" = "$want" ]; then ok "$desc"; else
    ko "$desc (rc $rc): $out $(cat "$T/err")"; fi
}
# expect_fail DESC FILE EXPECTED-STDERR [ARGS...]
expect_fail() {
  local desc=$1 file=$2 want=$3
  shift 3
  "$OTA32" image verify "$file" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ $rc -eq 1 ] && [ "$(cat "$T/err")" = "$want" ] && [ ! -s "$T/out" ]; then ok "$desc"; else
    ko "$desc (rc $rc): $(cat "$T/err")"; fi
}

A=$IMG/app-template-esp32.bin
expect_ok "app-template" "$A" \
  "OK: $A: ESP32 app 'app-template' version '1cd5752', 5 segments, 601808 bytes, checksum 0x20, SHA-256 valid" \
  --chip esp32 --max-size 0x100000 --chip-rev 3.1
expect_ok "bootloader" "$IMG/bootloader-esp32.bin" \
  "OK: $IMG/bootloader-esp32.bin: ESP32 bootloader, 3 segments, 4240 bytes, checksum 0x11, SHA-256 valid"
expect_ok "blink ESP32-S2 (any chip)" "$IMG/blink-esp32s2.bin" \
  "OK: $IMG/blink-esp32s2.bin: ESP32-S2 app 'blink' version 'qa-test-v5.0-20220830-4-g4532e6', 6 segments, 182368 bytes, checksum 0x18, SHA-256 valid"
expect_fail "ESP32-S2 image for an ESP32: chip, right after the header" "$IMG/blink-esp32s2.bin" \
  "ota32: $IMG/blink-esp32s2.bin: offset 0xc: chip_id: image is for ESP32-S2 (chip id 2), expected ESP32 (chip id 0)" \
  --chip esp32
expect_fail "slot too small" "$A" \
  "ota32: $A: offset 0x20014: segment 3 data_len: the image needs at least 555728 bytes, more than the 524288 allowed" \
  --max-size 512K
expect_fail "chip revision above the image's maximum" "$A" \
  "ota32: $A: offset 0x11: max_chip_rev_full: image needs chip revision <= v3.99, chip is v4.0" \
  --chip-rev 4.0

cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0 e8
expect_fail "magic" "$T/m.bin" "ota32: $T/m.bin: offset 0x0: magic: 0xe8, expected 0xe9 (not an app image)"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 1 11
expect_fail "segment count" "$T/m.bin" "ota32: $T/m.bin: offset 0x1: segment_count: 17 exceeds the maximum of 16"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x0f 2d01   # min_chip_rev_full = 301
expect_fail "chip revision below the image's minimum" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0xf: min_chip_rev_full: image needs chip revision >= v3.1, chip is v3.0" --chip-rev 3.0
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x17 02
expect_fail "hash_appended" "$T/m.bin" "ota32: $T/m.bin: offset 0x17: hash_appended: 0x02 is neither 0 nor 1"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x1c 0e8c0100  # segment 0 data_len 0x18c0e
expect_fail "data_len % 4" "$T/m.bin" "ota32: $T/m.bin: offset 0x1c: segment 0 data_len: 0x18c0e is not a multiple of 4"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x1c 00000001  # 16 MB
expect_fail "data_len 16 MB" "$T/m.bin" "ota32: $T/m.bin: offset 0x1c: segment 0 data_len: 0x1000000 is not below 16 MB"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x20010 1c000d40  # IROM load 0x400d001c, data at 0x20018
expect_fail "MMU page rule" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x20010: segment 3 load_addr: 0x400d001c is flash-mapped but its data is at 0x20018 (offset 0x18 in a 64 KB page, load address needs 0x1c)"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x20 00
expect_fail "app descriptor magic" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x20: app descriptor magic_word: 0xabcd5400, expected 0xabcd5432"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x92eaf 21  # the checksum byte
expect_fail "checksum" "$T/m.bin" "ota32: $T/m.bin: offset 0x92eaf: checksum: stored 0x21, calculated 0x20"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 2 03  # flash mode: only the hash covers it
expect_fail "SHA-256" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x92eb0: SHA-256: stored $(tail -c +$((0x92eb0 + 1)) "$T/m.bin" | head -c 32 | od -An -tx1 | tr -d ' \n'), calculated $(head -c $((0x92eb0)) "$T/m.bin" | sha256sum | cut -c1-64) (image is corrupt)"
check "SHA-256: stored digest whole" grep -q "stored 276e1fd4[0-9a-f]\{56\}, calculated [0-9a-f]\{64\} (image" "$T/err"
head -c 601000 "$A" >"$T/m.bin"
expect_fail "truncated" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x92ba8: image truncated in segment data of segment 4 (601000 bytes read)"
cp "$A" "$T/m.bin"; printf 'junk' >>"$T/m.bin"
expect_fail "trailing bytes" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x92ed0: 4 bytes after the end of the image, not a secure boot v2 signature sector"

# A signature sector after 0xFF padding is parsed (its signatures are checked
# with --key, tests/interop/image_sign.sh): espsecure's is listed, a malformed one
# refused with its offset.
SIGNED=$INTEROP/vectors/signed/app_rsa_3sig.bin
expect_ok "signature sector" "$SIGNED" \
  "OK: $SIGNED: ESP32 app 'app-template' version '1cd5752', 6 segments, 655360 bytes, checksum 0x20, SHA-256 valid, signature sector at 0xa0000 (3 blocks, not verified)"
cp "$A" "$T/s.bin"
pad=$(( (601808 + 4095) / 4096 * 4096 - 601808 ))
head -c $pad /dev/zero | tr '\0' '\377' >>"$T/s.bin"
{ printf '\xe7\x02'; head -c 4094 /dev/zero; } >>"$T/s.bin"
expect_fail "malformed signature sector" "$T/s.bin" \
  "ota32: $T/s.bin: offset 0x934ac: signature block 0: CRC-32 0x00000000, computed 0xe66109dd"

"$OTA32" image verify "$A" --chip esp8266 >/dev/null 2>&1; [ $? -eq 2 ] && ok "bad --chip exits 2" || ko "bad --chip exits 2"
"$OTA32" image verify >/dev/null 2>&1; [ $? -eq 2 ] && ok "no FILE exits 2" || ko "no FILE exits 2"
"$OTA32" image verify "$T/none.bin" >/dev/null 2>&1; [ $? -eq 1 ] && ok "missing file exits 1" || ko "missing file exits 1"
"$OTA32" image verify --help | grep -q "usage: ota32 image verify" && ok "--help" || ko "--help"

finish
