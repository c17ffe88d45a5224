#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# OTA over HTTP/2 with TLS (ALPN h2) against nginx, with a CA made here:
# the update succeeds with --ca, and without it the certificate is refused
# before anything is written.
set -uo pipefail
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
OTA32=${OTA32:?path to the ota32 tool}
scratch

make_images || { ko "image make"; finish; }
make_ca "$T/ca" rsa localhost "DNS:localhost,IP:127.0.0.1" || { ko "openssl CA"; finish; }
PORT=$(free_port)
nginx_h2 "$T/www" "$PORT" "$T/ca" || { ko "nginx start"; finish; }

run_update tls "https://localhost:$PORT/v2.bin?X-Sig=abc123" v2 --ca "$T/ca/ca.crt"
expect_eq "tls: exit status" "$RC" 0
expect_eq "tls: flash inspect (boot, state, OTA_VERSION)" "$(inspect tls)" "ota_1 VALID v2"
expect_eq "tls: bytes" "$(json "$T/tls.json" bytes_written)" "$(stat -c %s "$T/v2.bin")"
expect_not_contains "tls: signature redacted" "$T/tls.out" "abc123"
expect_lt "tls: peak heap reported" 0 "$(json "$T/tls.json" peak_heap)"
expect_contains "tls: nginx served it over HTTP/2" "$T/nginx-$PORT/logs/access.log" "HTTP/2.0\" 200"

# The same URL without our CA: refused at the handshake, nothing erased.
new_device untrusted
run_device untrusted "$T/tls.cfg" --max-retries 1
expect_eq "untrusted: exit status 1" "$RC" 1
expect_contains "untrusted: certificate error" "$T/untrusted.out" "certificate"
expect_eq "untrusted: no flash erase" \
    "$(json "$T/untrusted.json" apply_flash.sector_erases)/$(json "$T/untrusted.json" apply_flash.block_erases)" "0/0"
expect_eq "untrusted: old firmware boots" "$(inspect untrusted)" "ota_0 VALID "

# Resume works over TLS too: a drop through a TCP proxy, continued with Range.
P=$(free_port)
start_proxy "$PORT" "$P" "cut:0:200000"
run_update tlsdrop "https://localhost:$P/v2.bin" v2 --ca "$T/ca/ca.crt"
expect_eq "tls drop: exit status" "$RC" 0
expect_eq "tls drop: resumed" "$(json "$T/tlsdrop.json" resumes)" 1
expect_eq "tls drop: flash inspect" "$(inspect tlsdrop)" "ota_1 VALID v2"

finish
