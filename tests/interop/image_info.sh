#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# `ota32 image info` against `esptool image-info` (v5.3.1) on the reference
# images: identical text except the first line ("esptool v5.3.1" there,
# "ota32 <version>" here), and the same facts as JSON.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}"
need_interop esp-images/app-template-esp32.bin esp-images/bootloader-esp32.bin \
    esp-images/blink-esp32s2.bin
IMG=$INTEROP/esp-images
scratch

version_line=$("$OTA32" --version)
for name in app-template-esp32 bootloader-esp32 blink-esp32s2; do
  if ! "$OTA32" image info "$IMG/$name.bin" >"$T/$name.txt" 2>"$T/err"; then
    ko "$name: info exits 0 ($(cat "$T/err"))"
    continue
  fi
  [ "$(head -n 1 "$T/$name.txt")" = "$version_line" ] && ok "$name: first line" \
    || ko "$name: first line is '$(head -n 1 "$T/$name.txt")'"
  if cmp -s <(tail -n +2 "$T/$name.txt") <(tail -n +2 "$IMG/$name.image-info.txt"); then
    ok "$name: identical to esptool image-info"
  else
    ko "$name: differs from esptool image-info"
    diff <(tail -n +2 "$T/$name.txt") <(tail -n +2 "$IMG/$name.image-info.txt") | head -20
  fi
done

# JSON: the same facts.
j=$("$OTA32" image info --json "$IMG/app-template-esp32.bin")
check_json() { # desc, jq filter that must print true
  if [ "$(jq -r "$2" <<<"$j" 2>/dev/null)" = true ]; then ok "json: $1"; else ko "json: $1"; fi
}
check_json "chip and sizes" '.chip == "ESP32" and .chip_id == 0 and .file_size == 601808 and .image_len == 601808'
check_json "header" '.entry_addr == 1074271868 and .flash_size == "4MB" and .flash_freq == "40m" and .flash_mode == "DIO" and .max_chip_rev_full == 399'
check_json "segments" '(.segments | length) == 5 and .segments[3].load_addr == 1074593816 and .segments[3].file_offset == 131088 and .segments[1].memory_types == ["BYTE_ACCESSIBLE","DRAM"] and .segments[3].flash_mapped'
check_json "checksum" '.checksum.stored == 32 and .checksum.valid'
check_json "sha256" '.sha256.calculated == "276e1fd479e03c269d068ccc0cc8a581a5ff669c8cba53d08edc404ea9f20e89" and .sha256.valid'
check_json "app_desc" '.app_desc.project_name == "app-template" and .app_desc.version == "1cd5752" and .app_desc.idf_ver == "v4.0-dev-30-g31ca6e399" and .app_desc.app_elf_sha256 == "138cb4392e3b79803b69e554ee515713d3ace655f5dab3f9fc08b1cfbfd6d727"'
check_json "no signature" '.signature_sector.present == false'
j=$("$OTA32" image info --json "$IMG/bootloader-esp32.bin")
check_json "bootloader" '.app_desc == null and .bootloader_desc == null and (.segments | length) == 3 and .segments[1].memory_types == ["CACHE_APP"]'

# A corrupted payload byte: esptool still prints, with "(invalid ...)".
cp "$IMG/app-template-esp32.bin" "$T/bad.bin"
printf '\x00' | dd of="$T/bad.bin" bs=1 seek=$((0x1000)) conv=notrunc status=none
orig=$(xxd -s $((0x1000)) -l 1 -p "$IMG/app-template-esp32.bin")
calc=$(printf '0x%02x' $((0x20 ^ 0x$orig)))
"$OTA32" image info "$T/bad.bin" >"$T/bad.txt"
grep -qxF "Checksum: 0x20 (invalid - calculated $calc)" "$T/bad.txt" && ok "invalid checksum wording" \
  || ko "invalid checksum wording: $(grep Checksum "$T/bad.txt")"
grep -qE '^Validation hash: [0-9a-f]{64} \(invalid\)$' "$T/bad.txt" && ok "invalid hash wording" \
  || ko "invalid hash wording: $(grep Validation "$T/bad.txt")"

# Python's formatting: zero addresses keep "0x", unnamed memory leaves the
# column empty, entry 0 is "not set".
cp "$IMG/bootloader-esp32.bin" "$T/bl.bin"
printf '\x00\x00\x00\x00' | dd of="$T/bl.bin" bs=1 seek=4 conv=notrunc status=none
printf '\x00\x00\x00\x60' | dd of="$T/bl.bin" bs=1 seek=$((0x3b8)) conv=notrunc status=none
printf '\x00\x00\x00\x00' | dd of="$T/bl.bin" bs=1 seek=$((0xe64)) conv=notrunc status=none
"$OTA32" image info "$T/bl.bin" >"$T/bl.txt"
grep -qxF "Entry point not set" "$T/bl.txt" && ok "entry point not set" || ko "entry point not set"
grep -qxF "      1  0x00aa4  0x60000000  0x000003b8  " "$T/bl.txt" && ok "no memory type" \
  || ko "no memory type: $(grep -F 0x000003b8 "$T/bl.txt")"
grep -qxF "      2  0x001fc  0x00000000  0x00000e64  PADDING" "$T/bl.txt" && ok "padding segment" \
  || ko "padding segment: $(grep -F 0x00000e64 "$T/bl.txt")"

# Not an image: exit 1 with offset and field.
printf 'hello world, not an image at all' >"$T/text.bin"
"$OTA32" image info "$T/text.bin" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -qxF "ota32: $T/text.bin: offset 0x0: magic: 0x68, expected 0xe9 (not an app image)" "$T/err" \
  && ok "not an image" || ko "not an image (rc $rc): $(cat "$T/err")"
head -c 100 "$IMG/app-template-esp32.bin" >"$T/short.bin"
"$OTA32" image info "$T/short.bin" >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -qF "offset 0x64: image truncated in segment data of segment 0" "$T/err" \
  && ok "truncated" || ko "truncated (rc $rc): $(cat "$T/err")"
"$OTA32" image info >/dev/null 2>&1; [ $? -eq 2 ] && ok "usage error exits 2" || ko "usage error exits 2"
"$OTA32" image info --help | grep -q "usage: ota32 image info" && ok "--help" || ko "--help"

finish
