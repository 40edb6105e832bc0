"""A webhook receiver: checks the HMAC signature of what cartwatch POSTs.

    POST /webhook/<anything>    X-Cartwatch-Signature: sha256=<hex HMAC-SHA256 of the body>
    (Url: http://127.0.0.1:PORT/webhook/carts, say)

    GET|DELETE /_sandbox/webhook/received    NDJSON of every POST, with its verdict

The signature is HMAC-SHA256 of the raw body bytes under the secret, written
"sha256=" and 64 lowercase hex digits. A good one and a JSON body: 200
{"ok":true}; a missing or wrong one: 401; a signed body that is not JSON: 400.

Data: "webhook": {"secret": S}; S a string or {"keyvault": "SecretName"}.
"""

import hashlib
import hmac
import json
import threading

from core import Response
from svc_retail import JsonFloat, encode

HEADER = "X-Cartwatch-Signature"


def fault_body(status, message):
    return {"ok": False, "error": message}


def register(sb):
    conf = sb.data.get("webhook") or {}
    secret = sb.secret_ref(conf["secret"], "webhook.secret") if "secret" in conf else None
    lock = threading.Lock()
    state = {"received": []}
    sb.webhook = state

    def handle(req):
        req.log["request_bytes"] = len(req.body)
        if req.method != "POST":
            return Response(405, {"ok": False, "error": "POST only"}, {"Allow": "POST"})
        given = req.header(HEADER)
        ok = False
        if secret is not None and given is not None:
            want = "sha256=" + hmac.new(secret.encode("utf-8"), req.body,
                                        hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want.encode("ascii"), given.encode("utf-8", "replace"))
        req.log["signature_ok"] = ok
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=JsonFloat)
            is_json = True
        except (ValueError, UnicodeDecodeError):
            body = req.body.decode("utf-8", "replace")
            is_json = False
        if isinstance(body, list):
            req.log["records"] = len(body)
        entry = {"path": req.path, "signature_ok": ok, "json": is_json, "body": body}
        with lock:
            state["received"].append(encode(entry, ascii_only=False))
        if not ok:
            return Response(401, {"ok": False, "error": "missing signature" if given is None
                                  else "bad signature"})
        if not is_json:
            return Response(400, {"ok": False, "error": "the body is not JSON"})
        return Response(200, {"ok": True})

    sb.route("/webhook", "webhook", handle, fault_body)

    def received(req):
        if req.method == "GET":
            with lock:
                lines = list(state["received"])
            return Response(200, "".join(l + "\n" for l in lines).encode("utf-8"),
                            content_type="application/x-ndjson")
        if req.method == "DELETE":
            with lock:
                state["received"] = []
            return Response(200, {"cleared": True})
        return Response(405, {"error": "GET or DELETE"})

    sb.add_control("/webhook/received", received)
