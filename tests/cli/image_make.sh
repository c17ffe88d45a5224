#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# `ota32 image make`: exact sizes, determinism, and images that pass
# `image verify` and `image info`, with checksum and SHA-256 recomputed here
# by other means (awk over the segment table, sha256sum of the prefix).
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}"
scratch

le32() { od -An -tu4 -j "$2" -N4 --endian=little "$1" | tr -d ' '; }

# Independent checksum: seed 0xEF XOR every byte of segment data.
checksum_of() {
  local f=$1 off=24 count i len ranges=""
  count=$(od -An -tu1 -j1 -N1 "$f" | tr -d ' ')
  for ((i = 0; i < count; i++)); do
    len=$(le32 "$f" $((off + 4)))
    ranges+="$((off + 8)) $((off + 8 + len)) "
    off=$((off + 8 + len))
  done
  od -An -v -tu1 -w1 "$f" | awk -v r="$ranges" '
    BEGIN { n = split(r, a, " "); x = 239; k = 1 }
    function xor(p, q,  res, bit) { res = 0; bit = 1
      while (p || q) { if ((p % 2) != (q % 2)) res += bit; p = int(p / 2); q = int(q / 2); bit *= 2 }
      return res }
    { pos = NR - 1
      while (k < n && pos >= a[k + 1]) k += 2
      if (k < n && pos >= a[k] && pos < a[k + 1]) x = xor(x, $1) }
    END { printf "%d %d\n", x, a[n] }'
}

sizes=(66560 131072 1048576 1193040)
for n in "${sizes[@]}"; do
  f=$T/app-$n.bin
  if ! "$OTA32" image make --version "1.2.$n" --project demo --size "$n" -o "$f" >"$T/out" 2>&1; then
    ko "make --size $n: $(cat "$T/out")"; continue
  fi
  [ "$(stat -c %s "$f")" -eq "$n" ] && ok "size $n exact" || ko "size $n: got $(stat -c %s "$f")"
  out=$("$OTA32" image verify "$f" --chip esp32 --max-size "$n" 2>&1)
  [ "$out" = "OK: $f: ESP32 app 'demo' version '1.2.$n', 5 segments, $n bytes, checksum 0x$(xxd -s $((n - 33)) -l 1 -p "$f"), SHA-256 valid" ] \
    && ok "size $n verifies" || ko "size $n verify: $out"
  # SHA-256 of everything through the checksum byte, by sha256sum.
  want=$(head -c $((n - 32)) "$f" | sha256sum | cut -d' ' -f1)
  [ "$(tail -c 32 "$f" | xxd -p -c 64)" = "$want" ] && ok "size $n sha256sum" || ko "size $n sha256sum"
  [ "$n" -gt 131072 ] && continue # awk is slow; the smaller images cover the rule
  read -r sum end < <(checksum_of "$f")
  stored=$(od -An -tu1 -j $((n - 33)) -N1 "$f" | tr -d ' ')
  [ "$sum" = "$stored" ] && [ $((end | 15)) -eq $((n - 33)) ] && ok "size $n checksum recomputed" \
    || ko "size $n checksum: calc $sum stored $stored end $end"
done

f=$T/app-66560.bin
"$OTA32" image info "$f" >"$T/info.txt"
grep -qxF "App version: 1.2.66560" "$T/info.txt" && grep -qxF "Project name: demo" "$T/info.txt" &&
  grep -qxF "Flash size: 4MB" "$T/info.txt" && grep -qxF "Flash mode: DIO" "$T/info.txt" &&
  grep -qxF "Maximal chip revision: v3.99" "$T/info.txt" && grep -qxF "Checksum: 0x$(xxd -s $((66560 - 33)) -l 1 -p "$f") (valid)" "$T/info.txt" &&
  grep -qE '^      0  0x[0-9a-f]{5}  0x3f400020  0x00000018  DROM$' "$T/info.txt" &&
  grep -qE '^      3  0x[0-9a-f]{5}  0x400d0018  0x00010010  IROM$' "$T/info.txt" &&
  grep -qE '^Validation hash: [0-9a-f]{64} \(valid\)$' "$T/info.txt" \
  && ok "info of a made image" || { ko "info of a made image"; cat "$T/info.txt"; }

# Same arguments, same bytes; another seed or version, other bytes.
"$OTA32" image make --version 1.2.66560 --project demo --size 66560 -o "$T/again.bin" >/dev/null
cmp -s "$f" "$T/again.bin" && ok "deterministic" || ko "deterministic"
"$OTA32" image make --version 1.2.66560 --project demo --size 66560 --seed other -o "$T/seed.bin" >/dev/null
cmp -s "$f" "$T/seed.bin" && ko "--seed changes the payload" || ok "--seed changes the payload"

# Options reach the header and the descriptor.
"$OTA32" image make --version v9 --project p --size 128K --secure-version 3 --idf-version v6.0.2 \
  --flash-size 8MB -o "$T/o.bin" >/dev/null
j=$("$OTA32" image info --json "$T/o.bin")
[ "$(jq -r '[.app_desc.secure_version, .app_desc.idf_ver, .flash_size, .app_desc.mmu_page_size] | @tsv' <<<"$j")" = "$(printf '3\tv6.0.2\t8MB\t16')" ] \
  && ok "secure version, IDF version, flash size" || ko "options: $j"

# Bad arguments: exit 2 with a clear message.
"$OTA32" image make --version 01234567890123456789012345678901 --project p --size 128K -o "$T/x.bin" 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && grep -qF "version '01234567890123456789012345678901' is 32 characters, at most 31 fit" "$T/err" && [ ! -e "$T/x.bin" ] \
  && ok "version too long" || ko "version too long (rc $rc): $(cat "$T/err")"
"$OTA32" image make --version 0123456789012345678901234567890 --project p --size 128K -o "$T/x.bin" >/dev/null 2>&1 \
  && ok "31-character version accepted" || ko "31-character version accepted"
"$OTA32" image make --version 1 --project p --size 70008 -o "$T/y.bin" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -qF "size 70008: must be a multiple of 16 from 66560" "$T/err" && ok "size not a multiple of 16" \
  || ko "size not a multiple of 16 (rc $rc): $(cat "$T/err")"
"$OTA32" image make --version 1 --project p --size 4096 -o "$T/y.bin" 2>/dev/null; [ $? -eq 2 ] && ok "size too small" || ko "size too small"
"$OTA32" image make --version 1 --project p --size 128K --chip esp32s2 -o "$T/y.bin" 2>/dev/null; [ $? -eq 2 ] && ok "only esp32" || ko "only esp32"
"$OTA32" image make --version 1 --size 128K -o "$T/y.bin" 2>/dev/null; [ $? -eq 2 ] && ok "missing --project" || ko "missing --project"
"$OTA32" image make --help | grep -qF "at least 0x10400 bytes" && ok "--help names the minimum" || ko "--help names the minimum"

finish
