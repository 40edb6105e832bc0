#!/usr/bin/env python3
"""dedupe-group: cart-dedupe's group commit seen from outside.

    dedupe-group.py kill CONFIG CARTS DB     runs cart-dedupe on CARTS, SIGKILLs
        it the moment its first cart comes out, and prints that cart's claim
        as the SQLite file DB holds it ("claimed"), or "missing"
    dedupe-group.py trickle CONFIG CARTS     feeds CARTS one line at a time with
        stdin kept open, waiting up to 10 s for each cart to come out, and
        prints how many came out before stdin was closed

cart-dedupe is found on PATH.
"""
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys


def kill(cfg, carts, db):
    with open(carts, "rb") as f:
        p = subprocess.Popen(["cart-dedupe", "-c", cfg], stdin=f,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    if not line:
        print("no output")
        return
    key = json.loads(line)["notificationId"]
    row = sqlite3.connect(db).execute("SELECT body FROM docs WHERE id = ?", (key,)).fetchone()
    print(json.loads(row[0])["state"] if row else "missing")


def trickle(cfg, carts):
    p = subprocess.Popen(["cart-dedupe", "-c", cfg], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = 0
    with open(carts, "rb") as f:
        for line in f:
            p.stdin.write(line)
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 10)
            if not ready or not p.stdout.readline():
                break
            out += 1
    p.stdin.close()
    p.stdout.read()
    p.wait()
    print(out)


if __name__ == "__main__":
    if sys.argv[1] == "kill":
        kill(*sys.argv[2:5])
    else:
        trickle(*sys.argv[2:4])
