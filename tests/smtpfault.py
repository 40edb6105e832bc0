#!/usr/bin/env python3
"""smtpfault.py: a fault-injecting SMTP front for the tests, on 127.0.0.1, before the real server.

Python 3 standard library only. It listens on a port of its own (port 0; the
port it got goes to --port-file) and, per client, opens a connection to the
real SMTP server (tests/smtpd.py, aiosmtpd) on --upstream PORT, relaying the
dialogue line by line. It takes the message itself: it answers DATA with its
own 354, keeps the body, and hands the whole message to the real server
(DATA, body, ".") only when the client's final "." has come and no fault
says otherwise. So every fault is an answer of its own (or silence, or a
cut), and "after" means the real server really has the message before the
client hears anything. The EHLO reply loses STARTTLS, PIPELINING and
CHUNKING: the front speaks plain SMTP, one command at a time.

Faults are rules in --faults FILE: a JSON list of objects, read again
whenever the file changes (replace it with rename; counts start again then).
The first rule that matches an event acts:

  stage     "greeting", "ehlo", "mail", "rcpt", "data" (the DATA command,
            before any 354) or "eod" (the final "." of the message)
  action    "reply" (default): answer code and text instead of the server;
            a 421 closes the connection afterwards, as RFC 5321 says.
            "hang": say nothing for ms milliseconds (default: until the
            client goes), then go on as if nothing happened.
            "drop": close the connection.
            "truncate": half a reply line, no line end, then close.
            "malformed": a line that is not an SMTP reply, then close.
  code      for reply (default 451); text: its text (default: a stock one)
  delay_ms  wait this long before acting (a slow 421, say)
  ms        for hang
  after     eod only: deliver the message to the real server first, then
            act (default false: the real server never sees the message)
  rcpt      only for transactions to this address (rcpt, data, eod)
  times     fire at most this many times (default: every time)

Log (--log FILE): one JSON object per line, per connection ("connect",
"close"), per fault fired ("fault"), per message whose final "." came
("eod": mail_from, rcpt, the X-Cartwatch-Notification-Id header; written
before the client hears anything), and per message's fate ("message": the
same, "delivered" true or false, the real server's reply). Never a message
body, never what follows AUTH.
"""
import argparse
import asyncio
import json
import os
import re
import sys
import time

STOCK = {
    421: "4.3.2 Service not available, closing transmission channel (fault)",
    450: "4.2.0 Mailbox unavailable, try again (fault)",
    451: "4.3.0 Local error in processing, try again (fault)",
    452: "4.3.1 Insufficient system storage (fault)",
    550: "5.7.1 Refused (fault)",
    552: "5.3.4 Message too big (fault)",
    554: "5.6.0 Transaction failed (fault)",
}
DROPPED_EXTENSIONS = ("STARTTLS", "PIPELINING", "CHUNKING")


class Closed(Exception):
    """The fault closed the client's connection: this session is over."""


class Faults:
    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.rules = []
        self.fired = []

    def load(self):
        # The text too: a rename may reuse an inode within one clock tick.
        try:
            with open(self.path) as f:
                st = os.fstat(f.fileno())
                text = f.read()
        except FileNotFoundError:
            self.stamp, self.rules, self.fired = None, [], []
            return
        stamp = (st.st_ino, st.st_mtime_ns, text)
        if stamp == self.stamp:
            return
        rules = json.loads(text) if text.strip() else []
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ValueError(f"{self.path}: not a list of objects")
        self.stamp, self.rules, self.fired = stamp, rules, [0] * len(rules)

    def match(self, stage, rcpts=()):
        self.load()
        for i, r in enumerate(self.rules):
            if r.get("stage") != stage:
                continue
            if "rcpt" in r and r["rcpt"].lower() not in [a.lower() for a in rcpts]:
                continue
            if "times" in r and self.fired[i] >= r["times"]:
                continue
            self.fired[i] += 1
            return r
        return None


