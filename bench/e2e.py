"""End to end: the load generator binds to a real router process (twistd,
embedded Redis) that routes to the SMSC simulator and relays every receipt.

    python -m bench.e2e [--count 20000] [--sessions 3] [--window 10] [--workers 1 2]
                        [--profile FILE]

Prints messages/s, submit_sm_resp latency, the share of receipts matched,
and the router's own CPU time per message (from /proc): with the load
generator and the simulator sharing the machine's two cores, CPU per
message says more about the router than wall-clock throughput does.
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from smpprouter.passwords import hash_password

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
GOAL = 5000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(proc, needles, timeout, seen):
    """Read proc's output until each needle has appeared (as often as it is
    listed); bounded by timeout."""
    deadline = time.monotonic() + timeout
    missing = list(needles)
    while missing:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise RuntimeError("not ready (%s); output:\n%s" % (missing, "".join(seen[-30:])))
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if ready:
            line = proc.stdout.readline()
            seen.append(line)
            for needle in missing:
                if needle in line:
                    missing.remove(needle)
                    break


def cpu_seconds(pid):
    """(user, system) CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def total_cpu(pids):
    times = [cpu_seconds(pid) for pid in pids]
    return sum(t[0] for t in times), sum(t[1] for t in times)


def write_config(directory, smpp_port, smsc_port, args):
    with open(os.path.join(directory, "routes.toml"), "w") as f:
        f.write('[[mt]]\nname = "all"\ndestination_prefix = ["1"]\nconnectors = ["smsc"]\n')
    path = os.path.join(directory, "smpprouter.toml")
    with open(path, "w") as f:
        f.write("""
[router]
var_dir = "var"
[smpp]
window = %(window)d
[listeners.smpp]
endpoint = "tcp:%(smpp)d:interface=127.0.0.1"
[connectors.smsc]
host = "127.0.0.1"
port = %(smsc)d
system_id = "router"
password = "secret"
binds = %(binds)d
window = %(upstream_window)d
[users.esme1]
password = "%(hash)s"
max_binds = 64
""" % dict(window=args.window, smpp=smpp_port, smsc=smsc_port, binds=args.binds,
           upstream_window=args.upstream_window, hash=hash_password("pw1")))
    return path


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--window", type=int, default=10, help="each ESME session's window")
    p.add_argument("--binds", type=int, default=1, help="each worker's binds to the SMSC")
    p.add_argument("--upstream-window", type=int, default=50)
    p.add_argument("--workers", type=int, nargs="+", default=[1],
                   help="router processes; several values run one after the other")
    p.add_argument("--profile", metavar="FILE", help="run the router under cProfile "
                   "(one worker, not through the supervisor)")
    args = p.parse_args(argv)
    results = [run_once(args, workers) for workers in args.workers]
    if len(results) > 1:
        base = results[0]
        for workers, result in zip(args.workers[1:], results[1:]):
            print("%d workers against %d: %.2fx the messages/s" % (
                workers, args.workers[0], result["msg_per_s"] / base["msg_per_s"]))
    return 0 if all(r["ok"] for r in results) else 1


def run_once(args, workers):
    directory = tempfile.mkdtemp(prefix="smpprouter-bench-")
    smpp_port, smsc_port = free_port(), free_port()
    config = write_config(directory, smpp_port, smsc_port, args)
    procs = []
    seen = []
    try:
        smsc = subprocess.Popen(
            [sys.executable, "-u", "-m", "bench.smsc", "--port", str(smsc_port),
             "--stats-interval", "3600"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(smsc)
        wait_for_line(smsc, ["simulated SMSC on"], 20, seen)
        if args.profile:
            command = [os.path.join(BIN, "twistd"), "--nodaemon", "--pidfile", "",
                       "--logfile", "-", "--profile", args.profile, "--profiler", "cprofile",
                       "--savestats", "smpprouter", "--config", config]
            workers = 1
        else:   # as make run does
            command = [os.path.join(BIN, "smpprouter"), "run", "--config", config,
                       "--workers", str(workers)]
        router = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        procs.append(router)
        wait_for_line(router, ["listener smpp on", "bound as TRX"] * workers, 60, seen)
        if args.profile:
            pids = [router.pid]
        else:
            pids = []
            for i in range(workers):
                with open(os.path.join(directory, "var", "smpprouter-%d.pid" % i)) as f:
                    pids.append(int(f.read()))
        cpu_before = total_cpu(pids)
        load = subprocess.run(
            [sys.executable, "-m", "bench.load", "--port", str(smpp_port), "--count",
             str(args.count), "--sessions", str(args.sessions), "--window", str(args.window),
             "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
        cpu_after = total_cpu(pids)
        user, system = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
        cpu = user + system
        if load.returncode:
            raise RuntimeError("bench.load failed:\n" + load.stdout + load.stderr)
        summary = json.loads(load.stdout.strip().splitlines()[-1])
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

    matched = summary["receipts_matched"] / max(1, summary["ok"])
    per_message = cpu / max(1, summary["ok"]) * 1e6
    print("end to end, %d router worker(s): %d messages, %d ESME sessions x window %d, "
          "%d upstream bind(s) per worker" % (workers, args.count, args.sessions, args.window,
                                              args.binds))
    print("  %-34s %10.0f   (goal %d: %s)" % ("messages/s (submit to resp)", summary["msg_per_s"],
                                              GOAL, "met" if summary["msg_per_s"] >= GOAL
                                              else "%.0f%%" % (100 * summary["msg_per_s"] / GOAL)))
    print("  %-34s %10.1f / %.1f ms" % ("submit_sm_resp latency p50 / p99",
                                        summary["latency_ms"]["p50"], summary["latency_ms"]["p99"]))
    print("  %-34s %10.2f%%   (%d of %d, %d unmatched, %d duplicate)" % (
        "receipts relayed and matched", 100 * matched, summary["receipts_matched"], summary["ok"],
        summary["receipts_unmatched"], summary["receipts_duplicate"]))
    print("  %-34s %10.0f us  (budget 100 us; %.2f cores busy at the rate above)" % (
        "router CPU per message + receipt", per_message,
        per_message * summary["msg_per_s"] / 1e6))
    print("  %-34s %10.0f us user (Python) + %.0f us system (sockets)" % (
        "  of which", user / max(1, summary["ok"]) * 1e6,
        system / max(1, summary["ok"]) * 1e6))
    if summary["errors"]:
        print("  errors:", summary["errors"])
    summary["ok"] = matched == 1.0 and not summary["errors"]
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
