#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ota32 serve over plain TCP: h2c with prior knowledge (curl, nghttp) and the
# HTTP/1.1 fallback. Byte-exact downloads, ranges, validators, 404s and path
# confinement, a malformed preface, /config reloads, the access log, the idle
# timeout and a graceful SIGTERM.
set -u
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
quiet_checks
OTA32=${OTA32:?path to the ota32 tool}
scratch
APP=$T/app-esp32.bin
test_app "$APP" || { ko "ota32 image make"; finish; }
APP_SIZE=$(stat -c %s "$APP")

mkdir -p "$T/www/sub" "$T/outside"
cp "$APP" "$T/www/app.bin"
cp "$APP" "$T/www/sub/nested.bin"
echo "secret" >"$T/outside/secret.txt"
ln -s "$T/outside/secret.txt" "$T/www/escape.bin"
ln -s /etc/passwd "$T/www/passwd"
ln -s "$T/outside" "$T/www/outdir"
ln -s app.bin "$T/www/alias.bin" # a link that stays inside is served
cat >"$T/machine.json" <<'JSON'
{"services":[{"name":"OTA","namespace":"rdk","type":"generic","model":"ota_service",
"attributes":{"url":"http://127.0.0.1/app.bin","version":"1"}}]}
JSON

# (h2load below opens 40 connections from one address: above the default
# per-client limit of 32)
start_server "$APP" --dir "$T/www" --config "$T/machine.json" --idle-timeout 2 \
    --max-conns-per-client 64 || exit 1
U=http://127.0.0.1:$PORT
H2="curl -sS --http2-prior-knowledge --max-time 20"
H1="curl -sS --http1.1 --max-time 20"

# --- banner: URL and the service block ---
check "banner names the file URL" has_i "$T/out" "http://127.0.0.1:$PORT/app-esp32.bin"
sed -n '/^{/,/^}/p' "$T/out" >"$T/block.json"
check "service block parses and carries the app version" python3 -c '
import json, sys
b = json.loads(open(sys.argv[1]).read())
assert b["name"] == "OTA" and b["namespace"] == "rdk" and b["type"] == "generic", b
assert b["model"] == "ota_service", b
assert b["attributes"]["version"] == "1.0.0", b
assert b["attributes"]["url"].endswith(":%s/app-esp32.bin" % sys.argv[2]), b
' "$T/block.json" "$PORT"

# --- byte-exact downloads over h2c, nghttp and HTTP/1.1 ---
code=$($H2 -o "$T/h2.bin" -w '%{http_code} %{http_version}' "$U/app-esp32.bin")
check "h2c GET status/version" eq "$code" "200 2"
check "h2c GET bytes" cmp -s "$T/h2.bin" "$APP"
nghttp -n -s "$U/app.bin" >"$T/nghttp.txt" 2>&1
check "nghttp GET over h2c" has_i "$T/nghttp.txt" "200"
nghttp -d /dev/null -o "$T/ng" "$U/app.bin" >/dev/null 2>&1 || true
nghttp "$U/app.bin" >"$T/ng.bin" 2>/dev/null
check "nghttp bytes" cmp -s "$T/ng.bin" "$APP"
code=$($H1 -o "$T/h1.bin" -w '%{http_code} %{http_version}' "$U/app.bin")
check "HTTP/1.1 GET status/version" eq "$code" "200 1.1"
check "HTTP/1.1 bytes" cmp -s "$T/h1.bin" "$APP"
check "sha256 matches" eq "$(sha256sum <"$T/h1.bin")" "$(sha256sum <"$APP")"
$H2 -o "$T/nested.bin" "$U/sub/nested.bin"
check "file in a subdirectory of --dir" cmp -s "$T/nested.bin" "$APP"
$H2 -o "$T/alias.bin" "$U/alias.bin"
check "symlink inside --dir" cmp -s "$T/alias.bin" "$APP"

