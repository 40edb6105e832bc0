"""Microsoft Entra ID (AAD) token endpoint, client credentials flow.

    POST /aad/{tenant}/oauth2/v2.0/token     (authority host: http://127.0.0.1:PORT/aad)

Data: "tenants" (id -> {"aliases": [...], "clients": {client_id: {"secret": S or
[S...], "federated_tokens": [T...]}}}), optional "resources" (the app ID URIs a
token may be asked for; when absent, any resource is accepted).
"""

import time

from core import Response, new_request_id, norm_aud

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _list(v):
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


class Directory:
    """The tenants and their app registrations; shared with other services."""

    def __init__(self, data):
        self.tenants = {}
        self.aliases = {}
        for tid, t in (data.get("tenants") or {}).items():
            clients = {}
            for cid, c in (t.get("clients") or {}).items():
                clients[cid] = {"secrets": _list(c.get("secret")),
                                "federated_tokens": _list(c.get("federated_tokens")),
                                "name": c.get("name", cid)}
            self.tenants[tid] = clients
            self.aliases[tid.lower()] = tid
            for alias in t.get("aliases") or []:
                self.aliases[alias.lower()] = tid
        res = data.get("resources")
        self.resources = None if res is None else {norm_aud(r) for r in res}

    def tenant(self, name):
        return self.aliases.get((name or "").lower())

    def secrets(self):
        for clients in self.tenants.values():
            for c in clients.values():
                yield from c["secrets"]
                yield from c["federated_tokens"]


def aad_error(status, error, code, text, extra_codes=()):
    now = time.gmtime()
    body = {
        "error": error,
        "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n"
                             "Timestamp: %s" % (code, text, new_request_id(), new_request_id(),
                                                time.strftime("%Y-%m-%d %H:%M:%SZ", now)),
        "error_codes": [code] + list(extra_codes),
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", now),
        "trace_id": new_request_id(),
        "correlation_id": new_request_id(),
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    }
    return Response(status, body, _headers())


def _headers():
    return {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache",
            "x-ms-request-id": new_request_id(), "x-ms-ests-server": "sandbox"}


def fault_body(status, message):
    err = "temporarily_unavailable" if status >= 500 else "invalid_request"
    return {"error": err, "error_description": "AADSTS90033: %s" % message,
            "error_codes": [90033], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": new_request_id(), "correlation_id": new_request_id()}


def register(sb):
    d = Directory(sb.data)
    sb.directory = d
    sb.add_secrets(d.secrets())

    def missing(param):
        return aad_error(400, "invalid_request", 900144,
                         "The request body must contain the following parameter: '%s'." % param)

    def handle(req):
        parts = req.subpath.strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
            return aad_error(404, "invalid_request", 90002 if len(parts) < 2 else 900561,
                             "No such endpoint: %s" % req.path)
        tid = d.tenant(parts[0])
        if tid is None:
            return aad_error(
                400, "invalid_request", 90002,
                "Tenant '%s' not found. Check to make sure you have the correct tenant ID and "
                "are signing into the correct cloud. Check with your subscription "
                "administrator, this may happen if there are no active subscriptions for the "
                "tenant." % parts[0])
        if req.method != "POST":
            return aad_error(400, "invalid_request", 900561,
                             "The endpoint only accepts POST requests. Received a %s request."
                             % req.method)
        # A body that is not a form reads, to the real service, as no parameters.
        form = req.form or {}
        req.log["tenant"] = tid
        grant = form.get("grant_type")
        if not grant:
            return missing("grant_type")
        if grant != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type '%s'." % grant)
        cid = form.get("client_id")
        if not cid:
            return missing("client_id")
        req.log["client_id"] = cid
        scope = form.get("scope")
        if scope is None:
            return missing("scope")
        client = d.tenants[tid].get(cid)
        if client is None:
            return aad_error(
                400, "unauthorized_client", 700016,
                "Application with identifier '%s' was not found in the directory '%s'. This "
                "can happen if the application has not been installed by the administrator of "
                "the tenant or consented to by any user in the tenant. You may have sent your "
                "authentication request to the wrong tenant." % (cid, tid))
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        atype = form.get("client_assertion_type")
        if secret is not None and (assertion is not None or atype is not None):
            return aad_error(400, "invalid_request", 90023,
                             "Only one of client_secret and client_assertion may be presented.")
        if assertion is not None or atype is not None:
            req.log["credential"] = "client_assertion"
            if atype is None:
                return missing("client_assertion_type")
            if atype != JWT_BEARER:
                return aad_error(400, "invalid_request", 700212,
                                 "Unsupported client_assertion_type '%s'. Expected '%s'."
                                 % (atype, JWT_BEARER))
            if not assertion:
                return missing("client_assertion")
            if assertion not in client["federated_tokens"]:
                return aad_error(401, "invalid_client", 700211,
                                 "No matching federated identity record found for presented "
                                 "assertion issuer. Please check your federated identity "
                                 "credential configuration for app '%s'." % cid)
        elif secret is not None:
            req.log["credential"] = "client_secret"
            if secret not in client["secrets"]:
                return aad_error(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent "
                                 "in the request is the client secret value, not the client "
                                 "secret ID, for a secret added to app '%s'." % cid)
        else:
            return aad_error(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: "
                             "'client_assertion' or 'client_secret'.")
        scopes = scope.split()
        if len(scopes) != 1:
            return aad_error(400, "invalid_scope", 70011,
                             "The provided request must include a 'scope' input parameter. "
                             "The provided value for the input parameter 'scope' is not "
                             "valid. The scope %s is not valid." % scope)
        if not scopes[0].endswith("/.default"):
            return aad_error(400, "invalid_scope", 1002012,
                             "The provided value for scope %s is not valid. Client credential "
                             "flows must have a scope value with /.default suffixed to the "
                             "resource identifier (application ID URI)." % scopes[0])
        resource = norm_aud(scopes[0][:-len("/.default")])
        req.log["aud"] = resource
        if not resource or (d.resources is not None and resource not in d.resources):
            return aad_error(400, "invalid_resource", 500011,
                             "The resource principal named %s was not found in the tenant "
                             "named %s. This can happen if the application has not been "
                             "installed by the administrator of the tenant or consented to by "
                             "any user in the tenant. You might have sent your authentication "
                             "request to the wrong tenant." % (resource, tid))
        token, claims = sb.issue_token(resource, cid, tid)
        life = claims["exp"] - claims["iat"]
        return Response(200, {"token_type": "Bearer", "expires_in": life,
                              "ext_expires_in": life, "access_token": token}, _headers())

    sb.route("/aad", "aad", handle, fault_body)
