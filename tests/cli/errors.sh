#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Errors that tell the user what to do, on inputs ota32 makes itself: one
# FILE:LINE: form for CSV rows, "Is a directory" for directories, a hint for
# the wrong kind of file, the slot and both sizes for an image too big, whole
# digests, nvs get on a flash dump, device flash of a non-merged image and a
# config whose OTA service is a near miss. Each refusal has a control beside
# it that is accepted.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}" "${OTA32_SRC:?}"
scratch

# quiet CMD...: CMD with its output dropped.
# shellcheck disable=SC2317 # called through check
quiet() { "$@" >/dev/null 2>&1; }
# fails STATUS LINE CMD...: CMD exits STATUS and its stderr is exactly LINE.
fails() {
    local want=$1 line=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -eq "$want" ] && [ "$(cat "$T/err")" = "$line" ]; then ok "$*"; else
        ko "$* (exit $rc, want $want; want stderr: $line)" "$T/err"
    fi
}
# fails_with STATUS TEXT CMD...: CMD exits STATUS and stderr contains TEXT.
fails_with() {
    local want=$1 text=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -eq "$want" ] && grep -qF -- "$text" "$T/err"; then ok "$*"; else
        ko "$* (exit $rc, want $want; stderr lacks: $text)" "$T/err"
    fi
}

CSV=$OTA32_SRC/partitions.csv
"$OTA32" image make --version v1 --project p --size 0x100000 -o "$T/app.bin" >/dev/null
"$OTA32" part gen "$CSV" "$T/pt.bin" >/dev/null
printf 'key,type,encoding,value\nVIAM_NS,namespace,,\nOTA_VERSION,data,string,v7 x\n' >"$T/nvs.csv"
"$OTA32" nvs gen "$T/nvs.csv" "$T/nvs.bin" 0x6000 >/dev/null
"$OTA32" merge -o "$T/merged.bin" --pad-to-size 4MB 0x8000 "$T/pt.bin" 0x9000 "$T/nvs.bin" \
    0x20000 "$T/app.bin" >/dev/null
check "inputs made" test -s "$T/merged.bin"

# ---- partition CSV errors: FILE:LINE: message, in every command --------------
printf 'nvs, data, nvs, 0x9000, 0x6000,\nbad, data, xyz, , 1M,\n' >"$T/bad.csv"
want="ota32: $T/bad.csv:2: Value 'xyz' is not valid. Known keywords: ota, phy, nvs, coredump, nvs_keys, efuse, undefined, esphttpd, fat, spiffs, littlefs, tee_ota (partition 'bad')"
fails 1 "$want" "$OTA32" part gen "$T/bad.csv" "$T/x.bin"
fails 1 "$want" "$OTA32" part show "$T/bad.csv"
fails 1 "$want" "$OTA32" device create "$T/x.flash" --partitions "$T/bad.csv" --app "$T/app.bin"
fails 1 "$want" "$OTA32" image verify "$T/app.bin" --partitions "$T/bad.csv"
fails 1 "$want" timeout 20 "$OTA32" serve "$T/app.bin" --port 0 --partitions "$T/bad.csv"
check "control: the repository's table is accepted" quiet "$OTA32" image verify "$T/app.bin" --partitions "$CSV"
printf 'key,type,encoding,value\nns,namespace,,\nk,data,u8,300\n' >"$T/bad-nvs.csv"
fails 1 "ota32: $T/bad-nvs.csv:3: k: value 300 out of range for u8" \
    "$OTA32" nvs gen "$T/bad-nvs.csv" "$T/x.bin" 0x3000

# Partition names: 16 characters fit the field, 17 do not (gen_esp32part.py).
printf 'nvs, data, nvs, 0x9000, 0x6000,\nsixteen_chars_ab, data, fat, , 0x10000,\n' >"$T/n16.csv"
check "a 16-character name" quiet "$OTA32" part gen "$T/n16.csv" "$T/n16.bin"
printf 'nvs, data, nvs, 0x9000, 0x6000,\nseventeen_chars_a, data, fat, , 0x10000,\n' >"$T/n17.csv"
fails 1 "ota32: $T/n17.csv:2: Partition name 'seventeen_chars_a' is 17 characters long, more than the 16 the table's name field holds" \
    "$OTA32" part gen "$T/n17.csv" "$T/n17.bin"
check "... nothing written" test ! -e "$T/n17.bin"

# ---- a directory is "Is a directory" everywhere -------------------------------
D=$T/adir
mkdir "$D"
for cmd in "part show $D" "part gen $D $T/x.bin" "image info $D" "image verify $D" \
    "flash inspect $D" "nvs dump $D" "nvs get $D ns k" "nvs gen $D $T/x.bin 0x3000" \
    "otadata show $D" "merge -o $T/x.bin 0x0 $D" "image elf2image $D -o $T/x.bin" \
    "device create $T/x.flash --partitions $D --app $T/app.bin" \
    "device create $T/x.flash --partitions $CSV --app $D" "device flash $T/x.flash $D" \
    "device boot $D" "image verify $T/app.bin --partitions $D" \
    "serve $D --port 0" "serve $T/app.bin --port 0 --partitions $D"; do
    # shellcheck disable=SC2086 # the words of cmd
    fails 1 "ota32: $D: Is a directory" timeout 20 "$OTA32" $cmd