# --- ranges ---
for proto in "$H2" "$H1"; do
    $proto -D "$T/rh" -o "$T/r.bin" -r 100-199 "$U/app.bin"
    check "206 status ($proto)" has_i "$T/rh" " 206"
    check "206 Content-Range" has_i "$T/rh" "content-range: bytes 100-199/$APP_SIZE"
    check "206 Content-Length" has_i "$T/rh" "content-length: 100"
    check "206 body" cmp -s "$T/r.bin" <(tail -c +101 "$APP" | head -c 100)
    $proto -D "$T/rh" -o "$T/r.bin" -r -16 "$U/app.bin"
    check "suffix range body" cmp -s "$T/r.bin" <(tail -c 16 "$APP")
    check "suffix range header" has_i "$T/rh" "content-range: bytes $((APP_SIZE - 16))-$((APP_SIZE - 1))/$APP_SIZE"
    $proto -D "$T/rh" -o "$T/r.bin" -r "$((APP_SIZE - 10))-" "$U/app.bin"
    check "open range body" cmp -s "$T/r.bin" <(tail -c 10 "$APP")
    $proto -D "$T/rh" -o "$T/r.bin" -r "$APP_SIZE-" "$U/app.bin"
    check "416 status" has_i "$T/rh" " 416"
    check "416 Content-Range" has_i "$T/rh" "content-range: bytes */$APP_SIZE"
    $proto -D "$T/rh" -o "$T/r.bin" -r 0-1,10-20 "$U/app.bin"
    check "multi-range answered whole" has_i "$T/rh" " 200"
    check "multi-range body" cmp -s "$T/r.bin" "$APP"
done

# --- validators ---
$H2 -D "$T/h_a" -o /dev/null "$U/app.bin"
$H1 -D "$T/h_b" -o /dev/null "$U/app.bin"
etag=$(sed -n 's/^etag: *\(.*\)\r$/\1/ip' "$T/h_a")
lm=$(sed -n 's/^last-modified: *\(.*\)\r$/\1/ip' "$T/h_a")
check "ETag present" eq "${etag:0:1}" '"'
check "ETag stable across requests and protocols" has_i "$T/h_b" "etag: $etag"
check "Last-Modified present" has_i "$T/h_b" "last-modified: $lm"
check "Date present" grep -qiE '^date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT' "$T/h_b"
$H2 -D "$T/rh" -o "$T/r.bin" -r 0-9 -H "If-Range: $etag" "$U/app.bin"
check "If-Range ETag match -> 206" has_i "$T/rh" " 206"
check "If-Range match body" cmp -s "$T/r.bin" <(head -c 10 "$APP")
$H2 -D "$T/rh" -o "$T/r.bin" -r 0-9 -H 'If-Range: "0-0-0"' "$U/app.bin"
check "If-Range ETag mismatch -> 200" has_i "$T/rh" " 200"
check "If-Range mismatch sends everything" cmp -s "$T/r.bin" "$APP"
$H1 -D "$T/rh" -o "$T/r.bin" -r 0-9 -H "If-Range: $lm" "$U/app.bin"
check "If-Range date match -> 206" has_i "$T/rh" " 206"
$H1 -D "$T/rh" -o "$T/r.bin" -r 0-9 -H "If-Range: W/$etag" "$U/app.bin"
check "If-Range weak tag -> 200" has_i "$T/rh" " 200"
cp "$APP" "$T/www/changing.bin"
$H2 -D "$T/c1" -o /dev/null "$U/changing.bin"
touch -d '2001-01-01' "$T/www/changing.bin"
$H2 -D "$T/c2" -o /dev/null "$U/changing.bin"
e1=$(grep -i '^etag' "$T/c1")
e2=$(grep -i '^etag' "$T/c2")
check "ETag changes when the file changes" test "$e1" != "$e2"

