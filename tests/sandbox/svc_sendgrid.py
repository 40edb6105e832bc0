"""SendGrid v3: Mail Send with dynamic templates, the suppression lists, scopes.

    POST /sendgrid/v3/mail/send        Authorization: Bearer <API key>
    GET  /sendgrid/v3/suppression/{bounces|spam_reports|invalid_emails|unsubscribes}
         ?start_time=&end_time=&limit=&offset=&email=
    GET  /sendgrid/v3/scopes
    (base URL: http://127.0.0.1:PORT/sendgrid)

    GET|DELETE /_sandbox/sendgrid/delivered       NDJSON of accepted personalizations
    GET|POST|DELETE /_sandbox/sendgrid/suppressions   the suppression lists

Checks what SendGrid checks: the key (401) and its scopes (403 "access
forbidden"), the JSON body (400, every problem found listed in "errors", each
with "message", "field", "help"), then the sender identity (403). Success: 202,
an empty body and X-Message-Id.

Data: "sendgrid": {"api_keys": [K...], "templates": {"d-<32 hex>": name},
"verified_senders": [addresses], "authenticated_domains": [domains],
"max_personalizations": 1000, "suppressions": {list: [entry...]}}; K a string,
{"keyvault": "SecretName"} (a full-access key) or {"key": string or
{"keyvault": ...}, "scopes": [scope...]} (a restricted key).
"""

import hmac
import json
import re
import secrets
import threading

from core import Response
from svc_retail import JsonFloat, encode

HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message."
SUPPRESSION_LISTS = ("bounces", "spam_reports", "invalid_emails", "unsubscribes")
# Each list's members after created and email, with a control add's defaults.
SUPPRESSION_FIELDS = {
    "bounces": {"reason": "550 5.1.1 The email account that you tried to reach does not exist.",
                "status": "5.1.1"},
    "spam_reports": {"ip": "10.63.202.100"},
    "invalid_emails": {"reason": "Mail domain mentioned in email address is unknown"},
    "unsubscribes": {},
}
MAX_LIMIT = 500
# What a full-access key holds (the part of SendGrid's scopes cartwatch meets).
FULL_ACCESS = sorted(["mail.send", "mail.batch.read", "templates.read",
                      "templates.versions.read", "user.profile.read", "user.email.read",
                      "suppression.read", "suppression.create", "suppression.update",
                      "suppression.delete"]
                     + ["suppression.%s.%s" % (l, a)
                        for l in SUPPRESSION_LISTS + ("blocks",)
                        for a in ("create", "read", "update", "delete")])
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


def api_key(sb, spec, what):
    """(key, scopes) of one api_keys entry."""
    if isinstance(spec, dict) and "key" in spec:
        scopes = spec.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
            raise ValueError("%s.scopes: a list of strings" % what)
        return sb.secret_ref(spec["key"], what + ".key"), sorted(set(scopes))
    return sb.secret_ref(spec, what), FULL_ACCESS


