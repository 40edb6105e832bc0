#!/usr/bin/env python3
"""cartwatch test sandbox: fakes of the services that have no public emulator
(Entra ID, managed identity, Key Vault, ...), on 127.0.0.1 only.

    sandbox.py --data FILE --port-file FILE [--port N] [--log FILE]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402
from svc_retail import JsonFloat  # noqa: E402

# One module per service; each has register(sandbox). Add new ones here.
SERVICES = ["svc_aad", "svc_msi", "svc_keyvault", "svc_retail"]


def build(data, log_path=None):
    sb = core.Sandbox(data, log_path)
    for name in SERVICES:
        importlib.import_module(name).register(sb)
    return sb


def main(argv=None):
    p = argparse.ArgumentParser(prog="sandbox.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the data set (JSON)")
    p.add_argument("--port-file", help="where to write the port once listening")
    p.add_argument("--port", type=int, default=0, help="port (default: ephemeral)")
    p.add_argument("--log", help="append the request log (NDJSON) here")
    p.add_argument("--list-secrets", action="store_true",
                   help="print every secret value in the data set and exit")
    a = p.parse_args(argv)
    try:
        with open(a.data, encoding="utf-8") as f:
            # A number keeps the text it was written with (19.90, 2.0): Retail
            # Server sends decimals with their scale. It is still a float.
            data = json.load(f, parse_float=JsonFloat)
        sb = build(data, a.log)
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
