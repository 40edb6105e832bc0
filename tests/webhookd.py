#!/usr/bin/env python3
"""webhookd.py: a webhook receiver for the in-flight tests, counting requests under way.

Binds 127.0.0.1 port 0, writes the port to --port-file. Every POST is read
whole, held --delay-ms, answered 200, and logged to --log as one NDJSON line:
{"ids": [notificationId...], "start": t, "end": t, "status": s, "fault": f}
(t: time.monotonic()). --stats FILE holds {"max": N, "requests": N}: the most
requests under way at once, counted by the server (not by time), and how many
came. Faults, each for the first request that carries the id:
  --drop-after ID   process it (logged as received), then close without a reply
  --limit ID        answer 429 with Retry-After: --retry-after (seconds) at once
  --slow408 ID      answer 408 (retried with the client's own short backoff)
                    after 0.4 s: its retry would come inside the 429's wait
  --hold ID         hold it 1 s instead of --delay-ms, then answer 200
--port N --reuse-port: listen on port N (default 0: any) with SO_REUSEPORT, so
that several receivers (each its own --stats) share one port and one Python
process's lock is not what a benchmark measures.
Python 3 standard library only.
"""
import argparse
import http.server
import json
import os
import socket
import sys
import threading
import time


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.now = 0
        self.max = 0
        self.requests = 0
        self.done = set()

    def enter(self):
        with self.lock:
            self.now += 1
            self.requests += 1
            self.max = max(self.max, self.now)

    def leave(self):
        with self.lock:
            self.now -= 1
            tmp = self.args.stats + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"max": self.max, "requests": self.requests}, f)
            os.rename(tmp, self.args.stats)

    def fault(self, ids):
        """The fault this request meets, once per id: "drop", "limit" or None."""
        with self.lock:
            for kind, want in (("drop", self.args.drop_after), ("limit", self.args.limit),
                               ("408", self.args.slow408)):
                if want in ids and (kind, want) not in self.done:
                    self.done.add((kind, want))
                    return kind
        return None

    def log(self, rec):
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(rec) + "\n")


def handler(st):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            st.enter()
            self.left = False
            try:
                self.serve()
            finally:
                self.leave()

        def leave(self):
            # Before the answer goes out: once the client has it, it may
            # send the next request, which must not count this one.
            if not self.left:
                self.left = True
                st.leave()

        def serve(self):
            start = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            doc = json.loads(body)
            ids = [r.get("notificationId") for r in (doc if isinstance(doc, list) else [doc])]
            fault = st.fault(ids)
            rec = {"ids": ids, "start": start, "fault": fault}
            if fault == "limit":
                self.answer(429, {"Retry-After": str(st.args.retry_after)})
                rec.update(end=time.monotonic(), status=429)
                st.log(rec)
                return
            if fault == "408":
                time.sleep(0.4)
                self.answer(408, {})
                rec.update(end=time.monotonic(), status=408)
                st.log(rec)
                return
            time.sleep(1.0 if st.args.hold in ids else st.args.delay_ms / 1000)
            if fault == "drop":
                rec.update(end=time.monotonic(), status=None)
                st.log(rec)
                self.leave()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.answer(200, {})
            rec.update(end=time.monotonic(), status=200)
            st.log(rec)

        def answer(self, status, headers):
            out = b'{"ok":true}'
            self.leave()
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
    return H


class Server(http.server.ThreadingHTTPServer):
    # The default listen backlog (5) drops the SYNs of a burst of
    # connections, which then wait a second to be sent again.
    request_queue_size = 128


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--stats", required=True)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--drop-after")
    p.add_argument("--limit")
    p.add_argument("--slow408")
    p.add_argument("--hold")
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--reuse-port", action="store_true")
    args = p.parse_args()
    st = State(args)
    srv = Server(("127.0.0.1", args.port), handler(st), bind_and_activate=False)
    if args.reuse_port:
        srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    srv.server_bind()
    srv.server_activate()
    srv.daemon_threads = True
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
