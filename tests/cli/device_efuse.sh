#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# The virtual ESP32's emulated eFuse: `device create --trust-key`, `device
# efuse` (trust, revoke, secure version), `flash inspect` showing it, and
# eFuse semantics (bits are only set: nothing written can be undone).
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}"
need_tools openssl
scratch
# Keys made here (the eFuse does not care about the scheme: P-256 is quick).
V=$T/keys
mkdir -p "$V"
for k in rsa3072_a rsa3072_b rsa3072_c ecdsa256; do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$V/key_$k.pem" 2>/dev/null
  openssl pkey -in "$V/key_$k.pem" -pubout -out "$V/key_$k.pub.pem" 2>/dev/null
done
A=$("$OTA32" key digest "$V/key_rsa3072_a.pem" | cut -d' ' -f1)
B=$("$OTA32" key digest "$V/key_rsa3072_b.pem" | cut -d' ' -f1)

"$OTA32" image make --version v1 --project p --size 200000 -o "$T/v1.bin" >/dev/null
printf 'nvs,data,nvs,0x9000,0x6000,\notadata,data,ota,0xF000,0x2000,\nota_0,app,ota_0,,1M,\nota_1,app,ota_1,,1M,\n' >"$T/p.csv"
"$OTA32" device create "$T/d.flash" --partitions "$T/p.csv" --app "$T/v1.bin" \
  --trust-key "$V/key_rsa3072_a.pub.pem" --trust-key "$V/key_rsa3072_b.pem" >"$T/out" 2>&1
expect_contains "create: key 0 burnt" "$T/out" "key 0: $A"
expect_contains "create: key 1 burnt (from the private key)" "$T/out" "key 1: $B"
expect_eq "eFuse file beside the flash, 120 bytes" "$(stat -c %s "$T/d.flash.efuse")" 120

"$OTA32" device efuse "$T/d.flash" --revoke-key "$V/key_rsa3072_b.pub.pem" --secure-version 4 >"$T/out"
expect_contains "revoke by key file" "$T/out" "key 1: $B (revoked)"
expect_contains "secure version burnt" "$T/out" "secure version 4, 2 trusted keys"
"$OTA32" device efuse "$T/d.flash" --secure-version 2 >"$T/out"
expect_contains "the secure version never goes down" "$T/out" "secure version 4,"
"$OTA32" device efuse "$T/d.flash" --secure-version 33 >"$T/out" 2>"$T/err"
expect_contains "secure version past the ESP32's 32 bits refused" "$T/err" "the ESP32's eFuse counts up to 32"
"$OTA32" device efuse "$T/d.flash" --trust-key "$V/key_rsa3072_c.pub.pem" --revoke-key 0 >"$T/out"
expect_contains "a third key, then key 0 revoked by number" "$T/out" "key 0: $A (revoked)"
expect_contains "... three keys" "$T/out" "3 trusted keys"
"$OTA32" device efuse "$T/d.flash" --trust-key "$V/key_ecdsa256.pub.pem" >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && has "$T/err" "no room for another key" && ok "a fourth key refused" || ko "fourth key (rc $rc)" "$T/err"
"$OTA32" device efuse "$T/d.flash" --revoke-key "$V/key_ecdsa256.pub.pem" >"$T/out" 2>"$T/err"
expect_contains "revoking an unknown key refused" "$T/err" "not one of the device's trusted keys"
"$OTA32" flash inspect "$T/d.flash" >"$T/inspect"
expect_contains "flash inspect: the eFuse" "$T/inspect" "secure version 4, 3 trusted keys"
expect_contains "flash inspect: revoked key" "$T/inspect" "key 1: $B (revoked)"
# a new device on the same path starts with blank eFuses
"$OTA32" device create "$T/d.flash" --partitions "$T/p.csv" --app "$T/v1.bin" --force >/dev/null
check "device create --force: blank eFuse again" test ! -e "$T/d.flash.efuse"
"$OTA32" flash inspect "$T/d.flash" >"$T/inspect"
expect_not_contains "flash inspect: no eFuse section when blank" "$T/inspect" "eFuse"
finish