done
printf 'key,type,encoding,value\nns,namespace,,\nk,file,binary,%s\n' "$D" >"$T/file-row.csv"
fails 1 "ota32: $T/file-row.csv:3: $D: Is a directory" "$OTA32" nvs gen "$T/file-row.csv" "$T/x.bin" 0x3000
"$OTA32" device create "$T/dev.flash" --partitions "$CSV" --app "$T/app.bin" >/dev/null
fails_with 1 "config: $D: Is a directory" "$OTA32" device run "$T/dev.flash" --config "$D" --once
check "... the device file untouched by a failed read" test -s "$T/dev.flash"

# ---- the wrong kind of file gets a hint ---------------------------------------
printf '\177ELF\002\001\001\000' >"$T/fw.elf"
head -c 4096 /dev/zero >>"$T/fw.elf"
fails 1 "ota32: $T/fw.elf: an ELF file, not an image: convert it with \`ota32 image elf2image ELF -o app.bin\`" \
    "$OTA32" image info "$T/fw.elf"
fails 1 "ota32: $T/fw.elf: an ELF file, not an image: convert it with \`ota32 image elf2image ELF -o app.bin\`" \
    "$OTA32" image verify "$T/fw.elf"
fails 1 "ota32: $T/merged.bin: a whole-flash image (partition table at 0x8000), not an app image: read it with \`ota32 flash inspect\`" \
    "$OTA32" image info "$T/merged.bin"
fails 1 "ota32: $T/pt.bin: a partition table on its own: read it with \`ota32 part show\`" \
    "$OTA32" image info "$T/pt.bin"
fails 1 "ota32: $T/app.bin: no partition table at 0x8000: an app or bootloader image, not a whole-flash image: read it with \`ota32 image info\`" \
    "$OTA32" flash inspect "$T/app.bin"
check "control: image info takes the app" quiet "$OTA32" image info "$T/app.bin"
check "control: flash inspect takes the merged image" quiet "$OTA32" flash inspect "$T/merged.bin"
# A damaged table entry: the magic in hex, no Python byte string.
cp "$T/merged.bin" "$T/bad-entry.bin"
printf '\x12\x34' | dd of="$T/bad-entry.bin" bs=1 seek=$((0x8020)) conv=notrunc status=none
"$OTA32" flash inspect "$T/bad-entry.bin" >"$T/out" 2>&1
expect_contains "a bad entry's magic in hex" "$T/out" "entry 1: magic 12 34, expected AA 50 (not a partition table entry)"
expect_not_contains "... never as b'\\x..'" "$T/out" "b'"

# ---- part show: an empty or non-table file is an error -------------------------
: >"$T/empty"
fails 1 "ota32: $T/empty: empty file: neither a binary partition table (starting AA 50) nor CSV text" \
    "$OTA32" part show "$T/empty"
fails 1 "ota32: $T/app.bin: not a partition table: neither a binary partition table (starting AA 50) nor CSV text" \
    "$OTA32" part show "$T/app.bin"
printf '# only a comment\n' >"$T/comment.csv"
fails 1 "ota32: $T/comment.csv: no partitions in it (a CSV needs rows of name, type, subtype, offset, size)" \
    "$OTA32" part show "$T/comment.csv"
check "control: part show of the table" quiet "$OTA32" part show "$T/pt.bin"

# ---- an image too big names the slot and both sizes ----------------------------
printf 'nvs, data, nvs, 0x9000, 0x6000,\notadata, data, ota, 0xF000, 0x2000,\nota_0, app, ota_0, 0x20000, 0x80000,\nota_1, app, ota_1, , 0x80000,\n' >"$T/small.csv"
# The whole 1 MB image claims more than its first 512 KB hold.
head -c $((0x80000)) "$T/app.bin" >"$T/cut.bin"
fails_with 1 "more than the 524288 allowed (ota_0, the smallest ota partition of $T/small.csv)" \
    "$OTA32" image verify "$T/cut.bin" --partitions "$T/small.csv"
grep -qE "the image needs at least [0-9]+ bytes, more than the 524288 allowed" "$T/err"
check "... with the size the image needs" test $? -eq 0
fails_with 1 "more than the 524288 allowed (ota_0 of $T/small.csv)" \
    "$OTA32" device create "$T/small.flash" --partitions "$T/small.csv" --app "$T/cut.bin"
fails 1 "ota32: $T/app.bin: the app image is 1048576 bytes (0x100000), larger than the smallest ota partition of $T/small.csv, ota_0 (524288 bytes, 0x80000): shrink the app or enlarge the ota partitions (a partition change needs the merged image flashed again)" \
    "$OTA32" image verify "$T/app.bin" --partitions "$T/small.csv"

