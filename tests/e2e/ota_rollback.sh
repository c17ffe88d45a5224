#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Rollback against `ota32 serve --config`: the device polls its machine config
# over HTTP/2 like it polls the cloud. A firmware that never confirms
# (--no-confirm) is rolled back by the bootloader, recorded as failed and not
# downloaded again in a loop; a new version in the config is installed.
set -uo pipefail
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
OTA32=${OTA32:?path to the ota32 tool}
scratch

make_images || { ko "image make"; finish; }
PORT=$(free_port)
write_config "$T/machine.json" "http://127.0.0.1:$PORT/v2.bin" v2
"$OTA32" serve "$T/v2.bin" "$T/v3.bin" --bind 127.0.0.1 --port "$PORT" \
    --config "$T/machine.json" >"$T/serve.out" 2>"$T/serve.log" &
PIDS+=($!)
wait_port "$PORT" || { ko "ota32 serve start"; finish; }
CFG="http://127.0.0.1:$PORT/config"
downloads() { grep -c '"GET /v2.bin' "$T/serve.log"; }

new_device dev
run_device dev "$CFG" --no-confirm
expect_eq "broken firmware: exit status" "$RC" 0
expect_eq "broken firmware: installed once" "$(json "$T/dev.json" updates)" 1
expect_eq "broken firmware: rolled back" "$(json "$T/dev.json" rollbacks)" 1
expect_eq "broken firmware: never confirmed" "$(json "$T/dev.json" confirms)" 0
expect_eq "broken firmware: then deferred" "$(json "$T/dev.json" result)" deferred
expect_eq "broken firmware: old firmware runs, version not recorded" "$(inspect dev)" "ota_0 VALID "
expect_eq "broken firmware: ota_1's otadata entry ABORTED" \
    "$(json "$T/dev.inspect.json" otadata.copies.1.state)" ABORTED
expect_contains "broken firmware: failure recorded in NVS" "$T/dev.inspect.json" "OTA_FAILED"
expect_contains "broken firmware: log" "$T/dev.out" "never confirmed: rolled back to ota_0"
N=$(downloads)
expect_eq "broken firmware: downloaded once" "$N" 1

# Config checks go on, but the same version is not fetched again.
run_device dev "$CFG"
expect_eq "no loop: exit status" "$RC" 0
expect_eq "no loop: deferred" "$(json "$T/dev.json" result)" deferred
expect_contains "no loop: reason" "$T/dev.out" "this version was rolled back"
run_device dev "$CFG"
expect_eq "no loop: still no download" "$(downloads)" "$N"
expect_eq "no loop: still ota_0" "$(inspect dev)" "ota_0 VALID "

# A new version in the config is installed and confirmed.
write_config "$T/machine.json.new" "http://127.0.0.1:$PORT/v3.bin" v3
touch -d "+2 seconds" "$T/machine.json.new"
mv "$T/machine.json.new" "$T/machine.json"
run_device dev "$CFG"
expect_eq "new version: exit status" "$RC" 0
expect_eq "new version: flash inspect" "$(inspect dev)" "ota_1 VALID v3"
expect_eq "new version: confirmed" "$(json "$T/dev.json" confirms)" 1
expect_contains "new version: served over h2c" "$T/serve.log" '"GET /v3.bin" 200'

finish
