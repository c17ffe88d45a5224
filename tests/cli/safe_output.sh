#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Writing output never destroys what was there: a regular file is replaced
# only when complete, devices, FIFOs and '-' are written through, a symlink's
# target is written (not the link), a write error is an error with the
# system's reason and leaves nothing partial, printing to a full stdout fails,
# and a failed command leaves no half-made output. Device nodes are made in
# the scratch directory (mknod, as root), never the system's own.
set -uo pipefail
# shellcheck source=../lib/check.sh
. "$(dirname "$0")/../lib/check.sh"
: "${OTA32:?}" "${OTA32_SRC:?}"
scratch
cd "$T" || exit 1

"$OTA32" part gen "$OTA32_SRC/partitions.csv" pt.bin >/dev/null
"$OTA32" image make --version v1 --project out --size 0x20000 -o app.bin >/dev/null
check "inputs made" test -s pt.bin -a -s app.bin

# only the files a test made: no temporary file left behind
listing() { find . -maxdepth 1 -name '.*' ! -name . | sort; }
check "no hidden files at start" eq "$(listing)" ""

# ---- a symlink keeps being a symlink; its target gets the bytes ------------------
mkdir real
printf 'old' >real/table.bin
ln -s real/table.bin link.bin
check "part gen through a symlink" "$OTA32" part gen "$OTA32_SRC/partitions.csv" link.bin
check "the link is still a link" test -L link.bin
check "its target has the table" cmp real/table.bin pt.bin

# ---- a regular file: replaced when complete, kept when the command fails ---------------
printf 'keep me' >out.bin
printf 'nvs, data, nvs, 0x9000, 0x6000\nbroken line here\n' >bad.csv
"$OTA32" part gen bad.csv out.bin >/dev/null 2>&1
check "failed part gen: exit 1" eq "$?" 1
check "failed part gen: old file kept" eq "$(cat out.bin)" "keep me"
check "failed part gen: no temporary file" eq "$(listing)" ""
chmod 0640 out.bin
check "part gen over a file" "$OTA32" part gen "$OTA32_SRC/partitions.csv" -o out.bin
check "replaced with the table" cmp out.bin pt.bin
check "mode kept" eq "$(stat -c %a out.bin)" 640

# ---- '-' is standard output, FIFOs are written through -----------------------------
"$OTA32" part gen "$OTA32_SRC/partitions.csv" - >stdout.bin
check "-o - writes standard output" cmp stdout.bin pt.bin
mkfifo fifo
cat fifo >from_fifo.bin &
reader=$!
check "part gen into a FIFO" "$OTA32" part gen "$OTA32_SRC/partitions.csv" fifo
wait "$reader"
check "the reader got the table" cmp from_fifo.bin pt.bin
check "the FIFO is still a FIFO" test -p fifo

# ---- devices: written through, never replaced; write errors say why ------------------------
if [ "$(id -u)" = 0 ] && mknod null c 1 3 2>/dev/null && mknod full c 1 7 2>/dev/null; then
  "$OTA32" merge -o null 0x20000 app.bin >m.out 2>&1
  check "merge -o null device: exit 0" eq "$?" 0
  check "the null device is still a device" test -c null
  "$OTA32" merge -o full 0x20000 app.bin >m.out 2>&1
  check "merge -o full device: exit 1" eq "$?" 1
  check "merge -o full device: the system's reason" has m.out "full: No space left on device"
  check "merge -o full device: no success line" hasnt_i m.out "Wrote"
  check "the full device is still a device" test -c full
  "$OTA32" nvs gen <(printf 'key,type,encoding,value\nns,namespace,,\n') full 0x3000 >n.out 2>&1
  check "nvs gen to a full device: exit 1" eq "$?" 1
  check "nvs gen to a full device: reason" has n.out "No space left on device"
  "$OTA32" image make --version v --project p --size 0x20000 -o full >i.out 2>&1
  check "image make to a full device: exit 1" eq "$?" 1
  # fetch -o onto a device: the body goes through, the node stays
  "$OTA32" serve app.bin --port 0 --bind 127.0.0.1 --json --quiet >serve.json 2>/dev/null &
  PID=$!
  for _ in $(seq 100); do [ -s serve.json ] && break; sleep 0.1; done
  port=$(sed -n 's/.*"port": *\([0-9]*\).*/\1/p' serve.json)
  check "fetch -o null device" "$OTA32" fetch "http://127.0.0.1:$port/app.bin" -o null -q
  check "the null device is still a device after fetch" test -c null
  "$OTA32" fetch "http://127.0.0.1:$port/app.bin" -o full -q >f.out 2>&1
  check "fetch -o full device: exit 1" eq "$?" 1
  check "fetch -o full device: reason" has f.out "No space left on device"
  printf 'old body' >body.bin
  "$OTA32" fetch "http://127.0.0.1:$port/missing.bin" -o body.bin -q >/dev/null 2>&1
  check "failed fetch: exit 1" eq "$?" 1
  check "failed fetch: old file kept" eq "$(cat body.bin)" "old body"
  kill "$PID" 2>/dev/null
  wait "$PID" 2>/dev/null
  PID=
  rm -f null full
else
  echo "SKIP: device nodes need root (mknod)"
fi

# ---- printing to a full standard output fails -------------------------------------------
"$OTA32" image info app.bin >/dev/full 2>info.err
check "image info > /dev/full: exit 1" eq "$?" 1
check "image info > /dev/full: reason" has info.err "standard output: No space left on device"
"$OTA32" image info app.bin >/dev/null
check "image info > /dev/null: exit 0 (control)" eq "$?" 0
"$OTA32" merge -o merged.bin 0x8000 pt.bin 0x20000 app.bin >/dev/null
"$OTA32" flash inspect merged.bin >/dev/full 2>/dev/null
check "flash inspect > /dev/full: exit 1" eq "$?" 1
"$OTA32" flash inspect merged.bin --json >/dev/full 2>/dev/null
check "flash inspect --json > /dev/full: exit 1" eq "$?" 1
"$OTA32" part gen "$OTA32_SRC/partitions.csv" - >/dev/full 2>/dev/null
check "part gen - > /dev/full: exit 1" eq "$?" 1

# ---- a failed command leaves no half-made output -------------------------------------------
# a merged image (a table at 0x8000) of 2 MB for a 1 MB flash
"$OTA32" merge -o big.bin --pad-to-size 2MB 0x8000 pt.bin >/dev/null
"$OTA32" device flash new.flash big.bin --flash-size 1MB >df.out 2>&1
check "device flash too big: exit 1" eq "$?" 1
check "device flash too big: no device file left" test ! -e new.flash
check "device flash too big: says why" has df.out "do not fit"
check "device flash: control" "$OTA32" device flash new.flash merged.bin --flash-size 4MB
check "device flash: a 4 MB device" eq "$(stat -c %s new.flash)" $((4 * 1024 * 1024))
"$OTA32" device create dev.flash --partitions "$OTA32_SRC/partitions.csv" --app big.bin >dc.out 2>&1
check "device create with a bad app: exit 1" eq "$?" 1
check "device create with a bad app: no device file" test ! -e dev.flash
cp new.flash keep.flash
"$OTA32" device create keep.flash --partitions "$OTA32_SRC/partitions.csv" --app app.bin >/dev/null 2>&1
check "device create over a device without --force: refused" eq "$?" 1
check "device create: the old device untouched" cmp keep.flash new.flash
check "no temporary files left" eq "$(listing)" ""

finish
