#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The portable core (src/core, include/ota32) must build for ESP-IDF: no OS or
# host-library headers. Only freestanding C headers, stdio.h (snprintf),
# stdlib.h (no allocation in formats) and nghttp2 are allowed.
set -euo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
quiet_checks
cd "${OTA32_SRC:?}"
allowed='^(stddef|stdint|stdbool|string|stdarg|stdio|stdlib|limits|inttypes|ctype|nghttp2/nghttp2)\.h$'
bad=0
while IFS= read -r line; do
  file=${line%%:*}
  hdr=$(sed -E 's/.*#include <([^>]+)>.*/\1/' <<<"$line")
  if ! [[ $hdr =~ $allowed ]]; then
    echo "not portable: $file includes <$hdr>"
    bad=$((bad + 1))
  fi
done < <(grep -rn '#include <' src/core src/internal include/ota32 || true)
checked=$(find src/core src/internal include/ota32 -name '*.[ch]' | wc -l)
echo "checked $checked files"
check "only portable headers included" [ "$bad" -eq 0 ]
finish
