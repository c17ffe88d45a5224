#!/usr/bin/env bash
# The ESP32 build workflow (as Micro-RDK documents it), behind the make targets:
#   esp32.sh build-ota   the app image to host         (make build-esp32-ota)
#   esp32.sh build-bin   the merged image for flashing (make build-esp32-bin)
#   esp32.sh flash       write the merged image        (make flash-esp32-bin)
#   esp32.sh serve       serve the app image (HTTP/2)  (make serve-dev-ota)
# Settings come from the environment (the Makefile passes them):
#   OTA32       the ota32 tool
#   PARTITIONS  partition table CSV (default partitions.csv)
#   FLASH_SIZE  flash size (default 8MB)
#   OUT         output folder (default build/esp32)
#   IDF_BUILD   an ESP-IDF build folder: take its bootloader and app images
#   APP         an app image to use instead of the bundled sample
#   BOOTLOADER  a bootloader image (default: IDF_BUILD's, else none)
#   VERSION     the OTA version tag: the config's "version", kept in NVS as
#               OTA_VERSION (up to 128 bytes); serve prints it in the service
#               block. Default: from git, else "dev".
#   APP_VERSION the bundled sample's app descriptor version (up to 31 bytes,
#               the descriptor's field); default VERSION when it fits
#   CHIP        the chip the app must be for (default esp32)
#   DEV         the virtual ESP32's flash file (default $OUT/device.flash)
#   PORT        a serial port: flash a real board with esptool or espflash
#   SERVE_PORT  port for serve (default 3001)
#   SIGN_KEY    sign the app image with this Secure Boot v2 key (PEM; RSA-3072
#               for the ESP32): serve then refuses unsigned images, and the
#               virtual ESP32 flashed by `flash` trusts this key
# Every value may hold spaces.
set -euo pipefail

OTA32=${OTA32:-build/release/ota32}
PARTITIONS=${PARTITIONS:-partitions.csv}
FLASH_SIZE=${FLASH_SIZE:-8MB}
OUT=${OUT:-build/esp32}
DEV=${DEV:-$OUT/device.flash}
SERVE_PORT=${SERVE_PORT:-3001}
CHIP=${CHIP:-esp32}
VERSION=${VERSION:-}
APP_VERSION=${APP_VERSION:-}
APP_OUT=$OUT/app.bin
MERGED_OUT=$OUT/merged.bin
# What merged.bin was built from (settings and input digests): flash
# rebuilds it when anything differs.
STAMP=$OUT/merged.inputs
TAG_MAX=128 # the config's version tag, NVS OTA_VERSION
DESC_MAX=31 # esp_app_desc_t.version, char[32]

die() { echo "ota32: $*" >&2; exit 1; }

# Files being made: removed if the script stops before renaming them.
TMP_FILES=()
trap 'rm -f ${TMP_FILES[@]+"${TMP_FILES[@]}"}' EXIT

[ -x "$OTA32" ] || die "$OTA32 not built (run make)"
[ -f "$PARTITIONS" ] || die "$PARTITIONS: partition table not found (set PARTITIONS=...)"
mkdir -p "$OUT"

bytes() { printf %s "$1" | wc -c; }

# VERSION is the config/NVS tag; only the sample's descriptor has 31 bytes.
if [ "$(bytes "$VERSION")" -gt $TAG_MAX ]; then
  die "VERSION is $(bytes "$VERSION") bytes, more than the $TAG_MAX of the OTA version tag (the config's \"version\", NVS OTA_VERSION)"
fi
if [ "$(bytes "$APP_VERSION")" -gt $DESC_MAX ]; then
  die "APP_VERSION is $(bytes "$APP_VERSION") bytes, more than the $DESC_MAX of the app descriptor's version field"
fi

# The bundled sample's descriptor version.
sample_version() {
  if [ -n "$APP_VERSION" ]; then
    echo "$APP_VERSION"
  elif [ -n "$VERSION" ]; then
    [ "$(bytes "$VERSION")" -le $DESC_MAX ] ||
      die "VERSION is $(bytes "$VERSION") bytes: fine as the OTA version tag (up to $TAG_MAX), but the app descriptor's version field holds $DESC_MAX; set APP_VERSION=... (up to $DESC_MAX) for the sample's descriptor"
    echo "$VERSION"
  else
    local v
    v=$(git describe --always --dirty 2>/dev/null || echo dev)
    echo "${v:0:$DESC_MAX}"
  fi
}

