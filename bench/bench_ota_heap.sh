#!/usr/bin/env bash
# Peak heap of an update (h2c, no TLS), from the counting allocator every
# engine and nghttp2 allocation goes through (`ota32 device run
# --json-summary`: peak_heap, the highest during the update), for a 1 MB and
# a 3.5 MB image from a private nghttpd on loopback. Runs alternate sizes.
# The peak moves by a few hundred bytes with the timing of HTTP/2 frames
# (how many nghttp2 queues at once), not with the image size.
# Targets: every peak under 64 KB; the same peak for both sizes, i.e. the
# largest peaks differ by no more than the run-to-run spread of either size.
#
#   bash bench/bench_ota_heap.sh [path/to/ota32]   BENCH_HEAP_RUNS=N (default 5)
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_ota_heap "${1:-build/release/ota32}"
RUNS=${BENCH_HEAP_RUNS:-5}
need_tools python3

mkdir -p "$T/www"
"$OTA32" image make --version v1 --project bench --size 200000 -o "$T/v1.bin" >/dev/null ||
    bench_broken "image make failed"
"$OTA32" image make --version mid --project bench --size 1048576 -o "$T/www/mid.bin" >/dev/null ||
    bench_broken "image make failed"
"$OTA32" image make --version big --project bench --size 3500000 -o "$T/www/big.bin" >/dev/null ||
    bench_broken "image make failed"
start_nghttpd "$T/www"

update() { # NAME VERSION -> peak heap on stdout
    "$OTA32" device create "$T/dev.flash" --partitions "$SRC/partitions.csv" --app "$T/v1.bin" \
        --force >/dev/null || bench_broken "device create failed"
    device_cfg "$T/dev.cfg" "http://127.0.0.1:$NGHTTPD_PORT/$1.bin" "$2"
    rm -f "$T/sum.json"
    bench_run timeout 60 "$OTA32" device run "$T/dev.flash" --config "$T/dev.cfg" --once --quiet \
        --json-summary "$T/sum.json" >"$T/run.log" 2>&1 || { cat "$T/run.log" >&2; bench_broken "update failed"; }
    python3 - "$T/sum.json" "$2" <<'PY' || bench_broken "unexpected summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["updates"] == 1 and s["running_app_version"] == sys.argv[2], s
print(s["peak_heap"])
PY
}

echo "bench_ota_heap: peak heap of an update over h2c (no TLS), $RUNS runs per size, alternating"
: >"$T/mid.txt"
: >"$T/big.txt"
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then
        update mid mid >>"$T/mid.txt"; update big big >>"$T/big.txt"
    else
        update big big >>"$T/big.txt"; update mid mid >>"$T/mid.txt"
    fi
done
lo1=$(stat_min <"$T/mid.txt") md1=$(stat_median <"$T/mid.txt") hi1=$(stat_max <"$T/mid.txt")
lo3=$(stat_min <"$T/big.txt") md3=$(stat_median <"$T/big.txt") hi3=$(stat_max <"$T/big.txt")
printf '\n%-22s %10s %10s %10s   %s\n' image "min B" "median B" "max B" "all runs"
printf '%-22s %10s %10s %10s   %s\n' "1 MB (1048576 B)" "$lo1" "$md1" "$hi1" "$(tr '\n' ' ' <"$T/mid.txt")"
printf '%-22s %10s %10s %10s   %s\n' "3.5 MB (3500000 B)" "$lo3" "$md3" "$hi3" "$(tr '\n' ' ' <"$T/big.txt")"
spread=$(( (hi1 - lo1) > (hi3 - lo3) ? hi1 - lo1 : hi3 - lo3 ))
diff=$(( hi3 > hi1 ? hi3 - hi1 : hi1 - hi3 ))
echo
echo "ratio of largest peaks 3.5 MB / 1 MB: $(awk -v a="$hi3" -v b="$hi1" 'BEGIN {printf "%.4f", a / b}')" \
    "(difference $diff B, run-to-run spread $spread B); largest peak / 64 KB:" \
    "$(awk -v a="$(( hi1 > hi3 ? hi1 : hi3 ))" 'BEGIN {printf "%.2f", a / 65536}')"
verdict "$([ "$hi1" -lt 65536 ] && [ "$hi3" -lt 65536 ] && echo 1 || echo 0)" \
    "peak heap under 64 KB (65536 B) for both sizes"
verdict "$([ "$diff" -le "$spread" ] && echo 1 || echo 0)" \
    "same peak for 1 MB and 3.5 MB (difference <= run-to-run spread)"
exit 0
