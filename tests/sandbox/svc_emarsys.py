"""Emarsys: external event triggers, WSSE or OAuth2.

    POST /emarsys/api/v2/event/{eventId}/trigger     X-WSSE: UsernameToken ...
    POST /emarsys/oauth2/token                       Basic client_id:secret
    POST /emarsys/api/v3/event/{eventId}/trigger     Authorization: Bearer <token>
    GET  /emarsys/api/v2/settings                    X-WSSE (a read-only check)
    (ApiUrl: http://127.0.0.1:PORT/emarsys/api/v2/event/{0}/trigger)

    GET|DELETE /_sandbox/emarsys/delivered           NDJSON of delivered contacts
    POST /_sandbox/emarsys/rate_limit {"per_minute": N}

Checks what Emarsys checks: the WSSE digest, base64(hex(SHA1(nonce + created +
secret))), Created within 5 minutes of the server clock (sb.now(), which
POST /_sandbox/clock can shift), a nonce used once; then a per-user rate limit,
the event id, key_id, at most 1000 contacts and 1,000,000 bytes. trigger_id
makes a repeat a no-op. It takes no less than Emarsys takes: the .NET sample's
own header (a non-hex nonce, Created with 7 fraction digits, text after the last
parameter) passes. Contacts in "unknown_contacts" get Emarsys's per-contact
error 2008 inside an HTTP 200.

Data: "emarsys": {"users": [{"user": U, "secret": S, "rate_limit_per_minute": N}],
"events": {id: name}, "key_ids": ["3"], "unknown_contacts": [emails],
"max_contacts": 1000, "max_body_bytes": 1000000, "created_window_seconds": 300,
"token_lifetime": 3600, "settings": {the account's settings}}; U and S are
strings or {"keyvault": "SecretName"}.
See README.md.
"""

import base64
import binascii
import calendar
import hashlib
import hmac
import json
import re
import threading

from core import Response, TokenError
from svc_retail import JsonFloat, encode

API_AUDIENCE = "https://api.emarsys.net"
OAUTH_TENANT = "emarsys"
_WSSE_RE = re.compile(r'^\s*UsernameToken\s+(.*)$', re.S)
_PARAM_RE = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"')
_COMMA_RE = re.compile(r'\s*,')
# Emarsys's docs show 32 hex digits, but the .NET sample sends 32 characters
# of lowercase letters and digits and Emarsys takes them: any visible text.
_NONCE_RE = re.compile(r'^[!-~]+$')
_CREATED_RE = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?'
                         r'(Z|[+-](\d{2}):?(\d{2}))$')
_TRIGGER_RE = re.compile(r'^/api/(v2|v3)/event/([^/]+)/trigger$')

# GET /api/v2/settings: what the account says of itself.
DEFAULT_SETTINGS = {"id": 218144431, "environment": "suite17.emarsys.net",
                    "timezone": "Europe/Vienna", "name": "cartwatch sandbox",
                    "password_history_queue_size": 1, "country": "Austria"}

# Texts of Emarsys's 401s. "Unauthorized Time frame is invalid" is what Emarsys
# answers a Created out of its window; the others follow its pattern.
UNAUTHORIZED = "Unauthorized"


def reply(status, code, text, data="", headers=None):
    return Response(status, {"replyCode": code, "replyText": text, "data": data}, headers)


def fault_body(status, message):
    return {"replyCode": 7003 if status == 429 else status, "replyText": message,
            "data": ""}


def parse_created(text):
    """ISO 8601 with an offset ("Z", "+00:00", "+0000") -> unix seconds."""
    m = _CREATED_RE.match(text or "")
    if not m:
        raise ValueError("not ISO 8601")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if m.group(7) != "Z":
        off = int(m.group(8)) * 3600 + int(m.group(9)) * 60
        secs -= off if m.group(7)[0] == "+" else -off
    return secs


def wsse_digest(nonce, created, secret):
    hexd = hashlib.sha1((nonce + created + secret).encode("utf-8")).hexdigest()
    return base64.b64encode(hexd.encode("ascii")).decode("ascii")


def contact_id(email):
    """A stable, made-up Emarsys contact id for an email."""
    return str(100000000 + int(hashlib.sha1(email.lower().encode("utf-8")).hexdigest()[:8],
                               16) % 900000000)


