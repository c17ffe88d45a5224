#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 flash inspect`: what a whole-flash dump holds and what the bootloader
# would do with it, without changing the file.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
V=$VECTORS
scratch
APP=$T/app.bin
test_app "$APP" || { ko "ota32 image make"; finish; }

# --- a merged image: 4 MB of layout, an 8 MB table, 716 KB file; the
# reference table, NVS and otadata and a made app (esptool's own merged image:
# tests/interop/flash_inspect_esptool.sh)
M=$T/merged.bin
"$OTA32" merge -o "$M" --flash-mode dio --flash-freq 40m --flash-size 4MB \
    0x8000 "$V/partitions_two_ota_8mb.bin" 0x9000 "$V/nvs_ota.bin" \
    0xF000 "$V/otadata_blank.bin" 0x20000 "$APP" >/dev/null
before=$(sha256sum <"$M")
"$OTA32" flash inspect "$M" >"$T/m" 2>&1
check "merged: exit 0" [ $? -eq 0 ]
check "merged: file untouched" [ "$(sha256sum <"$M")" = "$before" ]
check "merged: size" has "$T/m" "merged.bin: 732880 bytes (0xb2ed0)"
check "merged: table" has "$T/m" "partition table at 0x8000: 5 entries, MD5 ok"
check "merged: no bootloader at 0x1000" has "$T/m" "bootloader at 0x1000: none (blank)"
check "merged: ota_0 row" grep -qE "^  ota_0 +app +ota_0 +0x00020000 0x00377000 \(partly in the file\)$" "$T/m"
check "merged: ota_1 row" grep -qE "^  ota_1 +app +ota_1 +0x003a0000 0x00377000 \(not in the file\)$" "$T/m"
check "merged: otadata[0] blank" has "$T/m" "  otadata[0]: blank"
check "merged: otadata[1] blank" has "$T/m" "  otadata[1]: blank"
check "merged: would boot ota_0" has "$T/m" \
    "boot: would boot ota_0 at 0x20000, otadata state VALID (after rewriting otadata)"
check "merged: why" has "$T/m" \
    "why: otadata blank, no factory -> ota_0; would write otadata[0] seq 1 VALID"
check "merged: ota_0 verifies" grep -qE \
    "^  ota_0 +0x00020000 valid +ota32-test 1\.0\.0 \(idf v5\.5\.5, [^)]*\), 601808 bytes$" \
    "$T/m"
check "merged: ota_1 missing data" grep -qE \
    "^  ota_1 +0x003a0000 no data: the file ends at 0xb2ed0$" "$T/m"
check "merged: nvs partition" has "$T/m" 'nvs "nvs" at 0x9000 (0x6000 bytes):'
check "merged: no OTA version" has "$T/m" "OTA version (VIAM_NS/OTA_VERSION): not set"
check "merged: no VIAM_NS keys" has "$T/m" "no keys in namespace VIAM_NS"

"$OTA32" flash inspect "$M" --json >"$T/m.json" 2>&1
check "merged json: exit 0" [ $? -eq 0 ]
if command -v python3 >/dev/null; then
  python3 - "$T/m.json" >"$T/m.py" 2>&1 <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["size"] == 732880
assert [e["label"] for e in j["partition_table"]["partitions"]] == \
    ["nvs", "otadata", "phy_init", "ota_0", "ota_1"]
assert j["partition_table"]["md5"] is True
ota_0 = j["partition_table"]["partitions"][3]
assert (ota_0["type"], ota_0["type_name"], ota_0["subtype_name"]) == (0, "app", "ota_0"), ota_0
assert j["bootloader"] == {"offset": 4096, "present": False}, j["bootloader"]
assert [c["blank"] for c in j["otadata"]["copies"]] == [True, True]
b = j["boot"]
assert b["partition"] == "ota_0" and b["offset"] == 0x20000 and not b["bricked"], b
assert b["otadata_writes"] == 1, b
apps = {a["label"]: a for a in j["apps"]}
assert apps["ota_0"]["status"] == "valid" and apps["ota_0"]["app"]["version"] == "1.0.0"
assert apps["ota_0"]["image_len"] == 601808
assert apps["ota_1"]["status"] == "no data" and "0xb2ed0" in apps["ota_1"]["error"]
assert j["nvs"]["ota_version"] is None and j["nvs"]["keys"] == []
print("json ok")
EOF
  check "merged json: content" has "$T/m.py" "json ok"
