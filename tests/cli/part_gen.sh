#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ota32 part gen / show against ESP-IDF's reference outputs and the
# hand-derived tables in tests/data/partitions (see its README.md).
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
quiet_checks
OTA32=${OTA32:?path to the ota32 tool}
SRC=${OTA32_SRC:?source tree}
V=$VECTORS
D=$SRC/tests/data/partitions
scratch
# expect_fail STATUS NEEDLE CMD...: exit status and a stderr substring
expect_fail() {
    local want=$1 needle=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then ko "$* exited $rc, want $want"; cat "$T/err"; return; fi
    if ! grep -qF -- "$needle" "$T/err"; then ko "$*: stderr lacks: $needle"; cat "$T/err"; return; fi
    ok
}

# The reference vector, byte for byte.
check "gen vector" "$OTA32" part gen "$V/partitions_two_ota_8mb.csv" "$T/pt.bin"
check "vector bytes" cmp "$T/pt.bin" "$V/partitions_two_ota_8mb.bin"
check "vector sha256" test "$(sha256sum <"$T/pt.bin" | cut -c1-64)" = \
    07909c8ce6e1239c2e0b58eb30d4db3616058809d7608b9d4de0e96c8870b5ac
check "md5 entry at 0xA0" test "$(od -An -tx1 -j160 -N2 "$T/pt.bin" | tr -d ' ')" = ebeb
expect_fail 1 "partitions_two_ota_8mb.csv:6: Partitions tables occupies 7.1MB of flash (7434240 bytes) which does not fit in configured flash size 4MB." \
    "$OTA32" part gen "$V/partitions_two_ota_8mb.csv" "$T/x.bin" --flash-size 4MB
check "4MB rejection writes nothing" test ! -e "$T/x.bin"
check "8MB accepted" "$OTA32" part gen "$V/partitions_two_ota_8mb.csv" "$T/8.bin" --flash-size 8MB
check "8MB bytes" cmp "$T/8.bin" "$V/partitions_two_ota_8mb.bin"

# Binary -> CSV, as gen_esp32part.py BIN OUT.csv writes it.
"$OTA32" part show --csv "$V/partitions_two_ota_8mb.bin" >"$T/show.csv"
check "show --csv" cmp "$T/show.csv" "$V/partitions_two_ota_8mb.from-bin.csv"
check "gen bin -> csv" "$OTA32" part gen "$V/partitions_two_ota_8mb.bin" "$T/back.csv"
check "gen bin -> csv bytes" cmp "$T/back.csv" "$V/partitions_two_ota_8mb.from-bin.csv"
# ... and back again.
check "gen csv round trip" "$OTA32" part gen "$T/back.csv" "$T/again.bin"
check "round trip bytes" cmp "$T/again.bin" "$V/partitions_two_ota_8mb.bin"
# A CSV input to show gives the same CSV.
"$OTA32" part show --csv "$V/partitions_two_ota_8mb.csv" >"$T/show2.csv"
check "show csv input" cmp "$T/show2.csv" "$V/partitions_two_ota_8mb.from-bin.csv"

# --no-md5: the MD5 slot becomes the end marker.
check "gen --no-md5" "$OTA32" part gen "$V/partitions_two_ota_8mb.csv" "$T/nomd5.bin" --no-md5
{ head -c 160 "$V/partitions_two_ota_8mb.bin"; head -c 2912 /dev/zero | tr '\0' '\377'; } >"$T/nomd5.exp"
check "--no-md5 bytes" cmp "$T/nomd5.bin" "$T/nomd5.exp"

# To stdout.
"$OTA32" part gen "$V/partitions_two_ota_8mb.csv" - >"$T/stdout.bin"
check "gen to stdout" cmp "$T/stdout.bin" "$V/partitions_two_ota_8mb.bin"

