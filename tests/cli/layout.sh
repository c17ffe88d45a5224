#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The tree's layout rules (docs/architecture.md, "Where code lives"):
#   - src/core is private to the core: no build file outside src/ puts it on
#     an include path, and no file outside it includes it by path;
#   - no file includes another file's .c;
#   - the public headers carry no test or benchmark concepts.
# Each rule's detector is first shown to catch a planted violation.
set -euo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
cd "${OTA32_SRC:?}"
scratch

# Build files outside src/ naming src/core as an include directory (CMake
# target_include_directories / ESP-IDF INCLUDE_DIRS, or -I in a script).
core_on_path() { # core_on_path FILE...
    grep -nE '(include_directories|INCLUDE_DIRS|-I).*src/core' "$@" || true
}
# Includes of a core-private header by path, or of a .c file.
bad_includes() { # bad_includes FILE...
    grep -nE '#include "[^"]*(src/core/|\.c")' "$@" || true
}

# A public declaration marked as being for tests or benchmarks only.
test_only() { # test_only FILE...
    grep -niE '\((tests|benchmark only|test only)\)|(tests?|benchmarks?) only' "$@" || true
}

printf 'target_include_directories(x PRIVATE ${CMAKE_SOURCE_DIR}/src/core)\n' >"$T/planted.cmake"
printf '#include "../server/http1_parse.c"\n#include "../src/core/ota/svc_internal.h"\n' \
    >"$T/planted.c"
check "detector: src/core on an include path" [ -n "$(core_on_path "$T/planted.cmake")" ]
check "detector: .c and core-private includes" \
    [ "$(bad_includes "$T/planted.c" | wc -l)" -eq 2 ]
printf '    OTA32_ERR_X = -99, /* lost power (tests) */\n    bool y; /* (benchmark only) */\n' \
    >"$T/planted.h"
check "detector: test-only public declarations" [ "$(test_only "$T/planted.h" | wc -l)" -eq 2 ]

# The tree without build outputs and fetched dependencies.
tree() { find . \( -path ./build -o -path ./.git -o -path ./src -o -name managed_components \) \
    -prune -o -type f "$@" -print; }
mapfile -t build_files < <(tree \( -name CMakeLists.txt -o -name '*.cmake' -o -name '*.sh' \
    -o -name Makefile \) | grep -v '^./tests/cli/layout.sh$')
found=$(core_on_path "${build_files[@]}")
if [ -z "$found" ]; then ok "no src/core include path outside src/ (${#build_files[@]} files)"
else
    echo "$found" >"$T/found"
    ko "src/core on an include path outside src/" "$T/found"
fi

mapfile -t sources < <(tree \( -name '*.c' -o -name '*.h' \); find src -name '*.[ch]')
found=$(bad_includes "${sources[@]}")
if [ -z "$found" ]; then ok "no .c or core-private includes (${#sources[@]} files)"
else
    echo "$found" >"$T/found"
    ko ".c or core-private includes" "$T/found"
fi

found=$(test_only include/ota32/*.h)
if [ -z "$found" ]; then ok "no test or benchmark concepts in include/ota32"
else
    echo "$found" >"$T/found"
    ko "test or benchmark concepts in include/ota32" "$T/found"
fi
finish
