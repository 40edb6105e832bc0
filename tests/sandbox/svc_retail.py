"""Retail Server (Commerce Scale Unit), OData v4: the five calls cartwatch makes.

    GET  /Commerce/OrgUnits/GetOrgUnitConfiguration()?api-version=7.3
    POST /Commerce/Carts/Search?$top=N&$skip=S&$orderby=ModifiedDateTime&api-version=7.3
    POST /Commerce/Customers/GetByAccountNumbers?$top=N&api-version=7.3
    POST /Commerce/Products/Search?$top=N&api-version=7.3
    POST /Commerce/Customers('{AccountNumber}')/GetOrderHistory?$top=N&$skip=S&api-version=7.3
    (RetailServerUri: http://127.0.0.1:PORT/Commerce)

    GET|POST|DELETE /_sandbox/retail/orders     the orders GetOrderHistory reads

Every call needs api-version=7.3, "Authorization: id_token <token>" or
"Bearer <token>" for the configured audience from a registered identity
provider, an app registered for Retail Server, and "OUN: <operating unit>".

Data: "retail": {"audience", "api_versions", "max_page_size", "escape_non_ascii",
"identity_providers": [issuers], "apps": {client id: {"name", "user_id"}},
"units": {OUN: {"channel": {ChannelConfiguration}, "carts": [Cart],
"customers": [Customer], "products": [Product], "orders": [SalesOrder]}}}.
See README.md.

Numbers with a fraction keep the text they had in the data file (19.90 stays
19.90, 2.0 stays 2.0), as .NET decimals keep their scale, when sandbox.py loads
the file with parse_float=JsonFloat.
"""

import calendar
import copy
import json
import re
import threading

from core import Response, TokenError, new_request_id

DEFAULT_AUDIENCE = "https://commerce.dynamics.com"
DEFAULT_API_VERSIONS = ("7.3",)
DEFAULT_MAX_PAGE = 1000
RUNTIME = "Microsoft_Dynamics_Commerce_Runtime_"
DM = "Microsoft.Dynamics.Commerce.Runtime.DataModel."
ODATA_CTYPE = ("application/json; odata.metadata=minimal; odata.streaming=true; "
               "IEEE754Compatible=false; charset=utf-8")

# Edm.DateTimeOffset as Retail Server takes it: seconds required, up to 7
# fraction digits (.NET ticks), an offset required ("Z" or +hh:mm / -hh:mm).
_DTO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"
                     r"(Z|[+-](\d{2}):(\d{2}))$")
TICKS = 10 ** 7
# A bound action on one customer: Customers('004011')/GetOrderHistory. The
# key is an Edm.String literal (single quotes, '' for a quote inside), alone
# or named (AccountNumber='004011').
_ORDER_HISTORY_RE = re.compile(r"^/Customers\((.*)\)/GetOrderHistory$", re.S)
_STRING_KEY_RE = re.compile(r"^(?:AccountNumber=)?'((?:[^']|'')*)'$", re.S)

CART_CRITERIA = {"CartId", "CustomerAccountNumber", "IncludeAnonymous", "SuspendedOnly",
                 "CartTypeValue", "LastModifiedDateTimeFrom", "LastModifiedDateTimeTo",
                 "ExtensionProperties"}
PRODUCT_CRITERIA = {"Ids", "CategoryIds", "IncludeProductsFromDescendantCategories",
                    "SearchCondition", "SkipVariantExpansion", "IncludeAttributes",
                    "Barcodes", "ItemIds", "Refinement", "DownloadProductData", "Context",
                    "DataLevelValue", "ExtensionProperties"}


class JsonFloat(float):
    """A JSON number with a fraction or exponent that remembers how it was written."""

    def __new__(cls, text):
        self = float.__new__(cls, text)
        self.text = text
        return self


