"""SendGrid v3 Mail Send with dynamic templates.

    POST /sendgrid/v3/mail/send        Authorization: Bearer <API key>
    (base URL: http://127.0.0.1:PORT/sendgrid)

    GET|DELETE /_sandbox/sendgrid/delivered    NDJSON of accepted personalizations

Checks what SendGrid checks: the key (401), the JSON body (400, every problem
found listed in "errors", each with "message", "field", "help"), then the
sender identity (403). Success: 202, an empty body and X-Message-Id.

Data: "sendgrid": {"api_keys": [K...], "templates": {"d-<32 hex>": name},
"verified_senders": [addresses], "authenticated_domains": [domains],
"max_personalizations": 1000}; K a string or {"keyvault": "SecretName"}.
"""

import hmac
import json
import re
import secrets
import threading

from core import Response
from svc_retail import JsonFloat, encode

HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
_TEMPLATE_RE = re.compile(r"^d-[0-9a-f]{32}$")
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_DOMAIN_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                        r"[A-Za-z]{2,63}$")


def valid_email(text):
    """A plain ASCII addr-spec local@domain, as the providers accept."""
    if not isinstance(text, str) or len(text) > 254 or text.count("@") != 1:
        return False
    local, domain = text.split("@")
    return len(local) <= 64 and bool(_LOCAL_RE.match(local)) and bool(_DOMAIN_RE.match(domain))


def err(message, field=None, help_anchor=None):
    return {"message": message, "field": field,
            "help": HELP + help_anchor if help_anchor else None}


def errors(status, errs, headers=None):
    return Response(status, {"errors": errs}, headers)


def fault_body(status, message):
    if status == 429:
        return {"errors": [{"field": None, "message": "too many requests"}]}
    return {"errors": [{"field": None, "message": message}]}


