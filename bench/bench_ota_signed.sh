#!/usr/bin/env bash
# Signed updates: what the signature check costs.
#  1. Time: the check the device adds once the digest is known (sector parse,
#     key digests, RSA-3072-PSS or ECDSA P-256 verify, OpenSSL) as a ratio to
#     the SHA-256 pass over the same 1 MB image, best of N (bench_sig.c).
#  2. Memory: peak heap of a signed update over h2c (`device run
#     --json-summary`), RSA-3072 and ECDSA P-256, against an unsigned update
#     of the same image size in the same invocation, runs alternating.
# Targets: the check takes less than the SHA-256 pass it follows (ratio < 1);
# a signed update's largest peak is at most the unsigned one's + 8 KB.
#
#   bash bench/bench_ota_signed.sh [path/to/ota32]   BENCH_SIGNED_RUNS=N (default 3)
set -u
# shellcheck source=bench/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
bench_init bench_ota_signed "${1:-build/release/ota32}"
RUNS=${BENCH_SIGNED_RUNS:-3}
need_tools python3 openssl

BUILD=$(dirname "$OTA32")
cmake --build "$BUILD" --target bench_sig >/dev/null 2>&1 || bench_broken "bench_sig does not build"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$T/rsa.pem" 2>/dev/null &&
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null ||
    bench_broken "openssl genpkey failed"
mkdir -p "$T/www"
"$OTA32" image make --version v1 --project bench --size 200000 -o "$T/v1.bin" >/dev/null &&
    "$OTA32" image make --version v2 --project bench --size 1048576 -o "$T/www/plain.bin" >/dev/null &&
    "$OTA32" image sign --key "$T/rsa.pem" "$T/www/plain.bin" -o "$T/www/rsa.bin" >/dev/null &&
    "$OTA32" image sign --key "$T/ec.pem" "$T/www/plain.bin" -o "$T/www/ec.bin" >/dev/null ||
    bench_broken "image make/sign failed"

echo "bench_ota_signed: signature check vs SHA-256 pass (1 MB image, best of 50)"
printf '%-12s %12s %12s %8s\n' scheme "SHA-256 us" "check us" ratio
ratios_ok=1
for k in rsa ec; do
    read -r sha check scheme < <("$BUILD/bench/bench_sig" "$T/www/$k.bin" 50) || bench_broken "bench_sig failed"
    ratio=$(awk -v a="$check" -v b="$sha" 'BEGIN {printf "%.3f", a / b}')
    printf '%-12s %12s %12s %8s\n' "$scheme" "$sha" "$check" "$ratio"
    awk -v r="$ratio" 'BEGIN {exit !(r < 1)}' || ratios_ok=0
done

start_nghttpd "$T/www"
update() { # FILE KEY(or -) -> peak heap
    local trust=()
    [ "$2" = - ] || trust=(--trust-key "$2")
    "$OTA32" device create "$T/dev.flash" --partitions "$SRC/partitions.csv" --app "$T/v1.bin" \
        --force "${trust[@]}" >/dev/null || bench_broken "device create failed"
    device_cfg "$T/dev.cfg" "http://127.0.0.1:$NGHTTPD_PORT/$1" v2
    rm -f "$T/sum.json"
    bench_run timeout 60 "$OTA32" device run "$T/dev.flash" --config "$T/dev.cfg" --once --quiet \
        --json-summary "$T/sum.json" >"$T/run.log" 2>&1 || { cat "$T/run.log" >&2; bench_broken "update failed"; }
    python3 - "$T/sum.json" <<'PY' || bench_broken "unexpected summary"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["updates"] == 1 and s["running_app_version"] == "v2", s
print(s["peak_heap"])
PY
}
: >"$T/plain.txt"; : >"$T/rsa.txt"; : >"$T/ec.txt"
for i in $(seq "$RUNS"); do
    update plain.bin - >>"$T/plain.txt"
    update rsa.bin "$T/rsa.pem" >>"$T/rsa.txt"
    update ec.bin "$T/ec.pem" >>"$T/ec.txt"
done
hp=$(stat_max <"$T/plain.txt") hr=$(stat_max <"$T/rsa.txt") he=$(stat_max <"$T/ec.txt")
echo
echo "peak heap of an update over h2c, 1 MB image, $RUNS runs each (largest; all runs)"
printf '%-22s %10s   %s\n' "unsigned" "$hp" "$(tr '\n' ' ' <"$T/plain.txt")"
printf '%-22s %10s   %s\n' "signed RSA-3072" "$hr" "$(tr '\n' ' ' <"$T/rsa.txt")"
printf '%-22s %10s   %s\n' "signed ECDSA-P256" "$he" "$(tr '\n' ' ' <"$T/ec.txt")"
echo "ratio signed / unsigned: RSA $(awk -v a="$hr" -v b="$hp" 'BEGIN {printf "%.4f", a / b}')," \
    "ECDSA $(awk -v a="$he" -v b="$hp" 'BEGIN {printf "%.4f", a / b}')"
verdict "$ratios_ok" "signature check shorter than the SHA-256 pass (ratio < 1)"
verdict "$([ "$hr" -le $((hp + 8192)) ] && [ "$he" -le $((hp + 8192)) ] && echo 1 || echo 0)" \
    "signed peak heap <= unsigned + 8 KB (RSA-3072 and ECDSA P-256)"
exit 0
