#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The ESP32 make targets (build-esp32-ota, build-esp32-bin, flash-esp32-bin)
# as the Makefile runs them: the command `make -n` prints for a target is run
# with the tool under test and the outputs in a scratch folder (whose name
# has a space), so the Makefile's quoting is part of what is checked.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}" "${OTA32_SRC:?}"
need_tools make sha256sum
T=$(mktemp -d "${TMPDIR:-/tmp}/ota32 make.XXXXXX") # a space on purpose
trap 'rm -rf "$T"' EXIT
OUT="$T/out dir"
DEV="$T/dev ice.flash"

# target SETTING=VALUE...: run `make TARGET` with the settings; output in $T/log
target() {
    local t=$1 cmd
    shift
    cmd=$(make -s -n -C "$OTA32_SRC" "$t" OTA32="$OTA32" OUT="$OUT" DEV="$DEV" "$@" |
        grep 'scripts/esp32.sh') || { echo "make -n $t printed no esp32.sh command" >"$T/log"; return 2; }
    (cd "$OTA32_SRC" && bash -c "$cmd") >"$T/log" 2>&1
}
# table_at DEV: the partition table bytes on the device (0x8000, 0xC00 bytes)
table_at() { dd if="$1" bs=4096 skip=8 count=1 status=none | head -c 3072; }

# Two tables with different ota slot sizes, at paths with spaces.
mkdir -p "$T/ta bles"
A="$T/ta bles/a.csv"
B="$T/ta bles/b.csv"
printf 'nvs, data, nvs, 0x9000, 0x6000,\notadata, data, ota, 0xF000, 0x2000,\nota_0, app, ota_0, 0x20000, 0x180000,\nota_1, app, ota_1, , 0x180000,\n' >"$A"
printf 'nvs, data, nvs, 0x9000, 0x6000,\notadata, data, ota, 0xF000, 0x2000,\nota_0, app, ota_0, 0x20000, 0x100000,\nota_1, app, ota_1, , 0x100000,\nstorage, data, spiffs, , 0x100000,\n' >"$B"
"$OTA32" part gen "$A" "$T/a.bin" >/dev/null
"$OTA32" part gen "$B" "$T/b.bin" >/dev/null

# ---- spaces in values; version tag vs descriptor version --------------------
check "build-esp32-bin with spaces in VERSION and paths" target build-esp32-bin PARTITIONS="$A" VERSION="has space"
expect_contains "the sample's descriptor version has the space" "$T/log" "version 'has space'"
check "merged image in OUT" test -s "$OUT/merged.bin"
check "flash-esp32-bin with spaces" target flash-esp32-bin PARTITIONS="$A" VERSION="has space"
expect_contains "same inputs: the merged image is reused" "$T/log" "merged image up to date"
"$OTA32" device boot "$DEV" >"$T/boot" 2>&1
expect_contains "the device boots the version with a space" "$T/boot" "version: has space"
check "table A on the device" cmp <(table_at "$DEV") "$T/a.bin"

long=$(printf 'v%.0s' {1..40})
target build-esp32-ota PARTITIONS="$A" VERSION="$long"
check "a 40-byte VERSION alone fails for the sample (descriptor: 31)" test $? -ne 0
expect_contains "... saying which field and what to set" "$T/log" "VERSION is 40 bytes: fine as the OTA version tag (up to 128), but the app descriptor's version field holds 31; set APP_VERSION=..."
check "a 40-byte VERSION with APP_VERSION builds" target build-esp32-ota PARTITIONS="$A" VERSION="$long" APP_VERSION="rel 1"
expect_contains "... the descriptor has APP_VERSION" "$T/log" "version 'rel 1'"
target build-esp32-ota PARTITIONS="$A" VERSION="$(printf 'x%.0s' {1..129})"
check "a 129-byte VERSION fails" test $? -ne 0
expect_contains "... naming the 128-byte tag" "$T/log" "VERSION is 129 bytes, more than the 128 of the OTA version tag"
check "a 128-byte VERSION is a valid tag" target build-esp32-ota PARTITIONS="$A" VERSION="$(printf 'x%.0s' {1..128})" APP_VERSION=v1
target build-esp32-ota PARTITIONS="$A" APP_VERSION="$(printf 'y%.0s' {1..32})"
check "a 32-byte APP_VERSION fails" test $? -ne 0
expect_contains "... naming the descriptor field" "$T/log" "APP_VERSION is 32 bytes, more than the 31 of the app descriptor's version field"

