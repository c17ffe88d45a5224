#!/usr/bin/env python3
"""Abusive HTTP/2 (h2c, prior knowledge) clients for the server tests,
written with raw frames so that they can do what no well-behaved client
does. Loopback only; every mode is bounded in connections and in time.

  ping     CONNS connections, each from the next source address, that send
           only a PING every INTERVAL s (never a request); with --reconnect
           a connection the server closes is opened again.
  zerowin  CONNS connections that advertise a zero flow-control window and
           open STREAMS requests each (round-robin over PATHS): the server
           can send headers but not one body byte.

Both run for DURATION s (touching READY once everything is open), then
print one summary line of key=value pairs on stdout.
"""
import argparse
import ipaddress
import os
import selectors
import socket
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS, PING, GOAWAY = 0, 1, 4, 6, 7


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def settings(window=None, streams=None):
    body = b""
    if window is not None:
        body += struct.pack(">HI", 4, window)  # INITIAL_WINDOW_SIZE
    if streams is not None:
        body += struct.pack(">HI", 3, streams)
    return frame(SETTINGS, 0, 0, body)


def literal(name, value):
    """HPACK literal without indexing, new name, no Huffman."""
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request(stream, path, rng=None):
    # :method GET (static 2), :scheme http (static 6), :path and
    # :authority as literals with indexed names (static 4 and 1)
    block = b"\x82\x86" + b"\x04" + bytes([len(path)]) + path + b"\x01\x01x"
    if rng:
        block += literal(b"range", rng)
    return frame(HEADERS, 0x5, stream, block)  # END_STREAM | END_HEADERS


class Conn:
    def __init__(self, port, src, hello):
        self.sock = socket.socket()
        self.sock.bind((src, 0))
        self.sock.settimeout(5)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(PREFACE + hello)
        self.sock.setblocking(False)
        self.opened = time.monotonic()
        self.closed = None
        self.inbuf = b""
        self.statuses = []

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BlockingIOError, OSError):
            pass

    def pump(self):
        """Read what is there; False once the server closed."""
        while True:
            try:
                d = self.sock.recv(65536)
            except BlockingIOError:
                return True
            except OSError:
                d = b""
            if not d:
                self.closed = time.monotonic()
                self.sock.close()
                return False
            self.inbuf += d
            self.parse()

    def parse(self):
        while len(self.inbuf) >= 9:
            n = int.from_bytes(self.inbuf[:3], "big")
            if len(self.inbuf) < 9 + n:
                return
            ftype, flags = self.inbuf[3], self.inbuf[4]
            payload = self.inbuf[9:9 + n]
            self.inbuf = self.inbuf[9 + n:]
            if ftype == HEADERS and payload:
                # the server's first response uses the static table:
                # 0x88 = 200, 0x89 = 204, 0x8a = 206, 0x8c = 400, 0x8d = 404
                # 0x8e = 500; anything else is counted as "other"
                self.statuses.append({0x88: 200, 0x8a: 206, 0x8d: 404, 0x8e: 500}
                                     .get(payload[0], 0))
            elif ftype == SETTINGS and not flags & 1:
                self.send(frame(SETTINGS, 1, 0))


def sources(base, count):
    first = ipaddress.ip_address(base)
    return [str(first + i) for i in range(count)]


def run(args, hello, after_open):
    srcs = sources(args.src, args.sources or args.conns)
    conns, done = [], []
    for i in range(args.conns):
        try:
            c = Conn(args.port, srcs[i % len(srcs)], hello)
        except OSError:
            continue
        after_open(c)
        conns.append(c)
    if args.ready:
        open(args.ready, "w").close()
    end = time.monotonic() + args.duration
    next_ping = time.monotonic()
    max_open = len(conns)
    reopened = 0
    while time.monotonic() < end:
        now = time.monotonic()
        if args.mode == "ping" and now >= next_ping:
            for c in conns:
                c.send(frame(PING, 0, 0, b"keepwarm"))
            next_ping = now + args.interval
        alive = []
        for c in conns:
            (alive if c.pump() else done).append(c)
        conns = alive
        if args.reconnect:
            while len(conns) < args.conns:
                try:
                    c = Conn(args.port, srcs[(len(done) + len(conns)) % len(srcs)], hello)
                except OSError:
                    break
                after_open(c)
                conns.append(c)
                reopened += 1
        max_open = max(max_open, len(conns))
        time.sleep(0.02)
    alive = []
    for c in conns:
        (alive if c.pump() else done).append(c)
    conns = alive
    lives = sorted(c.closed - c.opened for c in done if c.closed)
    statuses = [s for c in conns + done for s in c.statuses]
    print("opened=%d closed_by_server=%d open_at_end=%d max_open=%d reopened=%d "
          "min_life=%.2f max_life=%.2f responses=%d status_200=%d status_other=%d" % (
              len(conns) + len(done), len(done), sum(c.closed is None for c in conns),
              max_open, reopened, lives[0] if lives else -1, lives[-1] if lives else -1,
              len(statuses), statuses.count(200), len(statuses) - statuses.count(200)),
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["ping", "zerowin"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--src", default="127.0.0.2", help="first source address")
    ap.add_argument("--sources", type=int, default=0,
                    help="source addresses used in turn (default: one per connection)")
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--paths", default="/")
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--reconnect", action="store_true")
    ap.add_argument("--ready")
    args = ap.parse_args()
    assert args.conns <= 2000 and args.streams <= 100 and args.duration <= 120
    paths = [p.encode() for p in args.paths.split(",")]
    if args.mode == "ping":
        run(args, settings(), lambda c: None)
    else:
        def open_streams(c):
            c.send(b"".join(request(2 * i + 1, paths[i % len(paths)])
                            for i in range(args.streams)))
        run(args, settings(window=0), open_streams)


if __name__ == "__main__":
    main()