def suppression_entry(name, spec, what, default_created=None):
    """One entry of a suppression list: created and email first, then the
    list's own members (defaults filled in when DEFAULT_CREATED is given)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("email"), str) \
            or not spec["email"]:
        raise ValueError("%s: an object with an \"email\"" % what)
    created = spec.get("created", default_created)
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise ValueError("%s: \"created\" must be unix seconds (an integer)" % what)
    entry = {"created": created, "email": spec["email"]}
    for k, v in SUPPRESSION_FIELDS[name].items():
        if k in spec or default_created is not None:
            entry[k] = spec.get(k, v)
    for k, v in spec.items():
        entry.setdefault(k, v)
    return entry


def suppression_lists(conf):
    lists = {name: [] for name in SUPPRESSION_LISTS}
    given = conf.get("suppressions") or {}
    if not isinstance(given, dict) or set(given) - set(SUPPRESSION_LISTS):
        raise ValueError("sendgrid.suppressions: an object with the lists %s"
                         % ", ".join(SUPPRESSION_LISTS))
    for name, entries in given.items():
        for i, e in enumerate(entries or []):
            lists[name].append(suppression_entry(name, e, "sendgrid.suppressions.%s[%d]"
                                                 % (name, i)))
    return lists


def int_param(req, name, default, lo=None, hi=None):
    """A query parameter that must be a whole number in [lo, hi]: the value,
    or an error Response naming the field."""
    raw = req.query.get(name)
    if raw is None:
        return default
    if re.fullmatch(r"-?[0-9]+", raw.strip()):
        v = int(raw)
        if (lo is None or v >= lo) and (hi is None or v <= hi):
            return v
    if lo is not None and hi is not None:
        rule = "an integer from %d to %d" % (lo, hi)
    elif lo is not None:
        rule = "an integer of %d or more" % lo
    else:
        rule = "an integer (unix seconds)"
    return errors(400, [{"field": name, "message": "%s must be %s, not %r" % (name, rule, raw)}])


def register(sb):
    conf = sb.data.get("sendgrid") or {}
    key_scopes = [api_key(sb, k, "sendgrid.api_keys[%d]" % i)
                  for i, k in enumerate(conf.get("api_keys") or [])]
    keys = [k for k, _ in key_scopes]
    templates = dict(conf.get("templates") or {})
    senders = {s.lower() for s in conf.get("verified_senders") or []}
    domains = {d.lower() for d in conf.get("authenticated_domains") or []}
    max_pers = int(conf.get("max_personalizations", 1000))
    seeded = suppression_lists(conf)
    lock = threading.Lock()
    state = {"delivered": [], "suppressions": {n: list(l) for n, l in seeded.items()}}
    sb.sendgrid = state

    def authorize(req, scope):
        """None when the Bearer key is good and holds SCOPE (None: any key),
        else the error Response (401, or 403 without the scope)."""
        raw = (req.header("Authorization") or "").strip()
        scheme, _, key = raw.partition(" ")
        why, scopes = None, None
        if not raw:
            why = "authorization required"
        elif scheme.lower() == "bearer":
            for k, sc in key_scopes:
                if hmac.compare_digest(key.strip().encode("utf-8"), k.encode("utf-8")):
                    scopes = sc
        if why is None and scopes is None:
            why = "The provided authorization grant is invalid, expired, or revoked"
        if why:
            req.log["auth_error"] = why
            return errors(401, [{"message": why, "field": None, "help": None}])
        req.log["scopes"] = len(scopes)
        if scope is not None and scope not in scopes:
            req.log["auth_error"] = "no scope " + scope
            return errors(403, [{"field": None, "message": "access forbidden"}])
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

    def scopes(req):
        if req.method != "GET":
            return errors(405, [{"field": None, "message": "method not allowed"}],
                          {"Allow": "GET"})
        refused = authorize(req, None)
        if refused:
            return refused
        key = req.header("Authorization").strip().partition(" ")[2].strip()
        mine = next(sc for k, sc in key_scopes
                    if hmac.compare_digest(key.encode("utf-8"), k.encode("utf-8")))
        return Response(200, {"scopes": mine})

    def suppressions(req, name):
        if req.method != "GET":
            return errors(405, [{"field": None, "message": "method not allowed"}],
                          {"Allow": "GET"})
        refused = authorize(req, "suppression.%s.read" % name)
        if refused:
            return refused
        params = [int_param(req, "start_time", None), int_param(req, "end_time", None),
                  int_param(req, "limit", MAX_LIMIT, 1, MAX_LIMIT),
                  int_param(req, "offset", 0, 0)]
        for p in params:
            if isinstance(p, Response):
                return p
        start, end, limit, offset = params
        # email: a prefix; %25 (a decoded %) is a wildcard, as SendGrid's filter.
        prefix = req.query.get("email")
        pattern = None if not prefix else re.compile(
            ".*".join(re.escape(part) for part in prefix.split("%")), re.I)
        with lock:
            entries = list(state["suppressions"][name])
        found = [e for e in entries
                 if (start is None or e["created"] >= start)
                 and (end is None or e["created"] <= end)
                 and (pattern is None or pattern.match(e["email"]))]
        # Newest first; the same second keeps the order entries were added in.
        found.sort(key=lambda e: e["created"], reverse=True)
        out = found[offset:offset + limit]
        req.log["returned"] = len(out)
        return Response(200, encode(out, ascii_only=False).encode("utf-8"),
                        content_type="application/json")

    def operation(req):
        sub = req.subpath
        if sub in ("/v3/scopes", "/v3/mail/send") or \
                (sub.startswith("/v3/suppression/") and sub[16:] in SUPPRESSION_LISTS):
            return sub[4:]
        return None

    def handle(req):
        req.log["request_bytes"] = len(req.body)
        sub = req.subpath
        if sub == "/v3/scopes":
            return scopes(req)
        if sub.startswith("/v3/suppression/") and sub[16:] in SUPPRESSION_LISTS:
            return suppressions(req, sub[16:])
        if sub != "/v3/mail/send":
            return errors(404, [{"field": None, "message": "not found"}])
        if req.method != "POST":
            return errors(405, [{"field": None, "message": "method not allowed"}],
                          {"Allow": "POST"})
        refused = authorize(req, "mail.send")
        if refused:
            return refused
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

    sb.route("/sendgrid", "sendgrid", handle, fault_body, operation)

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

    def suppressions_control(req):
        if req.method == "GET":
            with lock:
                out = {n: list(l) for n, l in state["suppressions"].items()}
            return Response(200, encode(out, ascii_only=False).encode("utf-8"),
                            content_type="application/json; charset=utf-8")
        if req.method == "DELETE":
            with lock:
                state["suppressions"] = {n: list(l) for n, l in seeded.items()}
            return Response(200, {"reset": True})
        if req.method != "POST":
            return Response(405, {"error": "GET, POST or DELETE"})
        try:
            spec = json.loads(req.body.decode("utf-8"))
            name = spec.get("list") if isinstance(spec, dict) else None
            if name not in SUPPRESSION_LISTS:
                raise ValueError("\"list\" must be one of %s" % ", ".join(SUPPRESSION_LISTS))
            given = spec.get("entries")
            if not isinstance(given, list) or not given:
                raise ValueError("\"entries\" must be a non-empty list")
            now = int(sb.now())
            added = [suppression_entry(name, e, "entries[%d]" % i, now)
                     for i, e in enumerate(given)]
        except (ValueError, UnicodeDecodeError, AttributeError) as e:
            return Response(400, {"error": "want {\"list\": \"bounces\", \"entries\": "
                                           "[{\"email\", \"created\"...}]}: %s" % e})
        with lock:
            state["suppressions"][name].extend(added)
        return Response(201, {"list": name, "added": len(added)})

    sb.add_control("/sendgrid/suppressions", suppressions_control)