class Emarsys:
    def __init__(self, sb):
        conf = sb.data.get("emarsys") or {}
        self.users = {}                 # user name -> {"secret", "limit"}
        for i, u in enumerate(conf.get("users") or []):
            if not isinstance(u, dict):
                raise ValueError("emarsys.users[%d]: an object" % i)
            name = sb.secret_ref(u.get("user"), "emarsys.users[%d].user" % i)
            secret = sb.secret_ref(u.get("secret"), "emarsys.users[%d].secret" % i)
            limit = u.get("rate_limit_per_minute", 1000)
            if not isinstance(limit, int) or limit < 1:
                raise ValueError("emarsys.users[%d].rate_limit_per_minute: a positive "
                                 "integer" % i)
            self.users[name] = {"secret": secret, "limit": limit}
        self.events = {str(k): v for k, v in (conf.get("events") or {}).items()}
        self.key_ids = [str(k) for k in conf.get("key_ids") or ["3"]]
        self.unknown = {e.lower() for e in conf.get("unknown_contacts") or []}
        self.max_contacts = int(conf.get("max_contacts", 1000))
        self.max_bytes = int(conf.get("max_body_bytes", 1000000))
        self.window = int(conf.get("created_window_seconds", 300))
        self.token_lifetime = int(conf.get("token_lifetime", 3600))
        self.settings = conf.get("settings") or DEFAULT_SETTINGS
        self.lock = threading.Lock()
        self.nonces = {}                # (user, nonce) -> server time it may be forgotten
        self.rate = {}                  # user -> [window start, count]
        self.triggered = set()          # (event, trigger_id, external_id)
        self.delivered = []             # NDJSON lines


