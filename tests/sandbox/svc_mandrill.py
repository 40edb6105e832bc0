"""Mailchimp Transactional (Mandrill): messages/send-template.

    POST /mandrill/api/1.0/messages/send-template[.json]    {"key": ..., ...}
    (base URL: http://127.0.0.1:PORT/mandrill)

    GET|DELETE /_sandbox/mandrill/delivered    NDJSON of sent and queued recipients

As Mandrill does: every error is HTTP 500 with {"status":"error","code",
"name","message"} (Invalid_Key, ValidationError, Unknown_Template); success is
200 with one {"email","status","reject_reason","_id"} per recipient, in order.
Statuses: "rejected" for an address on the rejection list (its reason) or for
every recipient when from_email's domain is not a sending domain ("unsigned"),
"invalid" for an address that is not one, "queued" for the queued domains,
else "sent".

Data: "mandrill": {"api_keys": [K...], "templates": [names],
"sending_domains": [domains], "rejected": {email: reason},
"queued_domains": [domains]}; K a string or {"keyvault": "SecretName"}.
"""

import hmac
import json
import secrets
import threading

from core import Response
from svc_retail import JsonFloat, encode
from svc_sendgrid import valid_email

PATHS = ("/api/1.0/messages/send-template", "/api/1.0/messages/send-template.json")


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
    rejected = {e.lower(): r for e, r in (conf.get("rejected") or {}).items()}
    queued = {d.lower() for d in conf.get("queued_domains") or []}
    lock = threading.Lock()
    state = {"delivered": []}
    sb.mandrill = state

    def status_of(email, signed):
        if not valid_email(email):
            return "invalid", None
        if not signed:
            return "rejected", "unsigned"
        if email.lower() in rejected:
            return "rejected", rejected[email.lower()]
        if email.split("@")[1].lower() in queued:
            return "queued", None
        return "sent", None

    def handle(req):
        req.log["request_bytes"] = len(req.body)
        if req.subpath not in PATHS or req.method != "POST":
            return md_error(-1, "Unknown_Method", "The sandbox serves only POST "
                            "/api/1.0/messages/send-template[.json], not %s %s."
                            % (req.method, req.path), 404)
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=JsonFloat)
        except (ValueError, UnicodeDecodeError):
            return md_error(-2, "ValidationError", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return md_error(-2, "ValidationError", "The request body is not a JSON object.")
        key = body.get("key")
        if not isinstance(key, str) or not key:
            return md_error(-2, "ValidationError", "You must specify a key value")
        if not any(hmac.compare_digest(key.encode("utf-8"), k.encode("utf-8")) for k in keys):
            req.log["auth_error"] = "Invalid_Key"
            return md_error(-1, "Invalid_Key", "Invalid API key")
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

    sb.route("/mandrill", "mandrill", handle, fault_body)

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
