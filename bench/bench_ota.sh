#!/usr/bin/env bash
# OTA update benchmarks on the virtual ESP32, against a local h2c server
# (nghttpd):
#   1. throughput of a 3.5 MB update (download + verify + flash read-back +
#      switch) versus `curl --http2-prior-knowledge` to a file + sha256sum;
#   2. peak heap during an update of a 1 MB and a 3.5 MB image (target: under
#      64 KB and equal);
#   3. the flash timing model: erase-ahead versus erasing the whole slot first
#      (Micro-RDK's way), as virtual flash time and longest blocking operation.
# usage: bench/bench_ota.sh [RUNS]   (OTA32=path/to/ota32; use a build without
# sanitizers for meaningful timings, e.g. cmake -B build/release)
set -euo pipefail
RUNS=${1:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
OTA32=${OTA32:-$SRC/build/release/ota32}
[ -x "$OTA32" ] || { echo "bench_ota: $OTA32 not built (set OTA32=...)" >&2; exit 2; }
command -v nghttpd >/dev/null || { echo "bench_ota: nghttpd missing" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ota32-bench.XXXXXX")
SERVER=
cleanup() {
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
    fi
    rm -rf "$T"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

cp "$SRC/partitions.csv" "$T/parts.csv" 2>/dev/null ||
    printf 'nvs,data,nvs,0x9000,0x6000,\notadata,data,ota,0xF000,0x2000,\nphy_init,data,phy,0x11000,0x1000,\nota_0,app,ota_0,,0x377000,\nota_1,app,ota_1,,0x377000,\n' >"$T/parts.csv"
mkdir -p "$T/www"
"$OTA32" image make --version v1 --project bench --size 200000 -o "$T/v1.bin" >/dev/null
"$OTA32" image make --version big --project bench --size 3500000 -o "$T/www/big.bin" >/dev/null
"$OTA32" image make --version mid --project bench --size 1048576 -o "$T/www/mid.bin" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nghttpd --no-tls -d "$T/www" "$PORT" >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -s --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done

# update NAME FILE VERSION [args]: a fresh device, one update, summary in $T/NAME.json
update() {
    local name=$1 file=$2 version=$3
    shift 3
    "$OTA32" device create "$T/$name.flash" --partitions "$T/parts.csv" --app "$T/v1.bin" --force >/dev/null
    printf '{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_service","attributes":{"url":"http://127.0.0.1:%s/%s","version":"%s"}}]}\n' \
        "$PORT" "$file" "$version" >"$T/$name.cfg"
    "$OTA32" device run "$T/$name.flash" --config "$T/$name.cfg" --once --quiet \
        --json-summary "$T/$name.json" "$@" >/dev/null
}

echo "== 1. throughput, 3.5 MB image ($RUNS runs, medians) =="
: >"$T/curl.txt"
: >"$T/ota.txt"
for i in $(seq "$RUNS"); do
    t0=$(now_ns)
    curl -s --http2-prior-knowledge -o "$T/dl.bin" "http://127.0.0.1:$PORT/big.bin"
    sha256sum "$T/dl.bin" >/dev/null
    t1=$(now_ns)
    echo "$(( (t1 - t0) / 1000 ))" >>"$T/curl.txt"
    update "run$i" big.bin big
    python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["seconds"] * 1e6))' \
        "$T/run$i.json" >>"$T/ota.txt"
done
C=$(median <"$T/curl.txt")
O=$(median <"$T/ota.txt")
awk -v c="$C" -v o="$O" 'BEGIN {
    printf "curl --http2-prior-knowledge + sha256sum: %8.1f ms  %7.1f MB/s\n", c / 1000, 3.5 / (c / 1e6)
    printf "ota32 update (download, verify, flash write + read-back, switch): %8.1f ms  %7.1f MB/s\n", o / 1000, 3.5 / (o / 1e6)
    printf "ratio ota32/curl: %.2f (target <= 1.10)\n", o / c
}'

echo "== 2. peak heap during an update (3 runs each: min-max) =="
# The HTTP/2 client's peak moves by a few hundred bytes with the timing of
# frames (run to run), not with the image size: compare the maxima.
heap_range() { # FILE VERSION -> "min max"
    local i
    for i in 1 2 3; do
        update heap "$1" "$2"
        json "$T/heap.json" peak_heap
    done | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo, hi}'
}
read -r L1 H1 < <(heap_range mid.bin mid)
read -r L35 H35 < <(heap_range big.bin big)
echo "1 MB image:   $L1-$H1 bytes"
echo "3.5 MB image: $L35-$H35 bytes"
[ "$H1" -eq "$H35" ] && echo "equal maxima: yes" || echo "equal maxima: no (differ by $((H35 - H1)) bytes)"
[ "$H35" -lt 65536 ] && [ "$H1" -lt 65536 ] && echo "under 64 KB: yes" || echo "under 64 KB: NO"

echo "== 3. flash timing model: erase-ahead vs whole slot first =="
printf '%-6s %-8s %10s %12s %22s %16s\n' image strategy "flash ms" "longest op ms" "erased before 1st write" erases
for img in mid big; do
    for strat in ahead whole; do
        extra=()
        [ "$strat" == whole ] && extra=(--erase-whole-slot)
        update "t-$img-$strat" "$img.bin" "$img" --timing "${extra[@]}"
        f="$T/t-$img-$strat.json"
        b=$(json "$f" slot_block_erases)
        s=$(json "$f" slot_sector_erases)
        # whole: everything is erased up front; ahead: one unit before the first write
        if [ "$strat" == whole ]; then up=$((b * 150 + s * 45)); else up=150; fi
        printf '%-6s %-8s %10s %12s %19s ms %16s\n' "$img" "$strat" "$(json "$f" flash_virtual_ms)" \
            "$(json "$f" flash_max_op_ms)" "$up" "${b}x64K+${s}x4K"
    done
done
echo "(erase-ahead never blocks longer than one 64 KB erase; the whole-slot strategy"
echo " erases ~3.5 MB before the first byte is written: one long blocking phase)"
