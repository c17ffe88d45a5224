# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# Test images, virtual devices and their OTA runs, for the OTA end-to-end
# tests (tests/e2e/ota_*.sh). It sources peers.sh (and so check.sh);
# everything is made in $T.

# shellcheck source=./peers.sh
. "$(dirname "${BASH_SOURCE[0]}")/peers.sh"
# shellcheck source=./flash.sh
. "$(dirname "${BASH_SOURCE[0]}")/flash.sh"

# json FILE KEY[.KEY...]: print a value from a JSON file ("" when absent).
json() {
    python3 - "$1" "$2" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    print("" if v is None else str(v).lower() if isinstance(v, bool) else v)
except Exception:
    print("")
PY
}

# make_images: $T/parts.csv (two OTA slots, 8 MB), the app images $T/v1.bin,
# $T/v2.bin and $T/v3.bin, and $T/www/v2.bin for a server to serve.
make_images() {
    cp "$VECTORS/partitions_two_ota_8mb.csv" "$T/parts.csv"
    "$OTA32" image make --version v1 --project demo --size 200000 -o "$T/v1.bin" >/dev/null &&
        "$OTA32" image make --version v2 --project demo --size 1048576 -o "$T/v2.bin" >/dev/null &&
        "$OTA32" image make --version v3 --project demo --size 1048576 --seed other \
            -o "$T/v3.bin" >/dev/null &&
        mkdir -p "$T/www" && cp "$T/v2.bin" "$T/www/v2.bin"
}

new_device() { # NAME -> $T/NAME.flash running v1 in ota_0
    rm -f "$T/$1.flash"
    "$OTA32" device create "$T/$1.flash" --partitions "$T/parts.csv" --app "$T/v1.bin" >/dev/null
}

write_config() { # FILE URL VERSION
    printf '{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_service","attributes":{"url":"%s","version":"%s"}}]}\n' \
        "$2" "$3" >"$1"
}

# run_device NAME CONFIG [args...]: runs `device run --once`, output in
# $T/NAME.out (stdout+stderr), summary in $T/NAME.json, status in $RC.
run_device() {
    local name=$1 cfg=$2
    shift 2
    timeout 120 "$OTA32" device run "$T/$name.flash" --config "$cfg" --once --poll 1 \
        --retry-base-ms 200 --json-summary "$T/$name.json" "$@" >"$T/$name.out" 2>&1
    # shellcheck disable=SC2034 # read by the scripts
    RC=$?
}

# run_update NAME URL VERSION [args...]: a new device NAME, its config
# $T/NAME.cfg naming URL and VERSION, and run_device on it.
run_update() {
    local name=$1
    new_device "$name"
    write_config "$T/$name.cfg" "$2" "$3"
    shift 3
    run_device "$name" "$T/$name.cfg" "$@"
}

# inspect NAME: boot partition, its state and the stored version, one line.
inspect() {
    "$OTA32" flash inspect "$T/$1.flash" --json >"$T/$1.inspect.json" 2>/dev/null
    echo "$(json "$T/$1.inspect.json" boot.partition) $(json "$T/$1.inspect.json" boot.state)" \
        "$(json "$T/$1.inspect.json" nvs.ota_version)"
}
