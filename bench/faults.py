"""Faults, as an operator meets them: an upstream that drops its binds, and the
router's Redis stopped for a while, both under load. A real router process,
the SMSC simulator and the load generator, as in bench.e2e.

    python -m bench.faults [--scenario flap,redis]

flap:  5,000 messages at 1,000/s over two TRX sessions; the simulator closes
       the router's bind after every 700th submit. Prints the share accepted
       (the router holds submits while it reconnects) and what reached the SMSC.
redis: 8,000 messages at 800/s, every one asking for a receipt; Redis (append-only
       file on) is stopped after 4 s for 5 s, and the simulator sends each
       receipt 1 s after its submit and never sends a refused one again. Prints
       what was accepted and refused, whether anything refused reached the SMSC,
       and whether every accepted message got exactly one receipt.
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

from smpprouter.store.embedded import find_redis_server

from .e2e import (BIN, ROOT, free_port, rest_of_output, simulator_stats, stop_processes,
                  wait_for_line, write_config)


class Args:
    window = 100
    binds = 1
    upstream_window = 10


def start_redis(directory, port):
    return subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "yes", "--dir", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_port(port, timeout=10):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %d" % port)


def run(scenario):
    directory = tempfile.mkdtemp(prefix="smpprouter-faults-")
    smpp_port, smsc_port, redis_port = free_port(), free_port(), free_port()
    config = write_config(directory, smpp_port, smsc_port, Args)
    procs, seen = [], []
    redis = None
    try:
        smsc_args = ["--drop-every", "700"] if scenario == "flap" else ["--receipt-delay", "1"]
        smsc = subprocess.Popen(
            [sys.executable, "-u", "-m", "bench.smsc", "--port", str(smsc_port),
             "--stats-interval", "3600"] + smsc_args,
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(smsc)
        wait_for_line(smsc, ["simulated SMSC on"], 20, seen)
        redis_dir = os.path.join(directory, "redis")
        os.makedirs(redis_dir)
        redis = start_redis(redis_dir, redis_port)
        wait_port(redis_port)
        router = subprocess.Popen(
            [os.path.join(BIN, "smpprouter"), "run", "--config", config, "--workers", "1",
             "--redis-url", "redis://127.0.0.1:%d/0" % redis_port],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(router)
        wait_for_line(router, ["listener smpp on", "bind up as TRX"], 60, seen)
        count, rate = (5000, 1000) if scenario == "flap" else (8000, 800)
        load = subprocess.Popen(
            [sys.executable, "-m", "bench.load", "--port", str(smpp_port), "--count",
             str(count), "--rate", str(rate), "--sessions", "2", "--window", "10",
             "--drain-timeout", "30", "--json"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outage = None
        if scenario == "redis":
            time.sleep(4)      # the outage starts 4 s into the run (a scenario, not a wait)
            redis.send_signal(signal.SIGKILL)
            redis.wait()
            stopped = time.monotonic()
            time.sleep(5)
            redis = start_redis(redis_dir, redis_port)
            wait_port(redis_port)
            outage = time.monotonic() - stopped
        out, err = load.communicate(timeout=600)
        if load.returncode:
            raise RuntimeError("bench.load failed:\n" + out + err)
        summary = json.loads(out.strip().splitlines()[-1])
        smsc.send_signal(signal.SIGTERM)
        upstream = simulator_stats(rest_of_output(smsc, 30), seen)
    finally:
        stop_processes(procs)
        if redis is not None and redis.poll() is None:
            redis.kill()
            redis.wait()
        shutil.rmtree(directory, ignore_errors=True)
    report(scenario, summary, upstream, outage)
    return summary, upstream


def report(scenario, summary, upstream, outage):
    sent, ok = summary["sent"], summary["ok"]
    refused = sent - ok
    print("%s: %d messages, %s" % (scenario, sent, "upstream binds dropped every 700 submits"
                                   if scenario == "flap" else
                                   "Redis stopped for %.1f s after 4 s" % outage))
    print("  %-40s %6d  (%.1f%%)" % ("accepted (ESME_ROK)", ok, 100.0 * ok / max(1, sent)))
    print("  %-40s %6d  %s" % ("refused", refused, summary["errors"] or ""))
    print("  %-40s %6d" % ("upstream binds dropped", upstream.get("binds_dropped", 0)))
    reached = upstream["unique_submits"]
    print("  %-40s %6d  (accepted %d: %d more reached it)" % (
        "messages the SMSC accepted", reached, ok, reached - ok))
    print("  %-40s %6d" % ("messages the SMSC got twice", upstream["duplicate_submits"]))
    print("  %-40s %6d of %d  (%d missing, %d duplicate)" % (
        "receipts delivered", summary["receipts_matched"], ok, summary["receipts_missing"],
        summary["receipts_duplicate"]))
    print("  %-40s %s" % ("SMSC's receipts answered", upstream.get("deliver_resp")))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="flap,redis")
    args = p.parse_args(argv)
    for scenario in args.scenario.split(","):
        run(scenario.strip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
