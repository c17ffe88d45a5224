# A hostile HTTP/2 (h2c) firmware server for the device's tests:
#   /usr/bin/python3 hostile_h2.py MODE IMAGE
# prints its port, then serves every connection according to MODE (see
# MODES below); "trickle:S" sends one body byte every S seconds (0.5). HTTP/2 is spoken with python3-h2 (Debian's package); the
# protocol violations are raw frames written after it (RFC 9113 4.1).
import socket, struct, sys, threading, time

import h2.config
import h2.connection
import h2.events

mode, image_path = sys.argv[1], sys.argv[2]
PACE = 0.5
if mode.startswith("trickle:"):
    mode, PACE = "trickle", float(mode[8:])
image = open(image_path, "rb").read()
ETAG = '"fw-1"'
lock = threading.Lock()
counter = [0]


def raw_frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


class Conn:
    def __init__(self, sock):
        self.sock = sock
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                        validate_outbound_headers=False)
        self.h2 = h2.connection.H2Connection(cfg)
        self.h2.initiate_connection()
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def pump(self, timeout=5.0):
        self.sock.settimeout(timeout)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        events = self.h2.receive_data(data)
        self.flush()
        return events

    def request(self):
        """Headers of the first request, as a dict, and its stream."""
        while True:
            for ev in self.pump():
                if isinstance(ev, h2.events.RequestReceived):
                    return ev.stream_id, dict(ev.headers)

    def body(self, sid, data, end=True, stop=None, pace=None):
        """DATA within the client's window; stop after `stop` bytes."""
        limit = len(data) if stop is None else min(stop, len(data))
        pos = 0
        while pos < limit:
            w = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size,
                    limit - pos, pace or limit)
            if w <= 0:
                self.pump()
                continue
            self.h2.send_data(sid, data[pos:pos + w])
            self.flush()
            pos += w
            if pace:
                time.sleep(PACE)
        if end and stop is None:
            self.h2.end_stream(sid)
            self.flush()

    def drop(self):
        """An orderly close (FIN) with no more frames: a dropped connection."""
        self.sock.shutdown(socket.SHUT_RDWR)
        raise EOFError

    def hold(self, seconds=30):
        """Keep the connection open, answering what the client sends."""
        end = time.time() + seconds
        try:
            while time.time() < end:
                self.pump(timeout=end - time.time())
        except (EOFError, OSError, socket.timeout):
            pass


def respond(c, sid, status, start=0, etag=ETAG, total=None, extra=()):
    body = image[start:]
    hdrs = [(":status", str(status)), ("content-length", str(len(body))), ("etag", etag)]
    if status == 206:
        hdrs.append(("content-range", "bytes %d-%d/%s" % (start, len(image) - 1,
                                                          total or len(image))))
    c.h2.send_headers(sid, hdrs + list(extra))
    c.flush()
    return body


def wanted_range(req):
    r = req.get("range", "")
    return int(r[6:-1]) if r.startswith("bytes=") and r.endswith("-") else 0


def honest(c, sid, req):
    start = wanted_range(req)
    if start and req.get("if-range") == ETAG:
        c.body(sid, respond(c, sid, 206, start))
    else:
        c.body(sid, respond(c, sid, 200))


def first_then_honest(k, c, sid, req, misbehave):
    if k == 0:
        misbehave(c, sid, req)
    else:
        honest(c, sid, req)


