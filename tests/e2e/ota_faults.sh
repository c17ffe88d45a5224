#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OTA faults against nginx over h2c: 404/403 (not retried), 500 (retried with
# back-off), a flipped byte (rejected; the old firmware still boots), a wrong
# chip and an oversized image (rejected before any flash erase: the device's
# flash operation counters prove it), a stall (timeout, then resume), and the
# file changing between attempts (If-Range mismatch -> restart).
set -uo pipefail
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
OTA32=${OTA32:?path to the ota32 tool}
scratch

# The command line itself: help, usage errors (2), a missing device (1).
"$OTA32" device run --help >"$T/help.out" 2>&1
expect_eq "cli: --help exit status" "$?" 0
expect_contains "cli: --help text" "$T/help.out" "usage: ota32 device run DEV.flash --config FILE|URL"
"$OTA32" device run >/dev/null 2>&1
expect_eq "cli: no arguments is a usage error" "$?" 2
"$OTA32" device run x.flash --config c.json --window 12 >"$T/usage.out" 2>&1
expect_eq "cli: bad --window is a usage error" "$?" 2
expect_contains "cli: bad value named" "$T/usage.out" "--window '12': expected"
"$OTA32" device run "$T/none.flash" --config c.json >"$T/nodev.out" 2>&1
expect_eq "cli: missing device exit status" "$?" 1
expect_contains "cli: missing device named" "$T/nodev.out" "none.flash"

make_images || { ko "image make"; finish; }
wrong_chip "$T/v2.bin" "$T/www/s2.bin" || ko "wrong-chip image"
# One byte flipped in the middle of the image.
cp "$T/v2.bin" "$T/www/flipped.bin"
python3 - "$T/www/flipped.bin" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
PY
# Larger than ota_1 (0x377000 bytes).
"$OTA32" image make --version big --project demo --size $((0x377000 + 16)) \
    -o "$T/www/big.bin" >/dev/null || ko "image make big"
NGINX=$(free_port)
nginx_h2 "$T/www" "$NGINX" || { ko "nginx start"; finish; }
U="http://127.0.0.1:$NGINX"

# rejected NAME URL WANT_TEXT: the update fails with WANT_TEXT, nothing was
# erased in the flash, and the old firmware is still what boots.
rejected_early() {
    local name=$1
    run_update "$name" "$2" v2
    expect_eq "$name: exit status 1" "$RC" 1
    expect_contains "$name: reason" "$T/$name.out" "$3"
    expect_eq "$name: no flash erase during the update" \
        "$(json "$T/$name.json" apply_flash.sector_erases)/$(json "$T/$name.json" apply_flash.block_erases)" "0/0"
    expect_eq "$name: old firmware boots" "$(inspect "$name")" "ota_0 VALID "
}

rejected_early notfound "$U/missing.bin" "404"
expect_eq "notfound: not retried" "$(json "$T/notfound.json" requests)" 1
rejected_early forbidden "$U/status403" "403"
expect_eq "forbidden: not retried" "$(json "$T/forbidden.json" requests)" 1
rejected_early wrongchip "$U/s2.bin" "chip"
expect_eq "wrongchip: nothing programmed" "$(json "$T/wrongchip.json" apply_flash.programs)" 0
rejected_early oversized "$U/big.bin" "larger than ota_1"
expect_eq "oversized: nothing programmed" "$(json "$T/oversized.json" apply_flash.programs)" 0

# 500: retried with back-off (--max-retries 2: three requests), then given up.
run_update e500 "$U/status500" v2 --max-retries 2
expect_eq "500: exit status 1" "$RC" 1
expect_contains "500: reason" "$T/e500.out" "500"
expect_eq "500: retried" "$(json "$T/e500.json" requests)" 3
expect_eq "500: two back-off waits logged" "$(grep -c 'retrying in' "$T/e500.out")" 2
expect_eq "500: old firmware boots" "$(inspect e500)" "ota_0 VALID "

# A flipped byte: the download completes, verification fails, no switch.
run_update flipped "$U/flipped.bin" v2
expect_eq "flipped: exit status 1" "$RC" 1
expect_contains "flipped: reason" "$T/flipped.out" "update to \"v2\" failed"
expect_eq "flipped: old firmware boots" "$(inspect flipped)" "ota_0 VALID "
expect_eq "flipped: otadata untouched for ota_1" "$(json "$T/flipped.inspect.json" otadata.copies.1.blank)" true
expect_eq "flipped: not retried" "$(json "$T/flipped.json" requests)" 1

# A stall: no byte for 2 s fails the request; the retry resumes.
P=$(free_port)
start_proxy "$NGINX" "$P" "stall:0:300000"
run_update stall "http://127.0.0.1:$P/v2.bin" v2 --stall-timeout 2
expect_eq "stall: exit status" "$RC" 0
expect_contains "stall: timeout logged" "$T/stall.out" "retrying in"
expect_eq "stall: resumed" "$(json "$T/stall.json" resumes)" 1
expect_eq "stall: flash inspect" "$(inspect stall)" "ota_1 VALID v2"

# The file changes between attempts: If-Range no longer matches, the server
# sends the new file whole, and the download starts over.
cp "$T/v3.bin" "$T/next.bin"
touch -d "2020-01-01 00:00:00" "$T/next.bin" # another mtime: another ETag
cp "$T/v2.bin" "$T/www/changing.bin"
P2=$(free_port)
start_proxy "$NGINX" "$P2" "cut:0:300000,swap:0:$T/next.bin:$T/www/changing.bin"
run_update changed "http://127.0.0.1:$P2/changing.bin" v3
expect_eq "changed: exit status" "$RC" 0
expect_eq "changed: restarted" "$(json "$T/changed.json" restarts)" 1
expect_eq "changed: flash inspect" "$(inspect changed)" "ota_1 VALID v3"
expect_eq "changed: ota_1 holds the new file" "$(json "$T/changed.inspect.json" apps.1.app.version)" v3

# The config server is down: the check fails, nothing else happens.
new_device nocfg
DOWN=$(free_port)
run_device nocfg "http://127.0.0.1:$DOWN/config"
expect_eq "config down: exit status 1" "$RC" 1
expect_contains "config down: reason" "$T/nocfg.out" "config unavailable"
expect_eq "config down: old firmware boots" "$(inspect nocfg)" "ota_0 VALID "

# A bad config never starts a download.
new_device badcfg
write_config "$T/badcfg.cfg" "$U/v2.bin" "$(printf 'x%.0s' $(seq 1 131))"
BEFORE=$(wc -l <"$T/nginx-$NGINX/logs/access.log")
run_device badcfg "$T/badcfg.cfg"
expect_eq "bad config: exit status 1" "$RC" 1
expect_contains "bad config: message" "$T/badcfg.out" "services[0].attributes.version: 131 bytes, at most 128"
expect_eq "bad config: nothing requested" "$(wc -l <"$T/nginx-$NGINX/logs/access.log")" "$BEFORE"
expect_eq "bad config: old firmware boots" "$(inspect badcfg)" "ota_0 VALID "

finish
