"""cartwatch test sandbox: the core.

One ThreadingHTTPServer on 127.0.0.1 serves every fake service. The core does
the plumbing that all services share:

  * routing by path prefix to a service (see Sandbox.route);
  * fault injection (rules added through /_sandbox/faults or the data file);
  * the request log (memory + an NDJSON file), with every secret redacted;
  * issuing and validating JWT-shaped access tokens (HMAC-SHA256 under a key
    that lives only as long as the process).

A service module (svc_*.py) exposes `register(sandbox)`, which reads its part of
the data set and calls sandbox.route() and sandbox.add_secrets(). See README.md.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets as _secrets
import socket
import threading
import time
import urllib.parse
import uuid

DEFAULT_TOKEN_LIFETIME = 3599
FAULT_ACTIONS = ("status", "hang", "drop", "truncate", "malformed")
CONTROL_PREFIX = "/_sandbox"

# Header values and body fields that are secret by nature, whatever their value.
SECRET_HEADERS = {"x-identity-header", "x-wsse", "api-key", "x-api-key",
                  "cookie", "set-cookie", "ocp-apim-subscription-key",
                  "x-ms-cosmos-key", "proxy-authorization"}
SCHEME_HEADERS = {"authorization"}          # keep the scheme, drop the rest
SECRET_FIELDS = {"client_secret", "client_assertion", "password", "secret",
                 "key", "api_key", "apikey", "access_token", "refresh_token",
                 "id_token", "assertion"}
REDACTED = "<redacted>"
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_NOW_RE = re.compile(r"\{now(?:([+-])(\d+))?\}")


# ----------------------------------------------------------------- helpers --

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    text = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(text.encode("ascii"))


def norm_aud(value):
    """An audience/resource as compared: trailing slashes removed."""
    return (value or "").rstrip("/")


def new_request_id():
    return str(uuid.uuid4())


def expand_now(text):
    """Replaces {now}, {now+N}, {now-N} with the unix time (+/- N seconds)."""
    def sub(m):
        n = int(m.group(2) or 0)
        return str(int(time.time()) + (-n if m.group(1) == "-" else n))
    return _NOW_RE.sub(sub, text)


class Response:
    """What a service handler returns. body: bytes, str, or a JSON value."""

    def __init__(self, status, body=b"", headers=None, content_type=None):
        self.status = status
        self.headers = dict(headers or {})
        if isinstance(body, (bytes, bytearray)):
            self.body = bytes(body)
            ctype = content_type
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
            ctype = content_type or "text/plain; charset=utf-8"
        else:
            self.body = json.dumps(body, separators=(",", ":")).encode("utf-8")
            ctype = content_type or "application/json; charset=utf-8"
        if ctype and not any(k.lower() == "content-type" for k in self.headers):
            self.headers["Content-Type"] = ctype


def json_response(status, obj, headers=None):
    return Response(status, obj, headers)


class TokenError(Exception):
    """Why a bearer token was refused.

    kind: missing | scheme | malformed | signature | expired | not_yet_valid |
    audience. claims: the token's claims when they could be decoded."""

    def __init__(self, kind, message, claims=None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.claims = claims


class Request:
    """One parsed request, handed to a service's handler."""

    def __init__(self, sandbox, method, target, headers, body):
        self.sandbox = sandbox
        self.method = method
        self.target = target
        parts = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parts.path)
        self.raw_path = parts.path
        self.query_string = parts.query
        self.query_multi = urllib.parse.parse_qs(parts.query,
                                                 keep_blank_values=True)
        self.query = {k: v[0] for k, v in self.query_multi.items()}
        self.headers = headers            # http.client.HTTPMessage (any case)
        self.body = body
        self.form = None
        self.json = None
        self.json_error = None
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.content_type = ctype
        if ctype == "application/x-www-form-urlencoded":
            multi = urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                          keep_blank_values=True)
            self.form = {k: v[0] for k, v in multi.items()}
            self.form_multi = multi
        elif body and (ctype.endswith("json") or ctype.endswith("+json")):
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                self.json_error = str(e)
        self.service = None
        self.prefix = ""
        self.peer = None          # "127.0.0.1:PORT" of the client's connection
        # Filled by services for the log: who the token belonged to, etc.
        self.log = {}

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.sandbox.port

    def header(self, name, default=None):
        return self.headers.get(name, default)

    @property
    def subpath(self):
        """The path below the service's prefix ("" or starting with "/")."""
        return self.path[len(self.prefix):]


