#!/usr/bin/env python3
"""Connection churn for bench/soak.sh: WORKERS threads, each on its own keys, in a loop:
push one stored message to a key through web's admin API while no one listens, look the
key's comet up with /1/server/get, subscribe over TCP (version 1) resuming after the last mid
it has, read until that message arrives (it must: it was stored), stay a random 0.2-2 s
reading, and leave. Runs for SECONDS, then prints one JSON line: cycles, messages, gaps
(a stored message that did not come back on resume), errors. Standard library only.

  bench/churn.py PUBLIC ADMIN SECONDS [WORKERS]
"""
import json
import random
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request

public, admin, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
workers = int(sys.argv[4]) if len(sys.argv) > 4 else 20
stop_at = time.time() + seconds
totals = {"cycles": 0, "messages": 0, "gaps": 0, "errors": 0}
lock = threading.Lock()


def count(name, n=1):
    with lock:
        totals[name] += n


def bulk(*args):
    out = "*%d\r\n" % len(args)
    for a in args:
        out += "$%d\r\n%s\r\n" % (len(a.encode()), a)
    return out.encode()


class Conn:
    def __init__(self, address):
        host, port = address.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=5)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.s.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def frame(self):  # "$len\r\npayload\r\n", or "+h"
        head = self.line()
        if head == b"+h":
            return None
        n = int(head[1:])
        while len(self.buf) < n + 2:
            data = self.s.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data
        payload, self.buf = self.buf[:n], self.buf[n + 2:]
        return json.loads(payload)


def worker(w):
    rng = random.Random(w)
    last = {}
    keys = ["churn-%d-%d@user" % (w, i) for i in range(5)]
    seq = 0
    while time.time() < stop_at:
        key = rng.choice(keys)
        seq += 1
        try:
            req = urllib.request.Request(
                "http://%s/1/admin/push/private?key=%s&expire=600" % (admin, urllib.parse.quote(key)),
                data=json.dumps({"churn": seq}).encode(), method="POST")
            answer = json.loads(urllib.request.urlopen(req, timeout=5).read())
            if answer.get("ret") != 0:
                count("errors")
                continue
            mid = answer["data"]["mid"] if isinstance(answer.get("data"), dict) else None
            where = json.loads(urllib.request.urlopen(
                "http://%s/1/server/get?k=%s&p=2" % (public, urllib.parse.quote(key)),
                timeout=5).read())
            c = Conn(where["data"]["server"])
            c.s.sendall(bulk("sub", key, "30", "", "1", str(last.get(key, 0))))
            if c.line() != b"+h":
                raise ConnectionError("no +h")
            got = False
            until = time.time() + rng.uniform(0.2, 2.0)
            c.s.settimeout(0.2)
            while time.time() < until or not got:
                try:
                    m = c.frame()
                except socket.timeout:
                    if time.time() > until + 5:
                        break
                    continue
                if m is None:
                    continue
                count("messages")
                last[key] = max(last.get(key, 0), m["mid"])
                if m["msg"] == {"churn": seq} or (mid is not None and m["mid"] == mid):
                    got = True
            if not got:
                count("gaps")
            c.s.close()
            count("cycles")
        except Exception:  # noqa: BLE001 - any failure of a cycle is counted, the loop goes on
            count("errors")
            time.sleep(0.1)


threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(totals))
