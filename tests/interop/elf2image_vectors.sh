#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# `ota32 image elf2image` against esptool v5.3.1's own output for the two
# reference ELFs, plus its rejections of malformed ELFs.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}"
need_interop esp-images/esp32-app-template.elf esp-images/esp32-bootloader.elf \
    esp-images/app-template-esp32.bin esp-images/bootloader-esp32.bin
IMG=$INTEROP/esp-images
scratch

# expect NAME STATUS PATTERN CMD...: exit status and a stderr substring.
expect() {
  local name=$1 want=$2 pattern=$3
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [ "$got" -eq "$want" ] && grep -qF -- "$pattern" "$T/err"; then
    ok "$name"
  else
    ko "$name (exit $got, want $want; stderr: $(head -c 300 "$T/err"))"
  fi
}

if "$OTA32" image elf2image "$IMG/esp32-app-template.elf" -o "$T/app.bin" --flash-mode dio \
    --flash-freq 40m --flash-size 4MB --elf-sha256-offset 0xb0 --min-rev-full 0 \
    --max-rev-full 399 >/dev/null && cmp "$T/app.bin" "$IMG/app-template-esp32.bin"; then
  ok "app-template ELF -> app-template-esp32.bin byte-identical"
else
  ko "app-template ELF -> app-template-esp32.bin byte-identical"
fi

if "$OTA32" image elf2image "$IMG/esp32-bootloader.elf" -o "$T/bl.bin" --flash-mode dio \
    --flash-freq 40m --flash-size 4MB >/dev/null && cmp "$T/bl.bin" "$IMG/bootloader-esp32.bin"; then
  ok "bootloader ELF -> bootloader-esp32.bin byte-identical"
else
  ko "bootloader ELF -> bootloader-esp32.bin byte-identical"
fi

# esptool's underscore spellings and --opt=value work the same.
if "$OTA32" image elf2image "$IMG/esp32-bootloader.elf" -o "$T/bl2.bin" --flash_mode=dio \
    --flash_freq 40m --flash_size=4MB >/dev/null && cmp "$T/bl2.bin" "$IMG/bootloader-esp32.bin"; then
  ok "underscore and = option forms"
else
  ko "underscore and = option forms"
fi

# Without -o the output is the ELF's name with .bin (esptool's "auto").
cp "$IMG/esp32-bootloader.elf" "$T/boot.elf"
if "$OTA32" image elf2image "$T/boot.elf" --flash-mode dio --flash-freq 40m --flash-size 4MB \
    >/dev/null && cmp "$T/boot.bin" "$IMG/bootloader-esp32.bin"; then
  ok "default output name"
else
  ko "default output name"
fi

# Secure boot v2 padding: image + SHA-256 end on a 64 KB boundary.
"$OTA32" image elf2image "$IMG/esp32-app-template.elf" -o "$T/sp2.bin" --flash-mode dio \
  --flash-freq 40m --flash-size 4MB --elf-sha256-offset 0xb0 --secure-pad-v2 >/dev/null
size=$(stat -c %s "$T/sp2.bin" 2>/dev/null || echo 0)
want_sha=$(head -c $((size - 32)) "$T/sp2.bin" | sha256sum | cut -d' ' -f1)
got_sha=$(tail -c 32 "$T/sp2.bin" | od -An -tx1 | tr -d ' \n')
if [ "$size" -eq $((0xA0000)) ] && [ "$want_sha" = "$got_sha" ]; then
  ok "--secure-pad-v2: 0xa0000 bytes, SHA-256 valid"
else
  ko "--secure-pad-v2: size $size, sha $got_sha vs $want_sha"
fi

# The ELF SHA-256 lands at 0xb0 of the app image.
elf_sha=$(sha256sum "$IMG/esp32-app-template.elf" | cut -d' ' -f1)
at_b0=$(od -An -tx1 -j $((0xb0)) -N 32 "$T/app.bin" | tr -d ' \n')
[ "$elf_sha" = "$at_b0" ] && ok "ELF SHA-256 at 0xb0" || ko "ELF SHA-256 at 0xb0 ($at_b0)"

# Malformed ELFs: rejected with the offset and the section named.
head -c 40 "$IMG/esp32-bootloader.elf" >"$T/trunc.elf"
expect "truncated header" 1 "offset 0x28: truncated ELF header (40 of 52 bytes)" \
  "$OTA32" image elf2image "$T/trunc.elf" -o "$T/x.bin"
{ printf 'XELF'; tail -c +5 "$IMG/esp32-bootloader.elf"; } >"$T/magic.elf"
expect "bad magic" 1 "offset 0x0: invalid ELF magic 58 45 4c 46" \
  "$OTA32" image elf2image "$T/magic.elf" -o "$T/x.bin"
head -c 300000 "$IMG/esp32-bootloader.elf" >"$T/cut.elf"
expect "section table past the end" 1 \
  "offset 0x20: section header table at 0x5a5b0 (20 x 0x28 bytes) extends past the end of the file (0x493e0 bytes)" \
  "$OTA32" image elf2image "$T/cut.elf" -o "$T/x.bin"
# Section [1] (.iram1.text) header is at 0x5a5b0 + 0x28; its sh_offset at +0x10.
cp "$IMG/esp32-bootloader.elf" "$T/sec.elf"
chmod u+w "$T/sec.elf"
printf '\x00\xff\xff\xff' | dd of="$T/sec.elf" bs=1 seek=$((0x5a5b0 + 0x28 + 0x10)) conv=notrunc 2>/dev/null
expect "section data past the end" 1 \
  "offset 0x5a5d8: section [1] '.iram1.text' data at 0xffffff00 size 0x1fc extends past the end" \
  "$OTA32" image elf2image "$T/sec.elf" -o "$T/x.bin"
[ ! -e "$T/x.bin" ] && ok "no output on failure" || ko "no output on failure"

expect "ELF SHA-256 offset not zero" 1 "offset 0x30: contents of segment at the ELF SHA-256 offset are not zero" \
  "$OTA32" image elf2image "$IMG/esp32-app-template.elf" -o "$T/x.bin" --elf-sha256-offset 0x30

# Usage errors exit 2.
expect "unknown option" 2 "unknown option '--bogus'" \
  "$OTA32" image elf2image "$IMG/esp32-bootloader.elf" --bogus
expect "bad flash size" 2 "flash size '3MB' is not supported" \
  "$OTA32" image elf2image "$IMG/esp32-bootloader.elf" --flash-size 3MB
expect "other chip" 2 "chip 'esp32s3' is not supported" \
  "$OTA32" image elf2image "$IMG/esp32-bootloader.elf" --chip esp32s3
if "$OTA32" image elf2image --help | grep -q "usage: ota32 image elf2image"; then
  ok "--help"
else
  ko "--help"
fi

finish