class Route:
    def __init__(self, prefix, service, handler, error_body=None, operation=None):
        self.prefix = prefix.rstrip("/")
        self.service = service
        self.handler = handler
        self.error_body = error_body
        self.operation = operation


# ------------------------------------------------------------------ faults --

class FaultRule:
    def __init__(self, spec, rule_id):
        if not isinstance(spec, dict):
            raise ValueError("a fault rule is a JSON object")
        action = spec.get("action", "status")
        if action not in FAULT_ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(FAULT_ACTIONS))
        match = spec.get("match") or {}
        if not isinstance(match, dict):
            raise ValueError("match must be an object")
        unknown = set(match) - {"method", "path", "service", "query"}
        if unknown:
            raise ValueError("unknown match keys: %s" % ", ".join(sorted(unknown)))
        self.id = rule_id
        self.spec = spec
        self.action = action
        self.method = match.get("method")
        self.service = match.get("service")
        try:
            self.path_re = re.compile(match["path"]) if match.get("path") else None
            self.query_re = re.compile(match["query"]) if match.get("query") else None
        except re.error as e:
            raise ValueError("bad regex: %s" % e)
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
            raise ValueError("count must be a positive integer or -1")
        self.remaining = count
        status = spec.get("status", 200 if action == "malformed" else 503)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        self.status = status
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict):
            raise ValueError("headers must be an object")
        self.headers = {str(k): str(v) for k, v in headers.items()}
        self.body = spec.get("body")
        seconds = spec.get("seconds", 30)
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError("seconds must be a non-negative number")
        self.seconds = seconds
        self.extra = spec.get("extra", 100)   # truncate: bytes promised but not sent
        # hang, drop: "before" (default) the service sees the request, or
        # "process": the service handles it (a send is delivered), then the
        # answer is lost -- the fault a blind retry turns into a duplicate.
        after = spec.get("after", "before")
        if after not in ("before", "process"):
            raise ValueError('after must be "before" or "process"')
        if after == "process" and action not in ("hang", "drop"):
            raise ValueError('after "process" applies to hang and drop only')
        self.after = after

    def matches(self, req):
        if self.method and self.method.upper() != req.method:
            return False
        if self.service and self.service != req.service:
            return False
        if self.path_re and not self.path_re.search(req.path):
            return False
        if self.query_re and not self.query_re.search(req.query_string):
            return False
        return True

    def describe(self):
        d = dict(self.spec)
        d["id"] = self.id
        d["remaining"] = self.remaining
        return d


# ------------------------------------------------------------- the server --

