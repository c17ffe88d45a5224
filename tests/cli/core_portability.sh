#!/usr/bin/env bash
# The portable core (src/core, include/ota32) must build for ESP-IDF: no OS or
# host-library headers. Only freestanding C headers, stdio.h (snprintf),
# stdlib.h (no allocation in formats), nghttp2 and cJSON are allowed.
set -euo pipefail
cd "${OTA32_SRC:?}"
allowed='^(stddef|stdint|stdbool|string|stdarg|stdio|stdlib|limits|inttypes|ctype|nghttp2/nghttp2|cjson/cJSON|cJSON)\.h$'
bad=0
while IFS= read -r line; do
  file=${line%%:*}
  hdr=$(sed -E 's/.*#include <([^>]+)>.*/\1/' <<<"$line")
  if ! [[ $hdr =~ $allowed ]]; then
    echo "not portable: $file includes <$hdr>"
    bad=$((bad + 1))
  fi
done < <(grep -rn '#include <' src/core include/ota32 || true)
checked=$(find src/core include/ota32 -name '*.[ch]' | wc -l)
echo "checked $checked files"
[ "$bad" -eq 0 ] && echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }
