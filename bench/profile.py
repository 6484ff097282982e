"""Where a router process spends its CPU under the synchronous load of bench.e2e.

    python -m bench.profile [--profiler py-spy|cprofile] [--count 40000] [--top 15]
                            [--output FILE] [--raw FILE]

py-spy (the default when installed: `pip install py-spy`) samples the worker
process from outside, `--rate` times a second, and counts only the samples where
a thread holds the GIL: the figures are shares of the router's Python time,
and the process runs at its normal speed (py-spy's cost is in py-spy's own
process). Without --gil, py-spy counts a process that is runnable but not
running as busy: on a 2-core machine each send() on loopback wakes the peer,
which often takes the core, and the send then looks like 40% of the time while
/proc says the system time is 4%. So C calls that release the GIL (send, recv,
epoll) are not in the figures: read the router's system CPU beside them.

cprofile runs the router under twistd's cProfile instead: every call timed, at
about twice the CPU per message, with wall-clock timers (a send that lets the
receiving process run on this 2-core machine counts the receiver's time too):
use it for call counts, not for shares.

Prints the top functions by own and by cumulative share, and the busy time by
layer (the own time of each sample's innermost function, by its file): codec,
SMPP protocol/framing, reactor and TCP, Deferreds, Redis client, core, metrics.
"""

import argparse
import collections
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
from types import SimpleNamespace

from bench import e2e

# (layer, what a frame's file name starts with or contains), first match wins
LAYERS = (
    ("codec (smpp/codec, tlv, pdu)", ("<smpp codec", "smpprouter/smpp/codec", "smpprouter/smpp/tlv",
                                      "smpprouter/smpp/pdu", "smpprouter/smpp/text",
                                      "smpprouter/smpp/receipt", "smpprouter/smpp/")),
    ("SMPP protocol, framing (protocol/)", ("smpprouter/protocol/",)),
    ("Deferreds (twisted defer)", ("twisted/internet/defer",)),
    ("reactor, TCP, socket calls", ("twisted/internet/", "twisted/python/")),
    ("Redis client (store/, txredisapi)", ("smpprouter/store/", "txredisapi", "hiredis")),
    ("metrics", ("smpprouter/metrics/", "prometheus_client")),
    ("logging", ("twisted/logger", "smpprouter/logs")),
    ("core (core/, routing/, policy/)", ("smpprouter/",)),
)


# Frames under every sample (twistd, the reactor loop, its logging context):
# left out of the cumulative list, where they would fill the top.
DRIVER = ("twisted/application/", "twisted/scripts/", "(twistd:", "twisted/python/context.py",
          "twisted/python/log.py", "ReactorBase.run ", "ReactorBase.mainLoop ",
          "EPollReactor.doPoll ", "ReactorBase.runUntilCurrent ")


def layer_of(frame):
    """The layer a frame (py-spy's "name (file:line)" or a pstats file) belongs to."""
    for name, needles in LAYERS:
        if any(needle in frame for needle in needles):
            return name
    return "other (stdlib, builtins)"


def parse_collapsed(lines):
    """py-spy's raw (collapsed) output -> (samples, own Counter, cumulative Counter):
    each line is `frame;frame;...;innermost count`."""
    own, cumulative = collections.Counter(), collections.Counter()
    total = 0
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            cumulative[frame] += n
    return total, own, cumulative


def layers(own):
    by_layer = collections.Counter()
    for frame, n in own.items():
        by_layer[layer_of(frame)] += n
    return by_layer


class PySpy:
    """A probe for e2e.measure: py-spy record on the (one) worker during the load."""

    def __init__(self, output, rate):
        self.output = output
        self.rate = rate
        self.proc = None

    def start(self, run):
        exe = shutil.which("py-spy", path=e2e.BIN) or shutil.which("py-spy")
        self.proc = subprocess.Popen(
            [exe, "record", "--pid", str(run.pids[0]), "--format", "raw", "--function",
             "--rate", str(self.rate), "--nonblocking", "--gil", "-o", self.output],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        e2e.wait_for_line(self.proc, ["Sampling process"], 20, [])

    def stop(self, run):
        self.proc.send_signal(signal.SIGINT)
        out = e2e.rest_of_output(self.proc, 60)
        if not os.path.exists(self.output):
            raise RuntimeError("py-spy wrote nothing:\n" + out)


def report_samples(total, own, cumulative, top):
    lines = ["py-spy: %d samples of the worker while busy" % total,
             "", "top %d by own time (innermost function of a sample):" % top]
    lines += ["  %5.1f%%  %s" % (100 * n / total, frame) for frame, n in own.most_common(top)]
    lines += ["", "top %d by cumulative time (a sample counted once per function; "
              "twistd and the reactor loop left out):" % top]
    inner = [(frame, n) for frame, n in cumulative.most_common()
             if not any(d in frame for d in DRIVER)]
    lines += ["  %5.1f%%  %s" % (100 * n / total, frame) for frame, n in inner[:top]]
    lines += ["", "own time by layer (the innermost function's file):"]
    lines += ["  %5.1f%%  %s" % (100 * n / total, name)
              for name, n in layers(own).most_common()]
    return lines


def report_pstats(path, top):
    stats = pstats.Stats(path)
    total = sum(entry[2] for entry in stats.stats.values())   # own (tottime) seconds
    rows = [(func, entry) for func, entry in stats.stats.items()]

    def name(func):
        filename, line, fn = func
        return "%s (%s:%d)" % (fn, filename, line)

    lines = ["cProfile: %.2f s own time in all (wall clock, startup and shutdown included)"
             % total, "", "top %d by own time:" % top]
    for func, entry in sorted(rows, key=lambda r: -r[1][2])[:top]:
        lines.append("  %5.1f%%  %8d calls  %s" % (100 * entry[2] / total, entry[1], name(func)))
    lines += ["", "top %d by cumulative time:" % top]
    for func, entry in sorted(rows, key=lambda r: -r[1][3])[:top]:
        lines.append("  %5.1f%%  %8d calls  %s" % (100 * entry[3] / total, entry[1], name(func)))
    by_layer = collections.Counter()
    for func, entry in rows:
        by_layer[layer_of(func[0] if not func[0].startswith("~") else func[2])] += entry[2]
    lines += ["", "own time by layer:"]
    lines += ["  %5.1f%%  %s" % (100 * t / total, layer) for layer, t in by_layer.most_common()]
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profiler", choices=("py-spy", "cprofile"),
                   default="py-spy" if shutil.which("py-spy", path=e2e.BIN)
                   or shutil.which("py-spy") else "cprofile")
    p.add_argument("--count", type=int, default=40000)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--output", metavar="FILE", help="also write the report here")
    p.add_argument("--raw", metavar="FILE", help="keep py-spy's collapsed stacks here "
                   "(flamegraph.pl input) or cProfile's stats")
    args = p.parse_args(argv)
    run_args = SimpleNamespace(count=args.count, sessions=args.sessions, window=args.window,
                               binds=1, upstream_window=50, profile=None,
                               sf_drain_timeout=120.0)
    directory = tempfile.mkdtemp(prefix="smpprouter-profile-")
    raw = args.raw or os.path.join(directory, "profile.raw")
    try:
        if args.profiler == "py-spy":
            summary, _, user, system, _ = e2e.measure(run_args, 1, "sync",
                                                      probes=[PySpy(raw, args.rate)])
            with open(raw) as f:
                lines = report_samples(*parse_collapsed(f), args.top)
        else:
            run_args.profile = raw
            summary, _, user, system, _ = e2e.measure(run_args, 1, "sync")
            lines = report_pstats(raw, args.top)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    done = max(1, summary["ok"])
    head = ["router under %s, sync path with receipts: %d messages, %d sessions x window %d: "
            "%.0f msg/s, %.0f us router CPU per message + receipt (%.0f user + %.0f system), "
            "receipts matched %d" % (args.profiler, args.count, args.sessions, args.window,
                                     summary["msg_per_s"], (user + system) / done * 1e6,
                                     user / done * 1e6, system / done * 1e6,
                                     summary["receipts_matched"]), ""]
    text = "\n".join(head + lines) + "\n"
    sys.stdout.write(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
