"""Managed identity: the App Service endpoint and IMDS.

    GET /msi/token?api-version=2019-08-01&resource=R[&client_id=X]
        header X-IDENTITY-HEADER              (IDENTITY_ENDPOINT=http://127.0.0.1:PORT/msi/token)
    GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R[&client_id=X]
        header Metadata: true                 (AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:PORT)

Data: "managed_identity": {"tenant", "identity_header", "system_assigned" (client
id or null), "user_assigned": [client ids], "expires_in": false}.
"""

from core import Response, new_request_id, norm_aud

APP_SERVICE_VERSIONS = {"2019-08-01"}
IMDS_VERSIONS = {"2018-02-01", "2019-08-01", "2020-06-01", "2021-02-01", "2023-07-01"}


class Identities:
    def __init__(self, data):
        mi = data.get("managed_identity") or {}
        self.tenant = mi.get("tenant", "00000000-0000-0000-0000-000000000000")
        self.header = mi.get("identity_header")
        self.system = mi.get("system_assigned")
        self.user = list(mi.get("user_assigned") or [])
        self.expires_in = bool(mi.get("expires_in", False))

    def pick(self, client_id):
        """(client id, None) or (None, why not)."""
        if client_id:
            known = self.user + ([self.system] if self.system else [])
            if client_id.lower() in (c.lower() for c in known):
                return client_id, None
            return None, "unknown"
        if self.system:
            return self.system, None
        if len(self.user) == 1:
            return self.user[0], None
        return None, "ambiguous" if self.user else "none"


def _bad_resource(resources, resource):
    if resource.endswith("/.default"):
        return True
    return resources is not None and norm_aud(resource) not in resources


def register(sb):
    ids = Identities(sb.data)
    sb.identities = ids
    if ids.header:
        sb.add_secrets([ids.header])

    def resources():
        d = getattr(sb, "directory", None)
        return d.resources if d else None

    # ---- App Service ----
    def as_error(status, message):
        return Response(status, {"statusCode": status, "message": message,
                                 "correlationId": new_request_id()})

    def app_service(req):
        if req.subpath.rstrip("/") != "/token":
            return as_error(404, "Not found: %s" % req.path)
        if req.method != "GET":
            return as_error(405, "The requested resource does not support http method '%s'."
                            % req.method)
        hdr = req.header("X-IDENTITY-HEADER")
        if hdr is None:
            return as_error(401, "Missing required header X-IDENTITY-HEADER.")
        if ids.header is None or hdr != ids.header:
            return as_error(401, "The X-IDENTITY-HEADER value is not valid.")
        ver = req.query.get("api-version")
        if not ver:
            return as_error(400, "The api-version parameter is required.")
        if ver not in APP_SERVICE_VERSIONS:
            return as_error(400, "The api-version '%s' is not supported; use 2019-08-01." % ver)
        resource = req.query.get("resource")
        if not resource:
            return as_error(400, "The resource parameter is required.")
        req.log["aud"] = norm_aud(resource)
        for p in ("principal_id", "mi_res_id", "object_id"):
            if req.query.get(p):
                return as_error(400, "Unable to load the proper Managed Identity.")
        cid, why = ids.pick(req.query.get("client_id"))
        if cid is None:
            return as_error(400, "Unable to load the proper Managed Identity.")
        req.log["client_id"] = cid
        if _bad_resource(resources(), resource):
            return as_error(400, "AADSTS500011: The resource principal named %s was not found "
                                 "in the tenant named %s." % (resource, ids.tenant))
        token, claims = sb.issue_token(resource, cid, ids.tenant)
        body = {"access_token": token, "expires_on": str(claims["exp"]),
                "resource": resource, "token_type": "Bearer", "client_id": cid}
        if ids.expires_in:
            body["expires_in"] = str(claims["exp"] - claims["iat"])
        return Response(200, body)

    def as_fault(status, message):
        return {"statusCode": status, "message": message, "correlationId": new_request_id()}

    sb.route("/msi", "msi", app_service, as_fault)

    # ---- IMDS ----
    def imds_error(status, error, description=None):
        body = {"error": error}
        if description is not None:
            body["error_description"] = description
        return Response(status, body, {"Server": "IMDS/150.870.65.1854"})

    def imds(req):
        if req.path.rstrip("/") != "/metadata/identity/oauth2/token":
            return imds_error(404, "not_found", "Not found: %s" % req.path)
        if req.header("X-Forwarded-For") is not None:
            return imds_error(400, "invalid_request",
                              "Requests with X-Forwarded-For header are not allowed")
        if (req.header("Metadata") or "").lower() != "true":
            return imds_error(400, "invalid_request", "Required metadata header not specified")
        if req.method != "GET":
            return imds_error(405, "invalid_request", "Method not allowed: %s" % req.method)
        ver = req.query.get("api-version")
        if not ver:
            return imds_error(400, "Bad request. api-version was not specified in the request. "
                                   "For more information refer to aka.ms/azureimds")
        if ver not in IMDS_VERSIONS:
            return imds_error(400, "Bad request. api-version is invalid or was not specified "
                                   "in the request. For more information refer to "
                                   "aka.ms/azureimds")
        resource = req.query.get("resource")
        if not resource:
            return imds_error(400, "invalid_request", "Required audience parameter not specified")
        req.log["aud"] = norm_aud(resource)
        cid, why = ids.pick(req.query.get("client_id") or req.query.get("clientid"))
        if cid is None:
            if why == "ambiguous":
                return imds_error(400, "invalid_request",
                                  "Multiple user assigned identities exist, please specify the "
                                  "clientId / resourceId of the identity in the token request")
            return imds_error(400, "invalid_request", "Identity not found")
        req.log["client_id"] = cid
        if _bad_resource(resources(), resource):
            return imds_error(400, "invalid_resource",
                              "AADSTS500011: The resource principal named %s was not found in "
                              "the tenant named %s." % (resource, ids.tenant))
        token, claims = sb.issue_token(resource, cid, ids.tenant)
        life = str(claims["exp"] - claims["iat"])
        return Response(200, {"access_token": token, "client_id": cid, "expires_in": life,
                              "expires_on": str(claims["exp"]), "ext_expires_in": life,
                              "not_before": str(claims["nbf"]), "resource": resource,
                              "token_type": "Bearer"})

    def imds_fault(status, message):
        return {"error": "service_unavailable" if status >= 500 else "invalid_request",
                "error_description": message}

    sb.route("/metadata", "imds", imds, imds_fault)