else
  check "merged json: partition" grep -q '"partition":[[:space:]]*"ota_0"' "$T/m.json"
fi

# --- a device: ota_1 selected by otatool's otadata, VIAM_NS keys in NVS
D=$T/dev.flash
"$OTA32" device create "$D" --partitions "$V/partitions_two_ota_8mb.csv" --app "$APP" \
    >/dev/null 2>&1
check "device created" [ -s "$D" ]
dd if="$APP" of="$D" bs=4096 seek=$((0x3A0000 / 4096)) conv=notrunc status=none
dd if="$V/otadata_2_ota1.bin" of="$D" bs=4096 seek=$((0xF000 / 4096)) conv=notrunc status=none
# One NVS page as ESP-IDF writes it (checked below against the reference
# generator's output): namespace VIAM_NS, OTA_VERSION = "1.2.3", OTA_TRIES = 3.
if command -v python3 >/dev/null; then
  python3 - "$V/nvs_ota.bin" "$T/nvs.bin" >"$T/nvs.out" 2>&1 <<'EOF'
import struct, sys, zlib
def crc(b): return zlib.crc32(b, 0xFFFFFFFF) & 0xFFFFFFFF
def item(ns, typ, span, key, data):
    head = bytes([ns, typ, span, 0xFF]); rest = key.encode().ljust(16, b'\0') + data
    return head + struct.pack('<I', crc(head + rest)) + rest
def page(ns_name, items):
    ents = [item(0, 0x01, 1, ns_name, bytes([1]) + b'\xff' * 7)]
    for key, kind, val in items:
        if kind == 'str':
            d = val.encode() + b'\0'; n = (len(d) + 31) // 32
            ents.append(item(1, 0x21, 1 + n, key, struct.pack('<HHI', len(d), 0xFFFF, crc(d))))
            ents += [d[i*32:(i+1)*32].ljust(32, b'\xff') for i in range(n)]
        else:
            ents.append(item(1, 0x04, 1, key, struct.pack('<I', val) + b'\xff' * 4))
    hdr = struct.pack('<I', 0) + b'\xfe' + b'\xff' * 19
    p = struct.pack('<I', 0xFFFFFFFE) + hdr + struct.pack('<I', crc(hdr))
    bits = (1 << 256) - 1
    for i in range(len(ents)):
        bits &= ~(1 << (2 * i))
    return (p + bits.to_bytes(32, 'little') + b''.join(ents)).ljust(4096, b'\xff')
ref = open(sys.argv[1], 'rb').read()
assert page('ota', [('fw_url', 'str', 'https://example.com/fw.bin'),
                    ('boot_count', 'u32', 7)]) == ref[:4096], "generator differs from ESP-IDF"
open(sys.argv[2], 'wb').write(page('VIAM_NS', [('OTA_VERSION', 'str', '1.2.3'),
                                               ('OTA_TRIES', 'u32', 3)]))
print("nvs ok")
EOF
  check "nvs page built like ESP-IDF's" has "$T/nvs.out" "nvs ok"
  dd if="$T/nvs.bin" of="$D" bs=4096 seek=$((0x9000 / 4096)) conv=notrunc status=none
fi
before=$(sha256sum <"$D")
"$OTA32" flash inspect "$D" >"$T/d" 2>&1
check "device: exit 0" [ $? -eq 0 ]
check "device: no bootloader at 0x1000" has "$T/d" "bootloader at 0x1000: none (blank)"
check "device: untouched" [ "$(sha256sum <"$D")" = "$before" ]
check "device: otadata[0]" grep -qx "  otadata\[0\]: seq 1, state UNDEFINED, crc ok -> ota_0" "$T/d"
check "device: otadata[1]" has "$T/d" \
    "  otadata[1]: seq 2, state UNDEFINED, crc ok -> ota_1 (active)"
