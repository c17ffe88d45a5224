#!/usr/bin/env bash
# The flash timing model (`ota32 device run --timing`: 4 KB erase 45 ms, 64 KB
# erase 150 ms, 0.4 ms per 256-byte page programmed, reads at 20 MB/s):
# simulated flash time of an update, ota32's erase-ahead (one 64 KB block just
# ahead of the write position) against erasing the whole slot before the first
# write (Micro-RDK's way: esp_ota_begin with OTA_SIZE_UNKNOWN), for a 1 MB and
# a 3.5 MB image from a private nghttpd on loopback.
#
# Columns: "flash ms" is the model's total flash time during the update;
# "longest op" the longest single flash operation (measured by the model);
# "longest blocking" the longest stretch of flash work between two writes:
# with erase-ahead each 4 KB write is preceded by at most one erase, so it is
# the longest op; with the whole slot first, every erase of the slot runs in
# one call before the first write (computed from the erase counts and the
# model's times). The model is deterministic: one run per case.
# Targets: erase-ahead no slower than whole-slot for both sizes, and its
# longest blocking stretch no longer than one 64 KB block erase (150 ms).
#
#   bash bench/bench_ota_flash.sh [path/to/ota32]
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_ota_flash "${1:-build/release/ota32}"
need_tools python3

mkdir -p "$T/www"
"$OTA32" image make --version v1 --project bench --size 200000 -o "$T/v1.bin" >/dev/null ||
    bench_broken "image make failed"
"$OTA32" image make --version mid --project bench --size 1048576 -o "$T/www/mid.bin" >/dev/null ||
    bench_broken "image make failed"
"$OTA32" image make --version big --project bench --size 3500000 -o "$T/www/big.bin" >/dev/null ||
    bench_broken "image make failed"
start_nghttpd "$T/www"

# update IMG STRATEGY -> "flash_ms max_op_ms blocking_ms block_erases sector_erases"
update() {
    local extra=()
    [ "$2" = whole ] && extra=(--erase-whole-slot)
    "$OTA32" device create "$T/dev.flash" --partitions "$SRC/partitions.csv" --app "$T/v1.bin" \
        --force >/dev/null || bench_broken "device create failed"
    device_cfg "$T/dev.cfg" "http://127.0.0.1:$NGHTTPD_PORT/$1.bin" "$1"
    rm -f "$T/sum.json"
    bench_run timeout 120 "$OTA32" device run "$T/dev.flash" --config "$T/dev.cfg" --once --quiet --timing \
        "${extra[@]}" --json-summary "$T/sum.json" >"$T/run.log" 2>&1 ||
        { cat "$T/run.log" >&2; bench_broken "update failed"; }
    python3 - "$T/sum.json" "$1" "$2" <<'PY' || bench_broken "unexpected summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["updates"] == 1 and s["running_app_version"] == sys.argv[2], s
b, k = s["slot_block_erases"], s["slot_sector_erases"]
blocking = s["flash_max_op_ms"] if sys.argv[3] == "ahead" else b * 150.0 + k * 45.0
print(s["flash_virtual_ms"], s["flash_max_op_ms"], blocking, b, k)
PY
}

echo "bench_ota_flash: flash timing model, erase-ahead vs whole slot first"
printf '\n%-7s %-22s %10s %12s %18s %14s\n' image strategy "flash ms" "longest op" "longest blocking" erases
ok_time=1 ok_block=1
for img in mid big; do
    read -r fa oa ba b1 k1 < <(update "$img" ahead)
    read -r fw ow bw b2 k2 < <(update "$img" whole)
    if [ -z "${fw:-}" ] || [ -z "${fa:-}" ]; then bench_broken "no figures for $img"; fi
    label=$([ "$img" = mid ] && echo "1 MB" || echo "3.5 MB")
    printf '%-7s %-22s %10.1f %9.1f ms %15.1f ms %14s\n' "$label" "erase-ahead (ota32)" "$fa" "$oa" "$ba" "${b1}x64K+${k1}x4K"
    printf '%-7s %-22s %10.1f %9.1f ms %15.1f ms %14s\n' "" "whole slot (Micro-RDK)" "$fw" "$ow" "$bw" "${b2}x64K+${k2}x4K"
    awk -v fa="$fa" -v fw="$fw" -v ba="$ba" -v bw="$bw" -v l="$label" 'BEGIN {
        printf "%-7s ratio ahead/whole: flash time %.2f, longest blocking %.3f\n", l, fa / fw, ba / bw }'
    awk -v a="$fa" -v w="$fw" 'BEGIN {exit !(a <= w)}' || ok_time=0
    awk -v a="$ba" 'BEGIN {exit !(a <= 150.0)}' || ok_block=0
done
echo
verdict "$ok_time" "erase-ahead flash time <= whole slot first (1 MB and 3.5 MB)"
verdict "$ok_block" "erase-ahead longest blocking <= one 64 KB erase (150 ms)"
exit 0
