#!/usr/bin/env python3
"""killrun.py: run a command in a process group of its own and SIGKILL it at a
random moment: the whole group, or one stage of the pipeline at random.

    killrun.py --seed S --max-delay SECONDS [--stage-share P] -- COMMAND...

Prints one JSON line: {"delay": seconds, "target": "group" | "cart-notify" |
..., "landed": true if something was still running to kill, "rc": the
command's status (negative: the signal)}. The command's own output goes where
ours goes.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

STAGES = ("cart-fetch", "cart-dedupe", "cart-enrich", "cart-notify")


def group_stages(pgid):
    """(pid, stage name) of the pipeline's stages alive in the group."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            # The fields after the command name, which may hold spaces.
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        name = os.path.basename(argv[0].decode(errors="replace")) if argv else ""
        if name in STAGES:
            out.append((int(d), name))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", required=True)
    ap.add_argument("--max-delay", type=float, required=True)
    ap.add_argument("--stage-share", type=float, default=0.5,
                    help="how often one stage is killed instead of the group")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    rng = random.Random(a.seed)
    delay = round(rng.uniform(0, a.max_delay), 3)
    one_stage = rng.random() < a.stage_share
    # No leak check at exit under the sanitizers: LeakSanitizer stops the
    # process with a helper task of the same name, which a kill here may pick
    # as "a stage"; with that helper gone the exiting process spins forever.
    # Leaks are the other tests' business; these runs are about kills.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(
        x for x in (env.get("ASAN_OPTIONS", ""), "detect_leaks=0") if x)
    p = subprocess.Popen(cmd, start_new_session=True, stdin=subprocess.DEVNULL, env=env)
    target, landed = "group", False
    try:
        p.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        stages = group_stages(p.pid) if one_stage else []
        if stages:
            pid, target = rng.choice(stages)
            try:
                os.kill(pid, signal.SIGKILL)
                landed = True
            except ProcessLookupError:
                pass
        else:
            try:
                os.killpg(p.pid, signal.SIGKILL)
                landed = True
            except ProcessLookupError:
                pass
    rc = p.wait()
    # A stage killed alone leaves pipeline.sh to finish; the group, nothing.
    try:
        os.killpg(p.pid, 0)
        time.sleep(0.05)
    except (ProcessLookupError, PermissionError):
        pass
    json.dump({"delay": delay, "target": target, "landed": landed, "rc": rc}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
