"""Soak: a real router under steady load for a long time; is anything growing?

    python -m bench.soak [--minutes 30] [--rate MSG_PER_S] [--workers 1] [--every 300]

Starts the SMSC simulator and `smpprouter run` (embedded Redis), as bench.e2e
does, then:
1. unless --rate is given, measures the synchronous path's capacity with a
   short unlimited bench.load run (--measure-count messages, with receipts);
2. loads the router at half of it (or --rate), every message asking for a
   receipt, for --minutes;
3. samples each router process's RSS and open file descriptors (/proc) and,
   through `smpprouter status --json`, Redis's memory and key count and the
   queue depths and oldest entry ages: at the start, once warm (see below),
   every --every seconds, and at the end;
4. prints a verdict: flat when, from the warm sample to the last, each
   process's RSS grew at most --rss-growth (plus 4 MiB: allocator slack), its
   descriptors at most --fd-growth, Redis's memory at most --redis-growth
   (plus 2 MiB), the queues hold at most a second's worth of messages with no
   entry older than 5 s, every receipt arrived and no submit failed. Exit
   status 0 when flat.

Why "warm": a mapping and its record live for the connector's dlr_expiry
(--dlr-expiry, 60 s here instead of 72 h, so that the run reaches the steady
state where as many expire as are written); the warm sample is taken after
twice that, or a tenth of the run if longer. Growth before it is the working
set filling, not a leak.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


from .e2e import BIN, ROOT, free_port
from .e2e import write_config as e2e_config

MiB = 2 ** 20


def write_config(directory, smpp_port, smsc_port, args):
    return e2e_config(directory, smpp_port, smsc_port, args, router='name = "soak"\n',
                      connector="dlr_expiry = %d\n" % args.dlr_expiry)


def wait_in_file(path, needle, count, proc, timeout):
    """Until needle appears count times in the file proc writes (or fail)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, errors="replace") as f:
            text = f.read()
        if text.count(needle) >= count:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("not ready (%r x %d); output:\n%s" % (
                needle, count, "\n".join(text.splitlines()[-30:])))
        time.sleep(0.1)   # a file has no event to wait on


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def status(config):
    done = subprocess.run([os.path.join(BIN, "smpprouter"), "status", "--json", "--config",
                           config], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise RuntimeError("smpprouter status failed: " + done.stderr)
    return json.loads(done.stdout)


def sample(label, started, pids, config):
    report = status(config)
    queues = {}
    for user, u in report["users"].items():
        for q in u["queues"].values():
            queues[q["key"]] = (q["depth"], q["oldest_age"])
    for c in report["connectors"].values():
        for kind, q in c["queues"].items():
            queues[q["key"]] = (q["depth"], q.get("oldest_age"))
    taken = {"label": label, "at": time.monotonic() - started,
             "rss": {pid: rss_bytes(pid) for pid in pids},
             "fds": {pid: fds(pid) for pid in pids},
             "redis": report["redis"], "queues": queues}
    print("  %-6s t=%6.0f s  %s  Redis %.1f MiB, %d keys  queues %s" % (
        label, taken["at"], "  ".join("pid %d: RSS %.1f MiB, %d fds" % (
            pid, taken["rss"][pid] / MiB, taken["fds"][pid]) for pid in pids),
        report["redis"]["used_memory"] / MiB, report["redis"]["keys"],
        ", ".join("%s %d (oldest %s)" % (k, d, "-" if a is None else "%.1fs" % a)
                  for k, (d, a) in sorted(queues.items()) if d) or "all empty"), flush=True)
    return taken


def verdict(warm, samples, rate, summary, args):
    """[(what, ok, detail)]: the last sample against the warm one (Redis: against
    the highest of the first half after warm, since expired keys are reclaimed in
    bursts and its memory swings within a band; a leak climbs out of it)."""
    last = samples[-1]
    checks = []
    for pid in warm["rss"]:
        a, b = warm["rss"][pid], last["rss"][pid]
        limit = a * (1 + args.rss_growth) + 4 * MiB
        checks.append(("RSS of pid %d" % pid, b <= limit, "%.1f -> %.1f MiB (limit %.1f)" % (
            a / MiB, b / MiB, limit / MiB)))
        a, b = warm["fds"][pid], last["fds"][pid]
        checks.append(("open fds of pid %d" % pid, b <= a + args.fd_growth,
                       "%d -> %d (limit %d)" % (a, b, a + args.fd_growth)))
    after = samples[samples.index(warm):]
    band = after[:max(1, len(after) // 2)]
    a = max(s["redis"]["used_memory"] for s in band)
    b = last["redis"]["used_memory"]
    limit = a * (1 + args.redis_growth) + 2 * MiB
    checks.append(("Redis memory", b <= limit, "first half up to %.1f MiB, last %.1f MiB "
                   "(limit %.1f); keys %d -> %d" % (a / MiB, b / MiB, limit / MiB,
                                                   warm["redis"]["keys"],
                                                   last["redis"]["keys"])))
    for key, (depth, age) in sorted(last["queues"].items()):
        ok = depth <= max(10, rate) and (age is None or age <= 5)
        checks.append(("queue " + key, ok, "%d entries, oldest %s (limit %d, 5 s)" % (
            depth, "-" if age is None else "%.1f s" % age, max(10, rate))))
    matched = summary["receipts_matched"]
    checks.append(("receipts", matched == summary["ok"] and not summary["errors"],
                   "%d of %d matched, %d submits failed %s" % (
                       matched, summary["ok"], sum(summary["errors"].values()),
                       summary["errors"] or "")))
    return checks


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--rate", type=float, default=0.0,
                   help="messages/s; default: half the capacity measured first")
    p.add_argument("--measure-count", type=int, default=20000,
                   help="messages of the capacity measurement")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--binds", type=int, default=1)
    p.add_argument("--upstream-window", type=int, default=50)
    p.add_argument("--dlr-expiry", type=int, default=60,
                   help="the connector's dlr_expiry (s): how long mappings and records live")
    p.add_argument("--every", type=float, default=300.0, help="seconds between samples")
    p.add_argument("--rss-growth", type=float, default=0.10)
    p.add_argument("--fd-growth", type=int, default=5)
    p.add_argument("--redis-growth", type=float, default=0.10)
    args = p.parse_args(argv)

    directory = tempfile.mkdtemp(prefix="smpprouter-soak-")
    smpp_port, smsc_port = free_port(), free_port()
    config = write_config(directory, smpp_port, smsc_port, args)
    procs = []
    try:
        smsc_log = os.path.join(directory, "smsc.log")
        smsc = subprocess.Popen(
            [sys.executable, "-u", "-m", "bench.smsc", "--port", str(smsc_port),
             "--stats-interval", "3600"], cwd=ROOT, stdout=open(smsc_log, "w"),
            stderr=subprocess.STDOUT)
        procs.append(smsc)
        wait_in_file(smsc_log, "simulated SMSC on", 1, smsc, 20)
        router_log = os.path.join(directory, "router.log")
        router = subprocess.Popen(
            [os.path.join(BIN, "smpprouter"), "run", "--config", config, "--workers",
             str(args.workers)], cwd=ROOT, stdout=open(router_log, "w"),
            stderr=subprocess.STDOUT)
        procs.append(router)
        wait_in_file(router_log, "bind up as TRX", args.workers * args.binds, router, 60)
        pids = []
        for i in range(args.workers):
            with open(os.path.join(directory, "var", "smpprouter-%d.pid" % i)) as f:
                pids.append(int(f.read()))
        load_args = [sys.executable, "-m", "bench.load", "--port", str(smpp_port),
                     "--sessions", str(args.sessions), "--window", str(args.window), "--json"]
        rate = args.rate
        if not rate:
            measured = subprocess.run(load_args + ["--count", str(args.measure_count)],
                                      cwd=ROOT, capture_output=True, text=True, timeout=600)
            if measured.returncode:
                raise RuntimeError("bench.load failed:\n" + measured.stdout + measured.stderr)
            capacity = json.loads(measured.stdout.strip().splitlines()[-1])["msg_per_s"]
            rate = capacity / 2
            print("capacity %.0f msg/s with receipts (%d messages): soaking at %.0f msg/s"
                  % (capacity, args.measure_count, rate), flush=True)
        duration = args.minutes * 60
        warm_at = max(2 * args.dlr_expiry, duration / 10)
        if warm_at >= duration:
            raise SystemExit("--minutes too short: the run must outlast its warm-up (%.0f s, "
                             "twice --dlr-expiry)" % warm_at)
        print("soak: %d router worker(s), %.0f msg/s with receipts for %.1f min, warm after "
              "%.0f s; samples every %.0f s (%s)" % (args.workers, rate, args.minutes, warm_at,
                                                     args.every, directory), flush=True)
        load_out = os.path.join(directory, "load.out")
        started = time.monotonic()
        load = subprocess.Popen(load_args + ["--rate", str(rate), "--count",
                                             str(int(rate * duration))],
                                cwd=ROOT, stdout=open(load_out, "w"), stderr=subprocess.STDOUT)
        procs.append(load)
        samples = [sample("start", started, pids, config)]
        plan = [warm_at] + [t for t in range(int(warm_at + args.every), int(duration - 5),
                                             int(args.every) or 1)] + [duration - 3]
        warm = None
        for i, at in enumerate(plan):
            left = started + at - time.monotonic()
            if left > 0:
                time.sleep(left)   # the schedule of samples is time itself
            if load.poll() is not None:
                break
            label = "warm" if i == 0 else "end" if i == len(plan) - 1 else "during"
            samples.append(sample(label, started, pids, config))
            if i == 0:
                warm = samples[-1]
        load.wait(timeout=duration + 600)
        with open(load_out) as f:
            output = f.read()
        if load.returncode:
            raise RuntimeError("bench.load failed:\n" + output)
        summary = json.loads(output.strip().splitlines()[-1])
        print("load: %d sent, %d ok at %.0f msg/s, resp p50 %.1f ms p99 %.1f ms, %d receipts "
              "matched" % (summary["sent"], summary["ok"], summary["msg_per_s"],
                           summary["latency_ms"]["p50"], summary["latency_ms"]["p99"],
                           summary["receipts_matched"]), flush=True)
        if warm is None or len(samples) < 3:
            print("verdict: NOT MEASURED (the load ended before the warm and end samples)")
            return 1
        if summary["msg_per_s"] < 0.9 * rate:
            print("  (the load generator fell behind: %.0f msg/s of the %.0f asked; the run "
                  "took longer, its samples all fell within the load)" % (
                      summary["msg_per_s"], rate))
        checks = verdict(warm, samples, rate, summary, args)
        flat = all(ok for _, ok, _ in checks)
        print("verdict: %s (warm sample at %.0f s against the last at %.0f s)" % (
            "FLAT" if flat else "NOT FLAT", warm["at"], samples[-1]["at"]))
        for what, ok, detail in checks:
            print("  %-4s %-28s %s" % ("ok" if ok else "FAIL", what, detail))
        return 0 if flat else 1
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
