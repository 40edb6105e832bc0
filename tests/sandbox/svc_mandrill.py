"""Mailchimp Transactional (Mandrill): send-template, the rejection list, ping.

    POST /mandrill/api/1.0/messages/send-template[.json]    {"key": ..., ...}
    POST /mandrill/api/1.0/rejects/list[.json]              {"key": ..., "email"?,
                                                             "include_expired"?}
    POST /mandrill/api/1.0/users/ping2[.json]               {"key": ...}
    POST /mandrill/api/1.0/users/ping[.json]                {"key": ...}
    (base URL: http://127.0.0.1:PORT/mandrill)

    GET|DELETE /_sandbox/mandrill/delivered    NDJSON of sent and queued recipients
    GET|POST|DELETE /_sandbox/mandrill/rejects the rejection list (denylist)

As Mandrill does: every error is HTTP 500 with {"status":"error","code",
"name","message"} (Invalid_Key, ValidationError, Unknown_Template); success is
200 with one {"email","status","reject_reason","_id"} per recipient, in order.
Statuses: "rejected" for an address on the rejection list (its reason) or for
every recipient when from_email's domain is not a sending domain ("unsigned"),
"invalid" for an address that is not one, "queued" for the queued domains,
else "sent".

rejects/list answers the rejection list (the same list send-template rejects
by), at most 1000 entries, newest first, without the expired ones unless
include_expired is true.

Data: "mandrill": {"api_keys": [K...], "templates": [names],
"sending_domains": [domains], "rejected": {email: reason or {"reason",
"created_at", "detail", "expires_at", "last_event_at"}},
"queued_domains": [domains]}; K a string or {"keyvault": "SecretName"}.
Times are Mandrill's "YYYY-MM-DD HH:MM:SS" (UTC).
"""

import calendar
import hmac
import json
import re
import secrets
import threading
import time

from core import Response
from svc_retail import JsonFloat, encode
from svc_sendgrid import valid_email

PATHS = ("/api/1.0/messages/send-template", "/api/1.0/messages/send-template.json")
METHODS = ("messages/send-template", "rejects/list", "users/ping2", "users/ping")
REASONS = ("hard-bounce", "soft-bounce", "spam", "unsub", "custom")
MAX_REJECTS = 1000
# An entry of the data file without a time was made at this moment.
DEFAULT_CREATED = "2026-11-01 00:00:00"
_TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


def parse_time(text, what):
    """Mandrill's UTC "YYYY-MM-DD HH:MM:SS" -> unix seconds."""
    m = _TIME_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError("%s: want \"YYYY-MM-DD HH:MM:SS\" (UTC), not %r" % (what, text))
    return calendar.timegm(tuple(int(g) for g in m.groups()) + (0, 0, 0))


def format_time(secs):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs))


def reject_entry(email, spec, what, default_created=DEFAULT_CREATED):
    """A rejection list entry, Mandrill's members in Mandrill's order."""
    if isinstance(spec, str):
        spec = {"reason": spec}
    if not isinstance(spec, dict) or not isinstance(email, str) or not email:
        raise ValueError("%s: an email and a reason or an object" % what)
    if spec.get("reason") not in REASONS:
        raise ValueError("%s: reason must be one of %s" % (what, ", ".join(REASONS)))
    created = spec.get("created_at", default_created)
    parse_time(created, what + ".created_at")
    expires = spec.get("expires_at")
    if expires is not None:
        parse_time(expires, what + ".expires_at")
    last = spec.get("last_event_at", created)
    parse_time(last, what + ".last_event_at")
    return {"email": email, "reason": spec["reason"], "detail": spec.get("detail", ""),
            "created_at": created, "last_event_at": last, "expires_at": expires,
            "expired": False, "sender": None, "subaccount": None}


def md_error(code, name, message, status=500):
    return Response(status, {"status": "error", "code": code, "name": name,
                             "message": message})


def invalid(detail):
    """Mandrill's ValidationError, with the offending field as JSON."""
    return md_error(-2, "ValidationError",
                    "Validation error: " + json.dumps(detail, separators=(",", ":")))


def fault_body(status, message):
    return {"status": "error", "code": -1, "name": "GeneralError", "message": message}