# Hand-derived tables.
for csv in "$D"/*.csv; do
    case $csv in *.from-bin.csv) continue ;; esac
    name=$(basename "$csv" .csv)
    check "gen $name" "$OTA32" part gen "$csv" "$T/$name.bin"
    check "$name bytes" cmp "$T/$name.bin" "$D/$name.bin"
    "$OTA32" part show --csv "$D/$name.bin" >"$T/$name.csv"
    check "$name to csv" cmp "$T/$name.csv" "$D/$name.from-bin.csv"
done

# A CSV saved as UTF-16 (as gen_esp32part.py, by its BOM).
u16() { local s=$1 i; printf '\xff\xfe'; for ((i = 0; i < ${#s}; i++)); do printf '%s\0' "${s:i:1}"; done; }
u16 "$(cat "$V/partitions_two_ota_8mb.csv")" >"$T/u16.csv"
check "utf-16 csv" "$OTA32" part gen "$T/u16.csv" "$T/u16.bin"
check "utf-16 bytes" cmp "$T/u16.bin" "$V/partitions_two_ota_8mb.bin"

# The readable table and JSON.
"$OTA32" part show "$V/partitions_two_ota_8mb.bin" >"$T/both.txt"
check "show: csv first" cmp <(head -n 7 "$T/both.txt") "$V/partitions_two_ota_8mb.from-bin.csv"
check "show: table row" grep -qE '^ota_1 +app +ota_1 +0x003a0000 +0x00377000 +3548 KiB' "$T/both.txt"
check "show: ota slots" grep -q '5 partitions, ota slots: 2' "$T/both.txt"
"$OTA32" part show --table "$D/flags.bin" >"$T/flags.txt"
check "table flags" grep -qE '^storage +data +spiffs +0x00110000 +0x00010000 +64 KiB +encrypted:readonly$' "$T/flags.txt"
"$OTA32" part show --json "$D/custom_types.bin" >"$T/j.json"
check "json" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["partitions"]
b = [p for p in e if p["label"] == "blob"][0]
assert (b["type"], b["type_name"], b["subtype"], b["subtype_name"], b["offset"], b["size"]) == \
    (64, None, 1, None, 1114112, 65536), b
' "$T/j.json"

# Variables come from the environment.
# shellcheck disable=SC2016 # the variables are for ota32 to expand
printf 'nvs, data, nvs, , $NVS_SIZE\n${SLOT}, app, ota_0, , 1M\n' >"$T/vars.csv"
check "env vars" env NVS_SIZE=0x6000 SLOT=ota_0 "$OTA32" part gen "$T/vars.csv" "$T/vars.bin"
check "env vars bytes" cmp <(head -c 12 "$T/vars.bin" | od -An -tx1) \
    <(printf '\xaa\x50\x01\x02\x00\x90\x00\x00\x00\x60\x00\x00' | od -An -tx1)
expect_fail 1 "vars.csv:1: Invalid field value \$NVS_SIZE" \
    env -u NVS_SIZE "$OTA32" part gen "$T/vars.csv" "$T/x.bin"
# shellcheck disable=SC2016
printf '$UNSET_PT_VAR, data, nvs, , 0x6000\n' >"$T/unset.csv"
expect_fail 1 "unset.csv:1: unknown variable 'UNSET_PT_VAR'" "$OTA32" part gen "$T/unset.csv" "$T/x.bin"

# Rejections name the file, line and reason.
printf 'nvs, data, nvs, 0x9000, 0x6000\nphy, data, phy, 0xa000, 0x1000\n' >"$T/ovl.csv"
expect_fail 1 "ovl.csv:2: Partitions overlap. Partition sets offset 0xa000. Previous partition ends 0xf000" \
    "$OTA32" part gen "$T/ovl.csv" "$T/x.bin"
printf 'nvs, data, nvs, , 0x2000\n' >"$T/nvs.csv"
expect_fail 1 "nvs.csv:1: Partition nvs invalid: 'nvs' partition of type 1 and subtype 2 of this size (0x2000) must be flagged as 'readonly'" \
    "$OTA32" part gen "$T/nvs.csv" "$T/x.bin"
printf 'data, app, factory, , 1M\n' >"$T/warn.csv"
expect_fail 0 "warn.csv:1: WARNING: Partition has name 'data' which is a partition type" \
    "$OTA32" part gen "$T/warn.csv" "$T/x.bin"
for i in $(seq 0 94); do echo "p$i, data, fat, , 0x1000"; done >"$T/95.csv"
expect_fail 1 "Binary partition table length (3072) longer than max" "$OTA32" part gen "$T/95.csv" "$T/x.bin"
check "95 without md5" "$OTA32" part gen "$T/95.csv" "$T/95.bin" --no-md5
check "95 entries size" test "$(wc -c <"$T/95.bin")" -eq 3072

# Broken binaries.
cp "$V/partitions_two_ota_8mb.bin" "$T/md5.bin"
printf 'O' | dd of="$T/md5.bin" bs=1 seek=$((0x2C)) conv=notrunc status=none # otadata -> Otadata
expect_fail 1 "md5.bin: offset 0xa0: MD5 checksums don't match!" "$OTA32" part show "$T/md5.bin"
"$OTA32" part show --csv --no-md5 "$T/md5.bin" >"$T/md5.csv"
check "--no-md5 skips the check" grep -q '^Otadata,data,ota,0xf000,8K,$' "$T/md5.csv"
head -c 192 "$V/partitions_two_ota_8mb.bin" >"$T/cut.bin"
expect_fail 1 "Partition table is missing an end-of-table marker" "$OTA32" part show "$T/cut.bin"
cp "$V/partitions_two_ota_8mb.bin" "$T/flag.bin"
printf '\x04' | dd of="$T/flag.bin" bs=1 seek=$((0x1C)) conv=notrunc status=none
expect_fail 0 "WARNING: Partition definition had unknown flag(s) 0x00000004. Newer binary format?" \
    "$OTA32" part show --csv --no-md5 "$T/flag.bin"

# Usage.
expect_fail 2 "expected IN and OUT" "$OTA32" part gen "$T/pt.bin"
expect_fail 2 "--flash-size '3MB' is not supported" "$OTA32" part gen "$V/partitions_two_ota_8mb.csv" "$T/x.bin" --flash-size 3MB
expect_fail 2 "unknown option '--bogus'" "$OTA32" part show --bogus "$T/pt.bin"
expect_fail 2 "exclude each other" "$OTA32" part show --csv --json "$T/pt.bin"
expect_fail 2 "unknown subcommand" "$OTA32" part frob
check "gen --help" sh -c "\"$OTA32\" part gen --help | grep -q 'usage: ota32 part gen'"
check "show --help" sh -c "\"$OTA32\" part show --help | grep -q 'usage: ota32 part show'"
expect_fail 1 "nope.csv" "$OTA32" part gen "$T/nope.csv" "$T/x.bin"

# --secure: secure boot v1 needs app sizes in 64 KB units, v2 (and none) 4 KB.
cat >"$T/sec.csv" <<'CSV'
# Name, Type, SubType, Offset, Size, Flags
nvs,      data, nvs,     0x9000,  0x6000,
phy_init, data, phy,     0xf000,  0x1000,
factory,  app,  factory, 0x10000, 0x18000,
CSV
check "4 KB-aligned app size without --secure" "$OTA32" part gen "$T/sec.csv" "$T/sec.bin"
for v in "" v1 V1; do
    rm -f "$T/sec1.bin"
    # shellcheck disable=SC2086 # an empty $v is no argument, as `--secure` alone means v1
    expect_fail 1 "sec.csv:4: Partition factory invalid: Size 0x18000 is not aligned to 0x10000" \
        "$OTA32" part gen --secure $v "$T/sec.csv" "$T/sec1.bin"
    check "--secure $v rejection writes nothing" test ! -e "$T/sec1.bin"
done
check "--secure v2 accepts 4 KB units" "$OTA32" part gen --secure v2 "$T/sec.csv" "$T/sec2.bin"
check "--secure v2 bytes as without it" cmp "$T/sec.bin" "$T/sec2.bin"
expect_fail 1 "offset 0x40: Partition factory invalid: Size 0x18000 is not aligned to 0x10000" \
    "$OTA32" part show --secure "$T/sec.bin"
expect_fail 2 "--secure v3: use v1 or v2" "$OTA32" part gen --secure v3 "$T/sec.csv" "$T/x.bin"
sed 's/0x18000/0x20000/' "$T/sec.csv" >"$T/sec64.csv"
check "--secure accepts 64 KB units" "$OTA32" part gen --secure "$T/sec64.csv" "$T/sec64.bin"
check "gen --help documents --secure" sh -c "\"$OTA32\" part gen --help | grep -q -- '--secure \\[v1|v2\\]'"

finish
