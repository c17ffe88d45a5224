#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 device create | flash | boot`: the virtual ESP32's flash layout and
# the bootloader's choices, checked on the bytes of the device file.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
V=$VECTORS
CSV=$V/partitions_two_ota_8mb.csv
scratch
APP=$T/app.bin
test_app "$APP" || { ko "ota32 image make"; finish; }
# The first bytes of a bootloader image stand in for one (device create
# writes it as given); esptool's real one is in tests/interop/device_esptool.sh.
BL=$T/bootloader.bin
{ printf '\xe9\x03\x02\x20'; head -c 4092 /dev/urandom; } >"$BL"

D=$T/dev.flash
"$OTA32" device create "$D" --partitions "$CSV" --app "$APP" --bootloader "$BL" >"$T/out" 2>&1
check "create exits 0" [ $? -eq 0 ]
check "8 MB device" [ "$(stat -c %s "$D")" -eq 8388608 ]
check "bootloader at 0x1000" same_at "$D" 0x1000 "$BL"
check "table at 0x8000 is gen_esp32part.py's" same_at "$D" 0x8000 "$V/partitions_two_ota_8mb.bin"
check "app in ota_0" same_at "$D" 0x20000 "$APP"
check "otadata blank" blank "$D" 0xF000 0x2000
check "nvs blank" blank "$D" 0x9000 0x6000
check "ota_1 blank" blank "$D" 0x3A0000 0x377000
check "summary names the app" grep -q "0x020000 ota_0 *ota32-test 1.0.0" "$T/out"

"$OTA32" device create "$D" --partitions "$CSV" --app "$APP" >"$T/out" 2>&1
rc=$?
check "create refuses an existing file (exit 1)" [ $rc -eq 1 ]
check "... and says so" grep -q "exists" "$T/out"
check "... leaving it intact" same_at "$D" 0x1000 "$BL"

# First boot: blank otadata, no factory -> ota_0, otadata[0] = seq 1 VALID.
"$OTA32" device boot "$D" >"$T/boot1" 2>&1
check "first boot exits 0" [ $? -eq 0 ]
check "first boot: ota_0" grep -q "^booted ota_0 at 0x20000 (0x377000 bytes)$" "$T/boot1"
check "first boot: why" grep -qF \
    "reason:  otadata blank, no factory -> ota_0; wrote otadata[0] seq 1 VALID" "$T/boot1"
check "first boot: version" grep -q "^version: 1.0.0$" "$T/boot1"
check "first boot: project" grep -q "^project: ota32-test$" "$T/boot1"
check "otadata[0] = seq 1, 0xFF label, VALID, crc" [ "$(hexat "$D" 0xF000 32)" = \
    "01000000ffffffffffffffffffffffffffffffffffffffff020000009a984347" ]
check "otadata[1] untouched" blank "$D" 0x10000 0x1000

"$OTA32" device boot "$D" --json >"$T/boot.json"
check "json: partition" grep -q '"partition":[[:space:]]*"ota_0"' "$T/boot.json"
check "json: state" grep -q '"state":[[:space:]]*"VALID"' "$T/boot.json"
check "json: reason" grep -q '"reason":[[:space:]]*"otadata\[0\] seq 1 -> ota_0 (state VALID)"' \
    "$T/boot.json"
check "json: version" grep -q '"version":[[:space:]]*"1.0.0"' "$T/boot.json"
check "json: not bricked" grep -q '"bricked":[[:space:]]*false' "$T/boot.json"

# An update selected for ota_1 (seq 2, NEW) whose image is broken: the
# bootloader marks it PENDING_VERIFY, finds the image bad, boots ota_0.
otadata_seq2_new "$D"
head -c 4096 "$APP" | dd of="$D" bs=1 seek=$((0x3A0000)) conv=notrunc status=none
"$OTA32" device boot "$D" >"$T/boot2" 2>&1
check "fallback boot exits 0" [ $? -eq 0 ]
check "fallback: ota_0 booted" grep -q "^booted ota_0 at 0x20000" "$T/boot2"
check "fallback: why" grep -qE \
    "otadata\[1\] seq 2 -> ota_1 \(state NEW -> PENDING_VERIFY\); ota_1 (image invalid|has no data).*fell back to ota_0" \
    "$T/boot2"
