"""A/B: a baseline commit against the working tree, alternately, on the same load.

    python -m bench.ab [--baseline COMMIT] [--rounds 3] [--paths sync,sf,http]
                       [--tree DIR [--tree-label TEXT]]
                       [--workers 1 [2]] [--count 20000] [--http-duration 5]
                       [--pin-router CPUS --pin-redis CPUS --pin-smsc CPUS --pin-load CPUS]

These machines change speed by 2x from one minute to the next, so an absolute
figure says little; two hold better, and this prints both:
- the ratio working tree / baseline of router CPU per message and receipt, per
  round (the two sides run one after the other, the order swapped every round)
  and its median over the rounds;
- router CPU per message in yardsticks: the time smpplib (a test dependency)
  takes to parse one 160-character submit_sm from bytes, timed in the same
  round (best of --yardstick-repeat), on the router's cores when pinned.
Beside them: msg/s, CPU per message (user + system, from /proc of the router's
workers), and from the router's embedded Redis (bench.redisinfo): commands per
message by kind, bytes in and out per message, Redis CPU per message.

The baseline is checked out in a temporary git worktree (removed at the end)
and run with this .venv: the router's PYTHONPATH puts that tree first, behind a
sitecustomize that imports smpprouter at start and writes where from; each run
checks that every worker's smpprouter is the side's (the baseline's code, or
the working tree's). The load generator, simulator and sink are the working
tree's for both sides: the same load. A baseline whose dependencies differ from
this .venv's is not supported (run `make install` in a worktree of it instead).

Paths: sync (user esme1, the resp relayed from the upstream's; one worker, 4
sessions x window 10 as bench.e2e), sf (store and forward: accepted, then
drained from the queue; CPU covers both), http (REST POST through bench.http's
wrk, receipts as webhooks to a sink; per accepted request).

--pin-*: each process group under `taskset -c` (the router's workers inherit
its list; its embedded Redis is moved to --pin-redis with taskset -a -p). The
load side is the load generator (bench.load, or wrk for http); the sink is
pinned with the simulator.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from types import SimpleNamespace

from bench import e2e
from bench.redisinfo import RedisProbe, format_commands

ROOT = e2e.ROOT
PATHS = ("sync", "sf", "http")
WHOAMI_ENV = "SMPPROUTER_BENCH_WHOAMI"

# Imported by every Python process of a router run (it is first on PYTHONPATH):
# importing smpprouter here fixes which tree the process runs, and the file says so.
SITECUSTOMIZE = '''
import os
_where = os.environ.get("%s")
if _where:
    import smpprouter
    with open(os.path.join(_where, str(os.getpid())), "w") as _f:
        _f.write(smpprouter.__file__)
''' % WHOAMI_ENV


# --- the arithmetic (pure; tests/bench/test_ab.py) ------------------------------

def ratio(tree, base):
    """tree / base, or None where base is 0 or missing."""
    if tree is None or not base:
        return None
    return tree / base


def round_ratios(rows, key):
    """{(path, workers): [tree/baseline of `key` per round]} from the rows of both
    sides; a round missing either side is left out."""
    by_round = {}
    for row in rows:
        by_round.setdefault((row["path"], row["workers"], row["round"]), {})[row["side"]] = row
    ratios = {}
    for (path, workers, _), sides in sorted(by_round.items()):
        if "baseline" in sides and "tree" in sides:
            r = ratio(sides["tree"][key], sides["baseline"][key])
            if r is not None:
                ratios.setdefault((path, workers), []).append(r)
    return ratios


def median(values):
    return statistics.median(values) if values else None


def in_yardsticks(cpu_us, yardstick_us):
    return cpu_us / yardstick_us if yardstick_us else None


# --- the yardstick -----------------------------------------------------------------

def yardstick_us(repeat=7, number=2000, cpus=None):
    """CPU microseconds smpplib takes to parse one 160-character submit_sm from
    bytes (smpplib.smpp.parse_pdu), the best of `repeat` runs of `number`; on
    `cpus` (a taskset list) when given, as the router is."""
    import smpplib.smpp

    from bench.codec import SUBMIT
    from smpprouter.smpp import codec

    wire = codec.encode(SUBMIT)

    class Client:   # parse_pdu asks its client nothing for a parse, but wants one
        def next_sequence(self):
            return 1

    client = Client()
    parsed = smpplib.smpp.parse_pdu(wire, client=client)
    assert parsed.command == "submit_sm" and len(parsed.short_message) == 160, parsed
    affinity = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, parse_cpus(cpus))
    try:
        # CPU time, as the router's figure is: on a loaded machine a wall-clock
        # timer counts the time this process waited for a core.
        best = min(timeit.repeat(lambda: smpplib.smpp.parse_pdu(wire, client=client),
                                 number=number, repeat=repeat, timer=time.thread_time))
    finally:
        os.sched_setaffinity(0, affinity)
    return best / number * 1e6


def parse_cpus(text):
    """taskset's list syntax ("0", "0,2", "0-3") -> a set of cpu numbers."""
    cpus = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.update(range(int(low), int(high) + 1))
        elif part:
            cpus.add(int(part))
    if not cpus:
        raise ValueError("no cpu in %r" % text)
    return cpus