# ---- a SHA-256 mismatch shows both digests whole --------------------------------
cp "$T/app.bin" "$T/sha.bin"
len=$(stat -c %s "$T/sha.bin")
# the last byte of the stored digest: only the digests differ
last=$(od -An -tx1 -j $((len - 1)) -N1 "$T/sha.bin" | tr -d ' ')
printf '%b' "\\x$(printf %02x $((0x$last ^ 1)))" | dd of="$T/sha.bin" bs=1 seek=$((len - 1)) conv=notrunc status=none
stored=$(tail -c 32 "$T/sha.bin" | od -An -tx1 | tr -d ' \n')
calc=$(head -c $((len - 32)) "$T/sha.bin" | sha256sum | cut -c1-64)
fails 1 "ota32: $T/sha.bin: offset 0x$(printf %x $((len - 32))): SHA-256: stored $stored, calculated $calc (image is corrupt)" \
    "$OTA32" image verify "$T/sha.bin"
check "... the digests differ in the last byte only" test "${stored:0:62}" = "${calc:0:62}"

# ---- nvs get / dump on a whole flash dump ---------------------------------------
check "nvs get on the flash dump finds the nvs partition" \
    test "$("$OTA32" nvs get "$T/merged.bin" VIAM_NS OTA_VERSION)" = "v7 x"
check "... as with --offset/--size" \
    test "$("$OTA32" nvs get "$T/merged.bin" VIAM_NS OTA_VERSION --offset 0x9000 --size 0x6000)" = "v7 x"
"$OTA32" nvs dump "$T/merged.bin" >"$T/dump" 2>&1
expect_contains "nvs dump on the flash dump" "$T/dump" "VIAM_NS: 1"
printf 'otadata, data, ota, 0x9000, 0x2000,\nota_0, app, ota_0, 0x10000, 0x100000,\nota_1, app, ota_1, , 0x100000,\n' >"$T/nonvs.csv"
"$OTA32" part gen "$T/nonvs.csv" "$T/nonvs.bin" >/dev/null
"$OTA32" merge -o "$T/nonvs-flash.bin" --pad-to-size 4MB 0x8000 "$T/nonvs.bin" >/dev/null
fails 1 "ota32: $T/nonvs-flash.bin: a flash image whose partition table at 0x8000 has no nvs partition (give --offset and --size)" \
    "$OTA32" nvs get "$T/nonvs-flash.bin" VIAM_NS OTA_VERSION
check "an NVS partition image is read whole" test "$("$OTA32" nvs get "$T/nvs.bin" VIAM_NS OTA_VERSION)" = "v7 x"

# ---- device flash refuses what is not a merged image ----------------------------
cp "$T/dev.flash" "$T/dev.before"
fails_with 1 "ota32: $T/app.bin: no valid partition table at 0x8000 (entry 0: magic" \
    "$OTA32" device flash "$T/dev.flash" "$T/app.bin"
expect_contains "... naming the app image" "$T/err" "it is an app or bootloader image"
expect_contains "... and --force" "$T/err" "--force writes the bytes anyway"
check "... the device untouched" cmp "$T/dev.flash" "$T/dev.before"
head -c 100000 /dev/urandom >"$T/random.bin"
fails_with 1 "ota32: $T/random.bin: no valid partition table at 0x8000" \
    "$OTA32" device flash "$T/dev.flash" "$T/random.bin"
head -c 1000 /dev/urandom >"$T/short.bin"
fails_with 1 "ota32: $T/short.bin: no valid partition table at 0x8000 (1000 bytes end before it)" \
    "$OTA32" device flash "$T/new.flash" "$T/short.bin"
check "... no device created" test ! -e "$T/new.flash"
check "... the device untouched" cmp "$T/dev.flash" "$T/dev.before"
check "control: the merged image is flashed" quiet "$OTA32" device flash "$T/dev.flash" "$T/merged.bin"
check "--force writes raw bytes" quiet "$OTA32" device flash "$T/dev.flash" "$T/app.bin" --force
check "... they are at 0x0" cmp -n "$(stat -c %s "$T/app.bin")" "$T/dev.flash" "$T/app.bin"

# ---- a near miss of the OTA service is named ------------------------------------
"$OTA32" device create "$T/cfg.flash" --partitions "$CSV" --app "$T/app.bin" >/dev/null
printf '{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_servic","attributes":{"url":"http://127.0.0.1:9/app.bin","version":"v2"}}]}' >"$T/near.json"
"$OTA32" device run "$T/cfg.flash" --config "$T/near.json" --once >"$T/out" 2>"$T/err"
check "near miss: exit 0 (no OTA service)" test $? -eq 0
expect_contains "... result" "$T/out" "result: no OTA service in the config"
expect_contains "... names the entry and why" "$T/err" "no OTA service in the config: services[0] skipped: model \"ota_servic\" is not \"ota_service\" or \"rdk:builtin:ota_service\" (a misspelt model name?)"
printf '{"services":[{"name":"cam","model":"webcam"}]}' >"$T/none.json"
"$OTA32" device run "$T/cfg.flash" --config "$T/none.json" --once >"$T/out" 2>"$T/err"
expect_not_contains "control: an unrelated service is not named" "$T/err" "skipped"

finish
