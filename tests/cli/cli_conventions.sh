#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# One command-line convention for every command: its own --help, --opt=value,
# --, --version listed, --json with the same field names for the same things,
# one name and one default for one setting, the man page and bash completion
# written from the option tables and installed by `make install`. Inputs are
# made here with ota32 itself.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}" "${OTA32_SRC:?}"
scratch
cd "$T" || exit 1

# ---- inputs ---------------------------------------------------------------
"$OTA32" part gen "$OTA32_SRC/partitions.csv" pt.bin >/dev/null
"$OTA32" image make --version v1 --project conv --size 0x20000 -o app.bin >/dev/null
printf 'key,type,encoding,value\nVIAM_NS,namespace,,\nOTA_VERSION,data,string,v1\nTRIES,data,u32,3\n' >nvs.csv
"$OTA32" nvs gen nvs.csv nvs.bin 0x6000 >/dev/null
"$OTA32" merge -o merged.bin 0x8000 pt.bin 0x9000 nvs.bin 0x20000 app.bin >/dev/null
head -c 8192 /dev/zero | tr '\0' '\377' >od.bin
"$OTA32" otadata switch od.bin 1 >/dev/null
check "inputs made" test -s pt.bin -a -s app.bin -a -s nvs.bin -a -s merged.bin

# ---- every command has its own --help ---------------------------------------
for c in "part gen" "part show" "image info" "image verify" "image make" "image elf2image" \
  "nvs gen" "nvs dump" "nvs get" "otadata show" "otadata switch" "otadata mark" "merge" \
  "flash inspect" "device create" "device flash" "device boot" "device run" "fetch" "serve"; do
  # shellcheck disable=SC2086 # the command's words
  "$OTA32" $c --help >help.out 2>&1
  rc=$?
  if [ $rc -eq 0 ] && head -n1 help.out | grep -q "^usage: ota32 $c " &&
    grep -q -- "--help" help.out && ! grep -q "<command>" help.out; then
    ok "$c --help"
  else
    ko "$c --help (exit $rc)" help.out
  fi
  # shellcheck disable=SC2086
  "$OTA32" $c --no-such-option >err.out 2>&1
  rc=$?
  if [ $rc -eq 2 ] && grep -q "ota32 $c: unknown option '--no-such-option'" err.out; then
    ok "$c: unknown option"
  else ko "$c: unknown option (exit $rc)" err.out; fi
done
"$OTA32" --help >top.out
check "--version listed" grep -q -- "--version" top.out
check "--version" grep -qE '^ota32 [0-9]+\.[0-9]+' <("$OTA32" --version)
# a group's help when no command is named, and a bad command named
"$OTA32" nvs >g.out 2>&1
check "group without a command: usage error" eq "$?" 2
check "group help lists commands" grep -q "ota32 nvs dump FILE" g.out

# ---- --opt=value and -- ----------------------------------------------------------
check "--offset=VALUE" eq "$("$OTA32" nvs get merged.bin VIAM_NS TRIES --offset=0x9000 --size=0x6000)" 3
check "--offset VALUE" eq "$("$OTA32" nvs get merged.bin VIAM_NS TRIES --offset 0x9000 --size 0x6000)" 3
cp pt.bin ./-dash.bin
check "-- ends the options" "$OTA32" part show --csv -- -dash.bin
"$OTA32" part show --csv -dash.bin >/dev/null 2>&1
check "without --, -dash.bin is an option" eq "$?" 2
check "--flag=value refused" test "$("$OTA32" image info app.bin --json=yes >/dev/null 2>&1; echo $?)" = 2
check "esptool spelling --flash_mode=dio" "$OTA32" merge -o m2.bin --flash_mode=dio 0x20000 app.bin

# ---- --json on every command that reports, one set of field names ---------------------
json_ok() { # NAME FILE PYTHON-ASSERTIONS (j is the document)
  if python3 -c "import json,sys; j=json.load(open(sys.argv[1])); $3" "$2" >py.out 2>&1; then
    ok "$1"
  else ko "$1" py.out; cat "$2" >>py.out; fi
}
"$OTA32" image verify app.bin --json >v.json
json_ok "image verify --json" v.json \
  'assert j["ok"] is True and j["kind"] == "app" and j["app"]["version"] == "v1" and j["image_len"] == 0x20000, j'
"$OTA32" otadata show od.bin --json >o.json
json_ok "otadata show --json" o.json \
  'assert j["active"] == 0 and j["boots"] == "ota_1" and j["copies"][0]["seq"] == 2 and j["copies"][1]["blank"], j'
"$OTA32" nvs dump nvs.bin --json >d.json
json_ok "nvs dump --json" d.json \
  'i = {x["key"]: x for x in j["items"]}; assert i["OTA_VERSION"] == {"namespace": "VIAM_NS", "key": "OTA_VERSION", "type": "string", "value": "v1"} and i["TRIES"]["value"] == 3, j'
"$OTA32" nvs get nvs.bin VIAM_NS OTA_VERSION --json >g.json
json_ok "nvs get --json" g.json 'assert j["value"] == "v1" and j["type"] == "string", j'
"$OTA32" merge -o m.bin --json 0x8000 pt.bin 0x20000 app.bin >m.json
json_ok "merge --json" m.json \
  'assert j["output"] == "m.bin" and j["size"] == 0x40000 and [i["offset"] for i in j["inputs"]] == [0x8000, 0x20000], j'
