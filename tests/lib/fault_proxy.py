# A TCP proxy that injects faults, for the end-to-end tests (see start_proxy
# in peers.sh): python3 fault_proxy.py UPSTREAM_PORT PORT SPEC LOG.
import os, socket, sys, threading
up, port, spec, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cuts, stalls, swaps = {}, {}, {}
for item in filter(None, spec.split(",")):
    f = item.split(":")
    if f[0] == "cut": cuts[int(f[1])] = int(f[2])
    elif f[0] == "stall": stalls[int(f[1])] = int(f[2])
    elif f[0] == "swap": swaps[int(f[1])] = (f[2], f[3])
lock = threading.Lock()
count = [0]
def pipe(a, b, k, limit, stall, res):
    n = 0
    try:
        while True:
            d = a.recv(16384)
            if not d: break
            if stall is not None and n + len(d) > stall:
                d = d[:max(0, stall - n)]
                if d: b.sendall(d); n += len(d)
                threading.Event().wait(3600)
            if limit is not None and n + len(d) >= limit:
                b.sendall(d[:limit - n]); n = limit; res["cut"] = True; break
            b.sendall(d); n += len(d)
    except OSError:
        pass
    res["bytes"] = n
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    with lock:
        k = count[0]; count[0] += 1
    s = socket.create_connection(("127.0.0.1", up))
    res = {}
    t = threading.Thread(target=pipe, args=(c, s, k, None, None, {}), daemon=True)
    t.start()
    pipe(s, c, k, cuts.get(k), stalls.get(k), res)
    if res.get("cut") and k in swaps:
        os.replace(*swaps[k])
    with open(log, "a") as f:
        f.write("%d %d %s\n" % (k, res.get("bytes", 0), "cut" if res.get("cut") else "end"))
    c.close(); s.close()
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(16)
open(log + ".ready", "w").close()
while True:
    c, _ = l.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
