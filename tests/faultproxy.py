#!/usr/bin/env python3
"""faultproxy.py: a fault-injecting HTTP front for a real server on loopback.

cosmosdb-server (tests/0043) speaks Cosmos DB's REST API but cannot fail on
demand. This proxy sits in front of it on 127.0.0.1 and forwards every request
as is (plain http, no keep-alive upstream), unless a fault rule says otherwise.
The rules are the sandbox's (tests/sandbox/README.md "Fault rules", the same
FaultRule class): status, hang, drop (each "after": "process" too: the request
is forwarded, the server acts on it, then the answer is lost), truncate (the
real answer, cut in half; or "body" cut short), malformed.

    python3 tests/faultproxy.py --upstream http://127.0.0.1:PORT \\
        --port-file FILE [--service cosmos] [--log FILE]

Control, as the sandbox's: POST|GET|DELETE /_sandbox/faults, GET|DELETE
/_sandbox/log (one NDJSON line per request: method, path, kind (batch,
query, read, create, replace, delete), status, fault, upstream status). Python 3 standard library only; binds 127.0.0.1 only and
connects only to the upstream, which must be on 127.0.0.1.
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox"))
from core import FaultRule, expand_now  # noqa: E402

# Headers that describe one hop, not the message.
HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
       "trailer", "upgrade", "content-length", "host"}


class Req:
    """What FaultRule.matches reads."""

    def __init__(self, method, target, service):
        u = urllib.parse.urlsplit(target)
        self.method = method
        self.path = urllib.parse.unquote(u.path)
        self.query_string = u.query
        self.service = service


class Proxy:
    def __init__(self, upstream, service, log_path):
        u = urllib.parse.urlsplit(upstream)
        if u.scheme != "http" or u.hostname != "127.0.0.1":
            raise ValueError("--upstream must be http://127.0.0.1:PORT")
        self.host, self.port = u.hostname, u.port or 80
        self.service = service
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1
        self.log = []
        self.log_file = open(log_path, "a") if log_path else None
        self.stopping = threading.Event()

    def take(self, req):
        with self.lock:
            for rule in self.rules:
                if rule.remaining != 0 and rule.matches(req):
                    if rule.remaining > 0:
                        rule.remaining -= 1
                    if rule.remaining == 0:
                        self.rules.remove(rule)
                    return rule
        return None

    def record(self, entry):
        line = json.dumps(entry, sort_keys=True)
        with self.lock:
            self.log.append(line)
            if self.log_file:
                self.log_file.write(line + "\n")
                self.log_file.flush()

    def forward(self, method, target, headers, body):
        """(status, reason, [(name, value)], body) from the upstream."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            hdrs = {k: v for k, v in headers.items() if k.lower() not in HOP}
            hdrs["Host"] = "%s:%d" % (self.host, self.port)
            hdrs["Connection"] = "close"
            conn.request(method, target, body=body if body else None, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            return r.status, r.reason, [(k, v) for k, v in r.getheaders()
                                        if k.lower() not in HOP], data
        finally:
            conn.close()


def request_kind(method, headers):
    """What a Cosmos DB request does, for the log: batch, query, read,
    create (or upsert), replace, delete."""
    if (headers.get("x-ms-cosmos-is-batch-request") or "").lower() == "true":
        return "batch"
    if (headers.get("x-ms-documentdb-isquery") or "").lower() == "true":
        return "query"
    return {"GET": "read", "POST": "create", "PUT": "replace",
            "DELETE": "delete"}.get(method, method.lower())


def error_body(status, message):
    """Cosmos DB's error shape."""
    code = {429: "TooManyRequests", 503: "ServiceUnavailable",
            500: "InternalServerError", 408: "RequestTimeout"}.get(status, "Error")
    return json.dumps({"code": code, "message": message}).encode("utf-8")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    proxy = None

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without this, Nagle and the
        # client's delayed ACK cost 40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _reply(self, status, headers, body, length=None, reason=None):
        self.send_response(status, reason)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _abort(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _control(self, body):
        p = self.proxy
        path = urllib.parse.urlsplit(self.path).path
        out = None
        if path == "/_sandbox/faults" and self.command == "POST":
            try:
                spec = json.loads(body.decode("utf-8"))
                specs = spec if isinstance(spec, list) else [spec]
                rules = [FaultRule(s, 0) for s in specs]
            except (ValueError, UnicodeDecodeError) as e:
                out = (400, {"error": str(e)})
            else:
                with p.lock:
                    for r in rules:
                        r.id = p.next_id
                        p.next_id += 1
                        p.rules.append(r)
                out = (201, {"ids": [r.id for r in rules]})
        elif path == "/_sandbox/faults" and self.command == "GET":
            with p.lock:
                out = (200, [r.describe() for r in p.rules])
        elif path == "/_sandbox/faults" and self.command == "DELETE":
            with p.lock:
                p.rules = []
            out = (200, {"cleared": True})
        elif path == "/_sandbox/log" and self.command == "GET":
            with p.lock:
                text = "".join(l + "\n" for l in p.log)
            self._reply(200, [("Content-Type", "application/x-ndjson")],
                        text.encode("utf-8"))
            return
        elif path == "/_sandbox/log" and self.command == "DELETE":
            with p.lock:
                p.log = []
            out = (200, {"cleared": True})
        else:
            out = (404, {"error": "no control endpoint %s" % path})
        self._reply(out[0], [("Content-Type", "application/json")],
                    json.dumps(out[1]).encode("utf-8"))

    def _handle(self):
        p = self.proxy
        try:
            body = self._body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if self.path.startswith("/_sandbox/"):
            self._control(body)
            return
        kind = request_kind(self.command, self.headers)
        # A transactional batch is its own service for the rules, so that a
        # row can fault batches alone ("match": {"service": "cosmos-batch"});
        # rules without a service match it as before.
        req = Req(self.command, self.path, p.service + "-batch" if kind == "batch" else p.service)
        rule = p.take(req)
        entry = {"ts": round(time.time(), 3), "service": p.service, "kind": kind,
                 "method": self.command, "path": req.path,
                 "fault": None, "status": None, "upstream": None}
        try:
            if rule is None:
                st, reason, hdrs, data = p.forward(self.command, self.path, self.headers, body)
                entry.update(status=st, upstream=st)
                p.record(entry)
                self._reply(st, hdrs, data, reason=reason)
                return
            self._fault(rule, req, body, entry)
        except (OSError, http.client.HTTPException) as e:
            entry.update(status=502, error=type(e).__name__)
            p.record(entry)
            self._reply(502, [("Content-Type", "application/json")],
                        error_body(502, "faultproxy: upstream: %s" % e))

    def _fault(self, rule, req, body, entry):
        p = self.proxy
        action = rule.action
        headers = [(k, expand_now(v)) for k, v in rule.headers.items()]
        rbody = rule.body
        if isinstance(rbody, str):
            rbody = expand_now(rbody).encode("utf-8")
        elif rbody is not None:
            rbody = json.dumps(rbody).encode("utf-8")
        entry["fault"] = action
        if action == "status":
            if rbody is None:
                rbody = error_body(rule.status, "Injected fault: HTTP %d" % rule.status)
            entry["status"] = rule.status
            p.record(entry)
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", "application/json"))
            self._reply(rule.status, headers, rbody)
        elif action == "malformed":
            entry["status"] = rule.status
            p.record(entry)
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", "application/json"))
            self._reply(rule.status, headers, rbody if rbody is not None else b'{"value": ')
        elif action == "truncate":
            if rbody is not None:
                st, hdrs, part = rule.status, headers, rbody
                length = len(rbody) + max(1, int(rule.extra))
            else:
                st, _, hdrs, data = p.forward(self.command, self.path, self.headers, body)
                entry["upstream"] = st
                hdrs = hdrs + headers
                part, length = data[:len(data) // 2], len(data)
            entry["status"] = st
            p.record(entry)
            self.send_response(st)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(length))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(part)
            self._abort()
        else:   # hang, drop
            if rule.after == "process":
                st, _, _, _ = p.forward(self.command, self.path, self.headers, body)
                entry["upstream"] = st
                entry["fault"] = action + "-after-process"
            p.record(entry)
            if action == "hang":
                p.stopping.wait(rule.seconds)
            self._abort()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--service", default="cosmos")
    ap.add_argument("--log")
    args = ap.parse_args()
    try:
        proxy = Proxy(args.upstream, args.service, args.log)
    except ValueError as e:
        print("faultproxy: %s" % e, file=sys.stderr)
        return 2
    Handler.proxy = proxy
    server = Server(("127.0.0.1", args.port), Handler)

    def stop(signum, frame):
        proxy.stopping.set()
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
