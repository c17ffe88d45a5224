#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 nvs gen | dump | get` against nvs_partition_gen's and nvs_tool.py's
# own output for the reference CSVs, plus generator edge cases and errors.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
V=$VECTORS
scratch

# gen: byte-identical to the generator
check "gen nvs_ota.csv 0x6000 == nvs_partition_gen" \
  bash -c "'$OTA32' nvs gen '$V/nvs_ota.csv' '$T/ota.bin' 0x6000 && cmp '$T/ota.bin' '$V/nvs_ota.bin'"
check "gen nvs_blob.csv 0x3000 == nvs_partition_gen" \
  bash -c "'$OTA32' nvs gen '$V/nvs_blob.csv' '$T/blob.bin' 0x3000 && cmp '$T/blob.bin' '$V/nvs_blob.bin'"

# dump: the layout of nvs_tool.py --dump all
check "dump nvs_ota.bin == nvs_tool.py --dump all" \
  bash -c "'$OTA32' nvs dump '$V/nvs_ota.bin' | cmp - '$V/nvs_ota.nvs_tool-dump.txt'"
out=$("$OTA32" nvs dump "$V/nvs_blob.bin")
check "dump shows blob_data with its payload" grep -q \
  "001. Written, Namespace Index: 001, Type: blob_data , Span: 002, Chunk Index: 000, CRC32: 71fd1541 | blb: Size=5, CRC32=7ed69116" <<<"$out"
check "dump shows blob_index" grep -q "blb: Size=5, ChunkCount=1, ChunkStart=0" <<<"$out"
check "dump payload line" grep -q "^      0x000  01 02 03 04 05 ff" <<<"$out"

# get
check "get string raw" test "$("$OTA32" nvs get "$V/nvs_ota.bin" ota fw_url)" = "https://example.com/fw.bin"
check "get u32 decimal" test "$("$OTA32" nvs get "$V/nvs_ota.bin" ota boot_count)" = "7"
check "get blob hex" test "$("$OTA32" nvs get "$V/nvs_blob.bin" ota blb)" = "0102030405"
# a flash dump with the table, this NVS and otadata at their offsets
"$OTA32" merge -o "$T/flash.bin" 0x8000 "$V/partitions_two_ota_8mb.bin" 0x9000 "$V/nvs_ota.bin" \
  0xF000 "$V/otadata_blank.bin" >/dev/null
check "get in a whole flash dump" \
  test "$("$OTA32" nvs get "$T/flash.bin" ota boot_count --offset 0x9000 --size 0x6000)" = "7"
err=$("$OTA32" nvs get "$V/nvs_ota.bin" ota missing 2>&1); rc=$?
check "get absent key: exit 1" test "$rc" -eq 1
check "get absent key: message" grep -q "ota/missing not found" <<<"$err"

# generator details, checked on bytes
cat >"$T/e.csv" <<'CSV'
key,type,encoding,value
# comments are skipped
a,namespace,,
q,data,string,"x,""y"""
n,data,i16,-2
b,namespace,,
a,namespace,,
z,data,u64,18446744073709551615
h,data,hex2bin, 0a0B 
s,data,base64,AAEC
CSV
check "gen edge cases" "$OTA32" nvs gen "$T/e.csv" "$T/e.bin" 0x3000
# entry 0: namespace 'a' -> index 1
check "namespace entry" test "$(hexat "$T/e.bin" 0x40 4)" = "000101ff"
check "quoted field with a comma and doubled quotes" test "$(hexat "$T/e.bin" 0x80 7)" = "782c22792200ff"
check "i16 -2 little-endian, rest 0xff" test "$(hexat "$T/e.bin" 0xb8 8)" = "feffffffffffffff"
# 'a' again writes no entry, and rows keep the newest index (2), as the generator does
check "repeated namespace: no entry, newest index" test "$(hexat "$T/e.bin" 0xe0 2)" = "0208"
check "u64 max" test "$(hexat "$T/e.bin" 0xf8 8)" = "ffffffffffffffff"
# a data row before any namespace is refused, naming the row (the generator's rule)
printf 'key,type,encoding,value\n# comment\npre,data,u8,5\nns,namespace,,\n' >"$T/pre.csv"
"$OTA32" nvs gen "$T/pre.csv" "$T/pre.bin" 0x3000 2>"$T/pre.err"
check "data row before a namespace: exit 1" test $? -eq 1
check "data row before a namespace: FILE:LINE: message" \
    grep -qxF "ota32: $T/pre.csv:3: pre: a data row before any namespace row (add one first, e.g. 'storage,namespace,,')" "$T/pre.err"
