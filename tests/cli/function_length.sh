#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# No function in src/ is longer than 80 lines, counted from the first line of
# its signature to its closing brace (the layout clang-format gives: the
# opening and closing braces of a function alone at the start of a line).
set -euo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
cd "${OTA32_SRC:?}"
scratch
MAX=80

# lengths FILE...: "LINES FILE:LINE NAME" for every function definition.
lengths() {
    awk '
        FNR == 1 { sig = 0 }
        /^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ && !/^(typedef|struct|enum|union|static const)/ {
            if (!sig) { sig = FNR; name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name) }
        }
        /^[A-Za-z_#].*;[[:space:]]*$/ || /^$/ { if (!open) sig = 0 }
        /^\{/ { open = 1; if (!sig) sig = FNR }
        /^\}/ && open { print FNR - sig + 1, FILENAME ":" sig, name; open = 0; sig = 0 }
    ' "$@"
}

# A 3-line function and an 82-line one: the measure sees both exactly.
{
    printf 'static int small(int a,\n                 int b)\n{\n    return a + b;\n}\n\n'
    printf 'int big(void)\n{\n'
    for _ in $(seq 79); do printf '    x();\n'; done
    printf '}\n'
} >"$T/planted.c"
lengths "$T/planted.c" >"$T/planted.txt"
check "measure: a 5-line function" grep -q "^5 $T/planted.c:1 small$" "$T/planted.txt"
check "measure: an 82-line function" grep -q "^82 $T/planted.c:7 big$" "$T/planted.txt"

mapfile -t files < <(find src -name '*.c' | sort)
lengths "${files[@]}" | sort -rn >"$T/all.txt"
awk -v max="$MAX" '$1 > max' "$T/all.txt" >"$T/long.txt"
echo "longest: $(head -1 "$T/all.txt") ($(wc -l <"$T/all.txt") functions)"
if [ -s "$T/long.txt" ]; then ko "functions in src/ longer than $MAX lines" "$T/long.txt"
else ok "no function in src/ longer than $MAX lines"; fi
finish
