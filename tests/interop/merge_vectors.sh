#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# `ota32 merge` against esptool v5.3.1 merge-bin's output (vectors/merged.bin).
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}"
need_interop esp-images/app-template-esp32.bin esp-images/bootloader-esp32.bin vectors/merged.bin
V=$INTEROP/vectors
IMG=$INTEROP/esp-images
scratch

PARAMS=(--flash-mode dio --flash-freq 40m --flash-size 4MB)
BL=(0x1000 "$IMG/bootloader-esp32.bin")
REST=(0x8000 "$V/partitions_two_ota_8mb.bin" 0x9000 "$V/nvs_ota.bin"
      0xF000 "$V/otadata_blank.bin" 0x20000 "$IMG/app-template-esp32.bin")

if "$OTA32" merge --chip esp32 -o "$T/merged.bin" "${PARAMS[@]}" "${BL[@]}" "${REST[@]}" \
    >"$T/out" && cmp "$T/merged.bin" "$V/merged.bin"; then
  ok "merged.bin byte-identical"
else
  ko "merged.bin byte-identical"
fi
grep -qF "Wrote 0xb2ed0 bytes to file '$T/merged.bin', ready to flash to offset 0x0." "$T/out" \
  && ok "summary line" || ko "summary line: $(cat "$T/out")"

# Order of the pairs does not matter.
if "$OTA32" merge -o "$T/shuf.bin" "${PARAMS[@]}" 0x20000 "$IMG/app-template-esp32.bin" \
    0xF000 "$V/otadata_blank.bin" "${BL[@]}" 0x9000 "$V/nvs_ota.bin" \
    0x8000 "$V/partitions_two_ota_8mb.bin" >/dev/null && cmp "$T/shuf.bin" "$V/merged.bin"; then
  ok "pairs sorted by address"
else
  ko "pairs sorted by address"
fi

# --pad-to-size 8MB: merged.bin then 0xFF up to 8 MiB.
"$OTA32" merge -o "$T/m8.bin" --pad-to-size 8MB "${PARAMS[@]}" "${BL[@]}" "${REST[@]}" >/dev/null
sha=$(sha256sum <"$T/m8.bin" | cut -d' ' -f1)
if [ "$(stat -c %s "$T/m8.bin")" -eq 8388608 ] &&
   [ "$sha" = 7d3acf3f51416e0892b74b28bce12b9312da2aa8162bcf0f4325cbc4fbcd4b1d ] &&
   cmp -n 732880 "$T/m8.bin" "$V/merged.bin"; then
  ok "--pad-to-size 8MB"
else
  ko "--pad-to-size 8MB ($sha)"
fi
# The 8 MiB digest in vectors/README.md is that of the command without the
# NVS input.
"$OTA32" merge -o "$T/m8b.bin" --pad-to-size 8MB "${PARAMS[@]}" "${BL[@]}" \
  0x8000 "$V/partitions_two_ota_8mb.bin" 0xF000 "$V/otadata_blank.bin" \
  0x20000 "$IMG/app-template-esp32.bin" >/dev/null
sha=$(sha256sum <"$T/m8b.bin" | cut -d' ' -f1)
[ "$sha" = 533469abf7108cd2437ce607c85217d4932c0da50381d648b45a6c5019d835ba ] \
  && ok "README 8 MiB digest" || ko "README 8 MiB digest ($sha)"
"$OTA32" merge -o "$T/fill.bin" --fill-flash-size 8MB "${PARAMS[@]}" "${BL[@]}" "${REST[@]}" >/dev/null
cmp -s "$T/fill.bin" "$T/m8.bin" && ok "--fill-flash-size alias" || ko "--fill-flash-size alias"