check "data row before a namespace: no output" test ! -e "$T/pre.bin"
out=$("$OTA32" nvs dump "$T/e.bin")
check "hex2bin strips spaces" grep -q "| h: Size=2" <<<"$out"
check "base64 decodes" grep -q "^      0x000  00 01 02 ff" <<<"$out"
check "last page stays blank" bash -c "dd if='$T/e.bin' bs=4096 skip=2 status=none | tr -d '\377' | wc -c | grep -qx 0"

# below 0x3000 (two pages of data and a reserved one) the generator refuses
"$OTA32" nvs gen "$V/nvs_ota.csv" "$T/ro.bin" 0x2000 2>"$T/ro.err"
check "gen 0x2000: exit 1" test $? -eq 1
check "gen 0x2000: message" grep -qF "Minimum NVS partition size needs to be 0x3000 bytes (size given: 0x2000)" "$T/ro.err"
check "gen 0x2000: no output" test ! -e "$T/ro.bin"
check "gen 0x3000: the smallest size" "$OTA32" nvs gen "$V/nvs_ota.csv" "$T/rw.bin" 0x3000

# errors
printf 'key,type,encoding,value\nns,namespace,,\nthis_key_is_too_long,data,u8,1\n' >"$T/long.csv"
err=$("$OTA32" nvs gen "$T/long.csv" "$T/x.bin" 0x3000 2>&1); rc=$?
check "long key rejected (exit 1)" test "$rc" -eq 1
check "long key message with line" grep -qF "ota32: $T/long.csv:3: Length of key \`this_key_is_too_long\` should be <= 15 characters." <<<"$err"
printf 'key,type,encoding,value\nns,namespace,,\nk,data,u8,256\n' >"$T/r.csv"
err=$("$OTA32" nvs gen "$T/r.csv" "$T/x.bin" 0x3000 2>&1)
check "u8 out of range" grep -qF "ota32: $T/r.csv:3: k: value 256 out of range for u8" <<<"$err"
printf 'key,type,encoding,value\nns,namespace,,\nk,data,hex2bin,abc\n' >"$T/h.csv"
err=$("$OTA32" nvs gen "$T/h.csv" "$T/x.bin" 0x3000 2>&1)
check "odd hex2bin" grep -q "k: Invalid data length. Should be multiple of 2." <<<"$err"
err=$("$OTA32" nvs gen "$V/nvs_ota.csv" "$T/x.bin" 0x3001 2>&1)
check "size not a multiple of 4096" grep -q "Size of partition must be multiple of 4096" <<<"$err"
check "no output file on error" test ! -e "$T/x.bin"
{ echo "key,type,encoding,value"; echo "ns,namespace,,"; for i in $(seq 1 300); do echo "k$i,data,u32,$i"; done; } >"$T/big.csv"
err=$("$OTA32" nvs gen "$T/big.csv" "$T/x.bin" 0x3000 2>&1); rc=$?
check "data larger than the partition" grep -q "Size parameter is less than the size of data in csv" <<<"$err"
"$OTA32" nvs gen 2>/dev/null; rc=$?
check "usage error exits 2" test "$rc" -eq 2
check "--help" bash -c "'$OTA32' nvs --help | grep -q 'ota32 nvs gen CSV OUT SIZE'"

finish