# ---- flash-esp32-bin rebuilds when an input changed -------------------------
target build-esp32-bin PARTITIONS="$A" VERSION=v1 >/dev/null
target flash-esp32-bin PARTITIONS="$A" VERSION=v1
check "flash table A" cmp <(table_at "$DEV") "$T/a.bin"
check "another PARTITIONS= reaches the device" target flash-esp32-bin PARTITIONS="$B" VERSION=v1
expect_contains "... saying why it rebuilt" "$T/log" "changed since it was built: PARTITIONS"
check "table B on the device" cmp <(table_at "$DEV") "$T/b.bin"
check "flash again: up to date" target flash-esp32-bin PARTITIONS="$B" VERSION=v1
expect_contains "... and says so" "$T/log" "merged image up to date"
# the same path with other content
cp "$B" "$T/c.csv"
target build-esp32-bin PARTITIONS="$T/c.csv" VERSION=v1 >/dev/null
cp "$A" "$T/c.csv"
target flash-esp32-bin PARTITIONS="$T/c.csv" VERSION=v1
expect_contains "a changed CSV at the same path rebuilds" "$T/log" "changed since it was built: PARTITIONS"
check "... and its table is flashed" cmp <(table_at "$DEV") "$T/a.bin"
target flash-esp32-bin PARTITIONS="$A" VERSION=v2
expect_contains "VERSION rebuilds" "$T/log" "changed since it was built: APP_VERSION"
"$OTA32" device boot "$DEV" >"$T/boot" 2>&1
expect_contains "... and the device boots it" "$T/boot" "version: v2"
target flash-esp32-bin PARTITIONS="$A" VERSION=v2 FLASH_SIZE=4MB
expect_contains "FLASH_SIZE rebuilds" "$T/log" "changed since it was built: FLASH_SIZE"
check "... 4 MB merged image" test "$(stat -c %s "$OUT/merged.bin")" -eq 4194304
"$OTA32" image make --version app1 --project p --size 0x100000 -o "$T/my app.bin" >/dev/null
target build-esp32-bin PARTITIONS="$A" APP="$T/my app.bin" >/dev/null
"$OTA32" image make --version app2 --project p --size 0x100000 -o "$T/my app.bin" >/dev/null
target flash-esp32-bin PARTITIONS="$A" APP="$T/my app.bin"
expect_contains "a changed APP file rebuilds" "$T/log" "changed since it was built: APP"
"$OTA32" device boot "$DEV" >"$T/boot" 2>&1
expect_contains "... and the device boots it" "$T/boot" "version: app2"
# a bootloader: any ESP image serves for the merge
"$OTA32" image make --version bl --project bl --size 0x10400 -o "$T/bl.bin" >/dev/null
target flash-esp32-bin PARTITIONS="$A" APP="$T/my app.bin" BOOTLOADER="$T/bl.bin"
expect_contains "BOOTLOADER rebuilds" "$T/log" "changed since it was built: BOOTLOADER"

# ---- a failed build never gets flashed --------------------------------------
target build-esp32-bin PARTITIONS="$A" VERSION=good >/dev/null
target flash-esp32-bin PARTITIONS="$A" VERSION=good >/dev/null
cp "$DEV" "$T/before.flash"
mkdir -p "$T/idf"
target build-esp32-bin PARTITIONS="$A" IDF_BUILD="$T/idf"
check "build-esp32-bin with a bad IDF_BUILD fails" test $? -ne 0
target flash-esp32-bin PARTITIONS="$A" IDF_BUILD="$T/idf"
check "flash-esp32-bin with it fails too" test $? -ne 0
expect_contains "... for the same reason" "$T/log" "no project_description.json"
check "... and the device is untouched" cmp "$DEV" "$T/before.flash"

# ---- the app must be for the chip, and fit --------------------------------------
target build-esp32-ota PARTITIONS="$A" VERSION=ok >/dev/null
cp "$OUT/app.bin" "$T/good-app.bin"
# An ESP32 app with the chip id of an ESP32-S2 (2) at 0xC.
cp "$T/good-app.bin" "$T/s2.bin"
printf '\x02' | dd of="$T/s2.bin" bs=1 seek=12 conv=notrunc status=none
target build-esp32-ota PARTITIONS="$A" APP="$T/s2.bin"
check "an ESP32-S2 app is refused" test $? -ne 0
expect_contains "... naming both chips" "$T/log" "image is for ESP32-S2 (chip id 2), expected ESP32 (chip id 0)"
check "... app.bin is the previous one" cmp "$OUT/app.bin" "$T/good-app.bin"
"$OTA32" image make --version big --project p --size 0x140000 -o "$T/big.bin" >/dev/null
target build-esp32-ota PARTITIONS="$B" APP="$T/big.bin"
check "an app larger than the slot fails" test $? -ne 0
expect_contains "... naming the slot and both sizes" "$T/log" "the app image is 1310720 bytes (0x140000), larger than the smallest ota partition of $B, ota_0 (1048576 bytes, 0x100000)"
check "... app.bin is not the oversize image" cmp "$OUT/app.bin" "$T/good-app.bin"
check "... no partial file left" test -z "$(find "$OUT" -name '*.part')"
check "the same app fits table A" target build-esp32-ota PARTITIONS="$A" APP="$T/big.bin"
check "... and becomes app.bin" cmp "$OUT/app.bin" "$T/big.bin"

finish