# --- HEAD: headers, no body ---
$H2 -I "$U/app.bin" >"$T/head2"
check "h2 HEAD Content-Length" has_i "$T/head2" "content-length: $APP_SIZE"
nghttp -v -H ':method: HEAD' "$U/app.bin" >"$T/head2v" 2>&1
check "h2 HEAD: headers end the stream" grep -qE 'recv HEADERS frame <length=[0-9]+, flags=0x05' "$T/head2v"
check "h2 HEAD: no DATA frame" hasnt_i "$T/head2v" "recv DATA frame"
check "h2 HEAD: Content-Length" has_i "$T/head2v" "content-length: $APP_SIZE"
python3 - "$PORT" >"$T/head1.txt" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"HEAD /app.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
print(head.decode())
print("BODY-BYTES", len(body))
PY
check "HTTP/1.1 HEAD Content-Length" has_i "$T/head1.txt" "content-length: $APP_SIZE"
check "HTTP/1.1 HEAD has_i no body" has_i "$T/head1.txt" "BODY-BYTES 0"

# --- HTTP/1.1 keep-alive with pipelined requests ---
python3 - "$PORT" "$APP" >"$T/pipe.txt" <<'PY'
import socket, sys
app = open(sys.argv[2], "rb").read()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /app.bin HTTP/1.1\r\nHost: x\r\n\r\n"
          b"GET /app.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-3\r\n\r\n"
          b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(1 << 16)
    if not chunk:
        break
    data += chunk
def take(buf):
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    return head.split(b"\r\n")[0].decode(), rest[:n], rest[n:]
st1, b1, data = take(data)
st2, b2, data = take(data)
st3, b3, data = take(data)
print(st1, b1 == app)
print(st2, b2 == app[:4])
print(st3, len(data))
PY
check "pipelined 1: whole file" has_i "$T/pipe.txt" "HTTP/1.1 200 OK True"
check "pipelined 2: range" has_i "$T/pipe.txt" "HTTP/1.1 206 Partial Content True"
check "pipelined 3: 404, then closed" has_i "$T/pipe.txt" "HTTP/1.1 404 Not Found 0"

# --- 404 and confinement ---
code() { $1 --path-as-is -o "$T/body" -w '%{http_code}' "$2"; }
check "404 unknown" eq "$(code "$H2" "$U/nope.bin")" 404
check "404 root" eq "$(code "$H2" "$U/")" 404
check "404 ../etc/passwd (h2)" eq "$(code "$H2" "$U/../etc/passwd")" 404
check "404 ../etc/passwd (h1)" eq "$(code "$H1" "$U/../etc/passwd")" 404
check "404 sub/../../" eq "$(code "$H1" "$U/sub/../../outside/secret.txt")" 404
check "404 %2e%2e%2f" eq "$(code "$H2" "$U/%2e%2e%2fetc%2fpasswd")" 404
check "404 %2e%2e/" eq "$(code "$H1" "$U/%2e%2e/outside/secret.txt")" 404
check "404 %2F" eq "$(code "$H2" "$U/sub%2Fnested.bin")" 404
check "404 symlink out of --dir" eq "$(code "$H2" "$U/escape.bin")" 404
check "404 symlink to /etc/passwd" eq "$(code "$H1" "$U/passwd")" 404
check "404 through a linked directory" eq "$(code "$H2" "$U/outdir/secret.txt")" 404
check "404 a directory" eq "$(code "$H2" "$U/sub")" 404
check "404 hidden" eq "$(code "$H2" "$U/.bashrc")" 404
check "405 POST" eq "$($H1 -o /dev/null -w '%{http_code}' -X POST "$U/app.bin")" 405
check "no secret leaked" hasnt_i "$T/body" "secret"

# --- /config, re-read when it changes ---
$H2 -o "$T/cfg1" "$U/config"
check "/config served" cmp -s "$T/cfg1" "$T/machine.json"
sleep 0.05
printf '{"services":[],"changed":true}\n' >"$T/machine.json"
$H2 -o "$T/cfg2" "$U/config"
check "/config re-read after a change" cmp -s "$T/cfg2" "$T/machine.json"
printf '{broken' >"$T/machine.json"
$H2 -o "$T/cfg3" "$U/config"
check "/config keeps the last good version" has_i "$T/cfg3" '"changed":true'
check "/config warns about the bad version" has_i "$T/err" "not a JSON object"

