#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OTA over h2c (HTTP/2 with prior knowledge, what a device speaks for http://):
# a whole update against nghttpd, resume after drops at several offsets
# against nginx (Range + If-Range), and a restart when the server answers 200
# to a range (nghttpd ignores Range).
set -uo pipefail
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
OTA32=${OTA32:?path to the ota32 tool}
scratch

make_images || { ko "image make"; finish; }
NGHTTPD=$(free_port)
start_nghttpd "$T/www" "$NGHTTPD" || { ko "nghttpd start"; finish; }
NGINX=$(free_port)
nginx_h2 "$T/www" "$NGINX" || { ko "nginx start"; finish; }
LEN=$(stat -c %s "$T/v2.bin")

# 1. A clean update; the URL's query (a signed URL) never reaches the logs.
run_update plain "http://127.0.0.1:$NGHTTPD/v2.bin?token=s3cret" v2
expect_eq "update: exit status" "$RC" 0
expect_eq "update: flash inspect (boot, state, OTA_VERSION)" "$(inspect plain)" "ota_1 VALID v2"
expect_eq "update: summary old slot" "$(json "$T/plain.json" old_slot)" 0
expect_eq "update: summary new slot" "$(json "$T/plain.json" new_slot)" 1
expect_eq "update: bytes written" "$(json "$T/plain.json" bytes_written)" "$LEN"
expect_eq "update: one request" "$(json "$T/plain.json" requests)" 1
expect_eq "update: new firmware confirmed" "$(json "$T/plain.json" confirms)" 1
expect_contains "update: summary line" "$T/plain.out" 'update: ota_0 "" -> ota_1 "v2"'
expect_contains "update: peak heap reported" "$T/plain.out" "peak heap: "
expect_lt "update: peak heap under 64 KB" "$(json "$T/plain.json" peak_heap)" 65536
expect_not_contains "update: query redacted" "$T/plain.out" "s3cret"
expect_contains "update: redaction marker" "$T/plain.out" "v2.bin?<redacted>"
expect_eq "update: progress every 10%, not per frame" \
    "$(grep -c 'ota: [0-9]*% (' "$T/plain.out")" 10
expect_eq "update: slot erased ahead in 64 KB blocks" \
    "$(json "$T/plain.json" slot_block_erases)/$(json "$T/plain.json" slot_sector_erases)" "16/0"

# 2. Drops at three offsets: each attempt resumes where the last one stopped.
P=$(free_port)
start_proxy "$NGINX" "$P" "cut:0:100000,cut:1:300000,cut:2:4000"
run_update drops "http://127.0.0.1:$P/v2.bin" v2
expect_eq "drops: exit status" "$RC" 0
expect_eq "drops: flash inspect" "$(inspect drops)" "ota_1 VALID v2"
expect_eq "drops: requests" "$(json "$T/drops.json" requests)" 4
expect_eq "drops: resumed with Range" "$(json "$T/drops.json" resumes)" 3
expect_eq "drops: never restarted" "$(json "$T/drops.json" restarts)" 0
RECV=$(json "$T/drops.json" bytes_received)
# Restarting each time would have cost LEN + the bytes before each cut.
expect_lt "drops: fewer bytes than restarting" "$RECV" $((LEN + 300000))
expect_lt "drops: at most one image plus frame slack" "$RECV" $((LEN + 3 * 65536))
expect_contains "drops: log says resumed" "$T/drops.out" "(206)"
expect_eq "drops: proxy saw 3 cuts" "$(grep -c ' cut$' "$T/proxy-$P.log")" 3

# 3. A server that ignores Range: the 200 restarts the download from byte 0.
P2=$(free_port)
start_proxy "$NGHTTPD" "$P2" "cut:0:400000"
run_update norange "http://127.0.0.1:$P2/v2.bin" v2
expect_eq "no range: exit status" "$RC" 0
expect_eq "no range: flash inspect" "$(inspect norange)" "ota_1 VALID v2"
expect_eq "no range: restarted once" "$(json "$T/norange.json" restarts)" 1
expect_contains "no range: log" "$T/norange.out" "instead of bytes"
RECV=$(json "$T/norange.json" bytes_received)
expect_lt "no range: received more than one image" "$LEN" "$RECV"

# 4. A second run finds nothing to do.
run_device plain "$T/plain.cfg"
expect_eq "again: exit status" "$RC" 0
expect_contains "again: up to date" "$T/plain.out" "result: up to date"
expect_eq "again: no update" "$(json "$T/plain.json" updates)" 0

finish
