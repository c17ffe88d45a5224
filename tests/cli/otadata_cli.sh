#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 otadata show | switch | mark` against otatool's vectors: blank, then
# ota_0 -> ota_1 -> ota_0, byte for byte; rollback state; marking; errors.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
V=$VECTORS
scratch

O=$T/od.bin
cp "$V/otadata_blank.bin" "$O"
out=$("$OTA32" otadata show "$O")
check "blank: no active record" grep -q "active: none" <<<"$out"
check "switch ota_0 == otatool" bash -c "'$OTA32' otadata switch '$O' 0 && cmp '$O' '$V/otadata_1_ota0.bin'"
check "switch ota_1 == otatool" bash -c "'$OTA32' otadata switch '$O' ota_1 && cmp '$O' '$V/otadata_2_ota1.bin'"
check "switch ota_0 == otatool" bash -c "'$OTA32' otadata switch '$O' 0 && cmp '$O' '$V/otadata_3_ota0.bin'"
out=$("$OTA32" otadata show "$O")
check "show: copy 0 seq 3" grep -q "copy 0 @0x0: seq 3, state UNDEFINED, crc 0xed4a5011 -> ota_0" <<<"$out"
check "show: copy 1 seq 2" grep -q "copy 1 @0x1000: seq 2, state UNDEFINED, crc 0x55f63774 -> ota_1" <<<"$out"
check "show: active copy 0 boots ota_0" grep -q "active: copy 0, boots ota_0" <<<"$out"

# rollback enabled: the same bytes but ota_state NEW (0)
R=$T/rb.bin
cp "$V/otadata_blank.bin" "$R"
"$OTA32" otadata switch "$R" 0 --rollback && "$OTA32" otadata switch "$R" 1 --rollback
check "rollback: state NEW in copy 1" test "$(hexat "$R" 0x1018 4)" = "00000000"
# cmp -l lists differing bytes (1-based): only the two ota_state fields
check "rollback: only ota_state differs from otatool" \
  test "$(cmp -l "$R" "$V/otadata_2_ota1.bin" | awk '{printf "%s ", $1}')" = "25 26 27 28 4121 4122 4123 4124 "
check "rollback: seq and crc of copy 1" test "$(hexat "$R" 0x1000 4)$(hexat "$R" 0x101c 4)" = "020000007437f655"

# mark valid, then invalid: the active copy's state, the other copy untouched
"$OTA32" otadata mark "$R" valid
check "mark valid: state 2 in copy 1" test "$(hexat "$R" 0x1018 4)" = "02000000"
check "mark valid: copy 0 untouched" test "$(hexat "$R" 0x18 4)" = "00000000"
"$OTA32" otadata mark "$R" invalid
check "mark invalid: state 3" test "$(hexat "$R" 0x1018 4)" = "03000000"
out=$("$OTA32" otadata show "$R")
check "after invalid: copy 0 (ota_0) is active" grep -q "active: copy 0, boots ota_0" <<<"$out"
check "after invalid: copy 1 not bootable" grep -q "copy 1 @0x1000: seq 2, state INVALID, crc 0x55f63774 -> not bootable" <<<"$out"

# whole flash dump: otadata at 0xF000 by default
M=$T/m.bin
"$OTA32" merge -o "$T/flash.bin" 0x8000 "$V/partitions_two_ota_8mb.bin" 0x9000 "$V/nvs_ota.bin" \
  0xF000 "$V/otadata_blank.bin" >/dev/null
cp "$T/flash.bin" "$M"
check "flash dump: switch at 0xF000" bash -c "'$OTA32' otadata switch '$M' 1"
check "flash dump: seq 2 written to copy 0" test "$(hexat "$M" 0xF000 4)$(hexat "$M" 0xF01c 4)" = "020000007437f655"
check "flash dump: the rest unchanged" cmp <(head -c $((0xF000)) "$M") <(head -c $((0xF000)) "$T/flash.bin")

# errors
cp "$V/otadata_blank.bin" "$O"
err=$("$OTA32" otadata mark "$O" valid 2>&1); rc=$?
check "mark with no valid record: exit 1" test "$rc" -eq 1
check "mark with no valid record: message" grep -q "no valid otadata record to mark" <<<"$err"
"$OTA32" otadata switch "$O" 2 2>/dev/null; rc=$?
check "slot beyond app count: usage error" test "$rc" -eq 2
check "--app-count 3 allows ota_2 (seq 3)" bash -c "'$OTA32' otadata switch '$O' 2 --app-count 3 && test \"\$(od -An -tx1 -N4 '$O' | tr -d ' ')\" = 03000000"
check "blank file unchanged by failed mark" bash -c "cmp <(tail -c 4096 '$O') <(tail -c 4096 '$V/otadata_blank.bin')"
head -c 100 "$V/otadata_blank.bin" >"$T/short.bin"
err=$("$OTA32" otadata show "$T/short.bin" 2>&1); rc=$?
check "short file rejected" test "$rc" -eq 1
check "--help" bash -c "'$OTA32' otadata --help | grep -q 'ota32 otadata switch FILE SLOT'"

finish