def ignore_range_drop(k, c, sid, req):
    # The whole file every time, cut ever later: restarts look like progress.
    c.body(sid, respond(c, sid, 200), stop=len(image) * (3 + k) // 10)
    c.drop()


def trickle(k, c, sid, req):
    respond(c, sid, 200)
    c.body(sid, image, pace=1)


def pings(k, c, sid, req):
    respond(c, sid, 200)
    for i in range(300):
        c.h2.ping(struct.pack(">Q", i))
        c.flush()
        time.sleep(0.1)


def informational(k, c, sid, req):
    for _ in range(300):
        c.h2.send_headers(sid, [(":status", "103"), ("link", "</x>; rel=preload")])
        c.flush()
        time.sleep(0.05)


def window_flood(k, c, sid, req):
    respond(c, sid, 200)
    for _ in range(3000):
        c.sock.sendall(raw_frame(8, 0, 0, struct.pack(">I", 1)))
        time.sleep(0.002)


def violation(frame):
    def run(k, c, sid, req):
        respond(c, sid, 200)
        c.body(sid, image, stop=4096)
        c.sock.sendall(frame)
        c.hold(5)
    return run


def http1(k, c, sid, req):
    pass  # handled before any HTTP/2 (see serve)


def hpack_len(n, prefix=7):
    """An HPACK integer (RFC 7541 5.1), H bit clear."""
    if n < (1 << prefix) - 1:
        return bytes([n])
    out, n = [(1 << prefix) - 1], n - ((1 << prefix) - 1)
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    return bytes(out + [n])


def send_block(c, sid, block):
    """A header block as HEADERS and CONTINUATION frames of 16 KB."""
    chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
    frames = b""
    for i, chunk in enumerate(chunks):
        last = 0x4 if i == len(chunks) - 1 else 0
        frames += raw_frame(1 if i == 0 else 9, last, sid, chunk)
    c.sock.sendall(frames)


FLOOD = []


def header_flood(k, c, sid, req):
    # One 100 KB field, Huffman-coded by python3-hpack (encoded at start):
    # its decoded length is what a client would have to allocate.
    send_block(c, sid, FLOOD[0])
    c.hold(3)


def header_list(k, c, sid, req):
    # Twenty-five fields of 4 KB (literal, not indexed): 100 KB of headers.
    field = b"\x00" + hpack_len(5) + b"x-pad" + hpack_len(4096) + b"a" * 4096
    send_block(c, sid, b"\x88" + field * 25)
    c.hold(3)


def drop_at_40(c, sid):
    c.body(sid, respond(c, sid, 200), stop=len(image) * 4 // 10)
    c.drop()


def if_range_ignored(k, c, sid, req):
    if k == 0:
        drop_at_40(c, sid)
    elif wanted_range(req):
        # Another file's validator and bytes, from the offset asked.
        start = wanted_range(req)
        c.body(sid, respond(c, sid, 206, start, etag='"fw-2"'))
    else:
        honest(c, sid, req)


def range_star(k, c, sid, req):
    if k == 0:
        drop_at_40(c, sid)
    else:
        c.body(sid, respond(c, sid, 206, wanted_range(req), total="*"))


def range_wrong_offset(k, c, sid, req):
    if k == 0:
        drop_at_40(c, sid)
    elif wanted_range(req):
        c.body(sid, respond(c, sid, 206, wanted_range(req) + 4096))
    else:
        honest(c, sid, req)


def short_body(c, sid, req):
    # Content-Length says the whole image; END_STREAM comes at 60%.
    respond(c, sid, 200)
    c.body(sid, image[:len(image) * 6 // 10])


def long_body(c, sid, req):
    # Content-Length says half; the whole image follows.
    c.h2.send_headers(sid, [(":status", "200"), ("content-length", str(len(image) // 2)),
                            ("etag", ETAG)])
    c.flush()
    c.h2.send_data(sid, image[:8192])
    c.flush()
    # h2 checks lengths itself: the excess goes raw.
    c.sock.sendall(raw_frame(0, 1, sid, image[8192:len(image) // 2 + 8192][:16384]))
    c.hold(3)


def rst_mid(c, sid, req):
    c.body(sid, respond(c, sid, 200), stop=len(image) // 2)
    c.h2.reset_stream(sid, 2)  # INTERNAL_ERROR
    c.flush()
    c.hold(3)


def goaway_mid(c, sid, req):
    c.body(sid, respond(c, sid, 200), stop=len(image) // 2)
    c.h2.close_connection(error_code=0, last_stream_id=sid)
    c.flush()
    c.hold(1)


def refused(c, sid, req):
    c.h2.reset_stream(sid, 7)  # REFUSED_STREAM
    c.flush()
    c.hold(3)


MODES = {
    "honest": lambda k, c, sid, req: honest(c, sid, req),
    "ignore-range-drop": ignore_range_drop,
    "trickle": trickle,
    "pings": pings,
    "informational": informational,
    "window-flood": window_flood,
    "window-update-0": violation(raw_frame(8, 0, 0, struct.pack(">I", 0))),
    "push-promise": violation(raw_frame(5, 4, 1, struct.pack(">I", 2) + b"\x82")),
    "bad-settings": violation(raw_frame(4, 0, 0, struct.pack(">HI", 2, 7))),
    "oversized-frame": violation(raw_frame(0, 0, 1, b"x" * 20000)),
    "http1": http1,
    "header-flood": header_flood,
    "header-list": header_list,
    "if-range-ignored": if_range_ignored,
    "range-star": range_star,
    "range-wrong-offset": range_wrong_offset,
    "short-body": lambda k, c, sid, req: first_then_honest(k, c, sid, req, short_body),
    "long-body": lambda k, c, sid, req: first_then_honest(k, c, sid, req, long_body),
    "rst-mid": lambda k, c, sid, req: first_then_honest(k, c, sid, req, rst_mid),
    "goaway-mid": lambda k, c, sid, req: first_then_honest(k, c, sid, req, goaway_mid),
    "refused": lambda k, c, sid, req: first_then_honest(k, c, sid, req, refused),
}


def serve(sock, k):
    try:
        if mode == "http1":
            sock.recv(65536)
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            time.sleep(0.5)
            return
        c = Conn(sock)
        sid, req = c.request()
        if req.get(":method") == "HEAD":
            # The new firmware's probe of the server before it confirms
            # (a local config): headers only, whatever the mode.
            c.h2.send_headers(sid, [(":status", "200"), ("content-length", str(len(image))),
                                    ("etag", ETAG)], end_stream=True)
            c.flush()
        else:
            MODES[mode](k, c, sid, req)
        c.hold(2)
    except (EOFError, OSError, socket.timeout):
        pass
    finally:
        sock.close()


if mode not in MODES:
    sys.exit("unknown mode " + mode)
if mode == "header-flood":
    import hpack
    FLOOD.append(hpack.Encoder().encode([(":status", "200"), ("x-pad", "a" * 100 * 1024)]))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
while True:
    s, _ = srv.accept()
    with lock:
        k = counter[0]
        counter[0] += 1
    threading.Thread(target=serve, args=(s, k), daemon=True).start()
