#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The signed workflow end to end: `make build-esp32-ota SIGN_KEY=` (via
# scripts/esp32.sh) signs, flashing the virtual ESP32 trusts the key,
# `ota32 serve --require-signed` refuses unsigned images, the device installs
# the signed update over HTTP/2 and refuses a tampered one, an image signed
# with another key, and (after the key is revoked) the very image it took
# before, each time without touching otadata.
set -uo pipefail
# shellcheck source=../lib/ota.sh
. "$(dirname "$0")/../lib/ota.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
OTA32=${OTA32:?path to the ota32 tool}
SRC=${OTA32_SRC:?path to the source tree}
need_tools openssl python3
scratch
V=$T/keys
mkdir -p "$V"
for k in a b; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$V/key_rsa3072_$k.pem" 2>/dev/null
done
KEY=$V/key_rsa3072_a.pem
DA=$("$OTA32" key digest "$KEY" | cut -d' ' -f1)
DB=$("$OTA32" key digest "$V/key_rsa3072_b.pem" | cut -d' ' -f1)

# 1. The make workflow with SIGN_KEY (esp32.sh is what the targets run).
esp32() { OTA32=$OTA32 OUT=$T/esp32 PARTITIONS=$SRC/partitions.csv SIGN_KEY=$KEY \
  VERSION=$1 bash "$SRC/scripts/esp32.sh" "$2"; }
esp32 v1 build-bin >"$T/build1.out" 2>&1 || ko "build-bin with SIGN_KEY" "$T/build1.out"
esp32 v1 flash >"$T/flash.out" 2>&1 || ko "flash with SIGN_KEY" "$T/flash.out"
expect_contains "flash: the virtual ESP32 trusts the key" "$T/flash.out" \
  "virtual ESP32 trusts $KEY (eFuse)"
cp "$T/esp32/app.bin" "$T/v1.bin"
esp32 v2 build-ota >"$T/build2.out" 2>&1 || ko "build-ota with SIGN_KEY" "$T/build2.out"
expect_contains "build-ota: verified with the key" "$T/build2.out" \
  "signature sector at 0x100000 (1 block, verified)"
"$OTA32" image info "$T/esp32/app.bin" >"$T/info"
expect_contains "build-ota: signed by key a" "$T/info" \
  "Signature block 0: RSA-3072, image digest valid, public key digest $DA"
mkdir -p "$T/www"
cp "$T/esp32/app.bin" "$T/www/v2.bin"
DEV=$T/esp32/device.flash
"$OTA32" flash inspect "$DEV" >"$T/inspect0"
expect_contains "flash inspect shows the eFuse key" "$T/inspect0" \
  "key 0: $DA"
cp "$DEV" "$T/pristine.flash"
cp "$DEV.efuse" "$T/pristine.flash.efuse"

# 2. serve --require-signed: the unsigned image is refused, the signed served.
"$OTA32" image make --version v2 --project ota32-sample --size 1048576 -o "$T/unsigned.bin" >/dev/null
timeout 20 "$OTA32" serve "$T/unsigned.bin" --require-signed --bind 127.0.0.1 --port 0 \
  >"$T/s.out" 2>"$T/s.err"
expect_eq "serve --require-signed: unsigned refused (exit 1)" "$?" 1
expect_contains "serve --require-signed: says why" "$T/s.err" \
  "not signed: no Secure Boot v2 signature sector after the image"
start_server --dir "$T/www" --require-signed || { ko "serve start"; finish; }
URL=http://127.0.0.1:$PORT

fresh() { cp "$T/pristine.flash" "$T/$1.flash"; cp "$T/pristine.flash.efuse" "$T/$1.flash.efuse"; }
otadata() { hexat "$T/$1.flash" 0xf000 0x2000 | md5sum; }

# 3. The signed update applies.
fresh good
write_config "$T/good.cfg" "$URL/v2.bin" v2
run_device good "$T/good.cfg"
expect_eq "signed update: exit status" "$RC" 0
expect_contains "signed update: signature checked" "$T/good.out" \
  "signature block 0 (RSA-3072) verified with trusted key 0 (digest ${DA:0:16}...)"
expect_eq "signed update: running v2" "$(inspect good)" "ota_1 VALID v2"

# 4. Refusals, each before the switch: otadata untouched, v1 still boots.
refused() { # NAME FILE WANT [efuse args]
  local name=$1 file=$2 want=$3
  shift 3
  fresh "$name"
  [ $# -eq 0 ] || "$OTA32" device efuse "$T/$name.flash" "$@" >/dev/null
  cp "$file" "$T/www/$name.bin"
  write_config "$T/$name.cfg" "$URL/$name.bin" v2
  "$OTA32" device boot "$T/$name.flash" >/dev/null
  local before
  before=$(otadata "$name")
  run_device "$name" "$T/$name.cfg"
  expect_eq "$name: exit status 1" "$RC" 1
  expect_contains "$name: reason" "$T/$name.out" "$want"
  expect_eq "$name: otadata not written" "$(otadata "$name")" "$before"
  expect_eq "$name: still running v1" "$(inspect "$name" | cut -d' ' -f1,3)" "ota_0 "
}
# tampered body, checksum and SHA-256 made consistent: only the signature tells
python3 - "$T/www/v2.bin" "$T/tampered.bin" <<'EOF'
import hashlib, sys
d = bytearray(open(sys.argv[1], 'rb').read())
end = len(d) - 4096
d[0x80000] ^= 0x80
d[end - 33] ^= 0x80
d[end - 32:end] = hashlib.sha256(d[:end - 32]).digest()
open(sys.argv[2], 'wb').write(d)
EOF
"$OTA32" image sign --key "$V/key_rsa3072_b.pem" "$T/unsigned.bin" -o "$T/other.bin" >/dev/null
refused otherkey "$T/other.bin" "block 0 RSA-3072 key ${DB:0:16}...: unknown key"
refused revoked "$T/www/v2.bin" "key ${DA:0:16}...: revoked key" --revoke-key 0
"$OTA32" flash inspect "$T/revoked.flash" >"$T/inspect1"
expect_contains "flash inspect shows the revocation" "$T/inspect1" \
  "key 0: $DA (revoked)"
stop_server || ko "serve stop"
# Images --require-signed refuses to serve, from a server without it: the
# device refuses them itself (the server with it answers 503 for them).
start_server --dir "$T/www" || { ko "serve start"; finish; }
URL=http://127.0.0.1:$PORT
refused unsigned "$T/unsigned.bin" "image rejected: it is not signed"
refused tampered "$T/tampered.bin" "image rejected: no trusted signature: block 0 RSA-3072 key ${DA:0:16}...: signed over other bytes"
stop_server || ko "serve stop"
finish
