#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The virtual ESP32 with esptool's own images: its bootloader and app-template
# app make a device that boots, esptool merge-bin's output flashed whole
# boots, and its ESP32-S2 app is refused.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
need_interop esp-images/app-template-esp32.bin esp-images/bootloader-esp32.bin \
    esp-images/blink-esp32s2.bin vectors/merged.bin
IMG=$INTEROP/esp-images
CSV=$VECTORS/partitions_two_ota_8mb.csv
scratch

D=$T/dev.flash
"$OTA32" device create "$D" --partitions "$CSV" --app "$IMG/app-template-esp32.bin" \
    --bootloader "$IMG/bootloader-esp32.bin" >"$T/out" 2>&1
check "create exits 0" [ $? -eq 0 ]
check "bootloader at 0x1000" same_at "$D" 0x1000 "$IMG/bootloader-esp32.bin"
check "app in ota_0" same_at "$D" 0x20000 "$IMG/app-template-esp32.bin"
check "summary names the app" grep -q "0x020000 ota_0 *app-template 1cd5752" "$T/out"
"$OTA32" device boot "$D" >"$T/boot1" 2>&1
check "first boot exits 0" [ $? -eq 0 ]
check "first boot: ota_0" grep -q "^booted ota_0 at 0x20000 (0x377000 bytes)$" "$T/boot1"
check "first boot: version" grep -q "^version: 1cd5752$" "$T/boot1"
check "first boot: project" grep -q "^project: app-template$" "$T/boot1"

# esptool merge-bin's image, flashed at 0x0 over a used device.
otadata_seq2_new "$D"
"$OTA32" device flash "$D" "$INTEROP/vectors/merged.bin" >"$T/flash" 2>&1
check "flash exits 0" [ $? -eq 0 ]
check "merged image in place" same_at "$D" 0 "$INTEROP/vectors/merged.bin"
check "covered sectors erased first (otadata blank again)" blank "$D" 0xF000 0x2000
"$OTA32" device boot "$D" >"$T/boot2" 2>&1
check "boots after flashing" grep -q "^booted ota_0 at 0x20000" "$T/boot2"

"$OTA32" device create "$T/s2.flash" --partitions "$CSV" --app "$IMG/blink-esp32s2.bin" \
    >"$T/s2" 2>&1
check "ESP32-S2 app refused (exit 1)" [ $? -eq 1 ]
check "... naming the chip" grep -qi "ESP32-S2" "$T/s2"
check "... no device left behind" [ ! -e "$T/s2.flash" ]

finish
