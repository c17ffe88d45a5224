#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The suite runs from the repository alone. From ctest's own list of this
# build's tests:
# - every test but interop/* runs with no interop directory at all
#   (OTA32_INTEROP_DIR empty, no build default), in every run;
# - every interop/* test has the label "interop" and SKIP_RETURN_CODE 77, and
#   run with OTA32_INTEROP_DIR pointing at an empty directory it exits 77
#   with a "SKIP: ..." line that names what is missing (ctest then lists it
#   as skipped); pointed at a directory with the files it does not skip;
# - no test source refers to a directory beside the repository.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32_BUILD:?}" "${OTA32_SRC:?}"
need_tools python3
scratch
mkdir -p "$T/ctest" "$T/empty"

# ctest's list, from a copy of the test files: a ctest run in the build tree
# would replace the log of the run this test is part of.
(cd "$OTA32_BUILD" && find . -name CTestTestfile.cmake -exec cp --parents {} "$T/ctest" \;)
(cd "$T/ctest" && ctest --show-only=json-v1) >"$T/tests.json" 2>"$T/ctest.err"
check "ctest lists the tests" test -s "$T/tests.json"

python3 - "$T/tests.json" "$T/empty" >"$T/check.out" 2>&1 <<'PY'
import json, os, subprocess, sys
tests = json.load(open(sys.argv[1]))["tests"]
empty = sys.argv[2]
def props(t):
    return {p["name"]: p["value"] for p in t.get("properties", [])}
owned = interop = 0
for t in tests:
    name, p = t["name"], props(t)
    env = dict(e.split("=", 1) for e in p.get("ENVIRONMENT", []))
    if not name.startswith("interop/"):
        if name.startswith(("unit/", "cli/", "e2e/")):
            owned += 1
            ok = env.get("OTA32_INTEROP_DIR") == "" and "OTA32_INTEROP_DEFAULT" not in env
            print(("ok  " if ok else "FAIL") + f" {name}: no interop directory")
        continue
    interop += 1
    ok = "interop" in p.get("LABELS", []) and p.get("SKIP_RETURN_CODE") == 77
    print(("ok  " if ok else "FAIL") + f" {name}: label interop, SKIP_RETURN_CODE 77")
    run_env = dict(os.environ, **env, OTA32_INTEROP_DIR=empty)
    r = subprocess.run(t["command"], env=run_env, cwd=p.get("WORKING_DIRECTORY"),
                       capture_output=True, text=True, timeout=120)
    skip = [l for l in r.stdout.splitlines() if l.startswith("SKIP: ")]
    ok = r.returncode == 77 and len(skip) == 1 and empty + "/" in skip[0] and "not found" in skip[0]
    print(("ok  " if ok else "FAIL") + f" {name}: skips with an empty OTA32_INTEROP_DIR"
          + ("" if ok else f" (exit {r.returncode}: {r.stdout[-300:]!r})"))
print(f"counted {owned} {interop}")
# the build's setting, as the interop tests get it
default = next((e.split("=", 1)[1] for t in tests if t["name"] == "interop/test_boot"
                for e in props(t).get("ENVIRONMENT", []) if e.startswith("OTA32_INTEROP_DEFAULT=")), "")
print(f"default {default}")
if default and os.path.isdir(os.path.join(default, "esp-images")):
    t = next(t for t in tests if t["name"] == "interop/test_boot")
    env = dict(e.split("=", 1) for e in props(t)["ENVIRONMENT"])
    run_env = {k: v for k, v in os.environ.items() if k != "OTA32_INTEROP_DIR"}
    r = subprocess.run(t["command"], env=dict(run_env, **env), cwd=props(t).get("WORKING_DIRECTORY"),
                       capture_output=True, text=True, timeout=300)
    ran = r.returncode if "SKIP:" not in r.stdout and " passed, 0 failed" in r.stdout else -1
    print(f"ran interop/test_boot: {ran}")
PY
cat "$T/check.out"
read -r _ owned interop < <(grep '^counted ' "$T/check.out")
default=$(sed -n 's/^default //p' "$T/check.out")
check "no check failed" test "$(grep -c '^FAIL' "$T/check.out")" -eq 0
check "owned tests listed (${owned:-0})" test "${owned:-0}" -ge 40
check "interop tests listed (${interop:-0})" test "${interop:-0}" -ge 10

# Positive control: where the build's interop directory has the files, an
# interop test runs (and passes) instead of skipping.
if [ -n "${default:-}" ] && [ -d "$default/esp-images" ]; then
    check "with the files, interop/test_boot runs" has "$T/check.out" "ran interop/test_boot: 0"
else
    echo "(no interop files at '${default:-}': positive control not run)"
fi

# Nothing in the tests reaches beside the repository.
if grep -rnE '\.\./shared|/work/' "$OTA32_SRC/tests" --include='*.c' --include='*.h' \
    --include='*.sh' --include='*.py' --include='CMakeLists.txt' |
    grep -v '^[^:]*/self_contained\.sh:' >"$T/grep.out"; then
    ko "test sources refer to a directory beside the repository" "$T/grep.out"
else
    ok "no test source refers to a directory beside the repository"
fi
# Only tests/interop asks for the interop files.
if grep -rln 'need_interop\|INTEROP_DIR' "$OTA32_SRC/tests/cli" "$OTA32_SRC/tests/e2e" \
    | grep -v '/self_contained\.sh$' >"$T/grep2.out"; then
    ko "scripts outside tests/interop use the interop files" "$T/grep2.out"
else
    ok "only tests/interop uses the interop files"
fi

finish
