#!/usr/bin/env python3
"""cartwatch test sandbox: fakes of the services that have no public emulator
(Entra ID, managed identity, Key Vault, Retail Server, Emarsys, SendGrid,
Mandrill, a webhook receiver), on 127.0.0.1 only.

    sandbox.py --data FILE --port-file FILE [--port N] [--log FILE] [--latency MS]
    sandbox.py --list-secrets --data FILE

See README.md in this directory.
"""

import sys
sys.dont_write_bytecode = True      # keep __pycache__ out of the source tree

import argparse
import importlib
import json
import os
import signal
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402
from svc_retail import JsonFloat  # noqa: E402

# One module per service; each has register(sandbox). Add new ones here.
# The providers read their credentials from the vault: after svc_keyvault.
SERVICES = ["svc_aad", "svc_msi", "svc_keyvault", "svc_retail",
            "svc_emarsys", "svc_sendgrid", "svc_mandrill", "svc_webhook"]


def extend(sb):
    """What services need beyond core.Sandbox (candidates for core.py):

    sb.add_control(path, handler)  another /_sandbox endpoint: PATH below
                                   /_sandbox ("/emarsys/delivered"); handler(req)
                                   -> Response. Never logged, never faulted.
    sb.now()                       the sandbox's clock: time.time() plus the
                                   offset set by POST /_sandbox/clock (or the
                                   data's "clock_offset_seconds").
    sb.secret_ref(ref, what)       a credential named in the data set: a
                                   string as is, or {"keyvault": "Name"} for
                                   the value of the vault's secret Name (so a
                                   value is written once); ValueError if absent.
    """
    extra = {}
    base_control = sb.control
    clock_lock = threading.Lock()
    offset = sb.data.get("clock_offset_seconds", 0)
    if not isinstance(offset, (int, float)) or isinstance(offset, bool):
        raise ValueError("clock_offset_seconds must be a number")
    sb.clock_offset = float(offset)

    def add_control(path, handler):
        extra[path] = handler

    def control(req):
        handler = extra.get(req.path[len(core.CONTROL_PREFIX):])
        return handler(req) if handler else base_control(req)

    def now():
        with clock_lock:
            return time.time() + sb.clock_offset

    def clock(req):
        if req.method == "POST":
            try:
                spec = json.loads(req.body.decode("utf-8") or "{}")
                value = spec["offset_seconds"]
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise ValueError("not a number")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                return core.json_response(400, {"error": "want {\"offset_seconds\": N}: %s" % e})
            with clock_lock:
                sb.clock_offset = float(value)
        elif req.method == "DELETE":
            with clock_lock:
                sb.clock_offset = 0.0
        elif req.method != "GET":
            return core.json_response(405, {"error": "GET, POST or DELETE"})
        t = now()
        off = sb.clock_offset
        return core.json_response(200, {"offset_seconds": int(off) if off == int(off) else off,
                                        "now": int(t),
                                        "iso": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                             time.gmtime(t))})

    def secret_ref(ref, what):
        if isinstance(ref, str):
            sb.add_secrets([ref])
            return ref
        if isinstance(ref, dict) and isinstance(ref.get("keyvault"), str):
            vault = getattr(sb, "vault", None)
            s = vault.secrets.get(ref["keyvault"].lower()) if vault else None
            if s is None:
                raise ValueError("%s: no keyvault secret %r" % (what, ref["keyvault"]))
            return s["value"]
        raise ValueError("%s: want a string or {\"keyvault\": \"SecretName\"}" % what)

    def latency(req):
        if req.method == "POST":
            try:
                spec = json.loads(req.body.decode("utf-8") or "{}")
                value = spec["ms"]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ValueError("not a number of 0 or more")
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
                return core.json_response(400, {"error": "want {\"ms\": N}: %s" % e})
            sb.latency = value / 1000.0
        elif req.method == "DELETE":
            sb.latency = 0.0
        elif req.method != "GET":
            return core.json_response(405, {"error": "GET, POST or DELETE"})
        ms = sb.latency * 1000
        return core.json_response(200, {"ms": int(ms) if ms == int(ms) else ms})

    def counts(req):
        # The request log, counted per endpoint: "retail Customers/GetOrderHistory",
        # "sendgrid suppression/bounces"... (a service without operations: its name).
        if req.method != "GET":
            return core.json_response(405, {"error": "GET"})
        with sb.lock:
            lines = list(sb.log_entries)
        by = {}
        for line in lines:
            e = json.loads(line)
            key = " ".join(str(x) for x in (e.get("service"), e.get("operation")) if x)
            by[key or "unknown"] = by.get(key or "unknown", 0) + 1
        return core.json_response(200, {"total": len(lines),
                                        "by_endpoint": dict(sorted(by.items()))})

    sb.add_control = add_control
    sb.control = control
    sb.now = now
    sb.secret_ref = secret_ref
    add_control("/clock", clock)
    add_control("/latency", latency)
    add_control("/counts", counts)


def build(data, log_path=None):
    sb = core.Sandbox(data, log_path)
    extend(sb)
    for name in SERVICES:
        importlib.import_module(name).register(sb)
    return sb


def main(argv=None):
    p = argparse.ArgumentParser(prog="sandbox.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the data set (JSON)")
    p.add_argument("--port-file", help="where to write the port once listening")
    p.add_argument("--port", type=int, default=0, help="port (default: ephemeral)")
    p.add_argument("--log", help="append the request log (NDJSON) here")
    p.add_argument("--latency", type=float, default=0, metavar="MS",
                   help="milliseconds added before answering each service request")
    p.add_argument("--list-secrets", action="store_true",
                   help="print every secret value in the data set and exit")
    a = p.parse_args(argv)
    try:
        with open(a.data, encoding="utf-8") as f:
            # A number keeps the text it was written with (19.90, 2.0): Retail
            # Server sends decimals with their scale. It is still a float.
            data = json.load(f, parse_float=JsonFloat)
        sb = build(data, a.log)
        if a.latency < 0:
            raise ValueError("--latency must be 0 or more")
        sb.latency = a.latency / 1000.0
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("sandbox.py: %s: %s" % (a.data, e), file=sys.stderr)
        return 2
    if a.list_secrets:
        for s in sb.secret_values():
            print(s)
        return 0
    if not a.port_file:
        p.error("--port-file is required")

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = sb.serve(a.port, a.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        sb.stopping.set()           # wakes hanging handlers
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