class Sandbox:
    def __init__(self, data, log_path=None):
        self.data = data
        self.port = 0
        self.routes = []
        self._secret_values = set()
        self._key = _secrets.token_bytes(32)
        self.lock = threading.Lock()
        self.faults = []
        self._next_fault_id = 1
        self.log_entries = []
        self.log_path = log_path
        self.log_file = None
        self.stopping = threading.Event()
        self.latency = 0.0      # seconds added before every service request
        self.token_lifetime = int(data.get("token_lifetime", DEFAULT_TOKEN_LIFETIME))
        for spec in data.get("faults") or []:
            self.add_fault(spec)

    # -- registration (used by service modules) --

    def route(self, prefix, service, handler, error_body=None, operation=None):
        """Sends requests whose path is PREFIX or under PREFIX/ to HANDLER.

        handler(req) -> Response. error_body(status, message) -> JSON value in
        the service's error shape, used for injected status faults.
        operation(req) -> the endpoint's name for the log ("Carts/Search") or
        None; asked before faults, so a faulted request counts for its endpoint."""
        self.routes.append(Route(prefix, service, handler, error_body, operation))
        self.routes.sort(key=lambda r: -len(r.prefix))

    def add_secrets(self, values):
        """Declares values that must never be printed nor logged."""
        for v in values:
            if isinstance(v, str):
                # One entry per line: the secret check greps line by line.
                self._secret_values.update(l for l in v.splitlines() if l.strip())

    def secret_values(self):
        return sorted(self._secret_values)

    def find_route(self, path):
        for r in self.routes:
            if path == r.prefix or path.startswith(r.prefix + "/"):
                return r
        return None

    # -- tokens --

    def issue_token(self, aud, client_id, tid, lifetime=None, extra=None):
        """Returns (token, claims) for AUD (a resource; trailing / dropped)."""
        now = int(time.time())
        lifetime = self.token_lifetime if lifetime is None else int(lifetime)
        oid = str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s" % (tid, client_id)))
        claims = {
            "aud": norm_aud(aud),
            "iss": "https://sts.windows.net/%s/" % tid,
            "iat": now, "nbf": now - 0, "exp": now + lifetime,
            "appid": client_id, "azp": client_id, "appidacr": "1",
            "idtyp": "app", "oid": oid, "sub": oid, "tid": tid,
            "ver": "1.0", "jti": b64url(_secrets.token_bytes(16)),
        }
        if extra:
            claims.update(extra)
        header = {"typ": "JWT", "alg": "HS256", "kid": "cartwatch-sandbox"}
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) \
            + "." + b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + b64url(sig), claims

    def validate_token(self, authorization, audiences, schemes=("Bearer",)):
        """Checks an Authorization header value. Returns the token's claims.

        audiences: accepted audiences (compared without trailing slashes).
        schemes: accepted schemes, case-insensitive (Retail Server also takes
        "id_token"). Raises TokenError."""
        if not authorization or not authorization.strip():
            raise TokenError("missing", "no Authorization header")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() not in {s.lower() for s in schemes}:
            raise TokenError("scheme", "scheme %r not accepted" % scheme)
        token = token.strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed", "token is not a JWT")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            raise TokenError("malformed", "token is not a JWT")
        if not isinstance(claims, dict) or not isinstance(header, dict):
            raise TokenError("malformed", "token is not a JWT")
        want = hmac.new(self._key, (parts[0] + "." + parts[1]).encode("ascii"),
                        hashlib.sha256).digest()
        if header.get("alg") != "HS256" or not hmac.compare_digest(sig, want):
            raise TokenError("signature", "signature validation failed", claims)
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise TokenError("expired", "token is expired", claims)
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 300:
            raise TokenError("not_yet_valid", "token is not yet valid", claims)
        if norm_aud(str(claims.get("aud"))) not in {norm_aud(a) for a in audiences}:
            raise TokenError("audience", "invalid audience", claims)
        return claims

    # -- faults --

    def add_fault(self, spec):
        with self.lock:
            rule = FaultRule(spec, self._next_fault_id)
            self._next_fault_id += 1
            self.faults.append(rule)
            return rule

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, req):
        """The first matching rule, one of its counts consumed; or None."""
        with self.lock:
            for rule in self.faults:
                if rule.remaining != 0 and rule.matches(req):
                    if rule.remaining > 0:
                        rule.remaining -= 1
                    if rule.remaining == 0:
                        self.faults.remove(rule)
                    return rule
        return None

    # -- the request log --

    def open_log(self):
        if self.log_path:
            self.log_file = open(self.log_path, "a", encoding="utf-8")

    def scrub(self, value):
        """Redacts every known secret and anything JWT-shaped, recursively."""
        if isinstance(value, str):
            for s in self._secret_values:
                if s in value:
                    value = value.replace(s, REDACTED)
            return _JWT_RE.sub(REDACTED, value)
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value

    @staticmethod
    def redact_headers(headers):
        out = {}
        for name, value in headers.items():
            n = name.lower()
            if n in SCHEME_HEADERS:
                scheme = value.strip().split(" ", 1)[0] if value.strip() else ""
                value = ("%s %s" % (scheme, REDACTED)).strip()
            elif n in SECRET_HEADERS:
                value = REDACTED
            out[n] = value
        return out

    @staticmethod
    def redact_fields(value):
        if isinstance(value, dict):
            return {k: (REDACTED if str(k).lower() in SECRET_FIELDS
                        and isinstance(v, (str, int, float)) and v != ""
                        else Sandbox.redact_fields(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [Sandbox.redact_fields(v) for v in value]
        return value

    def record(self, req, status, fault):
        entry = {
            "ts": round(time.time(), 3),
            "service": req.service,
            "method": req.method,
            "path": req.path,
            "query": self.redact_fields(req.query),
            "headers": self.redact_headers(req.headers),
            "peer": req.peer,
        }
        if req.form is not None:
            entry["form"] = self.redact_fields(req.form)
        elif req.json is not None:
            entry["json"] = self.redact_fields(req.json)
        elif req.body:
            entry["body_bytes"] = len(req.body)
            if req.json_error:
                entry["json_error"] = req.json_error
        entry["status"] = status
        entry["fault"] = fault
        entry["client_id"] = req.log.get("client_id")
        entry["aud"] = req.log.get("aud")
        for k, v in req.log.items():
            entry.setdefault(k, v)
        entry = self.scrub(entry)
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False)
        with self.lock:
            self.log_entries.append(line)
            if self.log_file:
                self.log_file.write(line + "\n")
                self.log_file.flush()

    def clear_log(self):
        with self.lock:
            self.log_entries = []
            if self.log_file:
                self.log_file.seek(0)
                self.log_file.truncate()
                self.log_file.flush()

    # -- control API (/_sandbox/...) --

    def control(self, req):
        sub = req.path[len(CONTROL_PREFIX):]
        if sub == "/faults":
            if req.method == "GET":
                with self.lock:
                    rules = [r.describe() for r in self.faults]
                return json_response(200, rules)
            if req.method == "DELETE":
                self.clear_faults()
                return json_response(200, {"cleared": True})
            if req.method == "POST":
                try:
                    spec = json.loads(req.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    return json_response(400, {"error": "body is not JSON: %s" % e})
                specs = spec if isinstance(spec, list) else [spec]
                try:
                    # All or nothing: check every rule before adding any.
                    for i, s in enumerate(specs):
                        FaultRule(s, 0)
                except ValueError as e:
                    return json_response(400, {"error": "rule %d: %s" % (i, e)})
                ids = [self.add_fault(s).id for s in specs]
                return json_response(201, {"ids": ids} if isinstance(spec, list)
                                     else {"id": ids[0]})
        elif sub == "/log":
            if req.method == "GET":
                with self.lock:
                    lines = list(self.log_entries)
                service = req.query.get("service")
                if service:
                    lines = [l for l in lines if json.loads(l).get("service") == service]
                body = "".join(l + "\n" for l in lines)
                return Response(200, body.encode("utf-8"),
                                content_type="application/x-ndjson")
            if req.method == "DELETE":
                self.clear_log()
                return json_response(200, {"cleared": True})
        elif sub == "/health":
            return json_response(200, {"ok": True, "port": self.port,
                                       "services": sorted({r.service for r in self.routes})})
        elif sub == "/token" and req.method == "POST":
            # Mints a token directly (expired, wrong audience...) for tests.
            try:
                spec = json.loads(req.body.decode("utf-8") or "{}")
                token, claims = self.issue_token(
                    spec["aud"], spec.get("client_id", "sandbox-client"),
                    spec.get("tid", "00000000-0000-0000-0000-000000000000"),
                    spec.get("lifetime"), spec.get("claims"))
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                return json_response(400, {"error": "want {\"aud\":..., \"client_id\":..., "
                                                    "\"tid\":..., \"lifetime\":N}: %s" % e})
            return json_response(200, {"access_token": token, "claims": claims})
        else:
            return json_response(404, {"error": "no control endpoint %s" % req.path})
        return json_response(405, {"error": "method %s not allowed on %s"
                                            % (req.method, req.path)})

    # -- running --

    def serve(self, port, port_file):
        sandbox = self

        class Handler(SandboxHandler):
            pass
        Handler.sandbox = sandbox
        server = Server(("127.0.0.1", port), Handler)
        self.server = server
        self.port = server.server_address[1]
        self.open_log()
        tmp = "%s.tmp.%d" % (port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % self.port)
        os.replace(tmp, port_file)
        return server


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64


class SandboxHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm the body
    # waited for the client's delayed ACK, 40 ms an answer, which no real
    # service adds and which the benchmark would measure as ours.
    disable_nagle_algorithm = True
    server_version = "cartwatch-sandbox"
    sandbox = None          # set on a subclass by Sandbox.serve

    def log_message(self, format, *args):    # our own log replaces it
        pass

    def version_string(self):
        return self.server_version

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self):
        sb = self.sandbox
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Request(sb, self.command, self.path, self.headers, body)
        req.peer = "%s:%d" % self.client_address[:2]
        if req.path == CONTROL_PREFIX or req.path.startswith(CONTROL_PREFIX + "/"):
            self._send(sb.control(req))
            return
        if sb.latency > 0:
            sb.stopping.wait(sb.latency)
        route = sb.find_route(req.path)
        if route:
            req.service = route.service
            req.prefix = route.prefix
            op = route.operation(req) if route.operation else None
            if op:
                req.log["operation"] = op
        rule = sb.take_fault(req)
        if rule is not None:
            self._fault(req, route, rule)
            return
        if route is None:
            resp = json_response(404, {"error": {"code": "NotFound",
                                                 "message": "No sandbox service at %s" % req.path}})
        else:
            try:
                resp = route.handler(req)
            except Exception as e:      # a sandbox bug: say so, never hang
                import traceback
                traceback.print_exc()
                resp = json_response(500, {"error": {"code": "SandboxBug",
                                                     "message": type(e).__name__}})
        sb.record(req, resp.status, None)
        self._send(resp)

    def _send(self, resp, length=None, body=None, close=False):
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            if k.lower() not in ("content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body) if length is None else length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body if body is None else body)
        self.wfile.flush()

    def _abort(self):
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _fault(self, req, route, rule):
        sb = self.sandbox
        action = rule.action
        headers = {k: expand_now(v) for k, v in rule.headers.items()}
        body = rule.body
        if isinstance(body, str):
            body = expand_now(body)
        if action == "status":
            if body is None:
                msg = "Injected fault: HTTP %d" % rule.status
                body = route.error_body(rule.status, msg) if route and route.error_body \
                    else {"error": {"code": "SandboxFault", "message": msg}}
            resp = Response(rule.status, body, headers)
            sb.record(req, rule.status, action)
            self._send(resp)
        elif action == "malformed":
            resp = Response(rule.status, body if body is not None else '{"value": ',
                            headers, content_type="application/json; charset=utf-8")
            sb.record(req, rule.status, action)
            self._send(resp)
        elif action == "truncate":
            if body is not None:
                resp = Response(rule.status, body, headers,
                                content_type="application/json; charset=utf-8")
                part = resp.body
                length = len(part) + max(1, int(rule.extra))
            else:
                # The real answer, cut in half.
                resp = route.handler(req) if route else \
                    json_response(404, {"error": {"code": "NotFound", "message": req.path}})
                resp.headers.update(headers)
                part = resp.body[:len(resp.body) // 2]
                length = len(resp.body)
            sb.record(req, resp.status, action)
            self._send(resp, length=length, body=part, close=True)
            self._abort()
        elif action in ("hang", "drop") and rule.after == "process":
            if route is not None:
                route.handler(req)
            sb.record(req, None, action + "-after-process")
            if action == "hang":
                sb.stopping.wait(rule.seconds)
            self._abort()
        elif action == "hang":
            sb.record(req, None, action)
            sb.stopping.wait(rule.seconds)
            self._abort()
        elif action == "drop":
            sb.record(req, None, action)
            self._abort()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle
