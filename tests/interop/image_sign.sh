#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2015 # ok and ko always succeed
# Secure Boot v2 signatures against espsecure's own output (vectors/signed):
# key digests, verification with each key and no other, tampering anywhere in
# the signed range or the blocks, and `image sign` laying out the sector
# byte for byte as espsecure does (signature values aside), verified by the
# openssl command from the public key alone.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
# shellcheck source=../lib/flash.sh
. "$(dirname "$0")/../lib/flash.sh"
: "${OTA32:?}"
need_tools openssl python3
need_interop vectors/signed/app_sp2.bin vectors/signed/app_rsa_3sig.bin esp-images/esp32-app-template.elf
V=$INTEROP/vectors/signed
scratch

KEYS="rsa3072_a rsa3072_b rsa3072_c ecdsa256 ecdsa384"
declare -A SIGNERS=(
  [app_rsa_1sig.bin]="rsa3072_a" [app_rsa_3sig.bin]="rsa3072_a rsa3072_b rsa3072_c"
  [app_rsa_2sig_appended.bin]="rsa3072_a rsa3072_b" [app_ecdsa256_1sig.bin]="ecdsa256"
  [app_ecdsa384_1sig.bin]="ecdsa384")

# key digest = espsecure digest-sbv2-public-key, from the public and the private half
for k in $KEYS; do
  want=$(od -An -tx1 -v "$V/key_$k.digest.bin" | tr -d ' \n')
  got=$("$OTA32" key digest "$V/key_$k.pub.pem" | cut -d' ' -f1)
  got_priv=$("$OTA32" key digest "$V/key_$k.pem" -o "$T/$k.digest" | cut -d' ' -f1)
  if [ "$got" = "$want" ] && [ "$got_priv" = "$want" ] && cmp -s "$T/$k.digest" "$V/key_$k.digest.bin"
  then ok "key digest $k"; else ko "key digest $k: $got / $got_priv, want $want"; fi
done
"$OTA32" key digest --help >"$T/help" && has "$T/help" "openssl genpkey" && ok "key --help: how to make a key" || ko "key --help"

# every signed file verifies with its keys and with no other
for f in "${!SIGNERS[@]}"; do
  for k in $KEYS; do
    "$OTA32" image verify "$V/$f" --key "$V/key_$k.pub.pem" >"$T/out" 2>"$T/err"
    rc=$?
    if [[ " ${SIGNERS[$f]} " == *" $k "* ]]; then
      [ $rc -eq 0 ] && has "$T/out" "verified with $V/key_$k.pub.pem" && ok "$f verifies with $k" ||
        ko "$f with $k (rc $rc)" "$T/err"
    else
      [ $rc -eq 1 ] && has "$T/err" "not signed by $V/key_$k.pub.pem" && ok "$f refused with $k" ||
        ko "$f with $k should fail (rc $rc)" "$T/out"
    fi
  done
done
# which block matched which key
"$OTA32" image verify "$V/app_rsa_3sig.bin" --key "$V/key_rsa3072_c.pub.pem" >"$T/out" 2>&1
expect_contains "3 blocks: key c is block 2" "$T/out" "signature block 2 (RSA-3072) verified with"
"$OTA32" image verify "$V/app_rsa_1sig.bin" --key "$V/key_rsa3072_b.pub.pem" >"$T/out" 2>"$T/err"
expect_contains "refusal names the key digest found" "$T/err" \
  "block 0 RSA-3072 key cb2791a371b0c032...: unknown key"
"$OTA32" image verify "$V/app_sp2.bin" --key "$V/key_rsa3072_a.pub.pem" >"$T/out" 2>"$T/err"
expect_contains "unsigned image refused with --key" "$T/err" "the image is not signed"

# a flipped byte anywhere in the signed range or in a block: refused
flip() { # FILE OFF -> $T/t.bin
  cp "$1" "$T/t.bin"
  local b
  b=$(hexat "$T/t.bin" "$2" 1)
  patch_hex "$T/t.bin" "$2" "$(printf '%02x' $((0x$b ^ 0x01)))"
}
S=0xa0000
for off in 0x0 0x20 0x24 0x1000 0x4ffff 0x9ffdf 0x9ffff $((S)) $((S + 1)) $((S + 4)) $((S + 36)) \
  $((S + 500)) $((S + 812)) $((S + 1195)) $((S + 1196)) $((S + 1200)) $((S + 1215)) \
  $((S + 1216)) $((S + 1216 + 900)) $((S + 2432)) $((S + 3647)) $((S + 3648)) $((S + 4095)); do
  flip "$V/app_rsa_3sig.bin" "$off"
  if "$OTA32" image verify "$T/t.bin" --key "$V/key_rsa3072_a.pub.pem" >/dev/null 2>"$T/err"
  then ko "flipped byte at $(printf 0x%x "$off") accepted"; else ok "flipped byte at $(printf 0x%x "$off") refused"; fi