def register(sb):
    conf = sb.data.get("mandrill") or {}
    keys = [sb.secret_ref(k, "mandrill.api_keys[%d]" % i)
            for i, k in enumerate(conf.get("api_keys") or [])]
    templates = set(conf.get("templates") or [])
    sending = {d.lower() for d in conf.get("sending_domains") or []}
    seeded = {}
    for e, r in (conf.get("rejected") or {}).items():
        seeded[e.lower()] = reject_entry(e, r, "mandrill.rejected[%r]" % e)
    queued = {d.lower() for d in conf.get("queued_domains") or []}
    lock = threading.Lock()
    state = {"delivered": [], "rejects": dict(seeded)}
    sb.mandrill = state

    def live_reject(email):
        """The unexpired rejection of EMAIL, or None."""
        with lock:
            r = state["rejects"].get(email.lower())
        if r is None or (r["expires_at"] is not None
                         and parse_time(r["expires_at"], "expires_at") <= sb.now()):
            return None
        return r

    def status_of(email, signed):
        if not valid_email(email):
            return "invalid", None
        if not signed:
            return "rejected", "unsigned"
        r = live_reject(email)
        if r is not None:
            return "rejected", r["reason"]
        if email.split("@")[1].lower() in queued:
            return "queued", None
        return "sent", None

    def keyed_body(req):
        """(body, None) for a JSON object with a valid key, else (None, error)."""
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=JsonFloat)
        except (ValueError, UnicodeDecodeError):
            return None, md_error(-2, "ValidationError", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return None, md_error(-2, "ValidationError",
                                  "The request body is not a JSON object.")
        key = body.get("key")
        if not isinstance(key, str) or not key:
            return None, md_error(-2, "ValidationError", "You must specify a key value")
        if not any(hmac.compare_digest(key.encode("utf-8"), k.encode("utf-8")) for k in keys):
            req.log["auth_error"] = "Invalid_Key"
            return None, md_error(-1, "Invalid_Key", "Invalid API key")
        return body, None

    def rejects_list(req):
        body, err = keyed_body(req)
        if err:
            return err
        email = body.get("email")
        if email is not None and not isinstance(email, str):
            return invalid({"email": "Please enter a valid email address"})
        inc = body.get("include_expired", False)
        if not isinstance(inc, bool):
            return invalid({"include_expired": "must be a boolean"})
        sub = body.get("subaccount")
        if sub is not None and not isinstance(sub, str):
            return invalid({"subaccount": "must be a string"})
        if sub:
            # No subaccounts here, as an account without any answers.
            return md_error(12, "Unknown_Subaccount", "No subaccount exists with the id '%s'"
                            % sub)
        now = sb.now()
        with lock:
            entries = [dict(r) for r in state["rejects"].values()]
        out = []
        for r in entries:
            r["expired"] = r["expires_at"] is not None and \
                parse_time(r["expires_at"], "expires_at") <= now
            if (inc or not r["expired"]) and (not email or r["email"].lower() == email.lower()):
                out.append(r)
        out.sort(key=lambda r: parse_time(r["created_at"], "created_at"), reverse=True)
        out = out[:MAX_REJECTS]
        req.log["returned"] = len(out)
        return Response(200, out)

    def ping(req, two):
        body, err = keyed_body(req)
        if err:
            return err
        if two:
            return Response(200, {"PING": "PONG!"})
        # users/ping answers a bare JSON string.
        return Response(200, b'"PONG!"', content_type="application/json; charset=utf-8")

    def operation(req):
        """The API method: "rejects/list" for /api/1.0/rejects/list[.json]."""
        method = req.subpath[len("/api/1.0/"):] if req.subpath.startswith("/api/1.0/") else ""
        if method.endswith(".json"):
            method = method[:-5]
        return method if method in METHODS else None

    def handle(req):
        req.log["request_bytes"] = len(req.body)
        method = operation(req)
        if method in ("rejects/list", "users/ping2", "users/ping") and req.method == "POST":
            return rejects_list(req) if method == "rejects/list" else \
                ping(req, method == "users/ping2")
        if req.subpath not in PATHS or req.method != "POST":
            return md_error(-1, "Unknown_Method", "The sandbox serves only POST "
                            "/api/1.0/messages/send-template, rejects/list, users/ping "
                            "and users/ping2 [.json], not %s %s."
                            % (req.method, req.path), 404)
        body, err = keyed_body(req)
        if err:
            return err
        name = body.get("template_name")
        req.log["template_name"] = name
        if not isinstance(name, str) or not name:
            return invalid({"template_name": "Sorry, this field can't be left blank."})
        if not isinstance(body.get("template_content"), list):
            return invalid({"template_content": "Please enter an array"})
        for i, tc in enumerate(body["template_content"]):
            if not isinstance(tc, dict) or not isinstance(tc.get("name"), str):
                return invalid({"template_content": {str(i): {
                    "name": "Sorry, this field can't be left blank."}}})
        msg = body.get("message")
        if not isinstance(msg, dict):
            return invalid({"message": "Please enter an array"})
        to = msg.get("to")
        if not isinstance(to, list):
            return invalid({"message": {"to": "Please enter an array"}})
        req.log["recipients"] = len(to)
        for i, r in enumerate(to):
            if not isinstance(r, dict) or not isinstance(r.get("email"), str) \
                    or not r["email"]:
                return invalid({"message": {"to": {str(i): {
                    "email": "Sorry, this field can't be left blank."}}}})
            if r.get("type", "to") not in ("to", "cc", "bcc"):
                return invalid({"message": {"to": {str(i): {
                    "type": "must be one of to, cc, bcc"}}}})
        lang = msg.get("merge_language", "mailchimp")
        if lang not in ("mailchimp", "handlebars"):
            return invalid({"message": {"merge_language":
                                        "must be one of mailchimp, handlebars"}})
        mv = msg.get("merge_vars", [])
        if not isinstance(mv, list):
            return invalid({"message": {"merge_vars": "Please enter an array"}})
        by_rcpt = {}
        for i, m in enumerate(mv):
            if not isinstance(m, dict) or not isinstance(m.get("rcpt"), str) \
                    or not isinstance(m.get("vars", []), list) \
                    or not all(isinstance(v, dict) and isinstance(v.get("name"), str)
                               for v in m.get("vars", [])):
                return invalid({"message": {"merge_vars": {str(i): "want {\"rcpt\": "
                                "email, \"vars\": [{\"name\", \"content\"}]}"}}})
            by_rcpt.setdefault(m["rcpt"].lower(), []).extend(m.get("vars", []))
        if "preserve_recipients" in msg and \
                not isinstance(msg["preserve_recipients"], (bool, type(None))):
            return invalid({"message": {"preserve_recipients": "must be a boolean"}})
        frm = msg.get("from_email")
        if frm is not None and not valid_email(frm):
            return invalid({"message": {"from_email":
                                        "An email address must contain a single @"}})
        if name not in templates:
            return md_error(5, "Unknown_Template", "No such template \"%s\"" % name)
        emails = {r["email"].lower() for r in to}
        req.log["merge_vars_unmatched"] = sum(1 for r in by_rcpt if r not in emails)
        # Without a from_email Mandrill uses the template's, which is signed.
        signed = frm is None or frm.split("@")[1].lower() in sending
        out, lines = [], []
        counts = {}
        for r in to:
            st, reason = status_of(r["email"], signed)
            _id = secrets.token_hex(16)
            out.append({"email": r["email"], "status": st, "reject_reason": reason,
                        "_id": _id})
            counts[st] = counts.get(st, 0) + 1
            if st in ("sent", "queued"):
                lines.append(encode({"_id": _id, "email": r["email"], "status": st,
                                     "template_name": name, "from_email": frm,
                                     "merge_language": lang,
                                     "vars": by_rcpt.get(r["email"].lower(), [])},
                                    ascii_only=False))
        with lock:
            state["delivered"].extend(lines)
        req.log["statuses"] = counts
        return Response(200, out)

    sb.route("/mandrill", "mandrill", handle, fault_body, operation)

    def delivered(req):
        if req.method == "GET":
            with lock:
                lines = list(state["delivered"])
            return Response(200, "".join(l + "\n" for l in lines).encode("utf-8"),
                            content_type="application/x-ndjson")
        if req.method == "DELETE":
            with lock:
                state["delivered"] = []
            return Response(200, {"cleared": True})
        return Response(405, {"error": "GET or DELETE"})

    sb.add_control("/mandrill/delivered", delivered)

    def rejects_control(req):
        if req.method == "GET":
            with lock:
                out = sorted(state["rejects"].values(), key=lambda r: r["email"].lower())
            return Response(200, out)
        if req.method == "DELETE":
            with lock:
                state["rejects"] = dict(seeded)
            return Response(200, {"reset": True})
        if req.method != "POST":
            return Response(405, {"error": "GET, POST or DELETE"})
        try:
            spec = json.loads(req.body.decode("utf-8"))
            given = spec.get("entries") if isinstance(spec, dict) else None
            if not isinstance(given, list) or not given:
                raise ValueError("\"entries\" must be a non-empty list")
            now = format_time(sb.now())
            added = [reject_entry(e.get("email") if isinstance(e, dict) else None,
                                  e, "entries[%d]" % i, now)
                     for i, e in enumerate(given)]
        except (ValueError, UnicodeDecodeError, AttributeError) as e:
            return Response(400, {"error": "want {\"entries\": [{\"email\", \"reason\", "
                                           "\"created_at\"...}]}: %s" % e})
        with lock:
            for r in added:
                state["rejects"][r["email"].lower()] = r
        return Response(201, {"added": len(added)})

    sb.add_control("/mandrill/rejects", rejects_control)