# --- malformed prefaces: the server stays up ---
python3 - "$PORT" >"$T/preface.txt" <<'PY'
import socket, sys
port = int(sys.argv[1])
def talk(payload):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(payload)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        data += b"<timeout>"
    s.close()
    return data
# a broken preface is not HTTP/2, and not a valid HTTP/1.1 request either
r = talk(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
print("bad-preface:", r.split(b"\r\n")[0].decode(errors="replace"))
# a correct preface followed by garbage: GOAWAY (frame type 7)
r = talk(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x04\xff\xff\xff\xff\xff\xffjunk" * 4)
types = []
i = 0
while i + 9 <= len(r):
    n = int.from_bytes(r[i:i+3], "big")
    types.append(r[i+3])
    i += 9 + n
print("garbage-frames:", "goaway" if 7 in types else types)
# binary noise
r = talk(bytes(range(256)))
print("noise:", r.split(b"\r\n")[0].decode(errors="replace"))
PY
python3 - "$PORT" >"$T/abuse.txt" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
BLOCK = b"\x82\x86\x04\x08/app.bin\x01\x01x"  # GET http /app.bin, authority x
def frame(ftype, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload
def frames_until_close(s):
    data = b""
    try:
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return None
    except ConnectionResetError:
        pass
    out, i = [], 0
    while i + 9 <= len(data):
        n = int.from_bytes(data[i:i+3], "big")
        out.append((data[i+3], data[i+9:i+9+n]))
        i += 9 + n
    return out
# CONTINUATION flood: a header block that never ends
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(PREFACE + frame(1, 0x1, 1, BLOCK[:2]) + b"".join(frame(9, 0, 1) for _ in range(50)))
fr = frames_until_close(s)
print("continuation-flood:", "closed" if fr is not None else "open",
      "headers" if fr and any(t == 1 for t, _ in fr) else "no-response")
# rapid reset: open and cancel streams as fast as possible
s = socket.create_connection(("127.0.0.1", port), timeout=10)
burst = b"".join(frame(1, 0x5, 2 * i + 1, BLOCK) + frame(3, 0, 2 * i + 1, (8).to_bytes(4, "big"))
                 for i in range(400))
s.sendall(PREFACE + burst)
fr = frames_until_close(s)
codes = [int.from_bytes(p[4:8], "big") for t, p in (fr or []) if t == 7]
print("rapid-reset:", "goaway-%#x" % codes[-1] if codes else "no-goaway")
PY
check "CONTINUATION flood: connection dropped, nothing served" has_i "$T/abuse.txt" "continuation-flood: closed no-response"
check "rapid reset: GOAWAY ENHANCE_YOUR_CALM" has_i "$T/abuse.txt" "rapid-reset: goaway-0xb"
check "bad preface answered by HTTP/1.1 505" has_i "$T/preface.txt" "bad-preface: HTTP/1.1 505"
check "garbage frames answered with GOAWAY" has_i "$T/preface.txt" "garbage-frames: goaway"
check "noise answered 400" has_i "$T/preface.txt" "noise: HTTP/1.1 400"
$H2 -o "$T/after.bin" "$U/app.bin"
check "next client served after malformed ones" cmp -s "$T/after.bin" "$APP"

# --- many clients at once, several streams per connection ---
h2load -c 40 -n 160 -m 4 "$U/app.bin" >"$T/h2load.txt" 2>&1
check "h2load h2c: all succeeded" has_i "$T/h2load.txt" "160 succeeded, 0 failed, 0 errored, 0 timeout"
check "h2load h2c: all 200" has_i "$T/h2load.txt" "status codes: 160 2xx"
h2load --h1 -c 20 -n 60 "$U/app.bin" >"$T/h2load1.txt" 2>&1
check "h2load HTTP/1.1: all succeeded" has_i "$T/h2load1.txt" "60 succeeded, 0 failed, 0 errored, 0 timeout"
check "h2load moved every byte" has_i "$T/h2load.txt" "($((APP_SIZE * 160))) data"

# --- access log: one line per request, query redacted ---
$H2 -o /dev/null "$U/app.bin?X-Amz-Signature=TOPSECRET"
check "access log has_i protocol and status" grep -qE '"GET /app-esp32.bin" 200 '"$APP_SIZE"' [0-9]+ms h2c$' "$T/err"
check "access log for HTTP/1.1" grep -qE '"GET /app.bin" 206 100 [0-9]+ms http/1.1$' "$T/err"
check "query redacted" has_i "$T/err" '"GET /app.bin?<redacted>" 200'
check "query value not logged" hasnt_i "$T/err" "TOPSECRET"

# --- idle timeout (2 s here) ---
python3 - "$PORT" >"$T/idle.txt" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = time.time()
r = s.recv(1)
print("closed" if r == b"" else "data", round(time.time() - t))
PY
# a request head trickling in: cut off after the head deadline (here the
# 2 s idle timeout), although bytes keep arriving more often than that
python3 - "$PORT" >"$T/slow.txt" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = time.time()
s.sendall(b"GET /app.bin HTTP/1.1\r\n")
reply = b""
try:
    for i in range(40):
        time.sleep(0.25)
        s.sendall(b"X-Slow-%d: y\r\n" % i)
        s.settimeout(0.01)
        try:
            reply += s.recv(4096)
        except socket.timeout:
            pass
        s.settimeout(10)
        if reply:
            break
except (BrokenPipeError, ConnectionResetError):
    pass
print(reply.split(b"\r\n")[0].decode(), round(time.time() - t))
PY
check "slow request head answered 408" grep -qE '^HTTP/1.1 408 Request Timeout [234]$' "$T/slow.txt"
check "idle connection closed after the timeout" grep -qE '^closed [23]$' "$T/idle.txt"

check "server exits 0 on SIGTERM" stop_server
check "summary printed" grep -qE 'ota32 serve: stopped after [0-9.]+ s: [0-9]+ requests' "$T/out"

# --- SIGTERM finishes a transfer in flight, then prints a summary. A file
# larger than the socket buffers, read slowly, keeps the transfer open; it
# is not an app image, so it needs --force (which warns). ---
head -c $((24 << 20)) /dev/urandom >"$T/big.bin"
start_server "$T/big.bin" --force || exit 1
check "--force warns about a file that is not an app image" has_i "$T/err" "warning: not a valid app image"
# Clients that ask for the 24 MB file and never read: the server queues a
# bounded amount per connection (backpressure), not the file; and while they
# hang on, another client downloads the whole file.
PID_RSS() { awk '/^VmRSS:/{print $2}' "/proc/$PID/status"; }
rss0=$(PID_RSS)
python3 - "$PORT" "$T/stall-ready" "$T/stall-release" >"$T/stall.txt" <<'PY' &
import os, socket, sys, time
conns = []
for i in range(8):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    conns.append(s)
h2 = []
for i in range(8):  # and over h2c, with a huge window so only the socket stalls
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", int(sys.argv[1])))
    settings = b"\x00\x04\x7f\xff\xff\xff"                   # INITIAL_WINDOW_SIZE
    frame = len(settings).to_bytes(3, "big") + b"\x04\x00" + b"\x00\x00\x00\x00" + settings
    wu = b"\x00\x00\x04\x08\x00\x00\x00\x00\x00" + (0x7fffffff - 65535).to_bytes(4, "big")
    # HEADERS, END_STREAM|END_HEADERS, stream 1: :method GET, :scheme http,
    # :path /big.bin (literal, not indexed), :authority x
    block = b"\x82\x86" + b"\x04\x08/big.bin" + b"\x01\x01x"
    hdr = len(block).to_bytes(3, "big") + b"\x01\x05\x00\x00\x00\x01" + block
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame + wu + hdr)
    h2.append(s)
time.sleep(1)  # the server fills their sockets
open(sys.argv[2], "w").close()
deadline = time.time() + 30
while not os.path.exists(sys.argv[3]) and time.time() < deadline:
    time.sleep(0.05)
def alive(s):  # the server has not closed it (reading what is queued)
    s.setblocking(False)
    got = 0
    while got < (1 << 20):
        try:
            d = s.recv(65536)
        except BlockingIOError:
            return True
        if not d:
            return False
        got += len(d)
    return True
print("held", len(conns) + len(h2), "alive", sum(alive(s) for s in conns + h2))
PY
STALL=$!
for _ in $(seq 100); do [ -e "$T/stall-ready" ] && break; sleep 0.1; done
rss1=$(PID_RSS)
$H2 -o "$T/beside.bin" "http://127.0.0.1:$PORT/big.bin"
check "a client beside 16 stalled ones gets the whole file" cmp -s "$T/beside.bin" "$T/big.bin"
touch "$T/stall-release"
wait $STALL
check "16 stalled clients held, none dropped" has_i "$T/stall.txt" "held 16 alive 16"
check "stalled clients cost bounded memory ($(( (rss1 - rss0) / 1024 )) MB for 16 x 24 MB)" \
    test $((rss1 - rss0)) -lt $((48 * 1024))
curl -sS --http2-prior-knowledge --limit-rate 8M -o "$T/slow.bin" \
    "http://127.0.0.1:$PORT/big.bin" &
CURL=$!
sleep 0.7
rc=0
stop_server || rc=$?
crc=0
wait $CURL || crc=$?
check "server exits 0 after finishing" eq "$rc" 0
check "client transfer succeeded" eq "$crc" 0
check "transfer in flight completed byte for byte" cmp -s "$T/slow.bin" "$T/big.bin"
check "shutdown waited for the open connection" has_i "$T/err" "SIGTERM: finishing 1 open connections"
check "its request was logged when done" grep -qE '"GET /big.bin" 200 25165824 [0-9]+ms h2c$' "$T/err"

# --- a file rewritten in place while a slow client downloads it (what
# `cp new.bin served.bin` does): that download gets the version it started
# with, whole and unmixed, since responses are sent from the server's copy;
# the next request gets the new version under a new ETag. ---
head -c $((12 << 20)) /dev/urandom >"$T/live.bin"
cp "$T/live.bin" "$T/live-old.bin"
head -c $((12 << 20)) /dev/urandom >"$T/live-new.bin"
start_server "$T/live.bin" --force --quiet || exit 1
L=http://127.0.0.1:$PORT/live.bin
$H2 -D "$T/live-h1" -o /dev/null "$L"
curl -sS --http2-prior-knowledge --max-time 30 --limit-rate 6M -o "$T/live-got.bin" "$L" &
CURL=$!
sleep 0.5
dd if="$T/live-new.bin" of="$T/live.bin" bs=1M conv=notrunc status=none
crc=0
wait $CURL || crc=$?
check "download across an in-place rewrite succeeded" eq "$crc" 0
check "it holds the version it started with, byte for byte" cmp -s "$T/live-got.bin" "$T/live-old.bin"
$H2 -D "$T/live-h2" -o "$T/live-got2.bin" "$L"
check "the next download holds the new version" cmp -s "$T/live-got2.bin" "$T/live-new.bin"
check "under a new ETag" test "$(grep -i '^etag' "$T/live-h1")" != "$(grep -i '^etag' "$T/live-h2")"
check "server still up" stop_server

# --- a low descriptor limit: more clients than the server has descriptors
# for. It caps its connections (the rest wait in the backlog) rather than
# accepting sockets it cannot serve files on, and every client is served. ---
SERVE_NOFILE=40 start_server "$APP" --quiet
h2load -c 60 -n 120 -T 30 "http://127.0.0.1:$PORT/app-esp32.bin" >"$T/h2load.txt" 2>&1
check "60 clients on 40 descriptors: all served" has_i "$T/h2load.txt" "120 succeeded, 0 failed, 0 errored, 0 timeout"
check "the connection cap is announced" has_i "$T/out" "the open-file limit allows 9 connections at once"
check "descriptors never ran out" hasnt_i "$T/err" "Too many open files"
check "exits cleanly afterwards" stop_server

finish