def register(sb):
    em = Emarsys(sb)
    sb.emarsys = em

    # -- authentication --

    def check_wsse(req):
        """The API user, or (None, why)."""
        raw = req.header("X-WSSE")
        req.log["auth"] = "wsse"
        if raw is None:
            return None, "X-WSSE header is missing"
        m = _WSSE_RE.match(raw)
        params = {}
        if m:
            # Name="value" pairs separated by commas. The first thing after a
            # value that is not a comma ends the list and is ignored: the
            # sample's header runs on with '  Content-type: application/json;
            # charset="utf-8"', and Emarsys takes it.
            rest, pos = m.group(1), 0
            while True:
                pm = _PARAM_RE.match(rest, pos)
                if not pm or pm.group(1) in params:
                    params = None
                    break
                params[pm.group(1)] = pm.group(2)
                cm = _COMMA_RE.match(rest, pm.end())
                if not cm:
                    break
                pos = cm.end()
        if not m or params is None or \
                not {"Username", "PasswordDigest", "Nonce", "Created"} <= set(params):
            return None, "X-WSSE header is invalid"
        user = em.users.get(params["Username"])
        if user is None:
            return None, "Invalid username"
        want = wsse_digest(params["Nonce"], params["Created"], user["secret"])
        if not hmac.compare_digest(want.encode("ascii"),
                                   params["PasswordDigest"].encode("utf-8", "replace")):
            return None, "Invalid password digest"
        if not _NONCE_RE.match(params["Nonce"]):
            return None, "Nonce is invalid"
        try:
            created = parse_created(params["Created"])
        except ValueError:
            return None, "Time frame is invalid"
        now = sb.now()
        req.log["created_skew"] = int(round(created - now))
        if abs(created - now) > em.window:
            return None, "Time frame is invalid"
        key = (params["Username"], params["Nonce"].lower())
        with em.lock:
            for k in [k for k, until in em.nonces.items() if until < now]:
                del em.nonces[k]
            if key in em.nonces:
                return None, "Nonce already used"
            # Usable while its Created is in the window: forget it after.
            em.nonces[key] = created + em.window
        return params["Username"], None

    def check_bearer(req):
        req.log["auth"] = "bearer"
        try:
            claims = sb.validate_token(req.header("Authorization"), [API_AUDIENCE])
        except TokenError as e:
            return None, {"missing": "Authorization header is missing",
                          "scheme": "Authorization is not Bearer"}.get(
                              e.kind, "Invalid access token (%s)" % e.kind)
        user = claims.get("appid")
        if user not in em.users or claims.get("tid") != OAUTH_TENANT:
            return None, "Invalid access token (not an Emarsys client)"
        return user, None

    def rate_headers(user):
        """(allowed?, headers): one request counted against the user's minute."""
        now = int(sb.now())
        start = now - now % 60
        limit = em.users[user]["limit"]
        with em.lock:
            w = em.rate.get(user)
            if w is None or w[0] != start:
                w = em.rate[user] = [start, 0]
            w[1] += 1
            count = w[1]
        return count <= limit, {"X-RateLimit-Limit": str(limit),
                                "X-RateLimit-Remaining": str(max(0, limit - count)),
                                "X-RateLimit-Reset": str(start + 60)}

    # -- OAuth2 --

    def oauth_error(status, error, description, headers=None):
        return Response(status, {"error": error, "error_description": description}, headers)

    def token(req):
        req.log["api"] = "oauth2"
        req.log["auth"] = "basic"
        if req.method != "POST":
            return oauth_error(405, "invalid_request", "The token endpoint takes POST.",
                               {"Allow": "POST"})
        challenge = {"WWW-Authenticate": 'Basic realm="emarsys"'}
        raw = (req.header("Authorization") or "").strip()
        scheme, _, cred = raw.partition(" ")
        if scheme.lower() != "basic":
            return oauth_error(401, "invalid_client", "Client authentication failed: send "
                               "Authorization: Basic base64(client_id:client_secret).",
                               challenge)
        try:
            client_id, sep, client_secret = base64.b64decode(
                cred.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            sep = ""
        if not sep:
            return oauth_error(401, "invalid_client", "Client authentication failed: the "
                               "Basic credentials are not base64(client_id:client_secret).",
                               challenge)
        user = em.users.get(client_id)
        if user is None or not hmac.compare_digest(user["secret"].encode("utf-8"),
                                                   client_secret.encode("utf-8")):
            req.log["auth_error"] = "invalid_client"
            return oauth_error(401, "invalid_client", "Client authentication failed.",
                               challenge)
        form = req.form or {}
        grant = form.get("grant_type")
        if not grant:
            return oauth_error(400, "invalid_request", "The request is missing the "
                               "grant_type parameter (a form body, "
                               "application/x-www-form-urlencoded).")
        if grant != "client_credentials":
            return oauth_error(400, "unsupported_grant_type", "The authorization grant type "
                               "%r is not supported: use client_credentials." % grant)
        tok, _ = sb.issue_token(API_AUDIENCE, client_id, OAUTH_TENANT, em.token_lifetime)
        return Response(200, {"access_token": tok, "token_type": "bearer",
                              "expires_in": em.token_lifetime},
                        {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- the trigger --

    def bad(code, text, headers):
        return reply(400, code, text, "", headers)

    def trigger(req, version, event):
        req.log["api"] = version
        req.log["event"] = event
        req.log["request_bytes"] = len(req.body)
        if req.method != "POST":
            return bad(1009, "Invalid HTTP method.", None)
        user, why = check_wsse(req) if version == "v2" else check_bearer(req)
        if user is None:
            req.log["auth_error"] = why
            return reply(401, 1, "%s %s" % (UNAUTHORIZED, why))
        allowed, headers = rate_headers(user)
        if not allowed:
            req.log["rate_limited"] = True
            return reply(429, 7003, "Too many requests for this account and resource "
                         "within the last minute.", "", headers)
        if event not in em.events:
            return bad(5001, "Invalid event ID for customer.", headers)
        if len(req.body) > em.max_bytes:
            return bad(1000, "The request exceeded the maximum payload size of %d bytes "
                       "(it has %d)." % (em.max_bytes, len(req.body)), headers)
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=JsonFloat)
        except (ValueError, UnicodeDecodeError):
            return bad(1010, "Invalid request payload.", headers)
        if not isinstance(body, dict):
            return bad(1010, "Invalid request payload.", headers)
        key_id = body.get("key_id")
        if key_id is None or key_id == "":
            return bad(1001, "One or more parameters are invalid or missing: key_id.",
                       headers)
        if isinstance(key_id, bool) or not isinstance(key_id, (str, int)) or \
                str(key_id) not in em.key_ids:
            return bad(2004, "Invalid key field id: %s" % (key_id,), headers)
        key_id = str(key_id)
        contacts = body.get("contacts")
        if contacts is None:
            return bad(1001, "One or more parameters are invalid or missing: contacts "
                       "(this sandbox serves the batch form only).", headers)
        if not isinstance(contacts, list):
            return bad(2003, "Invalid data format. Array expected", headers)
        req.log["contacts"] = len(contacts)
        if not contacts:
            return bad(1006, "Empty parameter(s): contacts.", headers)
        if len(contacts) > em.max_contacts:
            return bad(1000, "The request exceeded the maximum batch size of %s"
                       % format(em.max_contacts, ","), headers)
        for c in contacts:
            if not isinstance(c, dict):
                return bad(1010, "Invalid request payload.", headers)
            ext = c.get("external_id")
            if not isinstance(ext, str) or not ext.strip():
                return bad(2005, "No value provided for key field: %s" % key_id, headers)
            tid = c.get("trigger_id")
            if tid is not None and not isinstance(tid, str):
                return bad(1001, "One or more parameters are invalid or missing: "
                           "trigger_id must be a string.", headers)
            if c.get("data") is not None and not isinstance(c.get("data"), dict):
                return bad(5011, "Event data is not an object.", headers)
        ids, errors = [], {}
        delivered = duplicates = 0
        with em.lock:
            for c in contacts:
                ext = c["external_id"]
                if ext.lower() in em.unknown:
                    errors[ext] = {"2008": "No contact found with the external id: %s - %s"
                                           % (key_id, ext)}
                    continue
                ids.append(contact_id(ext))
                tid = c.get("trigger_id")
                if tid is not None:
                    k = (event, tid, ext)
                    if k in em.triggered:
                        duplicates += 1
                        continue
                    em.triggered.add(k)
                em.delivered.append(encode({"event": event, "trigger_id": tid,
                                            "external_id": ext, "data": c.get("data")},
                                           ascii_only=False))
                delivered += 1
        req.log.update({"delivered": delivered, "duplicates": duplicates,
                        "contact_errors": len(errors)})
        data = {"ids": ids}
        if errors:
            data["errors"] = errors
        return reply(200, 0, "OK", data, headers)

    def settings(req):
        req.log["api"] = "v2"
        if req.method != "GET":
            return bad(1009, "Invalid HTTP method.", None)
        user, why = check_wsse(req)
        if user is None:
            req.log["auth_error"] = why
            return reply(401, 1, "%s %s" % (UNAUTHORIZED, why))
        allowed, headers = rate_headers(user)
        if not allowed:
            req.log["rate_limited"] = True
            return reply(429, 7003, "Too many requests for this account and resource "
                         "within the last minute.", "", headers)
        return reply(200, 0, "OK", em.settings, headers)

    def handle(req):
        sub = req.subpath
        if sub == "/oauth2/token":
            return token(req)
        if sub == "/api/v2/settings":
            return settings(req)
        m = _TRIGGER_RE.match(sub)
        if m:
            return trigger(req, m.group(1), m.group(2))
        return reply(404, 1, "Not Found: the sandbox serves POST /api/v2/event/{id}/trigger, "
                             "/api/v3/event/{id}/trigger, GET /api/v2/settings and "
                             "/oauth2/token only.")

    def operation(req):
        return {"/oauth2/token": "oauth2/token", "/api/v2/settings": "settings"}.get(
            req.subpath, "event/trigger" if _TRIGGER_RE.match(req.subpath) else None)

    sb.route("/emarsys", "emarsys", handle, fault_body, operation)

    # -- control --

    def delivered(req):
        if req.method == "GET":
            with em.lock:
                lines = list(em.delivered)
            return Response(200, "".join(l + "\n" for l in lines).encode("utf-8"),
                            content_type="application/x-ndjson")
        if req.method == "DELETE":
            with em.lock:
                em.delivered = []
                em.triggered = set()
            return Response(200, {"cleared": True})
        return Response(405, {"error": "GET or DELETE"})

    def rate_limit(req):
        if req.method != "POST":
            return Response(405, {"error": "POST {\"per_minute\": N}"})
        try:
            n = json.loads(req.body.decode("utf-8"))["per_minute"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError("not a positive integer")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            return Response(400, {"error": "want {\"per_minute\": N}: %s" % e})
        with em.lock:
            for u in em.users.values():
                u["limit"] = n
            em.rate = {}
        return Response(200, {"per_minute": n})

    sb.add_control("/emarsys/delivered", delivered)
    sb.add_control("/emarsys/rate_limit", rate_limit)