check "device: would boot ota_1" has "$T/d" "boot: would boot ota_1 at 0x3a0000, otadata state UNDEFINED"
check "device: why" has "$T/d" "why: otadata[1] seq 2 -> ota_1 (state UNDEFINED)"
check "device: both apps verify" [ "$(grep -cE '^  ota_[01] +0x[0-9a-f]+ valid ' "$T/d")" -eq 2 ]
if [ -s "$T/nvs.bin" ]; then
  check "device: OTA version" has "$T/d" 'OTA version (VIAM_NS/OTA_VERSION): "1.2.3"'
  check "device: OTA_VERSION shown once" eq "$(grep -c OTA_VERSION "$T/d")" 1
  check "device: VIAM_NS u32 key" has "$T/d" "  VIAM_NS/OTA_TRIES (u32): 3"
  "$OTA32" flash inspect "$D" --json >"$T/d.json"
  check "device json: ota_version" grep -q '"ota_version":[[:space:]]*"1.2.3"' "$T/d.json"
  check "device json: keys" grep -q '"key":[[:space:]]*"OTA_TRIES"' "$T/d.json"
  check "device json: no bootloader" python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))["bootloader"]
assert b == {"offset": 4096, "present": False}, b' "$T/d.json"
fi

# An update waiting for its first boot: reported, but otadata not rewritten.
otadata_seq2_new "$D"
before=$(sha256sum <"$D")
"$OTA32" flash inspect "$D" >"$T/n" 2>&1
check "new: would boot ota_1" has "$T/n" \
    "boot: would boot ota_1 at 0x3a0000, otadata state PENDING_VERIFY (after rewriting otadata)"
check "new: why" has "$T/n" "why: otadata[1] seq 2 -> ota_1 (state NEW -> PENDING_VERIFY)"
check "new: otadata shown as stored" has "$T/n" "  otadata[1]: seq 2, state NEW, crc ok -> ota_1"
check "new: dry run left the file alone" [ "$(sha256sum <"$D")" = "$before" ]
"$OTA32" flash inspect "$D" --no-rollback >"$T/nr" 2>&1
check "no-rollback: NEW stays" has "$T/nr" "why: otadata[1] seq 2 -> ota_1 (state NEW)"

# A broken image in the selected slot: the fallback is what would boot.
printf '\x00' | dd of="$D" bs=1 seek=$((0x3A0000 + 0x2000)) conv=notrunc status=none
"$OTA32" flash inspect "$D" >"$T/f" 2>&1
check "fallback: ota_0" has "$T/f" "boot: would boot ota_0 at 0x20000"
check "fallback: why" grep -qE \
    "why: .*ota_1 image invalid at 0x432eaf \(checksum: .*\); fell back to ota_0$" "$T/f"
check "fallback: slot marked invalid" grep -qE "^  ota_1 +0x003a0000 invalid +ota32-test" "$T/f"

# Failures and usage.
"$OTA32" flash inspect "$M" --table-offset 0x9000 >"$T/bad" 2>&1
check "no table at 0x9000: exit 1" [ $? -eq 1 ]
check "no table at 0x9000: said" has "$T/bad" "partition table at 0x9000: INVALID"
"$OTA32" flash inspect "$V/otadata_blank.bin" >"$T/short" 2>&1
check "too short for a table: exit 1" [ $? -eq 1 ]
check "too short for a table: said" has "$T/short" "no data"
"$OTA32" flash inspect >/dev/null 2>&1
check "no file: usage error" [ $? -eq 2 ]
"$OTA32" flash inspect "$M" --table-offset 0x8001 >/dev/null 2>&1
check "unaligned --table-offset: usage error" [ $? -eq 2 ]
"$OTA32" flash inspect --help >"$T/help"
check "--help" has "$T/help" "usage: ota32 flash inspect FLASH.bin"
"$OTA32" flash inspect "$T/missing.bin" >"$T/miss" 2>&1
check "missing file: exit 1" [ $? -eq 1 ]

finish
