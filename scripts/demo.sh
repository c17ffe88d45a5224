#!/usr/bin/env bash
# The end-to-end demo on the virtual ESP32 (make demo):
#   1. a virtual ESP32 with 8 MB flash runs firmware v1 from ota_0;
#   2. `ota32 serve` hosts v2 and a machine config whose OTA service points at it;
#   3. the device's OTA service sees the new version, downloads v2 over HTTP/2
#      into ota_1, switches otadata, reboots, and confirms once healthy;
#   4. a v3 that never confirms is rolled back by the bootloader, v2 keeps
#      running, and v3 is not retried in a loop;
#   5. the device's eFuse is made to trust a Secure Boot v2 key: a v4 signed
#      with it is installed, a tampered v5 is refused before the switch.
set -euo pipefail

OTA32=${1:-build/release/ota32}
WORK=${DEMO_DIR:-build/demo}
OTA32=$(realpath "$OTA32")
rm -rf "$WORK"
mkdir -p "$WORK/www"
cd "$WORK"

# Bold headings on a terminal only, and never with NO_COLOR set.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; true; }
trap cleanup EXIT

step "Firmware: three app images (v1 installed, v2 good, v3 never confirms)"
for v in v1 v2 v3; do
  "$OTA32" image make --version "demo-$v" --project ota32-demo --size 1572864 -o "www/firmware-$v.bin" >/dev/null
  "$OTA32" image verify "www/firmware-$v.bin"
done
cp "$(dirname "$0")/../partitions.csv" partitions.csv 2>/dev/null || cp "$OLDPWD/partitions.csv" partitions.csv

step "A virtual ESP32 (8 MB flash) running demo-v1 from ota_0"
"$OTA32" device create esp32.flash --partitions partitions.csv --app www/firmware-v1.bin --force
"$OTA32" device boot esp32.flash

write_config() {
  cat >machine.json <<JSON
{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_service",
  "attributes":{"url":"http://127.0.0.1:$port/firmware-$1.bin","version":"demo-$1"}}]}
JSON
}

step "The firmware server (HTTP/2) with the machine config at /config"
port=0
write_config v2
# --json: one line with the port (and URLs) once the server listens
"$OTA32" serve --dir www --config machine.json --port 0 --bind 127.0.0.1 --quiet --json \
  >serve.json 2>serve.log &
server_pid=$!
for _ in $(seq 100); do
  port=$(sed -n 's/.*"port": *\([0-9][0-9]*\).*/\1/p' serve.json | head -n1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat serve.log; echo "ota32: the server did not start" >&2; exit 1; }
write_config v2
echo "serving on 127.0.0.1:$port"; cat machine.json

step "The device polls its config, updates to demo-v2, reboots and confirms"
# --timing: the emulated flash also adds up what each erase and program would
# take on a W25Q64-class chip, so the summary shows the time on real hardware.
"$OTA32" device run esp32.flash --config "http://127.0.0.1:$port/config" --poll 1 --once \
  --timing -o update.json

step "What the flash holds now (ota32 flash inspect)"
"$OTA32" flash inspect esp32.flash

step "Rollback: demo-v3 boots but never confirms"
write_config v3
"$OTA32" device run esp32.flash --config "http://127.0.0.1:$port/config" --poll 1 --once \
  --no-confirm || true
"$OTA32" device boot esp32.flash
"$OTA32" device run esp32.flash --config "http://127.0.0.1:$port/config" --once

step "Authentic firmware: the device trusts one signing key (Secure Boot v2, eFuse)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out signing-key.pem 2>/dev/null
"$OTA32" key digest signing-key.pem
"$OTA32" device efuse esp32.flash --trust-key signing-key.pem
for v in v4 v5; do
  "$OTA32" image make --version "demo-$v" --project ota32-demo --size 1572864 -o "firmware-$v.bin" >/dev/null
done
"$OTA32" image sign --key signing-key.pem firmware-v4.bin -o www/firmware-v4.bin
"$OTA32" image verify www/firmware-v4.bin --key signing-key.pem
# v5 with v4's signature sector: well formed, but signed over other bytes
{ cat firmware-v5.bin; tail -c 4096 www/firmware-v4.bin; } >www/firmware-v5.bin

step "A signed demo-v4 is installed (signature checked before the switch)"
write_config v4
"$OTA32" device run esp32.flash --config "http://127.0.0.1:$port/config" --poll 1 --once

step "A tampered demo-v5 is refused before the switch"
write_config v5
"$OTA32" device run esp32.flash --config "http://127.0.0.1:$port/config" --poll 1 --once \
  >tampered.log 2>&1 || true
grep -E "image rejected|^result" tampered.log
"$OTA32" flash inspect esp32.flash | grep -A2 "^eFuse"

step "Summary"
field() { sed -n "s/^ *\"$1\": *\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" update.json | head -n1; }
running=$("$OTA32" device boot esp32.flash --no-rollback | sed -n 's/^version: *//p')
cat <<SUMMARY
update     ota_$(field old_slot) demo-v1 -> ota_$(field new_slot) $(field new_version), confirmed (VALID, OTA_VERSION set)
bytes      $(field bytes_written) written, $(field bytes_received) received in $(field requests) request(s)
time       $(field seconds) s on this machine ($(field kib_per_s) KiB/s); flash erases: $(field slot_block_erases) x 64 KB, $(field slot_sector_erases) x 4 KB
flash      $(field flash_virtual_ms) ms of erase and program on a real chip (timing model), longest single operation $(field flash_max_op_ms) ms
memory     peak heap of the OTA service: $(field peak_heap) bytes (HTTP/2 window 64 KB, data acknowledged only once in flash)
rollback   demo-v3 never confirmed: the bootloader returned to demo-v2, and demo-v3 is not retried
signed     demo-v4, signed with the key the eFuse trusts, installed; demo-v5 (tampered) refused, no switch
running    $running
SUMMARY
[ "$running" = demo-v4 ] || { echo "ota32: expected demo-v4 to be running, found '$running'" >&2; exit 1; }
grep -q "image rejected: no trusted signature" tampered.log ||
  { echo "ota32: the tampered demo-v5 was not refused" >&2; exit 1; }
kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "server stopped; demo files in $WORK"
