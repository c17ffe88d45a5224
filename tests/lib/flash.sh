# shellcheck shell=bash
# Reading and patching bytes of images and flash files, for the checks of
# tests/cli.

# hexat FILE OFF LEN: the LEN bytes at OFF of FILE, as hex.
hexat() { dd if="$1" bs=1 skip=$(($2)) count=$(($3)) status=none | od -An -tx1 -v | tr -d ' \n'; }

# blank FILE OFF LEN: [OFF, OFF+LEN) of FILE (4 KB aligned) is all 0xFF.
blank() {
    local n
    n=$(dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none | wc -c) &&
        [ "$n" -eq $(($3)) ] &&
        [ "$(dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none |
            tr -d '\377' | wc -c)" -eq 0 ]
}

# same_at FILE OFF REF: [OFF, OFF+size(REF)) of FILE (OFF 4 KB aligned) equals REF.
same_at() { cmp -s <(dd if="$1" bs=4096 skip=$(($2 / 4096)) status=none | head -c "$(stat -c %s "$3")") "$3"; }

# patch_hex FILE OFF HEX: overwrite the bytes at OFF of FILE with HEX.
patch_hex() {
    # shellcheck disable=SC2001,SC2059 # the format is the bytes, as \xNN escapes
    printf "$(sed 's/../\\x&/g' <<<"$3")" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}

# otadata_seq2_new DEV: otadata[1] (at 0x10000) of the device file DEV becomes
# seq 2, state NEW, with its CRC: an update of ota_1 waiting for its first boot.
otadata_seq2_new() {
    patch_hex "$1" 0x10000 "02000000$(printf 'ff%.0s' $(seq 20))000000007437f655"
}

# wrong_chip IN OUT: the app image IN with the ESP32-S2's chip id (2) in its
# header and the SHA-256 recomputed: an image for another chip.
wrong_chip() {
    cp "$1" "$2" &&
        printf '\x02\x00' | dd of="$2" bs=1 seek=12 conv=notrunc status=none &&
        head -c -32 "$2" | sha256sum | cut -c1-64 | xxd -r -p |
        dd of="$2" bs=1 seek=$(($(stat -c %s "$2") - 32)) conv=notrunc status=none
}