def encode(value, ascii_only=True):
    """JSON text; a number keeps its original text when it has one."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = getattr(value, "text", None)
        return text if text is not None else json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=ascii_only) + ":"
                              + encode(v, ascii_only) for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode(v, ascii_only) for v in value) + "]"
    raise TypeError("cannot encode %r" % type(value).__name__)


def parse_dto(text):
    """An Edm.DateTimeOffset literal -> 100 ns ticks since the epoch (UTC).

    Raises ValueError for anything else."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    m = _DTO_RE.match(text)
    if not m:
        raise ValueError("not an ISO 8601 date and time with an offset")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]
            and h <= 23 and mi <= 59 and s <= 59 and y >= 1):
        raise ValueError("no such date or time")
    offset = 0
    if m.group(8) != "Z":
        oh, om = int(m.group(9)), int(m.group(10))
        if om > 59 or oh * 60 + om > 14 * 60:
            raise ValueError("offset out of range")
        offset = (oh * 60 + om) * 60 * (-1 if m.group(8)[0] == "-" else 1)
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset
    return secs * TICKS + int((m.group(7) or "").ljust(7, "0"))


# ------------------------------------------------------------------ errors --

def rs_error(status, resource_id, exc_type, message, headers=None):
    """Retail Server's error body (a CommerceException, serialized)."""
    rid = RUNTIME + resource_id
    inner = {"$type": "Microsoft.Dynamics.Commerce.Runtime.%s, "
                      "Microsoft.Dynamics.Commerce.Runtime.Framework" % exc_type,
             "ErrorResourceId": rid, "LocalizedMessage": message,
             "ErrorContext": None, "Message": message}
    body = {"ErrorResourceId": rid, "LocalizedMessage": message, "ExceptionType": exc_type,
            "ExceptionMessage": message,
            "CommerceRuntimeException": json.dumps(inner, separators=(",", ":")),
            "CorrelationId": new_request_id()}
    h = {"request-id": new_request_id(), "OData-Version": "4.0"}
    h.update(headers or {})
    return Response(status, body, h)


def odata_error(status, message, headers=None):
    """The OData layer's error (routing), before Retail Server's code runs."""
    h = {"request-id": new_request_id(), "OData-Version": "4.0"}
    h.update(headers or {})
    return Response(status, {"error": {"code": "", "message": message}}, h)


def bad_request(message, resource_id="InvalidRequest"):
    return rs_error(400, resource_id, "DataValidationException", message)


def fault_body(status, message):
    rid, exc = {429: ("RequestThrottled", "CommunicationException"),
                503: ("ServiceUnavailable", "CommunicationException")} \
        .get(status, ("CriticalStorageError" if status >= 500 else "InvalidRequest",
                      "CommerceException"))
    return {"ErrorResourceId": RUNTIME + rid, "LocalizedMessage": message,
            "ExceptionType": exc, "ExceptionMessage": message,
            "CommerceRuntimeException": None}


# -------------------------------------------------------------------- data --

class Unit:
    def __init__(self, oun, spec):
        if not isinstance(spec, dict) or not isinstance(spec.get("channel"), dict):
            raise ValueError("retail unit %s: needs a \"channel\" object" % oun)
        self.oun = oun
        self.channel = spec["channel"]
        rid = self.channel.get("RecordId")
        if not isinstance(rid, int) or isinstance(rid, bool):
            raise ValueError("retail unit %s: channel RecordId must be an integer" % oun)
        self.record_id = rid
        self.carts = list(spec.get("carts") or [])
        self.customers = list(spec.get("customers") or [])
        self.products = list(spec.get("products") or [])
        self.cart_ticks = []
        for c in self.carts:
            mdt = c.get("ModifiedDateTime")
            try:
                self.cart_ticks.append(None if mdt is None else parse_dto(mdt))
            except ValueError as e:
                raise ValueError("retail unit %s: cart %s: ModifiedDateTime %r: %s"
                                 % (oun, c.get("Id"), mdt, e))
        for p in self.products:
            if not isinstance(p.get("RecordId"), int):
                raise ValueError("retail unit %s: product %r: RecordId must be an integer"
                                 % (oun, p.get("ProductName")))
        # (ticks, order) in data order; GetOrderHistory sorts. The data file's
        # orders are kept to reset to (DELETE /_sandbox/retail/orders).
        self.seeded_orders = []
        for i, o in enumerate(spec.get("orders") or []):
            try:
                self.seeded_orders.append(check_order(o))
            except ValueError as e:
                raise ValueError("retail unit %s: orders[%d]: %s" % (oun, i, e))
        self.reset_orders()
        # By account number: make bench asks for the history of thousands.
        self.by_account = {}
        for c in self.customers:
            self.by_account.setdefault(str(c.get("AccountNumber", "")).lower(), c)

    def customer(self, account):
        """The unit's customer with that AccountNumber (case-insensitive), or None."""
        return self.by_account.get(account.lower())

    def reset_orders(self):
        """Back to the data file's orders."""
        self.orders = []
        self.orders_of = {}             # account number, lower case -> [(ticks, order)]
        self.add_orders(self.seeded_orders)

    def add_orders(self, entries):
        for t in entries:
            self.orders.append(t)
            self.orders_of.setdefault(t[1]["CustomerId"].lower(), []).append(t)


