#!/usr/bin/python3
"""smtpd.py: a real SMTP server for the tests (aiosmtpd), on 127.0.0.1, saving what it accepts.

Run with Debian's /usr/bin/python3, which has python3-aiosmtpd. The server
binds port 0 and writes the port it got to --port-file (no window in which
another process can take it). Every accepted message becomes DIR/N.eml (the
bytes as received) and DIR/N.json (mail_from, rcpt_tos, auth mechanism and
login, tls, data_at and done_at: when its DATA came and when it was
taken, time.monotonic()). Every RCPT TO is logged to DIR/rcpt.log as "ADDRESS CODE".

  --auth-user U      require AUTH as U, password from $SMTPD_PASSWORD
  --mechs M,M        the AUTH mechanisms offered (default LOGIN,PLAIN)
  --reject ADDR      answer RCPT TO:<ADDR> with 550 (repeatable)
  --tempfail ADDR    answer RCPT TO:<ADDR> with 451 (repeatable)
  --tls-cert/--tls-key FILE  offer STARTTLS, and require it
  --smtps            TLS from the first byte (with the cert and key)
  --stats FILE       count, and keep in FILE as JSON: "sessions" (connections
                     made), "max_sessions" (the most open at once), "max_data"
                     (the most messages in DATA at once)
  --delay-ms N       hold each message N ms before accepting it, so that the
                     counts above can see a client's messages overlap
  --hold ADDR        hold the message to ADDR 1 s instead (repeatable)
  --port N --reuse-port  listen on port N (default 0: any) with SO_REUSEPORT:
                     several servers (each its own --dir and --stats) share
                     one port and the kernel spreads connections among them,
                     so that one Python process is not what a benchmark
                     measures
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.n = 0
        self.count = {"sessions": 0, "open": 0, "max_sessions": 0, "data": 0, "max_data": 0}

    def tally(self, what, step):
        c = self.count
        if what == "open" and step > 0:
            c["sessions"] += 1
        c[what] += step
        peak = "max_sessions" if what == "open" else "max_data"
        c[peak] = max(c[peak], c[what])
        if self.args.stats:
            with open(self.args.stats + ".tmp", "w") as f:
                json.dump({k: c[k] for k in ("sessions", "max_sessions", "max_data")}, f)
            os.rename(self.args.stats + ".tmp", self.args.stats)

    def log_rcpt(self, address, code):
        with open(os.path.join(self.args.dir, "rcpt.log"), "a") as f:
            f.write(f"{address} {code}\n")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.args.reject:
            self.log_rcpt(address, 550)
            return f"550 5.1.1 <{address}>: no such user here"
        if address in self.args.tempfail:
            self.log_rcpt(address, 451)
            return f"451 4.3.0 <{address}>: try again later"
        self.log_rcpt(address, 250)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        started = time.monotonic()
        self.tally("data", 1)
        try:
            slow = any(r in self.args.hold for r in envelope.rcpt_tos)
            await asyncio.sleep(1.0 if slow else self.args.delay_ms / 1000)
        finally:
            self.tally("data", -1)
        self.n += 1
        base = os.path.join(self.args.dir, str(self.n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": getattr(session, "cw_mech", None),
            "login": (session.auth_data.login.decode()
                      if isinstance(session.auth_data, LoginPassword) else None),
            "tls": session.ssl is not None and bool(session.ssl),
            "data_at": started,
            "done_at": time.monotonic(),
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".eml.tmp", base + ".eml")
        return f"250 2.0.0 OK: queued as {self.n}"


class CountingSMTP(SMTP):
    """Counts the connections open at once (Handler.tally)."""

    def connection_made(self, transport):
        self.event_handler.tally("open", 1)
        super().connection_made(transport)

    def connection_lost(self, error):
        self.event_handler.tally("open", -1)
        super().connection_lost(error)


def authenticator(args):
    want = os.environ.get("SMTPD_PASSWORD", "").encode()

    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login == args.auth_user.encode() and auth_data.password == want)
        if ok:
            session.cw_mech = mechanism
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--auth-user")
    p.add_argument("--mechs", default="LOGIN,PLAIN")
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--tempfail", action="append", default=[])
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--smtps", action="store_true")
    p.add_argument("--stats")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--hold", action="append", default=[])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--reuse-port", action="store_true")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    ctx = None
    if args.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    kw = {"hostname": "smtp.test", "auth_require_tls": False}
    if args.auth_user:
        offered = args.mechs.split(",")
        kw.update(auth_required=True, authenticator=authenticator(args),
                  auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in offered])
    if ctx is not None and not args.smtps:
        kw.update(tls_context=ctx, require_starttls=True)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Handler(args)
    server = loop.run_until_complete(loop.create_server(
        lambda: CountingSMTP(handler, loop=loop, **kw), host="127.0.0.1", port=args.port,
        ssl=ctx if args.smtps else None, reuse_port=args.reuse_port or None))
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