# Other flash parameters rewrite the bootloader header and its SHA-256.
"$OTA32" merge -o "$T/qio.bin" --flash-mode qio --flash-size 8MB "${BL[@]}" >"$T/out"
hdr=$(od -An -tx1 -j $((0x1002)) -N 2 "$T/qio.bin" | tr -d ' \n')
len=$(stat -c %s "$IMG/bootloader-esp32.bin")
want=$(tail -c +$((0x1001)) "$T/qio.bin" | head -c $((len - 32)) | sha256sum | cut -d' ' -f1)
got=$(tail -c 32 "$T/qio.bin" | od -An -tx1 | tr -d ' \n')
if [ "$hdr" = 0030 ] && [ "$want" = "$got" ] && grep -q "flash parameters set to 0x0030" "$T/out"; then
  ok "bootloader header patched, SHA-256 recomputed"
else
  ko "bootloader header patched ($hdr, $got vs $want)"
fi

# All keep (the default): bytes verbatim.
"$OTA32" merge -o "$T/keep.bin" 0x1000 "$T/qio.bin" >/dev/null
cmp -s <(tail -c +$((0x1001)) "$T/keep.bin") "$T/qio.bin" && ok "keep copies verbatim" \
  || ko "keep copies verbatim"

# Overlap: esptool's message; sectors count, not bytes.
"$OTA32" merge -o "$T/bad.bin" 0x1000 "$IMG/bootloader-esp32.bin" 0x2000 "$V/nvs_ota.bin" \
  >/dev/null 2>"$T/err"
st=$?
if [ $st -eq 1 ] && grep -qF "Detected overlap at address: 0x2000 for file: $V/nvs_ota.bin." "$T/err" \
   && [ ! -e "$T/bad.bin" ]; then
  ok "overlap rejected"
else
  ko "overlap rejected (exit $st: $(cat "$T/err"))"
fi

# Unaligned addresses are accepted (the bootloader ends at 0x2090).
if "$OTA32" merge -o "$T/odd.bin" 0x1000 "$IMG/bootloader-esp32.bin" 0x3001 "$V/otadata_blank.bin" \
    >/dev/null 2>"$T/err" && [ "$(stat -c %s "$T/odd.bin")" -eq $((0x3001 + 8192)) ] &&
   [ "$(od -An -tx1 -j $((0x3000)) -N 1 "$T/odd.bin" | tr -d ' ')" = ff ]; then
  ok "unaligned address 0x3001"
else
  ko "unaligned address 0x3001 ($(cat "$T/err"))"
fi

# --target-offset: output byte 0 is flash address 0x1000.
"$OTA32" merge -o "$T/tgt.bin" -t 0x1000 "${BL[@]}" >/dev/null
cmp -s "$T/tgt.bin" "$IMG/bootloader-esp32.bin" && ok "--target-offset" || ko "--target-offset"
"$OTA32" merge -o "$T/tgt2.bin" -t 0x2000 "${BL[@]}" >/dev/null 2>"$T/err"
grep -qF "Output data target offset is 0x2000. Input data offset 0x1000 is before this." "$T/err" \
  && ok "address below --target-offset" || ko "address below --target-offset"

# Usage errors exit 2.
"$OTA32" merge -o "$T/u.bin" 0x1000 >/dev/null 2>&1; [ $? -eq 2 ] && ok "odd pair count" || ko "odd pair count"
"$OTA32" merge 0x1000 "$V/nvs_ota.bin" >/dev/null 2>&1; [ $? -eq 2 ] && ok "missing -o" || ko "missing -o"
"$OTA32" merge -o "$T/u.bin" zz "$V/nvs_ota.bin" >/dev/null 2>&1; [ $? -eq 2 ] && ok "bad address" || ko "bad address"
"$OTA32" merge -o "$T/u.bin" --flash-freq 33m 0x0 "$V/nvs_ota.bin" >/dev/null 2>&1; [ $? -eq 2 ] \
  && ok "bad frequency" || ko "bad frequency"
"$OTA32" merge --help | grep -q "usage: ota32 merge" && ok "--help" || ko "--help"

finish