# --- the two sides -------------------------------------------------------------------

class Side:
    """One code base to run: its name in the table, its tree, the router's env."""

    def __init__(self, name, label, tree, whoami_dir):
        self.name = name
        self.label = label
        self.tree = os.path.realpath(tree)
        self.whoami_dir = whoami_dir
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [whoami_dir, self.tree] + [p for p in os.environ.get("PYTHONPATH", "").split(
                os.pathsep) if p])
        self.env[WHOAMI_ENV] = whoami_dir


class Whoami:
    """A probe: every worker's smpprouter must come from the side's tree."""

    def __init__(self, side):
        self.side = side

    def start(self, run):
        package = os.path.join(self.side.tree, "smpprouter") + os.sep
        for pid in run.pids:
            try:
                with open(os.path.join(self.side.whoami_dir, str(pid))) as f:
                    where = os.path.realpath(f.read().strip())
            except FileNotFoundError:
                raise RuntimeError("worker %d wrote no smpprouter path (is the "
                                   "sitecustomize in %s shadowed?)" % (pid, self.side.whoami_dir))
            if not where.startswith(package):
                raise RuntimeError("worker %d of %s runs %s, not %s" % (
                    pid, self.side.name, where, package))

    def stop(self, run):
        pass


def git(*args, cwd=ROOT):
    return subprocess.run(["git"] + list(args), cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def tree_label():
    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + ("+changes" if dirty else "")


# --- one measurement -----------------------------------------------------------------

def measure_path(args, side, path, workers, pin):
    """One run of one path for one side: a row of the table."""
    redis = RedisProbe(pin.get("redis"), args.redis_monitor)
    probes = [Whoami(side), redis]
    try:
        if path == "http":
            from bench import http
            http_args = SimpleNamespace(duration=args.http_duration, connections=32,
                                        threads=2, workers=workers, drain_timeout=120.0)
            m = http.measure_api(http_args, "rest", True, side.env, probes, pin)
            messages, ok = m["accepted"], m["ok"]
            rate, user_us, system_us = m["msg_per_s"], m["user_us"], m["system_us"]
        else:
            e2e_args = SimpleNamespace(count=args.count, sessions=args.sessions,
                                       window=args.window, binds=1, upstream_window=50,
                                       profile=None, sf_drain_timeout=120.0)
            summary, _, user, system, upstream = e2e.measure(
                e2e_args, workers, path, env=side.env, probes=probes, pin=pin)
            messages = summary["ok"]
            done = max(1, messages)
            rate = summary["accepted_per_s" if path == "sf" else "msg_per_s"]
            user_us, system_us = user / done * 1e6, system / done * 1e6
            ok = (summary["receipts_matched"] == messages == args.count
                  and not summary["errors"]
                  and not (upstream or {}).get("duplicate_submits"))
        figures = redis.result(messages)
    finally:
        redis.close()
    return {"path": path, "workers": workers, "side": side.name, "label": side.label,
            "messages": messages, "msg_per_s": rate, "cpu_us": user_us + system_us,
            "user_us": user_us, "system_us": system_us, "ok": ok, "redis": figures}


# --- the table -------------------------------------------------------------------

COLUMNS = ("%-5s %2s %5s %-9s %7s %8s %9s %6s %7s %6s %10s %8s %3s")
HEADER = ("path", "w", "round", "side", "msg/s", "CPU us", "user+sys", "yard", "R cmds",
          "R rds", "R B in/out", "R CPU us", "ok")


def format_row(row, yardstick):
    r = row["redis"]
    units = in_yardsticks(row["cpu_us"], yardstick)
    return COLUMNS % (
        row["path"], row["workers"], row["round"], row["side"], "%.0f" % row["msg_per_s"],
        "%.1f" % row["cpu_us"], "%.0f+%.0f" % (row["user_us"], row["system_us"]),
        "%.2f" % units if units else "-", "%.2f" % r["commands_per_message"],
        "%.2f" % r["reads_per_message"],
        "%.0f/%.0f" % (r["bytes_in_per_message"], r["bytes_out_per_message"]),
        "%.1f" % r["cpu_us_per_message"], "yes" if row["ok"] else "NO")


def print_table(rows, yardsticks, out=sys.stdout):
    w = out.write
    w("\n" + COLUMNS % HEADER + "\n")
    w("(per message and its receipt; CPU us: the router's CPU (its workers', from /proc), "
      "user+sys its parts; yard: CPU us in yardsticks; R: the router's Redis: cmds: commands "
      "executed (those a script calls included), rds: read events (the router's batches), "
      "B in/out: bytes, CPU us: redis-server's CPU)\n")
    for row in rows:
        w(format_row(row, yardsticks[row["round"]]) + "\n")
    w("yardstick (smpplib parse_pdu of a 160-char submit_sm, CPU us) per round: %s\n" % (
        ", ".join("%d: %.2f" % kv for kv in sorted(yardsticks.items()))))
    cpu = round_ratios(rows, "cpu_us")
    rate = round_ratios(rows, "msg_per_s")
    redis_cpu = round_ratios([dict(r, redis_cpu=r["redis"]["cpu_us_per_message"])
                              for r in rows], "redis_cpu")
    if cpu:
        w("\nworking tree / baseline, per round, then the median:\n")
        for key in sorted(cpu):
            path, workers = key
            w("  %-5s %d worker(s)  CPU per message %s  median %.3f   msg/s %s  median %.3f"
              "   Redis CPU median %s\n" % (
                  path, workers, " ".join("%.3f" % x for x in cpu[key]), median(cpu[key]),
                  " ".join("%.3f" % x for x in rate.get(key, [])), median(rate.get(key, [])),
                  "%.3f" % median(redis_cpu[key]) if redis_cpu.get(key) else "-"))
    w("\nRedis commands per message, by kind (each side's first round):\n")
    seen = set()
    for row in rows:
        key = (row["path"], row["workers"], row["side"])
        if key not in seen:
            seen.add(key)
            w("  %-5s %d worker(s) %-9s %s\n" % (row["path"], row["workers"], row["side"],
                                                 format_commands(row["redis"])))
            if "sent_per_message" in row["redis"]:
                w("  %-5s %d worker(s) %-9s requests sent by the router (MONITOR sample of "
                  "%d commands): %.2f per message\n" % (
                      row["path"], row["workers"], row["side"],
                      sum(row["redis"]["monitor_sample"].values()),
                      row["redis"]["sent_per_message"]))
    by_workers = {}
    for row in rows:
        by_workers.setdefault((row["path"], row["side"], row["round"]), {})[row["workers"]] = row
    scale = []
    for (path, side, rnd), counts in sorted(by_workers.items()):
        if len(counts) > 1:
            low = min(counts)
            for n in sorted(counts):
                if n != low:
                    scale.append("  %-5s %-9s round %d: %d workers / %d: %.2fx msg/s, %.2fx CPU "
                                 "per message" % (path, side, rnd, n, low,
                                                  counts[n]["msg_per_s"] / counts[low]["msg_per_s"],
                                                  counts[n]["cpu_us"] / counts[low]["cpu_us"]))
    if scale:
        w("\nworkers against workers:\n" + "\n".join(scale) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", metavar="COMMIT", help="a commit to compare with; without "
                   "it, the working tree alone")
    p.add_argument("--tree", metavar="DIR", default=ROOT, help="the code of the tree side "
                   "(default this working tree; bench.compiled passes its compiled copy)")
    p.add_argument("--tree-label", metavar="TEXT", help="its name in the table (default "
                   "the working tree's commit)")
    p.add_argument("--rounds", type=int, default=None, help="default 3 with a baseline, else 1")
    p.add_argument("--paths", default=",".join(PATHS), help="comma-separated: sync,sf,http")
    p.add_argument("--workers", type=int, nargs="+", default=[1])
    p.add_argument("--count", type=int, default=20000, help="messages per sync and sf run")
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--http-duration", type=int, default=5, metavar="SECONDS")
    p.add_argument("--yardstick-repeat", type=int, default=7)
    p.add_argument("--redis-monitor", type=int, default=0, metavar="COMMANDS",
                   help="also watch MONITOR for this many commands at the start of each "
                   "load, to tell the requests the router sent from the commands its "
                   "scripts called (costs Redis CPU while it runs: off by default)")
    for name in ("router", "redis", "smsc", "load"):
        p.add_argument("--pin-" + name, metavar="CPUS", help="taskset -c list for the %s" % name)
    args = p.parse_args(argv)
    paths = [x.strip() for x in args.paths.split(",") if x.strip()]
    unknown = set(paths) - set(PATHS)
    if unknown or not paths:
        p.error("--paths: a comma-separated list of %s" % ", ".join(PATHS))
    if "http" in paths and shutil.which("wrk") is None:
        p.error("the http path needs wrk: apt-get install wrk (or --paths sync,sf)")
    rounds = args.rounds or (3 if args.baseline else 1)
    pin = {name: getattr(args, "pin_" + name) for name in ("router", "redis", "smsc", "load")
           if getattr(args, "pin_" + name)}
    if pin and shutil.which("taskset") is None:
        p.error("--pin-* needs taskset (util-linux)")

    scratch = tempfile.mkdtemp(prefix="smpprouter-ab-")
    whoami = os.path.join(scratch, "whoami")
    os.makedirs(whoami)
    with open(os.path.join(whoami, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    baseline_tree = None
    try:
        sides = [Side("tree", args.tree_label or tree_label(), args.tree, whoami)]
        if args.baseline:
            commit = git("rev-parse", "--verify", args.baseline + "^{commit}")
            baseline_tree = os.path.join(scratch, "baseline")
            git("worktree", "add", "--detach", baseline_tree, commit)
            sides.insert(0, Side("baseline", commit[:7], baseline_tree, whoami))
        print("bench.ab: %s; %d round(s), paths %s, workers %s, %d messages per sync/sf run, "
              "%d s of http%s" % (
                  " against ".join("%s %s (%s)" % (s.name, s.label, s.tree) for s in sides),
                  rounds, ",".join(paths), " ".join(map(str, args.workers)), args.count,
                  args.http_duration, "; pinned " + " ".join(
                      "%s=%s" % kv for kv in sorted(pin.items())) if pin else ""))
        rows, yardsticks, ok = [], {}, True
        for rnd in range(1, rounds + 1):
            yardsticks[rnd] = yardstick_us(args.yardstick_repeat, cpus=pin.get("router"))
            print("round %d: yardstick (smpplib parse_pdu, 160-char submit_sm, best of %d) "
                  "%.2f us" % (rnd, args.yardstick_repeat, yardsticks[rnd]), flush=True)
            order = sides if rnd % 2 else sides[::-1]
            for workers in args.workers:
                for path in paths:
                    for side in order:
                        row = measure_path(args, side, path, workers, pin)
                        row["round"] = rnd
                        rows.append(row)
                        ok = ok and row["ok"]
                        print("  " + format_row(row, yardsticks[rnd]), flush=True)
        print_table(rows, yardsticks)
        return 0 if ok else 1
    finally:
        if baseline_tree is not None:
            subprocess.run(["git", "worktree", "remove", "--force", baseline_tree], cwd=ROOT,
                           capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
