#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# `ota32 image verify` on an image made here: it passes, and each rule of the
# device's loader rejects a changed copy with its offset and field; exit codes
# 0 / 1 / 2. (The same rules on esptool's own images: tests/interop.)
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
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

# 66560 bytes: DROM (segment 0, data at 0x20), DRAM, IRAM (segment 2, header
# at 0xf808), IROM (segment 3, header at 0x10010, data at 0x10018), IRAM;
# checksum at 66560 - 33.
N=66560
A=$T/app.bin
"$OTA32" image make --version 1.0.0 --project ota32-test --size $N -o "$A" >/dev/null ||
  { ko "image make"; finish; }
CK=$((N - 33))
SUM=$(hexat "$A" $CK 1)
expect_ok "made image" "$A" \
  "OK: $A: ESP32 app 'ota32-test' version '1.0.0', 5 segments, $N bytes, checksum 0x$SUM, SHA-256 valid" \
  --chip esp32 --max-size $N --chip-rev 3.1

wrong_chip "$A" "$T/s2.bin"
expect_fail "image for another chip: chip, right after the header" "$T/s2.bin" \
  "ota32: $T/s2.bin: offset 0xc: chip_id: image is for ESP32-S2 (chip id 2), expected ESP32 (chip id 0)" \
  --chip esp32
expect_fail "slot too small" "$A" \
  "ota32: $A: offset 0xf80c: segment 2 data_len: the image needs at least $((0xf810 + $(od -An -tu4 -j $((0xf80c)) -N4 "$A" | tr -d ' ') + 48)) bytes, more than the 65536 allowed" \
  --max-size 64K
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
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x1c 0ef50000  # segment 0 data_len 0xf50e
expect_fail "data_len % 4" "$T/m.bin" "ota32: $T/m.bin: offset 0x1c: segment 0 data_len: 0xf50e is not a multiple of 4"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x1c 00000001  # 16 MB
expect_fail "data_len 16 MB" "$T/m.bin" "ota32: $T/m.bin: offset 0x1c: segment 0 data_len: 0x1000000 is not below 16 MB"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x10010 1c000d40  # IROM load 0x400d001c, data at 0x10018
expect_fail "MMU page rule" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x10010: segment 3 load_addr: 0x400d001c is flash-mapped but its data is at 0x10018 (offset 0x18 in a 64 KB page, load address needs 0x1c)"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 0x20 00
expect_fail "app descriptor magic" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x20: app descriptor magic_word: 0xabcd5400, expected 0xabcd5432"
BAD=$(printf '%02x' $((0x$SUM ^ 1)))
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" $CK "$BAD"
expect_fail "checksum" "$T/m.bin" "ota32: $T/m.bin: offset $(printf '0x%x' $CK): checksum: stored 0x$BAD, calculated 0x$SUM"
cp "$A" "$T/m.bin"; patch_hex "$T/m.bin" 2 03  # flash mode: only the hash covers it
expect_fail "SHA-256" "$T/m.bin" \
  "ota32: $T/m.bin: offset $(printf '0x%x' $((N - 32))): SHA-256: stored $(tail -c 32 "$A" | xxd -p -c 64), calculated $(head -c $((N - 32)) "$T/m.bin" | sha256sum | cut -c1-64) (image is corrupt)"
head -c 66000 "$A" >"$T/m.bin"
expect_fail "truncated" "$T/m.bin" \
  "ota32: $T/m.bin: offset 0x101d0: image truncated in segment data of segment 3 (66000 bytes read)"
cp "$A" "$T/m.bin"; printf 'junk' >>"$T/m.bin"
expect_fail "trailing bytes" "$T/m.bin" \
  "ota32: $T/m.bin: offset $(printf '0x%x' $N): 4 bytes after the end of the image, not a secure boot v2 signature sector"

"$OTA32" image verify "$A" --chip esp8266 >/dev/null 2>&1; [ $? -eq 2 ] && ok "bad --chip exits 2" || ko "bad --chip exits 2"
"$OTA32" image verify >/dev/null 2>&1; [ $? -eq 2 ] && ok "no FILE exits 2" || ko "no FILE exits 2"
"$OTA32" image verify "$T/none.bin" >/dev/null 2>&1; [ $? -eq 1 ] && ok "missing file exits 1" || ko "missing file exits 1"

finish
