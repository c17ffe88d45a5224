#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 flash inspect` on esptool merge-bin's output (vectors/merged.bin):
# esptool's bootloader and app-template app, the reference table, NVS and
# otadata.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}"
need_interop vectors/merged.bin
scratch

# --- the reference merged image: 4 MB of layout, an 8 MB table, 716 KB file
M=$INTEROP/vectors/merged.bin
before=$(sha256sum <"$M")
"$OTA32" flash inspect "$M" >"$T/m" 2>&1
check "merged: exit 0" [ $? -eq 0 ]
check "merged: file untouched" [ "$(sha256sum <"$M")" = "$before" ]
check "merged: size" has "$T/m" "merged.bin: 732880 bytes (0xb2ed0)"
check "merged: table" has "$T/m" "partition table at 0x8000: 5 entries, MD5 ok"
check "merged: bootloader at 0x1000" has "$T/m" "bootloader at 0x1000: valid, 4240 bytes"
check "merged: ota_0 row" grep -qE "^  ota_0 +app +ota_0 +0x00020000 0x00377000 \(partly in the file\)$" "$T/m"
check "merged: ota_1 row" grep -qE "^  ota_1 +app +ota_1 +0x003a0000 0x00377000 \(not in the file\)$" "$T/m"
check "merged: otadata[0] blank" has "$T/m" "  otadata[0]: blank"
check "merged: otadata[1] blank" has "$T/m" "  otadata[1]: blank"
check "merged: would boot ota_0" has "$T/m" \
    "boot: would boot ota_0 at 0x20000, otadata state VALID (after rewriting otadata)"
check "merged: why" has "$T/m" \
    "why: otadata blank, no factory -> ota_0; would write otadata[0] seq 1 VALID"
check "merged: ota_0 verifies" grep -qE \
    "^  ota_0 +0x00020000 valid +app-template 1cd5752 \(idf v4.0-dev-30-g31ca6e399, Mar 18 2019 10:47:33\), 601808 bytes$" \
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
assert j["bootloader"] == {"offset": 4096, "present": True, "valid": True, "image_len": 4240}
assert [c["blank"] for c in j["otadata"]["copies"]] == [True, True]
b = j["boot"]
assert b["partition"] == "ota_0" and b["offset"] == 0x20000 and not b["bricked"], b
assert b["otadata_writes"] == 1, b
apps = {a["label"]: a for a in j["apps"]}
assert apps["ota_0"]["status"] == "valid" and apps["ota_0"]["app"]["version"] == "1cd5752"
assert apps["ota_0"]["image_len"] == 601808
assert apps["ota_1"]["status"] == "no data" and "0xb2ed0" in apps["ota_1"]["error"]
assert j["nvs"]["ota_version"] is None and j["nvs"]["keys"] == []
print("json ok")
EOF
  check "merged json: content" has "$T/m.py" "json ok"
else
  check "merged json: partition" grep -q '"partition":[[:space:]]*"ota_0"' "$T/m.json"
fi

finish