class Session:
    n = 0

    def __init__(self, front, reader, writer):
        Session.n += 1
        self.id = Session.n
        self.front = front
        self.cr, self.cw = reader, writer
        self.ur = self.uw = None
        self.mail_from = None
        self.rcpts = []
        self.txn_open = False  # the real server has a MAIL FROM of ours

    def log(self, event, **kw):
        self.front.log(dict(conn=self.id, event=event, **kw))

    async def to_client(self, data):
        self.cw.write(data)
        await self.cw.drain()

    async def close(self):
        for w in (self.cw, self.uw):
            if w is not None:
                w.close()
        for w in (self.cw, self.uw):
            if w is not None:
                try:
                    await w.wait_closed()
                except (ConnectionError, OSError):
                    pass

    async def upstream_reply(self):
        """The real server's reply, all its lines, as bytes."""
        lines = []
        while True:
            line = await self.ur.readline()
            if not line:
                raise ConnectionError("the real server closed the connection")
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return b"".join(lines)

    async def upstream(self, command):
        self.uw.write(command)
        await self.uw.drain()
        return await self.upstream_reply()

    async def act(self, rule, stage, rcpts=()):
        """Carries out a fault. Returns after a reply or a finite hang (True:
        the command was answered); raises Closed when it ended the session."""
        action = rule.get("action", "reply")
        self.log("fault", stage=stage, action=action, code=rule.get("code"),
                 after=bool(rule.get("after")), rcpt=list(rcpts))
        if rule.get("delay_ms"):
            await asyncio.sleep(rule["delay_ms"] / 1000)
        if action == "reply":
            code = int(rule.get("code", 451))
            text = rule.get("text", STOCK.get(code, "fault"))
            await self.to_client(f"{code} {text}\r\n".encode())
            if code == 421:
                raise Closed()
            return True
        if action == "hang":
            if "ms" in rule:
                await asyncio.sleep(rule["ms"] / 1000)
                return False
            while await self.cr.read(4096):
                pass
            raise Closed()
        if action == "drop":
            raise Closed()
        if action == "truncate":
            await self.to_client(b"25")
            raise Closed()
        if action == "malformed":
            await self.to_client(b"hello, this is not an SMTP reply\r\n")
            raise Closed()
        raise ValueError(f"unknown action {action!r}")

    async def run(self):
        self.log("connect")
        try:
            await self.dialogue()
        except Closed:
            pass
        except (ConnectionError, OSError, asyncio.IncompleteReadError) as e:
            self.log("error", error=type(e).__name__)
        finally:
            await self.close()
            self.log("close")

    async def dialogue(self):
        rule = self.front.faults.match("greeting")
        if rule is not None and await self.act(rule, "greeting"):
            # Refused: the client may still say QUIT; nothing else matters.
            await self.cr.read(4096)
            return
        self.ur, self.uw = await asyncio.open_connection("127.0.0.1", self.front.upstream_port)
        await self.to_client(await self.upstream_reply())
        auth_continues = False
        while True:
            line = await self.cr.readline()
            if not line:
                return
            if auth_continues:
                # A line of an AUTH exchange: relayed, never looked at.
                reply = await self.upstream(line)
                auth_continues = reply.startswith(b"334")
                await self.to_client(reply)
                continue
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                await self.command("ehlo", line, edit=self.ehlo)
            elif verb == b"MAIL":
                m = re.search(rb"<([^>]*)>", line)
                self.mail_from = m.group(1).decode(errors="replace") if m else ""
                self.rcpts = []
                if self.txn_open:
                    # A transaction a fault cut short is still open there.
                    await self.upstream(b"RSET\r\n")
                    self.txn_open = False
                reply = await self.command("mail", line)
                self.txn_open = reply is not None and reply.startswith(b"2")
            elif verb == b"RCPT":
                m = re.search(rb"<([^>]*)>", line)
                addr = m.group(1).decode(errors="replace") if m else ""
                reply = await self.command("rcpt", line, rcpts=[addr])
                if reply is not None and reply.startswith(b"2"):
                    self.rcpts.append(addr)
            elif verb == b"DATA":
                await self.data()
            elif verb == b"RSET":
                self.mail_from, self.rcpts, self.txn_open = None, [], False
                await self.to_client(await self.upstream(line))
            elif verb == b"AUTH":
                reply = await self.upstream(line)
                auth_continues = reply.startswith(b"334")
                await self.to_client(reply)
            elif verb == b"QUIT":
                await self.to_client(await self.upstream(line))
                return
            else:
                await self.to_client(await self.upstream(line))

    async def command(self, stage, line, rcpts=(), edit=None):
        """A command the real server answers unless a fault does: its reply, or None."""
        rule = self.front.faults.match(stage, rcpts)
        if rule is not None and await self.act(rule, stage, rcpts):
            return None
        reply = await self.upstream(line)
        if edit is not None:
            reply = edit(reply)
        await self.to_client(reply)
        return reply

    @staticmethod
    def ehlo(reply):
        lines = [x for x in reply.split(b"\r\n") if x]
        if not lines or not lines[0].startswith(b"250"):
            return reply
        keep = [lines[0]] + [x for x in lines[1:]
                             if x[4:].split(b" ")[0].upper().decode(errors="replace")
                             not in DROPPED_EXTENSIONS]
        out = [b"250-" + x[4:] for x in keep[:-1]] + [b"250 " + keep[-1][4:]]
        return b"\r\n".join(out) + b"\r\n"

    async def data(self):
        rule = self.front.faults.match("data", self.rcpts)
        if rule is not None and await self.act(rule, "data", self.rcpts):
            return
        if not self.rcpts:
            await self.to_client(b"503 5.5.1 Error: need RCPT command\r\n")
            return
        await self.to_client(b"354 End data with <CR><LF>.<CR><LF>\r\n")
        body = []
        while True:
            line = await self.cr.readline()
            if not line:
                raise ConnectionError("the client went away in the middle of DATA")
            if line in (b".\r\n", b".\n"):
                break
            body.append(line)
        rcpts = list(self.rcpts)
        note = dict(mail_from=self.mail_from, rcpt=rcpts, notification_id=notification_id(body))
        self.mail_from, self.rcpts = None, []
        # Logged now, before any answer: once the client hears anything,
        # the log knows that the message came.
        self.log("eod", **note)
        rule = self.front.faults.match("eod", rcpts)
        if rule is not None and not rule.get("after"):
            # The real server does not get this message, unless a finite
            # hang lets it through late.
            if rule.get("action", "reply") != "hang" or "ms" not in rule:
                self.log("message", delivered=False, **note)
            if await self.act(rule, "eod", rcpts):
                await self.upstream(b"RSET\r\n")
                self.txn_open = False
                return
            rule = None
        reply = await self.upstream(b"DATA\r\n")
        if reply.startswith(b"354"):
            self.uw.write(b"".join(body) + b".\r\n")
            await self.uw.drain()
            reply = await self.upstream_reply()
        self.txn_open = False
        self.log("message", delivered=reply.startswith(b"250"),
                 reply=reply.decode(errors="replace").strip(), **note)
        if rule is None or not await self.act(rule, "eod", rcpts):
            await self.to_client(reply)


def notification_id(body):
    for line in body:
        if line in (b"\r\n", b"\n"):
            return None
        if line.lower().startswith(b"x-cartwatch-notification-id:"):
            return line.split(b":", 1)[1].strip().decode(errors="replace")
    return None


class Front:
    def __init__(self, args):
        self.upstream_port = args.upstream
        self.faults = Faults(args.faults)
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def log(self, obj):
        if self.logf is not None:
            obj = dict(t=round(time.time(), 3), **obj)
            self.logf.write(json.dumps(obj, separators=(",", ":")) + "\n")

    async def handle(self, reader, writer):
        await Session(self, reader, writer).run()


async def serve(args):
    front = Front(args)
    front.faults.load()  # a broken rule file stops it now, not mid-test
    server = await asyncio.start_server(front.handle, host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.rename(args.port_file + ".tmp", args.port_file)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream", type=int, required=True, help="the real server's port")
    p.add_argument("--faults", required=True, help="the rule file (JSON list)")
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", help="NDJSON log of connections, faults and messages")
    args = p.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