def register(sb):
    conf = sb.data.get("sendgrid") or {}
    keys = [sb.secret_ref(k, "sendgrid.api_keys[%d]" % i)
            for i, k in enumerate(conf.get("api_keys") or [])]
    templates = dict(conf.get("templates") or {})
    senders = {s.lower() for s in conf.get("verified_senders") or []}
    domains = {d.lower() for d in conf.get("authenticated_domains") or []}
    max_pers = int(conf.get("max_personalizations", 1000))
    lock = threading.Lock()
    state = {"delivered": []}
    sb.sendgrid = state

    def check_key(req):
        raw = (req.header("Authorization") or "").strip()
        scheme, _, key = raw.partition(" ")
        if not raw:
            return "authorization required"
        if scheme.lower() != "bearer" or not any(
                hmac.compare_digest(key.strip().encode("utf-8"), k.encode("utf-8"))
                for k in keys):
            return "The provided authorization grant is invalid, expired, or revoked"
        return None

    def validate(body):
        """The list of errors of a Mail Send body."""
        out = []
        frm = body.get("from")
        if not isinstance(frm, dict) or not frm.get("email"):
            out.append(err("The from object must be provided for every email send. It is an "
                           "object that requires the email parameter, but may also contain a "
                           "name parameter.  e.g. {\"email\" : \"example@example.com\"}  or "
                           "{\"email\" : \"example@example.com\", \"name\" : \"Example "
                           "Recipient\"}.", "from.email", "from"))
        elif not valid_email(frm.get("email")):
            out.append(err("The from email does not contain a valid address.", "from.email",
                           "from"))
        tid = body.get("template_id")
        if tid is None:
            if not body.get("content"):
                out.append(err("Unless a valid template_id is provided, the content parameter "
                               "is required. There must be at least one defined content block. "
                               "We typically suggest both text/plain and text/html blocks are "
                               "included, but only one block is required.", "content",
                               "content"))
        elif not isinstance(tid, str) or not _TEMPLATE_RE.match(tid):
            out.append(err("The template_id must be a dynamic template id: \"d-\" and 32 "
                           "lowercase hex digits (this sandbox has no legacy templates).",
                           "template_id", "template_id"))
        elif tid not in templates:
            out.append(err("The template_id is not a template of this account.",
                           "template_id", "template_id"))
        pers = body.get("personalizations")
        if not isinstance(pers, list) or not pers:
            out.append(err("The personalizations field is required and must have at least "
                           "one personalization.", "personalizations", "personalizations"))
            return out
        if len(pers) > max_pers:
            out.append(err("The personalizations field may have at most %d personalizations "
                           "per request; you sent %d." % (max_pers, len(pers)),
                           "personalizations", "personalizations"))
            return out
        for i, p in enumerate(pers):
            f = "personalizations.%d" % i
            if not isinstance(p, dict):
                out.append(err("Invalid type. Expected: object.", f, "personalizations"))
                continue
            to = p.get("to")
            if not isinstance(to, list) or not to:
                out.append(err("The to array is required for all personalization objects, and "
                               "must have at least one email object with a valid email "
                               "address.", f + ".to", "personalizations.to"))
                continue
            seen = set()
            for j, r in enumerate(to):
                addr = r.get("email") if isinstance(r, dict) else None
                if not valid_email(addr):
                    out.append(err("Does not contain a valid address.",
                                   "%s.to.%d.email" % (f, j), "personalizations.to"))
                elif addr.lower() in seen:
                    out.append(err("Each email address in the personalization block should be "
                                   "unique between to, cc, and bcc. We found the first "
                                   "duplicate instance of [%s] in the %s.to field."
                                   % (addr, f), "%s.to" % f, "personalizations.to"))
                else:
                    seen.add(addr.lower())
            dtd = p.get("dynamic_template_data")
            if dtd is not None and not isinstance(dtd, dict):
                out.append(err("Invalid type. Expected: object, given: %s."
                               % type(dtd).__name__, f + ".dynamic_template_data",
                               "personalizations.dynamic_template_data"))
            ca = p.get("custom_args")
            if ca is not None:
                if not isinstance(ca, dict):
                    out.append(err("Invalid type. Expected: object.", f + ".custom_args",
                                   "personalizations.custom_args"))
                else:
                    for k, v in ca.items():
                        if not isinstance(v, str):
                            out.append(err("Invalid type. Expected: string, given: %s."
                                           % ("null" if v is None else type(v).__name__),
                                           "%s.custom_args.%s" % (f, k),
                                           "personalizations.custom_args"))
        return out

    def handle(req):
        req.log["request_bytes"] = len(req.body)
        if req.subpath != "/v3/mail/send":
            return errors(404, [{"field": None, "message": "not found"}])
        if req.method != "POST":
            return errors(405, [{"field": None, "message": "method not allowed"}],
                          {"Allow": "POST"})
        why = check_key(req)
        if why:
            req.log["auth_error"] = why
            return errors(401, [{"message": why, "field": None, "help": None}])
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=JsonFloat)
        except (ValueError, UnicodeDecodeError):
            return errors(400, [err("Bad Request")])
        if not isinstance(body, dict):
            return errors(400, [err("Bad Request")])
        if isinstance(body.get("personalizations"), list):
            req.log["personalizations"] = len(body["personalizations"])
        problems = validate(body)
        if problems:
            return errors(400, problems)
        frm = body["from"]["email"]
        if frm.lower() not in senders and frm.split("@")[1].lower() not in domains:
            return errors(403, [err("The from address does not match a verified Sender "
                                    "Identity. Mail cannot be sent until this error is "
                                    "resolved. Visit https://sendgrid.com/docs/for-developers/"
                                    "sending-email/sender-identity/ to see the Sender Identity "
                                    "requirements", "from")])
        msg_id = secrets.token_urlsafe(16)[:22]
        lines = [encode({"message_id": msg_id, "template_id": body.get("template_id"),
                         "from": frm, "to": [r["email"] for r in p["to"]],
                         "dynamic_template_data": p.get("dynamic_template_data"),
                         "custom_args": p.get("custom_args")}, ascii_only=False)
                 for p in body["personalizations"]]
        with lock:
            state["delivered"].extend(lines)
        req.log["message_id"] = msg_id
        req.log["recipients"] = sum(len(p["to"]) for p in body["personalizations"])
        return Response(202, b"", {"X-Message-Id": msg_id})

    sb.route("/sendgrid", "sendgrid", handle, fault_body)

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

    sb.add_control("/sendgrid/delivered", delivered)