# The table's rows as gen_esp32part.py prints them: name,type,subtype,offset,size,flags
table() { "$OTA32" part show "$PARTITIONS" --csv --flash-size "$FLASH_SIZE" | grep -v '^#'; }

# IDF's build folder: the app image is named after the project in
# project_description.json ("app_bin"); the bootloader is bootloader/bootloader.bin.
idf_app() {
  local name
  name=$(sed -n 's/.*"app_bin": *"\([^"]*\)".*/\1/p' "$IDF_BUILD/project_description.json" 2>/dev/null | head -n1)
  [ -n "$name" ] || die "$IDF_BUILD: no project_description.json with app_bin (is it an ESP-IDF build folder?)"
  echo "$IDF_BUILD/$(basename "$name")"
}

# The digest of a file, or "none".
digest() { if [ -f "$1" ]; then sha256sum <"$1" | cut -c1-64; else echo none; fi; }

# One line per input of the merged image: its setting and content digest.
inputs() {
  echo "tool $(digest "$OTA32")"
  echo "PARTITIONS $PARTITIONS $(digest "$PARTITIONS")"
  echo "FLASH_SIZE $FLASH_SIZE"
  echo "CHIP $CHIP"
  if [ -n "${IDF_BUILD:-}" ]; then
    echo "IDF_BUILD $IDF_BUILD app $(digest "$(idf_app 2>/dev/null || true)") bootloader $(digest "$IDF_BUILD/bootloader/bootloader.bin")"
  elif [ -n "${APP:-}" ]; then
    echo "APP $APP $(digest "$APP")"
  else
    echo "APP_VERSION (sample) $(sample_version)"
  fi
  echo "BOOTLOADER ${BOOTLOADER:-} $(digest "${BOOTLOADER:-}")"
  echo "SIGN_KEY ${SIGN_KEY:-} $(digest "${SIGN_KEY:-}")"
}

build_ota() {
  local src tmp=$APP_OUT.part
  TMP_FILES+=("$tmp")
  if [ -n "${IDF_BUILD:-}" ]; then
    src=$(idf_app)
    [ -f "$src" ] || die "$src: not found (run idf.py build first)"
  elif [ -n "${APP:-}" ]; then
    [ -f "$APP" ] || die "$APP: not found"
    src=$APP
  else
    local version
    version=$(sample_version)
    src=$OUT/sample-app.bin
    "$OTA32" image make --version "$version" --project ota32-sample --size 1048576 \
      -o "$src" >/dev/null
  fi
  # Signed into the temporary file: app.bin is replaced only once it checks.
  if [ -n "${SIGN_KEY:-}" ]; then
    [ -f "$SIGN_KEY" ] || die "$SIGN_KEY: signing key not found"
    "$OTA32" image sign --key "$SIGN_KEY" "$src" -o "$tmp" >/dev/null
  else
    cp "$src" "$tmp"
  fi
  # Fails, naming the slot and both sizes, when the image does not fit the
  # smallest ota slot, or is for another chip. Nothing replaces app.bin then.
  "$OTA32" image verify "$tmp" --chip "$CHIP" --partitions "$PARTITIONS" --flash-size "$FLASH_SIZE" \
    ${SIGN_KEY:+--key "$SIGN_KEY"}
  mv -f "$tmp" "$APP_OUT"
  echo "app image (host this one): $APP_OUT ($(stat -c %s "$APP_OUT") bytes)"
}