def check_order(order):
    """(ticks of CreatedDateTime, order) for a SalesOrder; ValueError if it
    lacks what GetOrderHistory needs."""
    if not isinstance(order, dict):
        raise ValueError("a SalesOrder is a JSON object")
    if not isinstance(order.get("CustomerId"), str) or not order["CustomerId"]:
        raise ValueError("CustomerId (the customer's AccountNumber) is required")
    try:
        ticks = parse_dto(order.get("CreatedDateTime"))
    except ValueError as e:
        raise ValueError("order %s: CreatedDateTime %r: %s"
                         % (order.get("Id"), order.get("CreatedDateTime"), e))
    for name in ("StatusValue", "ChannelId"):
        v = order.get(name)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise ValueError("order %s: %s must be an integer" % (order.get("Id"), name))
    v = order.get("TotalAmount")
    if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)):
        raise ValueError("order %s: TotalAmount must be a number" % order.get("Id"))
    return ticks, order


class Retail:
    def __init__(self, data):
        conf = data.get("retail") or {}
        self.audience = conf.get("audience", DEFAULT_AUDIENCE)
        self.api_versions = set(conf.get("api_versions") or DEFAULT_API_VERSIONS)
        self.max_page = int(conf.get("max_page_size", DEFAULT_MAX_PAGE))
        self.ascii_only = bool(conf.get("escape_non_ascii", True))
        idp = conf.get("identity_providers")
        self.issuers = None if idp is None else {i.rstrip("/").lower() for i in idp}
        self.apps = {c.lower(): a for c, a in (conf.get("apps") or {}).items()}
        self.units = {str(k): Unit(str(k), v) for k, v in (conf.get("units") or {}).items()}


# ------------------------------------------------------------- the service --

