#!/usr/bin/env bash
# OTA throughput: a 3.5 MB update into the virtual ESP32 versus
# `curl --http2-prior-knowledge` to a file plus `sha256sum` of that file.
#
# Both sides download the same file from the same private nghttpd (h2c,
# loopback) and write it to the same filesystem (this script's temp dir):
#   curl:  download -> write file; sha256sum reads it back and hashes it;
#   ota32: `ota32 device run --once`: download -> SHA-256 on the stream ->
#          erase + program the virtual flash (a file) -> read back and verify
#          in flash -> switch otadata -> reboot -> confirm.
# Runs alternate (curl first on odd runs, ota32 first on even ones) after one
# warm-up run of each that is not counted. Two measures:
#   transfer (the target): curl's own time_total + the sha256sum process,
#           against the update time ota32 reports (download start to verified
#           switch; 1 ms resolution); neither includes process start-up;
#   process: wall clock of whole processes (curl + sha256sum; ota32 device
#           run, which also boots the device before and after the update).
# For diagnosis, a third client does exactly curl's work: `ota32 fetch -o`
# (the device's HTTP/2 client, with the OTA service's default 64 KB window)
# + sha256sum, process wall clock.
# Target: ota32 within 10% of curl (ratio of medians <= 1.10).
#
#   bash bench/bench_ota.sh [path/to/ota32]      BENCH_OTA_RUNS=N (default 15)
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_ota "${1:-build/release/ota32}"
RUNS=${BENCH_OTA_RUNS:-15}
SIZE=3500000
need_tools curl sha256sum python3

mkdir -p "$T/www"
"$OTA32" image make --version v1 --project bench --size 200000 -o "$T/v1.bin" >/dev/null ||
    bench_broken "image make failed"
"$OTA32" image make --version big --project bench --size "$SIZE" -o "$T/www/big.bin" >/dev/null ||
    bench_broken "image make failed"
WANT=$(sha256sum "$T/www/big.bin" | cut -d' ' -f1)
start_nghttpd "$T/www"
URL="http://127.0.0.1:$NGHTTPD_PORT/big.bin"
device_cfg "$T/dev.cfg" "$URL" big

run_curl() { # -> "transfer_us process_us" on stdout
    rm -f "$T/dl.bin"
    local t0 t1 t2 tt sum
    t0=$(now_us)
    bench_run timeout 60 curl -sS --fail --http2-prior-knowledge --max-time 60 -o "$T/dl.bin" \
        -w '%{time_total}' "$URL" >"$T/tt.txt" || bench_broken "curl failed"
    t1=$(now_us)
    tt=$(cat "$T/tt.txt")
    sum=$(sha256sum "$T/dl.bin" | cut -d' ' -f1)
    t2=$(now_us)
    [ "$sum" = "$WANT" ] || bench_broken "curl: SHA-256 mismatch"
    awk -v tt="$tt" -v s=$((t2 - t1)) -v p=$((t2 - t0)) 'BEGIN {printf "%d %d\n", tt * 1e6 + s, p}'
}

run_fetch() { # -> process_us on stdout
    rm -f "$T/fetch.bin"
    local t0 t1 sum
    t0=$(now_us)
    bench_run timeout 60 "$OTA32" fetch "$URL" -o "$T/fetch.bin" --window 64K --quiet || bench_broken "ota32 fetch failed"
    sum=$(sha256sum "$T/fetch.bin" | cut -d' ' -f1)
    t1=$(now_us)
    [ "$sum" = "$WANT" ] || bench_broken "ota32 fetch: SHA-256 mismatch"
    echo $((t1 - t0))
}

run_ota() { # -> "transfer_us process_us" on stdout
    "$OTA32" device create "$T/dev.flash" --partitions "$SRC/partitions.csv" --app "$T/v1.bin" \
        --force >/dev/null || bench_broken "device create failed"
    rm -f "$T/sum.json"
    local t0 t1
    t0=$(now_us)
    bench_run timeout 60 "$OTA32" device run "$T/dev.flash" --config "$T/dev.cfg" --once --quiet \
        --json-summary "$T/sum.json" >"$T/run.log" 2>&1 || { cat "$T/run.log" >&2; bench_broken "ota32 update failed"; }
    t1=$(now_us)
    python3 - "$T/sum.json" $((t1 - t0)) <<'PY' || bench_broken "ota32: unexpected summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["updates"] == 1 and s["running_app_version"] == "big" and s["stored_version"] == "big", s
print(int(round(s["seconds"] * 1e6)), sys.argv[2])
PY
}

echo "bench_ota: $SIZE-byte update, $RUNS alternating runs (+1 warm-up each), nghttpd h2c on loopback"
run_curl >/dev/null
run_ota >/dev/null
run_fetch >/dev/null
: >"$T/fetch.txt"
: >"$T/curl.txt"
: >"$T/ota.txt"
for i in $(seq "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then
        run_curl >>"$T/curl.txt"
        run_ota >>"$T/ota.txt"
    else
        run_ota >>"$T/ota.txt"
        run_curl >>"$T/curl.txt"
    fi
    run_fetch >>"$T/fetch.txt"
done

col() { cut -d' ' -f"$2" "$T/$1.txt"; }
cm=$(col curl 1 | stat_median) cn=$(col curl 1 | stat_min)
om=$(col ota 1 | stat_median) on=$(col ota 1 | stat_min)
pcm=$(col curl 2 | stat_median) pcn=$(col curl 2 | stat_min)
pom=$(col ota 2 | stat_median) pon=$(col ota 2 | stat_min)
pfm=$(col fetch 1 | stat_median) pfn=$(col fetch 1 | stat_min)
echo "transfer times (ms): curl $(col curl 1 | awk '{printf "%.1f ", $1 / 1000}')"
echo "                     ota32 $(col ota 1 | awk '{printf "%.1f ", $1 / 1000}')"
awk -v cm="$cm" -v cn="$cn" -v om="$om" -v on="$on" -v pcm="$pcm" -v pcn="$pcn" -v pom="$pom" \
    -v pon="$pon" -v pfm="$pfm" -v pfn="$pfn" -v size="$SIZE" 'BEGIN {
    mb = size / 1e6
    printf "\n%-34s %10s %10s %12s\n", "", "median ms", "min ms", "MB/s (median)"
    printf "%-34s %10.1f %10.1f %12.1f\n", "transfer: curl + sha256sum", cm / 1000, cn / 1000, mb / (cm / 1e6)
    printf "%-34s %10.1f %10.1f %12.1f\n", "transfer: ota32 update", om / 1000, on / 1000, mb / (om / 1e6)
    printf "%-34s %10.1f %10.1f %12.1f\n", "process:  curl + sha256sum", pcm / 1000, pcn / 1000, mb / (pcm / 1e6)
    printf "%-34s %10.1f %10.1f %12.1f\n", "process:  ota32 device run", pom / 1000, pon / 1000, mb / (pom / 1e6)
    printf "%-34s %10.1f %10.1f %12.1f   (diagnosis only)\n", "process:  ota32 fetch + sha256sum", pfm / 1000, pfn / 1000, mb / (pfm / 1e6)
    printf "\nratio ota32/curl (time, lower is better): transfer %.2f (of mins %.2f), process %.2f (of mins %.2f)\n",
        om / cm, on / cn, pom / pcm, pon / pcn
}'
verdict "$(awk -v o="$om" -v c="$cm" 'BEGIN {print (o <= 1.10 * c) ? 1 : 0}')" \
    "OTA transfer time within 10% of curl (median ratio <= 1.10)"
exit 0