"$OTA32" part show pt.bin --json >p.json
"$OTA32" flash inspect merged.bin --json >f.json
if python3 - p.json f.json >same.out 2>&1 <<'EOF'; then ok "part show and flash inspect: the same partition fields"; else ko "same partition fields" same.out; fi
import json, sys
p = json.load(open(sys.argv[1]))["partitions"]
f = json.load(open(sys.argv[2]))["partition_table"]["partitions"]
assert p == f, (p, f)
assert p[0]["label"] == "nvs" and p[0]["type_name"] == "data", p[0]
EOF
"$OTA32" device create dev.flash --partitions "$OTA32_SRC/partitions.csv" --app app.bin >/dev/null
"$OTA32" device boot dev.flash --json >b.json
json_ok "device boot --json" b.json 'assert j["partition"] == "ota_0" and j["app"]["version"] == "v1", j'

# serve --json: one line with the port and URLs; fetch --json reads from it
"$OTA32" serve app.bin --port 0 --bind 127.0.0.1 --json --quiet >serve.json 2>serve.err &
PID=$!
for _ in $(seq 100); do [ -s serve.json ] && break; sleep 0.1; done
check "serve --json: one line" eq "$(wc -l <serve.json)" 1
check "serve --json: text went to stderr" grep -q "listening on http://127.0.0.1:" serve.err
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' serve.json 2>/dev/null)
json_ok "serve --json: port and URL" serve.json \
  "assert j['port'] == $port and j['files'][0]['urls'] == ['http://127.0.0.1:$port/app.bin'] and j['files'][0]['version'] == 'v1', j"
"$OTA32" fetch "http://127.0.0.1:$port/app.bin" --verify-image --json -o got.bin >fe.json
json_ok "fetch --json" fe.json \
  'assert j["status"] == 200 and j["bytes"] == 0x20000 and j["image"]["app"]["version"] == "v1", j'
check "fetch -o wrote the body" cmp got.bin app.bin
# fetch on a terminal shows progress (on stderr); piped it does not
script -qec "'$OTA32' fetch http://127.0.0.1:$port/app.bin -o tty.bin" /dev/null >tty.out 2>&1
check "fetch on a terminal: progress line" grep -q "100% 0.1/0.1 MB" tty.out
"$OTA32" fetch "http://127.0.0.1:$port/app.bin" -o pipe.bin >pipe.out 2>&1
check "fetch piped: no progress line" hasnt_i pipe.out "100% 0.1"
# one name and one default: --stall-timeout (old --stall still read), a 64K window
check "fetch --stall-timeout" "$OTA32" fetch "http://127.0.0.1:$port/app.bin" --stall-timeout 5 -q
check "fetch --stall (old name)" "$OTA32" fetch "http://127.0.0.1:$port/app.bin" --stall 5 -q
kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
"$OTA32" fetch --help >fh.out
"$OTA32" device run --help >rh.out
check "fetch window default 64K" grep -q "default 64K" fh.out
check "device run window default 64K" grep -q "default 64K" rh.out
check "fetch: --stall-timeout" grep -q -- "--stall-timeout SECONDS" fh.out
check "device run: --stall-timeout" grep -q -- "--stall-timeout SECONDS" rh.out
check "device run: --json and -o" grep -q -- "-o, --output FILE" rh.out

# ---- Ctrl-C on device run: the summary, and the JSON summary written ---------------
printf '{"services":[]}\n' >idle.json
"$OTA32" device run dev.flash --config idle.json --poll 60 -o sum.json >run.out 2>run.err &
PID=$!
for _ in $(seq 100); do grep -q "boot 1" run.err 2>/dev/null && break; sleep 0.1; done
sleep 0.3
kill -INT "$PID"
wait "$PID"
rc=$?
check "Ctrl-C: exit 130" eq "$rc" 130
check "Ctrl-C: summary printed" grep -q "result: interrupted" run.out
json_ok "Ctrl-C: JSON summary written" sum.json 'assert j["result"] == "interrupted" and j["boots"] == 1, j'
PID=

# ---- man page and bash completion, installed by make install ---------------------------
if cmake --install "${OTA32_BUILD:?}" --prefix "$T/prefix" >install.out 2>&1; then
  ok "install"
else ko "install" install.out; fi
check "installed: binary" test -x "$T/prefix/bin/ota32"
MAN=$T/prefix/share/man/man1/ota32.1
check "installed: man page" test -s "$MAN"
check "man page renders without warnings" eq "$(groff -man -ww -z "$MAN" 2>&1 | head -3)" ""
check "man page: a section per command" eq "$(grep -c '^\.SS "ota32 ' "$MAN")" 23
check "man page: option of a command" grep -q 'stall\\-timeout' "$MAN"
COMP=$T/prefix/share/bash-completion/completions/ota32
check "installed: completion" test -s "$COMP"
complete_words() {
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ota32; echo "${COMPREPLY[*]}"' \
    _ "$COMP" "$@"
}
check "completion: commands" eq "$(complete_words ota32 ot)" "otadata"
check "completion: subcommands" eq "$(complete_words ota32 nvs d)" "dump"
check "completion: options" eq "$(complete_words ota32 fetch --stall)" "--stall-timeout"
check "completion: choices" eq "$(complete_words ota32 merge --flash-mode d)" "dio dout"

finish
