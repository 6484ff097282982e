"""Redis Sentinel and `[redis] wait_replicas`: what WAIT costs, and what a failover loses.

    python -m bench.failover [--count 20000] [--rounds 2] [--sessions 4] [--window 10]
                             [--loss-count 12000] [--loss-rate 1000] [--skip-cost]
                             [--skip-loss]

Starts a primary, two replicas and one sentinel on loopback (tests/sentinel_servers.py),
and a router process (`smpprouter run`, one worker) whose [redis] names the
sentinel, against the SMSC simulator, as bench.e2e does for the sync path.

- cost: the sync path with receipts, wait_replicas = 0 and 1 alternately,
  `--rounds` times each in the same run; prints msg/s, router CPU per message
  and receipt, and the ratio of the means.
- loss: for each of `SENTINEL FAILOVER` and SIGKILL of the primary, with
  wait_replicas 0 and 1, a load of `--loss-count` messages (receipts delayed by
  2 s, so a receipt comes after the switch) with the failover triggered after
  the first quarter of them, paced at `--loss-rate`; prints what the ESMEs were answered and how many
  accepted messages never got their receipt (lost: their mapping or their
  receipt did not survive the failover). A killed primary is started again
  afterwards (it comes back as a replica).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.e2e import (BIN, ROOT, free_port, stop_processes, total_cpu, wait_for_line,
                       write_config)
from tests.sentinel_servers import MASTER, SentinelServers


def start_router(args, servers, wait_replicas, receipt_delay=0.0):
    """(directory, procs, smpp port, router worker pids)."""
    directory = tempfile.mkdtemp(prefix="smpprouter-failover-")
    smpp_port, smsc_port = free_port(), free_port()
    config = write_config(directory, smpp_port, smsc_port, args)
    with open(config, "a") as f:
        f.write('[redis]\nsentinels = [%s]\nmaster = "%s"\nwait_replicas = %d\n'
                % (", ".join('"%s:%d"' % a for a in servers.sentinel_addresses), MASTER,
                   wait_replicas))
    # a receipt whose mapping is gone is given up after 3 s, not 15
    with open(config) as f:
        text = f.read()
    with open(config, "w") as f:
        f.write(text.replace('system_id = "router"\n', 'system_id = "router"\nreceipt_wait = 3\n',
                             1))
    procs, seen = [], []
    smsc = subprocess.Popen(
        [sys.executable, "-u", "-m", "bench.smsc", "--port", str(smsc_port),
         "--stats-interval", "3600", "--receipt-delay", str(receipt_delay)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(smsc)
    wait_for_line(smsc, ["simulated SMSC on"], 20, seen)
    router = subprocess.Popen([os.path.join(BIN, "smpprouter"), "run", "--config", config,
                               "--workers", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    procs.append(router)
    wait_for_line(router, ["listener smpp on", "bind up as TRX"], 60, seen)
    with open(os.path.join(directory, "var", "smpprouter-0.pid")) as f:
        pids = [int(f.read())]
    return directory, procs, smpp_port, pids


def load_command(args, port, count, drain=30.0, rate=0.0):
    return [sys.executable, "-m", "bench.load", "--port", str(port), "--count", str(count),
            "--sessions", str(args.sessions), "--window", str(args.window), "--json",
            "--drain-timeout", str(drain), "--rate", str(rate)]


def cost(args, servers):
    figures = {0: [], 1: []}
    for round_ in range(args.rounds):
        for wait in (0, 1):
            servers.primary().command("FLUSHALL")
            directory, procs, port, pids = start_router(args, servers, wait)
            try:
                before = total_cpu(pids)
                load = subprocess.run(load_command(args, port, args.count), cwd=ROOT,
                                      capture_output=True, text=True, timeout=600)
                after = total_cpu(pids)
            finally:
                stop_processes(procs)
                shutil.rmtree(directory, ignore_errors=True)
            if load.returncode:
                raise RuntimeError("bench.load failed:\n" + load.stdout + load.stderr)
            summary = json.loads(load.stdout.strip().splitlines()[-1])
            cpu_us = (after[0] + after[1] - before[0] - before[1]) / max(1, summary["ok"]) * 1e6
            figures[wait].append((summary["msg_per_s"], cpu_us, summary["latency_ms"]["p50"]))
            print("  round %d, wait_replicas = %d: %6.0f msg/s, %5.0f us router CPU per message "
                  "+ receipt, p50 %.1f ms, errors %s" % (
                      round_ + 1, wait, summary["msg_per_s"], cpu_us,
                      summary["latency_ms"]["p50"], summary["errors"] or "none"), flush=True)

    def mean(values):
        return sum(values) / len(values)
    (r0, c0, l0), (r1, c1, l1) = ([mean(col) for col in zip(*figures[w])] for w in (0, 1))
    print("WAIT cost, sync path with receipts, %d session(s) x window %d, %d messages x %d "
          "rounds:" % (args.sessions, args.window, args.count, args.rounds))
    print("  wait_replicas = 0: %6.0f msg/s, %5.0f us CPU/message, p50 %.1f ms" % (r0, c0, l0))
    print("  wait_replicas = 1: %6.0f msg/s, %5.0f us CPU/message, p50 %.1f ms" % (r1, c1, l1))
    print("  ratio (1 / 0):     %6.3fx msg/s, %5.3fx CPU/message" % (r1 / r0, c1 / c0))


def loss(args, servers, how, wait):
    servers.primary().command("FLUSHALL")
    directory, procs, port, pids = start_router(args, servers, wait, receipt_delay=2.0)
    old = servers.primary()
    try:
        load = subprocess.Popen(load_command(args, port, args.loss_count, drain=15.0,
                                             rate=args.loss_rate),
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(args.loss_count / 4 / args.loss_rate)   # a quarter of the load, then

        started = time.monotonic()
        if how == "failover":
            servers.sentinels[0].command("SENTINEL", "FAILOVER", MASTER)
        else:
            old.process.kill()
            old.process.wait()
            old.process = None
        servers.wait_until(lambda: servers.primary() is not old, 30, "the new primary")
        switched = time.monotonic() - started
        out, err = load.communicate(timeout=600)
    finally:
        stop_processes(procs)
        shutil.rmtree(directory, ignore_errors=True)
        if not old.running:
            old.start()   # as a replica: the sentinel reconfigures it
        servers.wait_until(servers.ready, 60, "the replicas to be promotable again")
    if load.returncode:
        raise RuntimeError("bench.load failed:\n" + out + err)
    summary = json.loads(out.strip().splitlines()[-1])
    lost = summary["ok"] - summary["receipts_matched"]
    print("  %-8s wait_replicas = %d: %5d accepted, %5d refused %s, %4d accepted without "
          "a receipt (lost), sentinel named the new primary after %.1f s" % (
              how, wait, summary["ok"], sum(summary["errors"].values()),
              summary["errors"] or "", lost, switched), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--binds", type=int, default=1)
    p.add_argument("--upstream-window", type=int, default=50)
    p.add_argument("--loss-count", type=int, default=12000)
    p.add_argument("--loss-rate", type=float, default=1000.0,
                   help="messages/s of the loss runs (paced: refusals do not hurry them)")
    p.add_argument("--skip-cost", action="store_true")
    p.add_argument("--skip-loss", action="store_true")
    args = p.parse_args(argv)
    servers = SentinelServers(sentinels=1, replicas=2)
    try:
        servers.start()
        print("primary %s:%d, 2 replicas, sentinel %s:%d" % (
            servers.primary_address() + servers.sentinel_addresses[0]), flush=True)
        if not args.skip_cost:
            cost(args, servers)
        if not args.skip_loss:
            print("failover loss, %d messages, receipts 2 s after the resp:" % args.loss_count)
            for how in ("failover", "sigkill"):
                for wait in (0, 1):
                    loss(args, servers, how, wait)
    finally:
        servers.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
