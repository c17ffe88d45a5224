#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The URLs `ota32 serve` prints for devices: on a wildcard bind, one per
# private LAN IPv4 address of the machine (10/8, 172.16/12, 192.168/16),
# never loopback or public ones while private ones exist; the service block
# uses one of them, or --public-url; without a private address, the other
# addresses, naming the one used; and each works from the network. Runs in a private network namespace with a
# veth pair carrying private and public addresses, so the test does not
# depend on (or touch) the machine's own interfaces.
set -u
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
OTA32=${OTA32:?path to the ota32 tool}
need_tools ip unshare curl

if [ -z "${OTA32_IN_NETNS:-}" ]; then
    if ! unshare -n true 2>/dev/null; then
        skip "cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)"
    fi
    exec unshare -n env OTA32_IN_NETNS=1 bash "$0" "$@"
fi

scratch
APP=$T/app-esp32.bin
test_app "$APP" || { ko "ota32 image make"; finish; }
ip link set lo up
ip link add v0 type veth peer name v1 || { echo "FAIL: cannot create a veth pair"; exit 1; }
ip addr add 192.168.77.5/24 dev v0
ip addr add 203.0.113.9/24 dev v0 # public (TEST-NET-3)
ip addr add 10.20.30.40/8 dev v1
ip addr add 172.16.5.6/12 dev v1
ip addr add 172.32.0.1/16 dev v1 # just outside 172.16/12
ip link set v0 up
ip link set v1 up

# serve_wild ARGS...: start `ota32 serve ARGS` on all addresses, port chosen
# by the system; waits for its banner, sets PID and PORT.
serve_wild() {
    "$OTA32" serve "$@" --port 0 >"$T/out" 2>"$T/err" &
    PID=$!
    for _ in $(seq 100); do
        grep -q "ready (Ctrl-C stops)" "$T/out" && break
        sleep 0.1
    done
    PORT=$(sed -n 's|.*listening on http://0\.0\.0\.0:\([0-9]*\) .*|\1|p' "$T/out")
    [ -n "$PORT" ]
}

check "server started on all addresses" serve_wild "$APP"
F=app-esp32.bin
for a in 192.168.77.5 10.20.30.40 172.16.5.6; do
    check "URL for $a" has_i "$T/out" "  http://$a:$PORT/$F"
    curl -sS --http2-prior-knowledge --max-time 20 -o "$T/got.bin" "http://$a:$PORT/$F"
    check "download through $a" cmp -s "$T/got.bin" "$APP"
done
for a in 127.0.0.1 203.0.113.9 172.32.0.1 0.0.0.0; do
    check "no URL for $a" hasnt_i "$T/out" "http://$a:$PORT/$F"
done
check "no warning when LAN addresses exist" hasnt_i "$T/out" "no private LAN IPv4 address"
check "service block points at a LAN URL" python3 - "$T/out" "$PORT" "$F" <<'PY'
import json, re, sys
out, port, name = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
block = json.loads(out[out.index("{"):out.rindex("}") + 1])
url = block["attributes"]["url"]
assert re.fullmatch(r"http://(10\.20\.30\.40|172\.16\.5\.6|192\.168\.77\.5):%s/%s" % (port, re.escape(name)), url), url
assert block["model"] == "ota_service" and block["name"] == "OTA", block
PY
check "stops cleanly" stop_server

# --public-url: the service block uses it, and the banner says so.
check "server started with --public-url" serve_wild "$APP" --public-url http://fw.example.net:8080/ota/
check "service block uses --public-url" python3 - "$T/out" "$F" <<'PY'
import json, sys
out, name = open(sys.argv[1]).read(), sys.argv[2]
block = json.loads(out[out.index("{"):out.rindex("}") + 1])
assert block["attributes"]["url"] == "http://fw.example.net:8080/ota/" + name, block
PY
check "banner names the URL used" has_i "$T/out" "the service block uses --public-url http://fw.example.net:8080/ota/"
check "LAN URLs still listed" has_i "$T/out" "  http://192.168.77.5:$PORT/$F"
check "stops cleanly with --public-url" stop_server
rc=0; "$OTA32" serve "$APP" --public-url ftp://x/ >/dev/null 2>"$T/err" || rc=$?
check "--public-url that is not http(s): usage error" eq "$rc" 2

# No private address left: the machine's other addresses are offered, the
# banner says which one the service block uses, and it works from the
# network.
ip addr flush dev v0
ip addr flush dev v1
ip addr add 203.0.113.9/24 dev v0
ip addr add 198.51.100.7/24 dev v1
check "server started without a LAN address" serve_wild "$APP"
USED=$(sed -n 's/.*no private LAN IPv4 address found; the service block uses \([0-9.]*\), this machine.s first address besides loopback (2 found.*/\1/p' "$T/out")
check "says there is no private address, and which of the two it uses" \
    grep -qxE '203\.0\.113\.9|198\.51\.100\.7' <<<"$USED"
check "points at --public-url" has_i "$T/out" "--public-url"
for a in 203.0.113.9 198.51.100.7; do
    check "URL for $a" has_i "$T/out" "  http://$a:$PORT/$F"
    curl -sS --http2-prior-knowledge --max-time 20 -o "$T/got.bin" "http://$a:$PORT/$F"
    check "download through $a" cmp -s "$T/got.bin" "$APP"
done
check "no loopback URL" hasnt_i "$T/out" "http://127.0.0.1:$PORT/$F"
check "service block uses the address named" python3 - "$T/out" "$PORT" "$F" "$USED" <<'PY'
import json, sys
out, port, name, used = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3], sys.argv[4]
block = json.loads(out[out.index("{"):out.rindex("}") + 1])
assert block["attributes"]["url"] == "http://%s:%s/%s" % (used, port, name), block
PY
check "stops cleanly again" stop_server

# Nothing but loopback: devices cannot reach the machine; 127.0.0.1 is
# shown for local testing, with the --public-url hint.
ip addr flush dev v0
ip addr flush dev v1
check "server started with loopback only" serve_wild "$APP"
check "says devices cannot reach it" has_i "$T/out" \
    "no network address besides loopback: devices cannot reach this machine"
check "falls back to 127.0.0.1" has_i "$T/out" "  http://127.0.0.1:$PORT/$F"
check "hints at --public-url" has_i "$T/out" "(--public-url sets the URL devices use)"
check "stops cleanly at last" stop_server

finish