def register(sb):
    rs = Retail(sb.data)
    sb.retail = rs

    def reply(req, context, value, extra=None):
        body = {"@odata.context": "%s%s/$metadata#%s" % (req.base_url, req.prefix, context)}
        body.update(extra or {})
        if isinstance(value, list):
            body["value"] = value
            req.log["returned"] = len(value)
        else:
            body.update(value)
        return Response(200, encode(body, rs.ascii_only).encode("utf-8"),
                        {"OData-Version": "4.0", "request-id": new_request_id()},
                        content_type=ODATA_CTYPE)

    def paging(req):
        """($top, $skip, count?) from the query, or a Response for a bad value."""
        out = []
        for name, default in (("$top", rs.max_page), ("$skip", 0)):
            raw = req.query.get(name)
            if raw is None:
                out.append(default)
                continue
            if not re.fullmatch(r"[0-9]+", raw.strip()):
                return bad_request("Invalid value '%s' for %s query option found. The %s "
                                   "query option requires a non-negative integer value."
                                   % (raw, name, name), "InvalidQueryOption")
            out.append(int(raw))
        # Retail Server caps the page size; a larger $top gets the cap.
        out[0] = min(out[0], rs.max_page)
        count = req.query.get("$count")
        if count is not None and count not in ("true", "false"):
            return bad_request("'%s' is not a valid count option." % count, "InvalidQueryOption")
        for opt in req.query:
            if opt.startswith("$") and opt not in ("$top", "$skip", "$orderby", "$count"):
                return bad_request("The query option %s is not supported by this sandbox "
                                   "(only $top, $skip, $orderby, $count)." % opt,
                                   "InvalidQueryOption")
        return out[0], out[1], count == "true"

    def page(items, top, skip):
        return items[skip:skip + top]

    def body_object(req, params):
        """None when the body is a JSON object whose keys are among PARAMS (the
        action's parameters; OData annotations aside), else an error Response."""
        if req.content_type != "application/json" and not req.content_type.endswith("+json"):
            if req.body:
                try:    # logged all the same, so a test sees what was sent
                    req.log["json"] = json.loads(req.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    pass
            return odata_error(415, "The request entity's media type '%s' is not supported "
                                    "for this resource: send Content-Type: application/json."
                               % (req.content_type or "(none)"))
        if req.json_error is not None or not isinstance(req.json, dict):
            if not params:
                return bad_request("The request body must be empty or an empty JSON object: "
                                   "the action takes no parameters.", "InvalidFormat")
            return bad_request("The request body is not a JSON object with the parameter%s "
                               "%s." % ("s" if len(params) > 1 else "",
                                        ", ".join("'%s'" % p for p in params)),
                               "InvalidFormat")
        unknown = sorted(k for k in req.json if k not in params and not k.startswith("@"))
        if unknown:
            return bad_request("The parameter '%s' in the request payload is not a valid "
                               "parameter for the operation." % unknown[0], "InvalidFormat")
        return None

    # -- 1. OrgUnits/GetOrgUnitConfiguration() --
    def org_unit_configuration(req, unit):
        return reply(req, DM + "ChannelConfiguration", copy.deepcopy(unit.channel))

    # -- 2. Carts/Search --
    def carts_search(req, unit):
        p = paging(req)
        if isinstance(p, Response):
            return p
        top, skip, count = p
        err = body_object(req, ("cartSearchCriteria",))
        if err:
            return err
        crit = req.json.get("cartSearchCriteria")
        if not isinstance(crit, dict):
            return bad_request("The parameter 'cartSearchCriteria' is required and must be a "
                               "CartSearchCriteria object.", "RequiredValueNotFound")
        unknown = sorted(k for k in crit if k not in CART_CRITERIA and not k.startswith("@"))
        if unknown:
            return bad_request("The property '%s' does not exist on type '%sCartSearchCriteria'."
                               % (unknown[0], DM), "InvalidFormat")
        bounds = []
        for name in ("LastModifiedDateTimeFrom", "LastModifiedDateTimeTo"):
            v = crit.get(name)
            if v is None:
                bounds.append(None)
                continue
            try:
                bounds.append(parse_dto(v))
            except ValueError as e:
                return bad_request("Cannot convert the literal '%s' to the expected type "
                                   "'Edm.DateTimeOffset' (%s): %s." % (v, name, e),
                                   "InvalidFormat")
        lo, hi = bounds
        ctype = crit.get("CartTypeValue")
        if ctype is not None and (not isinstance(ctype, int) or isinstance(ctype, bool)):
            return bad_request("CartTypeValue must be an integer.", "InvalidFormat")
        anon = crit.get("IncludeAnonymous")
        if anon is not None and not isinstance(anon, bool):
            return bad_request("IncludeAnonymous must be true or false.", "InvalidFormat")
        for name in ("CartId", "CustomerAccountNumber"):
            if crit.get(name) is not None and not isinstance(crit.get(name), str):
                return bad_request("%s must be a string." % name, "InvalidFormat")
        order = (req.query.get("$orderby") or "").strip()
        desc = False
        if order:
            words = order.split()
            if words[0] != "ModifiedDateTime" or len(words) > 2 or \
                    (len(words) == 2 and words[1] not in ("asc", "desc")):
                return bad_request("The sandbox supports $orderby=ModifiedDateTime [asc|desc] "
                                   "only, not '%s'." % order, "InvalidQueryOption")
            desc = len(words) == 2 and words[1] == "desc"

        found = []
        for cart, ticks in zip(unit.carts, unit.cart_ticks):
            if ctype is not None and cart.get("CartTypeValue") != ctype:
                continue
            cust = cart.get("CustomerId")
            if not anon and (cust is None or cust == ""):
                continue
            # As in SQL: a NULL ModifiedDateTime satisfies no bound.
            if lo is not None and (ticks is None or ticks < lo):
                continue
            if hi is not None and (ticks is None or ticks > hi):
                continue
            if crit.get("CartId") and cart.get("Id") != crit["CartId"]:
                continue
            if crit.get("CustomerAccountNumber") and \
                    (cust or "").lower() != crit["CustomerAccountNumber"].lower():
                continue
            if crit.get("SuspendedOnly") and not cart.get("IsSuspended"):
                continue
            found.append((ticks, cart))
        if order:
            # Stable: ties keep the data order, ascending or descending.
            # NULL sorts first ascending and last descending, as in SQL Server.
            def key(t):
                return (0, 0) if t[0] is None else (1, t[0])
            found.sort(key=key, reverse=desc)
        # Copy only the page asked for: copying every cart found made each
        # request cost the whole window (make bench's 10,000 carts).
        carts = [c for _, c in found]
        extra = {"@odata.count": len(carts)} if count else None
        return reply(req, "Carts", [copy.deepcopy(c) for c in page(carts, top, skip)], extra)

    # -- 3. Customers/GetByAccountNumbers --
    def customers_by_account(req, unit):
        p = paging(req)
        if isinstance(p, Response):
            return p
        top, skip, count = p
        if req.query.get("$orderby"):
            return bad_request("$orderby is not supported on this operation by the sandbox.",
                               "InvalidQueryOption")
        err = body_object(req, ("accountNumbers", "searchLocationValue"))
        if err:
            return err
        nums = req.json.get("accountNumbers")
        if not isinstance(nums, list) or not all(isinstance(n, str) for n in nums):
            return bad_request("The parameter 'accountNumbers' is required and must be a "
                               "list of strings.", "RequiredValueNotFound")
        loc = req.json.get("searchLocationValue")
        if not isinstance(loc, int) or isinstance(loc, bool) or loc not in (1, 2, 3):
            return bad_request("The parameter 'searchLocationValue' is required: 1 (Local), "
                               "2 (Remote) or 3 (All).", "RequiredValueNotFound")
        want = {n.lower() for n in nums}
        found = [copy.deepcopy(c) for c in unit.customers
                 if str(c.get("AccountNumber", "")).lower() in want]
        extra = {"@odata.count": len(found)} if count else None
        return reply(req, "Customers", page(found, top, skip), extra)

    # -- 4. Products/Search --
    def products_search(req, unit):
        p = paging(req)
        if isinstance(p, Response):
            return p
        top, skip, count = p
        if req.query.get("$orderby"):
            return bad_request("$orderby is not supported on this operation by the sandbox.",
                               "InvalidQueryOption")
        err = body_object(req, ("productSearchCriteria",))
        if err:
            return err
        crit = req.json.get("productSearchCriteria")
        if not isinstance(crit, dict):
            return bad_request("The parameter 'productSearchCriteria' is required and must be "
                               "a ProductSearchCriteria object.", "RequiredValueNotFound")
        unknown = sorted(k for k in crit if k not in PRODUCT_CRITERIA and not k.startswith("@"))
        if unknown:
            return bad_request("The property '%s' does not exist on type "
                               "'%sProductSearchCriteria'." % (unknown[0], DM), "InvalidFormat")
        ctx = crit.get("Context")
        if not isinstance(ctx, dict) or not isinstance(ctx.get("ChannelId"), int) \
                or isinstance(ctx.get("ChannelId"), bool):
            return bad_request("ProductSearchCriteria.Context.ChannelId is required.",
                               "RequiredValueNotFound")
        if ctx["ChannelId"] != unit.record_id:
            return bad_request("The channel %d given in the search context is not the channel "
                               "of the request (operating unit %s, channel %d)."
                               % (ctx["ChannelId"], unit.oun, unit.record_id),
                               "InvalidChannel")
        if ctx.get("CatalogId") is not None and ctx.get("CatalogId") != 0:
            return bad_request("Catalog %r does not exist in this channel (the sandbox has "
                               "only catalog 0)." % ctx.get("CatalogId"), "ObjectNotFound")
        ids = crit.get("Ids")
        if ids is None:
            ids = []
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool)
                                                for i in ids):
            return bad_request("ProductSearchCriteria.Ids must be a list of Int64 record ids.",
                               "InvalidFormat")
        want = set(ids)
        found = [copy.deepcopy(p) for p in unit.products if p.get("RecordId") in want]
        extra = {"@odata.count": len(found)} if count else None
        return reply(req, "Products", page(found, top, skip), extra)

    # -- 5. Customers('{AccountNumber}')/GetOrderHistory --
    orders_lock = threading.Lock()

    def order_history(req, unit):
        p = paging(req)
        if isinstance(p, Response):
            return p
        top, skip, count = p
        if req.query.get("$orderby"):
            return bad_request("$orderby is not supported on this operation by the sandbox: "
                               "orders come newest first.", "InvalidQueryOption")
        # No parameters: OData takes an empty body or {} for such an action.
        if req.body.strip():
            err = body_object(req, ())
            if err:
                return err
        account = req.customer_key
        if unit.customer(account) is None:
            return rs_error(404, "CustomerNotFound", "DataValidationException",
                            "No customer found using the specified customer account number "
                            "'%s'." % account)
        with orders_lock:
            found = list(unit.orders_of.get(account.lower(), ()))
        # Newest first; a stable sort keeps orders of the same instant in data order.
        found.sort(key=lambda t: t[0], reverse=True)
        orders = [o for _, o in found]
        extra = {"@odata.count": len(orders)} if count else None
        return reply(req, "SalesOrders", [copy.deepcopy(o) for o in page(orders, top, skip)],
                     extra)

    ops = {
        "/OrgUnits/GetOrgUnitConfiguration()": ("GET", org_unit_configuration),
        "/Carts/Search": ("POST", carts_search),
        "/Customers/GetByAccountNumbers": ("POST", customers_by_account),
        "/Products/Search": ("POST", products_search),
    }

    def operation(req):
        if req.subpath in ops:
            return req.subpath.lstrip("/")
        # Without the key, so requests count per operation.
        return "Customers/GetOrderHistory" if _ORDER_HISTORY_RE.match(req.subpath) else None

    def handle(req):
        op = ops.get(req.subpath)
        m = _ORDER_HISTORY_RE.match(req.subpath) if op is None else None
        if m:
            k = _STRING_KEY_RE.match(m.group(1))
            if not k:
                return odata_error(400, "The key value (%s) is not a valid literal of type "
                                        "'Edm.String': quote it, Customers('004011')."
                                   % m.group(1))
            req.customer_key = k.group(1).replace("''", "'")
            req.log["customer"] = req.customer_key
            op = ("POST", order_history)
        if op is None:
            return odata_error(404, "No HTTP resource was found that matches the request URI "
                                    "'%s%s'." % (req.base_url, req.target))
        method, fn = op
        if req.method != method:
            return odata_error(405, "The requested resource does not support http method "
                                    "'%s'." % req.method, {"Allow": method})
        ver = req.query.get("api-version")
        if not ver:
            return rs_error(400, "ApiVersionRequired", "DataValidationException",
                            "An API version is required, but was not specified: add "
                            "api-version=%s to the query." % sorted(rs.api_versions)[-1])
        if ver not in rs.api_versions:
            return rs_error(400, "ApiVersionNotSupported", "DataValidationException",
                            "The HTTP resource that matches the request URI does not support "
                            "the API version '%s'." % ver)
        try:
            claims = sb.validate_token(req.header("Authorization"), [rs.audience],
                                       schemes=("id_token", "Bearer"))
        except TokenError as e:
            if e.claims:
                req.log["client_id"] = e.claims.get("appid") or e.claims.get("azp")
                req.log["aud"] = e.claims.get("aud")
            msg = {
                "missing": "The request has no Authorization header: send "
                           "'Authorization: id_token <token>' or 'Bearer <token>'.",
                "scheme": "The Authorization scheme is not supported: use id_token or Bearer.",
                "malformed": "IDX12741: The token is not a well formed JWT.",
                "signature": "IDX10511: Signature validation failed.",
                "expired": "IDX10223: Lifetime validation failed. The token is expired.",
                "not_yet_valid": "IDX10222: Lifetime validation failed. The token is not "
                                 "yet valid.",
                "audience": "IDX10214: Audience validation failed. Audiences: '%s'. Did not "
                            "match: validationParameters.ValidAudience: '%s'."
                            % (e.claims.get("aud") if e.claims else None, rs.audience),
            }.get(e.kind, e.message)
            rid = "AuthenticationTokenExpired" if e.kind == "expired" else "AuthenticationFailed"
            return rs_error(401, rid, "UserAuthenticationException", msg)
        appid = claims.get("appid") or claims.get("azp")
        req.log["client_id"] = appid
        req.log["aud"] = claims.get("aud")
        iss = str(claims.get("iss") or "").rstrip("/").lower()
        if rs.issuers is not None and iss not in rs.issuers:
            return rs_error(401, "AuthenticationFailed", "UserAuthenticationException",
                            "IDX10205: Issuer validation failed. Issuer: '%s'. The issuer is "
                            "not a registered identity provider." % claims.get("iss"))
        if (appid or "").lower() not in rs.apps:
            return rs_error(403, "AuthorizationFailed", "UserAuthorizationException",
                            "The application '%s' is not authorized: it is not registered "
                            "under Retail server > Microsoft Entra ID applications." % appid)
        oun = (req.header("OUN") or "").strip()
        if not oun:
            return rs_error(400, "RequiredValueNotFound", "DataValidationException",
                            "The operating unit number is required: send the OUN header.")
        req.log["oun"] = oun
        unit = rs.units.get(oun)
        if unit is None:
            return rs_error(404, "ChannelConfigurationNotFound", "ConfigurationException",
                            "The channel with operating unit number '%s' was not found." % oun)
        accept = (req.header("Accept") or "").lower()
        if accept and not any(a.split(";")[0].strip() in ("*/*", "application/*",
                                                          "application/json")
                              for a in accept.split(",")):
            return odata_error(406, "The requested media type '%s' is not supported: the "
                                    "service answers application/json." % accept)
        return fn(req, unit)

    sb.route("/Commerce", "retail", handle, fault_body, operation)

    # -- control: the orders GetOrderHistory reads --
    next_id = [1]

    def units_asked(req):
        oun = req.query.get("oun")
        if oun is None:
            return list(rs.units.values())
        return [rs.units[oun]] if oun in rs.units else None

    def add_orders(req):
        try:
            spec = json.loads(req.body.decode("utf-8"), parse_float=JsonFloat)
            if not isinstance(spec, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError) as e:
            return Response(400, {"error": "want {\"oun\": \"128\", \"orders\": "
                                           "[SalesOrder...]}: %s" % e})
        unit = rs.units.get(str(spec.get("oun")))
        if unit is None:
            return Response(400, {"error": "no operating unit %r (oun)" % spec.get("oun")})
        given = spec.get("orders", [spec["order"]] if "order" in spec else None)
        if not isinstance(given, list) or not given:
            return Response(400, {"error": "want \"orders\": a non-empty list (or \"order\")"})
        added = []
        with orders_lock:
            ids = {str(o.get("Id")) for _, o in unit.orders}
            for i, o in enumerate(given):
                if not isinstance(o, dict):
                    return Response(400, {"error": "orders[%d]: not an object" % i})
                order = {"Id": "SBX-ORD-%06d" % next_id[0], "ChannelId": unit.record_id,
                         "StatusValue": 1, "TotalAmount": 0,
                         "CurrencyCode": unit.channel.get("Currency")}
                order.update(o)
                try:
                    entry = check_order(order)
                except ValueError as e:
                    return Response(400, {"error": "orders[%d]: %s" % (i, e)})
                if unit.customer(order["CustomerId"]) is None:
                    return Response(400, {"error": "orders[%d]: %s is not a customer of unit "
                                                   "%s" % (i, order["CustomerId"], unit.oun)})
                if str(order["Id"]) in ids:
                    return Response(400, {"error": "orders[%d]: the unit has an order %s "
                                                   "already" % (i, order["Id"])})
                ids.add(str(order["Id"]))
                added.append(entry)
                if "Id" not in o:
                    next_id[0] += 1
            unit.add_orders(added)
        return Response(201, {"oun": unit.oun, "ids": [o["Id"] for _, o in added]})

    def orders_control(req):
        if req.method == "POST":
            return add_orders(req)
        units = units_asked(req)
        if units is None:
            return Response(400, {"error": "no operating unit %r" % req.query.get("oun")})
        if req.method == "GET":
            with orders_lock:
                out = {u.oun: [o for _, o in u.orders] for u in units}
            return Response(200, encode(out, False).encode("utf-8"),
                            content_type="application/json; charset=utf-8")
        if req.method == "DELETE":
            with orders_lock:
                for u in units:
                    u.reset_orders()
            return Response(200, {"reset": sorted(u.oun for u in units)})
        return Response(405, {"error": "GET, POST or DELETE"})

    sb.add_control("/retail/orders", orders_control)
