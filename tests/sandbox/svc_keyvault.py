"""Azure Key Vault, secrets get.

    GET /kv/secrets/{name}[/{version}]?api-version=7.4     (vault URL: http://127.0.0.1:PORT/kv)
    Authorization: Bearer <token for https://vault.azure.net>

Data: "keyvault": {"name", "tenant", "location", "readers": [client ids],
"secrets": {name: value | {"value", "version", "enabled", "contentType", "tags",
"created", "updated", "sensitive"}}}. "sensitive": false keeps a value (an app
id, say) out of --list-secrets and out of log redaction.
"""

import hashlib
import re

from core import Response, TokenError, new_request_id

AUDIENCES = ("https://vault.azure.net", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093")
API_VERSIONS = {"2016-10-01", "7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6"}
NAME_RE = re.compile(r"^[0-9a-zA-Z-]{1,127}$")
DEFAULT_TIME = 1700000000


class Vault:
    def __init__(self, data):
        kv = data.get("keyvault") or {}
        self.name = kv.get("name", "cartwatch-sandbox")
        self.tenant = kv.get("tenant", "00000000-0000-0000-0000-000000000000")
        self.location = kv.get("location", "westeurope")
        self.readers = {c.lower() for c in kv.get("readers") or []}
        self.secrets = {}
        for name, s in (kv.get("secrets") or {}).items():
            if not isinstance(s, dict):
                s = {"value": s}
            if not isinstance(s.get("value"), str):
                raise ValueError("keyvault secret %s: value must be a string" % name)
            entry = {
                "name": name,
                "value": s["value"],
                "version": s.get("version")
                or hashlib.md5(("%s\n%s" % (name, s["value"])).encode()).hexdigest(),
                "enabled": s.get("enabled", True),
                "contentType": s.get("contentType"),
                "tags": s.get("tags") or {},
                "created": s.get("created", DEFAULT_TIME),
                "updated": s.get("updated", s.get("created", DEFAULT_TIME)),
                "sensitive": s.get("sensitive", True),
            }
            self.secrets[name.lower()] = entry


def kv_error(status, code, message, inner=None, headers=None):
    err = {"code": code, "message": message}
    if inner:
        err["innererror"] = {"code": inner}
    h = {"Cache-Control": "no-cache", "x-ms-request-id": new_request_id(),
         "x-ms-keyvault-service-version": "1.9.1000.1"}
    h.update(headers or {})
    return Response(status, {"error": err}, h)


def fault_body(status, message):
    code = {429: "Throttled", 503: "ServiceUnavailable"}.get(status, "SandboxFault")
    return {"error": {"code": code, "message": message}}


def register(sb):
    v = Vault(sb.data)
    sb.vault = v
    sb.add_secrets(s["value"] for s in v.secrets.values() if s["sensitive"])

    def handle(req):
        vault_url = req.base_url + req.prefix
        challenge = 'Bearer authorization="%s/aad/%s", resource="https://vault.azure.net"' \
            % (req.base_url, v.tenant)

        def unauthorized(message):
            return kv_error(401, "Unauthorized", message,
                            headers={"WWW-Authenticate": challenge})

        ver = req.query.get("api-version")
        if not ver:
            return kv_error(400, "BadParameter",
                            "The request URI contains an invalid or missing api-version "
                            "parameter.")
        if ver not in API_VERSIONS:
            return kv_error(400, "BadParameter",
                            "The specified version (%s) is not recognized. Consider using the "
                            "latest supported version (7.4)." % ver)
        try:
            claims = sb.validate_token(req.header("Authorization"), AUDIENCES)
        except TokenError as e:
            if e.claims:
                req.log["client_id"] = e.claims.get("appid")
                req.log["aud"] = e.claims.get("aud")
            if e.kind in ("missing", "scheme"):
                return unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
            if e.kind == "malformed":
                return unauthorized("AKV10000: Error validating token: IDX12741: JWT is not "
                                    "well formed.")
            if e.kind == "signature":
                return unauthorized("AKV10032: Error validating token: IDX10511: Signature "
                                    "validation failed.")
            if e.kind in ("expired", "not_yet_valid"):
                return unauthorized("AKV10032: Error validating token: IDX10223: Lifetime "
                                    "validation failed. The token is expired.")
            return unauthorized("AKV10022: Invalid audience. Expected %s, found: %s."
                                % (AUDIENCES[0], e.claims.get("aud") if e.claims else None))
        appid = claims.get("appid") or claims.get("azp")
        req.log["client_id"] = appid
        req.log["aud"] = claims.get("aud")
        if claims.get("tid") != v.tenant:
            return unauthorized("AKV10032: Invalid issuer. Expected one of "
                                "https://sts.windows.net/%s/, found %s."
                                % (v.tenant, claims.get("iss")))
        parts = req.subpath.strip("/").split("/")
        if parts[0] != "secrets" or len(parts) < 2 or len(parts) > 3:
            return kv_error(404, "NotFound", "The sandbox vault serves only "
                                             "GET /secrets/{name}[/{version}].")
        if req.method != "GET":
            return kv_error(405, "BadParameter", "The sandbox vault is read-only: "
                                                 "%s is not supported." % req.method)
        name = parts[1]
        version = parts[2] if len(parts) == 3 else ""
        if not NAME_RE.match(name):
            return kv_error(400, "BadParameter",
                            "The request URI contains an invalid name: %s" % name)
        if (appid or "").lower() not in v.readers:
            return kv_error(
                403, "Forbidden",
                "The user, group or application 'appid=%s;oid=%s;iss=%s' does not have secrets "
                "get permission on key vault '%s;location=%s'. For help resolving this issue, "
                "please see https://go.microsoft.com/fwlink/?linkid=2125287"
                % (appid, claims.get("oid"), claims.get("iss"), v.name, v.location),
                inner="AccessDenied")
        s = v.secrets.get(name.lower())
        if s is None or (version and version.lower() != s["version"]):
            return kv_error(404, "SecretNotFound",
                            "A secret with (name/id) %s%s was not found in this key vault. If "
                            "you recently deleted this secret you may be able to recover it "
                            "using the correct recovery command. For help resolving this "
                            "issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
                            % (name, "/" + version if version else ""))
        if not s["enabled"]:
            return kv_error(403, "Forbidden", "Operation get is not allowed on a disabled "
                                              "secret.", inner="SecretDisabled")
        body = {"value": s["value"],
                "id": "%s/secrets/%s/%s" % (vault_url, s["name"], s["version"])}
        if s["contentType"]:
            body["contentType"] = s["contentType"]
        body["attributes"] = {"enabled": True, "created": s["created"],
                              "updated": s["updated"],
                              "recoveryLevel": "Recoverable+Purgeable",
                              "recoverableDays": 90}
        body["tags"] = s["tags"]
        return Response(200, body, {"Cache-Control": "no-cache",
                                    "x-ms-request-id": new_request_id(),
                                    "x-ms-keyvault-region": v.location,
                                    "x-ms-keyvault-service-version": "1.9.1000.1"})

    sb.route("/kv", "keyvault", handle, fault_body)
