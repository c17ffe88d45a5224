#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# `ota32 fetch` against misbehaving HTTP/2 peers, scripted here in Python
# with hand-built frames: a server that never answers, one that stalls after
# the headers, drops the connection or resets the stream mid-body, answers a
# range request from the wrong offset, and a TLS server without ALPN.
set -uo pipefail
# shellcheck source=../lib/peers.sh
. "$(dirname "$0")/../lib/peers.sh"
OTA32=${OTA32:?path to the ota32 tool}
need_tools python3 openssl
scratch

cat >"$T/h2peer.py" <<'EOF'
# A scripted HTTP/2 server: prints its port, then serves each connection
# according to MODE. Frames are built by hand (RFC 9113 section 4.1).
import socket, ssl, struct, sys, threading, time

mode = sys.argv[1]
cert = sys.argv[2] if len(sys.argv) > 2 else None
key = sys.argv[3] if len(sys.argv) > 3 else None

def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload

SETTINGS = frame(4, 0, 0)
SETTINGS_ACK = frame(4, 1, 0)

def literal(index, value):
    # Literal header field without indexing, name from the static table
    # (RFC 7541 6.2.2), value as a plain string (shorter than 127 bytes).
    out = bytes([0x0F, index - 15]) if index >= 15 else bytes([index])
    return out + bytes([len(value)]) + value

def headers(status_index, extra=b"", end_stream=False):
    # status_index: HPACK static table 8 = ":status: 200", 10 = 206.
    block = bytes([0x80 | status_index]) + extra
    return frame(1, 0x4 | (0x1 if end_stream else 0), 1, block)

CONTENT_LENGTH = 28
CONTENT_RANGE = 30

def read_request(conn):
    # The client preface, SETTINGS and HEADERS come in one flight; read until
    # the HEADERS frame of stream 1 has been seen.
    buf = b""
    deadline = time.time() + 5
    while time.time() < deadline:
        conn.settimeout(0.5)
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            return buf
        buf += chunk
        pos = 24
        while pos + 9 <= len(buf):
            length = int.from_bytes(buf[pos:pos + 3], "big")
            if buf[pos + 3] == 1:
                return buf
            pos += 9 + length
    return buf

def serve(conn):
    try:
        if mode == "silent":
            time.sleep(30)
            return
        read_request(conn)
        conn.sendall(SETTINGS + SETTINGS_ACK)
        if mode == "stall":
            conn.sendall(headers(8, literal(CONTENT_LENGTH, b"100000")))
            time.sleep(30)
        elif mode in ("drop", "reset"):
            conn.sendall(headers(8, literal(CONTENT_LENGTH, b"100000")))
            for _ in range(3):
                conn.sendall(frame(0, 0, 1, b"x" * 4000))
            time.sleep(0.2)
            if mode == "drop":
                # An orderly close (FIN, not RST): stop sending, drain.
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(5)
                while conn.recv(65536):
                    pass
            if mode == "reset":
                conn.sendall(frame(3, 0, 1, struct.pack(">I", 2)))  # INTERNAL_ERROR
                time.sleep(5)
        elif mode == "badrange":
            conn.sendall(headers(10, literal(CONTENT_LENGTH, b"95") +
                                 literal(CONTENT_RANGE, b"bytes 5-99/100")))
            conn.sendall(frame(0, 1, 1, b"y" * 95))
            time.sleep(1)
        elif mode == "tls-noalpn":
            conn.sendall(headers(8, literal(CONTENT_LENGTH, b"0"), end_stream=True))
            time.sleep(1)
    except OSError:
        pass
    finally:
        conn.close()

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
ctx = None
if mode == "tls-noalpn":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    if ctx:
        try:
            conn = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            continue
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
EOF

start_peer() { # mode [cert key] -> sets PORT
  python3 "$T/h2peer.py" "$@" >"$T/peer.$1" 2>"$T/peer.$1.err" &
  PIDS+=($!)
  PORT=""
  for _ in $(seq 1 50); do
    PORT=$(head -n1 "$T/peer.$1" 2>/dev/null)
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "peer $1 did not start"; cat "$T/peer.$1.err"
}

elapsed_ok() { # start-ms min-s max-s
  local now d
  now=$(date +%s%3N)
  d=$((now - $1))
  [ "$d" -ge $(($2 * 1000)) ] && [ "$d" -le $(($3 * 1000)) ]
}

start_peer silent
t0=$(date +%s%3N)
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin" --stall 2 >"$T/out" 2>&1 &&
  grep -q "no data for 2 s from http://127.0.0.1:$PORT/fw.bin (waiting for the response)" "$T/out" &&
  elapsed_ok "$t0" 2 6; then
  ok "silent server: stall timeout after 2 s"
else ko "silent server: stall timeout" "$T/out"; fi
t0=$(date +%s%3N)
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin" --timeout 2 >"$T/out" 2>&1 &&
  grep -q "deadline passed during download from http://127.0.0.1:$PORT/fw.bin" "$T/out" &&
  elapsed_ok "$t0" 1 6; then
  ok "silent server: overall deadline"
else ko "silent server: overall deadline" "$T/out"; fi

start_peer stall
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin?sig=SECRET" --stall 2 >"$T/out" 2>&1 &&
  grep -q "no data for 2 s from http://127.0.0.1:$PORT/fw.bin?<redacted> after 0 body bytes" "$T/out" &&
  ! grep -q SECRET "$T/out"; then
  ok "headers then silence: stall timeout"
else ko "headers then silence: stall timeout" "$T/out"; fi

start_peer drop
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin" -o "$T/drop.bin" >"$T/out" 2>&1 &&
  grep -q "connection closed after 12000 of 100000 body bytes" "$T/out" &&
  grep -q "12000 body bytes received before the failure" "$T/out" && [ ! -e "$T/drop.bin" ]; then
  ok "drop mid-body: network error after 12000 bytes, no output file"
else ko "drop mid-body" "$T/out"; fi

start_peer reset
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin" >"$T/out" 2>&1 &&
  grep -q "stream reset (INTERNAL_ERROR) after 12000 of 100000 body bytes" "$T/out"; then
  ok "RST_STREAM mid-body: network error after 12000 bytes"
else ko "RST_STREAM mid-body" "$T/out"; fi

start_peer badrange
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin" --range 10 >"$T/out" 2>&1 &&
  grep -q "server answered 206 from byte 5, 10 was requested" "$T/out"; then
  ok "206 from the wrong offset refused"
else ko "206 from the wrong offset refused" "$T/out"; fi

# A TLS server that completes the handshake without selecting h2.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 \
  -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
start_peer tls-noalpn "$T/c.pem" "$T/k.pem"
if ! "$OTA32" fetch "https://127.0.0.1:$PORT/fw.bin" --ca "$T/c.pem" >"$T/out" 2>&1 &&
  grep -q "127.0.0.1:$PORT does not speak HTTP/2 over TLS (ALPN selected nothing)" "$T/out"; then
  ok "TLS without ALPN refused"
else ko "TLS without ALPN refused" "$T/out"; fi

# Nobody listening.
PORT=$(free_port)
if ! "$OTA32" fetch "http://127.0.0.1:$PORT/fw.bin" >"$T/out" 2>&1 &&
  grep -q "cannot connect to 127.0.0.1 (127.0.0.1:$PORT): Connection refused" "$T/out"; then
  ok "connection refused named"
else ko "connection refused named" "$T/out"; fi

finish