done
for off in $((S + 40)) $((S + 120)) $((S + 1100)); do
  flip "$V/app_ecdsa256_1sig.bin" "$off"
  if "$OTA32" image verify "$T/t.bin" --key "$V/key_ecdsa256.pub.pem" >/dev/null 2>&1
  then ko "ECDSA: flipped byte at $(printf 0x%x "$off") accepted"; else ok "ECDSA: flipped byte at $(printf 0x%x "$off") refused"; fi
done
flip "$V/app_rsa_3sig.bin" $((S + 1196))
"$OTA32" image verify "$T/t.bin" >/dev/null 2>"$T/err"
expect_contains "a bad block CRC is named with its offset" "$T/err" \
  "offset 0xa04ac: signature block 0: CRC-32"
flip "$V/app_rsa_1sig.bin" $((S + 3000))
"$OTA32" image verify "$T/t.bin" >/dev/null 2>"$T/err"
expect_contains "non-0xFF fill after the blocks" "$T/err" "offset 0xa0bb8: signature sector: byte 0xfe after 1 block"

# image info lists the blocks (espsecure signature-info-v2)
"$OTA32" image info "$V/app_rsa_2sig_appended.bin" >"$T/info"
expect_contains "info: block 1" "$T/info" \
  "Signature block 1: RSA-3072, image digest valid, public key digest 5e04299c3b9a459c15c746f0fa00ff6fbe68d2ad87ae3523c2d392e5a3f74c66"
"$OTA32" image info --json "$V/app_ecdsa384_1sig.bin" >"$T/info.json"
expect_contains "info --json: blocks" "$T/info.json" '"key_digest":	"fc9c01f2e8bc394d199b74b1cdf5060c10acc6cc385905877c5571c53009bc98"'

# elf2image --secure-pad-v2 makes espsecure's input byte for byte
"$OTA32" image elf2image --chip esp32 --flash-mode dio --flash-freq 40m --flash-size 4MB \
  --elf-sha256-offset 0xb0 --min-rev-full 300 --max-rev-full 399 --secure-pad-v2 \
  -o "$T/sp2.bin" "$INTEROP/esp-images/esp32-app-template.elf" >/dev/null
check "elf2image --secure-pad-v2 = esptool's app_sp2.bin" cmp -s "$T/sp2.bin" "$V/app_sp2.bin"

# image sign: espsecure's layout, the signature values aside
sign() { "$OTA32" image sign "$@" >"$T/sign.out" 2>"$T/sign.err"; }
sign --key "$V/key_rsa3072_a.pem" "$T/sp2.bin" -o "$T/r1.bin" &&
  sign --key "$V/key_rsa3072_a.pem" --key "$V/key_rsa3072_b.pem" --key "$V/key_rsa3072_c.pem" \
    "$T/sp2.bin" -o "$T/r3.bin" &&
  sign --append --key "$V/key_rsa3072_b.pem" "$T/r1.bin" -o "$T/r2.bin" &&
  sign --key "$V/key_ecdsa256.pem" "$T/sp2.bin" -o "$T/e256.bin" &&
  sign --key "$V/key_ecdsa384.pem" "$T/sp2.bin" -o "$T/e384.bin" && ok "sign: 5 files" ||
  ko "sign" "$T/sign.err"
layout() { # OURS THEIRS SIG_START SIG_END
  python3 - "$@" <<'EOF'
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
lo, hi = int(sys.argv[3]), int(sys.argv[4])
if len(a) != len(b):
    sys.exit(f"length {len(a)} vs {len(b)}")
s = len(a) - 4096
for i in range(len(a)):
    if a[i] == b[i]:
        continue
    o, blk = (i - s) % 1216, (i - s) // 1216
    if i >= s and blk < 3 and (lo <= o < hi or 1196 <= o < 1200):
        continue
    sys.exit(f"differs at 0x{i:x}")
EOF
}
check "sign: 1 RSA block = espsecure's layout" layout "$T/r1.bin" "$V/app_rsa_1sig.bin" 812 1196
check "sign: 3 RSA blocks = espsecure's layout" layout "$T/r3.bin" "$V/app_rsa_3sig.bin" 812 1196
check "sign --append = espsecure --append-signatures" layout "$T/r2.bin" "$V/app_rsa_2sig_appended.bin" 812 1196
check "sign: ECDSA P-256 = espsecure's layout" layout "$T/e256.bin" "$V/app_ecdsa256_1sig.bin" 101 165
check "sign: ECDSA P-384 = espsecure's layout" layout "$T/e384.bin" "$V/app_ecdsa384_1sig.bin" 149 245
check "sign: the RSA signatures are not copies" bash -c "! cmp -s '$T/r1.bin' '$V/app_rsa_1sig.bin'"