build_bin() {
  local fingerprint
  fingerprint=$(inputs)
  build_ota
  local bl=${BOOTLOADER:-}
  if [ -z "$bl" ] && [ -n "${IDF_BUILD:-}" ]; then
    bl=$IDF_BUILD/bootloader/bootloader.bin
  fi
  "$OTA32" part gen "$PARTITIONS" "$OUT/partition-table.bin" --flash-size "$FLASH_SIZE" >/dev/null
  local otadata_off boot_off
  otadata_off=$(table | awk -F, '$2=="data" && $3=="ota" {print $4; exit}')
  # The first app partition: factory if present, else ota_0.
  boot_off=$(table | awk -F, '$2=="app" && $3=="factory" {print $4; exit}')
  [ -n "$boot_off" ] || boot_off=$(table | awk -F, '$2=="app" && $3=="ota_0" {print $4; exit}')
  [ -n "$boot_off" ] || die "$PARTITIONS: no factory or ota_0 app partition"
  local args=()
  if [ -n "$bl" ]; then
    [ -f "$bl" ] || die "$bl: bootloader image not found"
    args+=(0x1000 "$bl")
  else
    echo "note: no bootloader given (IDF_BUILD=... or BOOTLOADER=...): this merged image is for the virtual ESP32 only" >&2
  fi
  args+=(0x8000 "$OUT/partition-table.bin")
  if [ -n "$otadata_off" ]; then
    head -c 8192 /dev/zero | tr '\0' '\377' >"$OUT/ota_data_initial.bin"
    args+=("$otadata_off" "$OUT/ota_data_initial.bin")
  fi
  args+=("$boot_off" "$APP_OUT")
  local tmp=$MERGED_OUT.part
  TMP_FILES+=("$tmp" "$STAMP.part")
  "$OTA32" merge -o "$tmp" --pad-to-size "$FLASH_SIZE" "${args[@]}" >/dev/null
  printf '%s\n' "$fingerprint" >"$STAMP.part"
  # The stamp goes first and comes back last: a stamp never describes
  # another merged.bin than the one beside it.
  rm -f "$STAMP"
  mv -f "$tmp" "$MERGED_OUT"
  mv -f "$STAMP.part" "$STAMP"
  echo "merged image (flash this one once, at 0x0): $MERGED_OUT ($(stat -c %s "$MERGED_OUT") bytes)"
}

# Build merged.bin unless it was built from exactly these inputs.
ensure_bin() {
  local now
  now=$(inputs)
  if [ -f "$MERGED_OUT" ] && [ -f "$STAMP" ] && [ "$now" = "$(cat "$STAMP")" ]; then
    echo "merged image up to date: $MERGED_OUT"
    return
  fi
  if [ -f "$MERGED_OUT" ]; then
    local changed
    if [ -f "$STAMP" ]; then
      changed=$({ diff "$STAMP" <(echo "$now") || true; } | sed -n 's/^> \([A-Za-z_]*\).*/\1/p' |
        sort -u | tr '\n' ' ')
      echo "rebuilding $MERGED_OUT: changed since it was built: ${changed% }"
    else
      echo "rebuilding $MERGED_OUT: no record of what it was built from"
    fi
  fi
  build_bin
}

flash() {
  ensure_bin
  if [ -n "${PORT:-}" ]; then
    if head -c 4097 "$MERGED_OUT" | tail -c 1 | od -An -tx1 | grep -q ff; then
      die "$MERGED_OUT has no bootloader: a real board needs one (build with IDF_BUILD=... or BOOTLOADER=...)"
    fi
    if command -v esptool >/dev/null || command -v esptool.py >/dev/null; then
      local tool; tool=$(command -v esptool || command -v esptool.py)
      exec "$tool" --chip esp32 --port "$PORT" write_flash 0x0 "$MERGED_OUT"
    elif command -v espflash >/dev/null; then
      exec espflash write-bin --port "$PORT" 0x0 "$MERGED_OUT"
    fi
    die "no flashing tool found: install esptool (pip install esptool) or espflash (cargo install espflash), or leave PORT unset to flash the virtual ESP32"
  fi
  "$OTA32" device flash "$DEV" "$MERGED_OUT" --flash-size "$FLASH_SIZE"
  if [ -n "${SIGN_KEY:-}" ]; then
    "$OTA32" device efuse "$DEV" --trust-key "$SIGN_KEY" >/dev/null
    echo "virtual ESP32 trusts $SIGN_KEY (eFuse): it installs only images signed with it"
  fi
  echo "virtual ESP32 flashed: $DEV (boot it with: $OTA32 device boot $DEV)"
}

serve() {
  build_ota
  local tag=()
  [ -z "$VERSION" ] || tag=(--version "$VERSION")
  exec "$OTA32" serve "$APP_OUT" --port "$SERVE_PORT" --partitions "$PARTITIONS" ${tag[@]+"${tag[@]}"} \
    ${SIGN_KEY:+--require-signed}
}

case "${1:-}" in
  build-ota) build_ota ;;
  build-bin) build_bin ;;
  flash) flash ;;
  serve) serve ;;
  *) echo "usage: $0 build-ota|build-bin|flash|serve" >&2; exit 2 ;;
esac