check "otadata[1] now PENDING_VERIFY" [ "$(hexat "$D" 0x10018 4)" = "01000000" ]
"$OTA32" device boot "$D" >"$T/boot3" 2>&1
check "next boot aborts the unconfirmed entry" grep -qF \
    "otadata[1] seq 2 PENDING_VERIFY -> ABORTED" "$T/boot3"
check "otadata[1] now ABORTED" [ "$(hexat "$D" 0x10018 4)" = "04000000" ]

# Nothing bootable: BRICKED, exit 1.
printf '\x00' | dd of="$D" bs=1 seek=$((0x20000)) conv=notrunc status=none
"$OTA32" device boot "$D" >"$T/brick" 2>&1
rc=$?
check "brick exits 1" [ $rc -eq 1 ]
check "brick is reported" grep -q "^BRICKED: .*no bootable app" "$T/brick"
"$OTA32" device boot "$D" --json >"$T/brick.json"
check "brick in json" grep -q '"bricked":[[:space:]]*true' "$T/brick.json"

# `device flash` writes a merged image at 0x0 (erasing what it covers).
"$OTA32" merge -o "$T/merged.bin" 0x1000 "$BL" 0x8000 "$V/partitions_two_ota_8mb.bin" \
    0xF000 "$V/otadata_blank.bin" 0x20000 "$APP" >/dev/null
"$OTA32" device flash "$D" "$T/merged.bin" >"$T/flash" 2>&1
check "flash exits 0" [ $? -eq 0 ]
check "merged image in place" same_at "$D" 0 "$T/merged.bin"
check "beyond the image: untouched sector" [ "$(hexat "$D" 0x3A0000 1)" = "e9" ]
check "covered sectors erased first (otadata blank again)" blank "$D" 0xF000 0x2000
"$OTA32" device boot "$D" >"$T/boot4" 2>&1
check "boots after flashing" grep -q "^booted ota_0 at 0x20000" "$T/boot4"

# --no-rollback: NEW stays NEW.
otadata_seq2_new "$D"
dd if="$APP" of="$D" bs=4096 seek=$((0x3A0000 / 4096)) conv=notrunc status=none
"$OTA32" device boot "$D" --no-rollback >"$T/boot5" 2>&1
check "no-rollback boots ota_1" grep -q "^booted ota_1 at 0x3a0000" "$T/boot5"
check "no-rollback leaves NEW" [ "$(hexat "$D" 0x10018 4)" = "00000000" ]

# Refusals.
wrong_chip "$APP" "$T/s2.bin"
"$OTA32" device create "$T/s2.flash" --partitions "$CSV" --app "$T/s2.bin" >"$T/s2" 2>&1
check "wrong-chip app refused (exit 1)" [ $? -eq 1 ]
check "... no device left behind" [ ! -e "$T/s2.flash" ]
"$OTA32" device create "$T/4m.flash" --partitions "$CSV" --app "$APP" --flash-size 4MB \
    >"$T/4m" 2>&1
check "8 MB table on 4 MB flash refused (exit 1)" [ $? -eq 1 ]
check "... naming the flash size" grep -qi "flash size" "$T/4m"
"$OTA32" device create "$T/x.flash" --app "$APP" >/dev/null 2>&1
check "missing --partitions is a usage error" [ $? -eq 2 ]
"$OTA32" device boot >/dev/null 2>&1
check "boot without a device is a usage error" [ $? -eq 2 ]
"$OTA32" device boot "$T/none.flash" >"$T/none" 2>&1
check "boot of a missing file fails (exit 1)" [ $? -eq 1 ]
check "... naming it" grep -q "none.flash" "$T/none"
"$OTA32" device --help >"$T/help"
check "--help" grep -q "device create DEV.flash\|create DEV.flash" "$T/help"
"$OTA32" device boot --help >/dev/null
check "boot --help exits 0" [ $? -eq 0 ]

finish