# ... and verify with the openssl command from the public key alone
rev() { python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(d[::-1])' "$@"; }
head -c $((S)) "$T/r3.bin" | openssl dgst -sha256 -binary >"$T/digest"
for i in 0 1 2; do
  dd if="$T/r3.bin" bs=1 skip=$((S + i * 1216 + 812)) count=384 status=none >"$T/sig.le"
  rev "$T/sig.le" "$T/sig"
  k=$(echo "a b c" | cut -d' ' -f$((i + 1)))
  openssl pkeyutl -verify -pubin -inkey "$V/key_rsa3072_$k.pub.pem" -in "$T/digest" \
    -sigfile "$T/sig" -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
    -pkeyopt rsa_pss_saltlen:32 >"$T/ossl" 2>&1
  expect_contains "openssl verifies block $i (RSA-PSS) with key $k" "$T/ossl" "Signature Verified Successfully"
done
python3 - "$T/e256.bin" "$T/e256.der" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()[-4096:]
r, s = int.from_bytes(d[101:133], 'little'), int.from_bytes(d[133:165], 'little')
def der_int(x):
    b = x.to_bytes((x.bit_length() + 8) // 8, 'big')
    return b'\x02' + bytes([len(b)]) + b
body = der_int(r) + der_int(s)
open(sys.argv[2], 'wb').write(b'\x30' + bytes([len(body)]) + body)
EOF
head -c $((S)) "$T/e256.bin" | openssl dgst -sha256 -binary >"$T/digest"
openssl pkeyutl -verify -pubin -inkey "$V/key_ecdsa256.pub.pem" -in "$T/digest" \
  -sigfile "$T/e256.der" >"$T/ossl" 2>&1
expect_contains "openssl verifies the ECDSA P-256 block" "$T/ossl" "Signature Verified Successfully"
for f in r1 r2 r3 e256 e384; do
  "$OTA32" image verify "$T/$f.bin" --key "$V/key_rsa3072_a.pub.pem" --key "$V/key_ecdsa256.pub.pem" \
    --key "$V/key_ecdsa384.pub.pem" >/dev/null 2>&1 && ok "ota32 verifies its own $f" || ko "own $f"
done

# refusals: not padded for signing, already signed, four blocks, public key
"$OTA32" image make --version v1 --project p --size 0x18000 -o "$T/plain.bin" >/dev/null
"$OTA32" image sign --key "$V/key_rsa3072_a.pem" "$T/plain.bin" -o "$T/x.bin" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/x.bin" ] && has "$T/err" "does not end on a 64 KB boundary: it is not padded for signing" &&
  has "$T/err" "--secure-pad-v2" && ok "unpadded image refused with the reason" || ko "unpadded (rc $rc)" "$T/err"
"$OTA32" image sign --key "$V/key_rsa3072_b.pem" "$V/app_rsa_1sig.bin" -o "$T/x.bin" 2>"$T/err"
[ ! -e "$T/x.bin" ] && has "$T/err" "already signed (1 signature block): --append" && ok "signed input without --append refused" ||
  ko "signed input" "$T/err"
"$OTA32" image sign --append --key "$V/key_rsa3072_a.pem" "$V/app_rsa_3sig.bin" -o "$T/x.bin" 2>"$T/err"
[ ! -e "$T/x.bin" ] && has "$T/err" "has 3 signature blocks; 1 more would pass the limit of 3" && ok "a fourth block refused" ||
  ko "fourth block" "$T/err"
"$OTA32" image sign --key "$V/key_rsa3072_a.pub.pem" "$T/sp2.bin" -o "$T/x.bin" 2>"$T/err"
[ ! -e "$T/x.bin" ] && has "$T/err" "signing needs a private key" && ok "public key cannot sign" || ko "public key" "$T/err"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/k2048.pem" 2>/dev/null
"$OTA32" image sign --key "$T/k2048.pem" "$T/sp2.bin" -o "$T/x.bin" 2>"$T/err"
[ ! -e "$T/x.bin" ] && has "$T/err" "not a 2048-bit RSA key" && ok "RSA-2048 refused" || ko "RSA-2048" "$T/err"
"$OTA32" image sign --help | grep -q "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072" &&
  ok "sign --help: how to make a key" || ko "sign --help"
finish
