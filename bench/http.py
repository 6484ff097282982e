"""The HTTP door under load: wrk against a real router, receipts as webhooks.

    python -m bench.http [--duration 10] [--connections 32] [--workers 1]
                         [--apis rest,websms]

For each API, a fresh router process (embedded Redis) routing to the SMSC
simulator, whose receipts come back as webhooks to a local sink
(bench/sink.py, answering 200): wrk (Debian's, C) sends single-message requests at a fixed
concurrency for --duration seconds, each to its own destination number:
- rest: POST /resources/v1/messaging (seed 004), header `key`;
- websms: GET /websmpp/websms?user=..&pass=.. (seed 003).
Then the bench waits until every accepted message's receipt reached the sink.
Then each API again with no upstream (every message stays queued): what the
door itself costs, the figure comparable with Kannel's smsbox, which only
accepts and hands over to its bearerbox.

Prints accepted requests/s, wrk's p50/p99 latency, webhooks delivered and
matched with the ids the router answered (each once), and the router's CPU
per request (from /proc, covering the requests, the sends upstream, the
receipts and their webhooks).

Yardstick, timed in the same run with the same wrk settings: a bare
twisted.web server answering a constant 200 (`twisted.web floor`), so the
router's figure reads as a ratio of what one Python process serving HTTP
can do at all on this machine at this minute. (Kannel 1.4.5's smsbox took
about 860 sendsms/s on these machines, a figure from another run.)
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from smpprouter.passwords import hash_password, hash_service_key
from bench.e2e import (Run, free_port, output_lines, pinned, rest_of_output, stop_processes,
                       total_cpu, wait_for_line, write_routes)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
APIS = ("rest", "websms")
KEY = "bench-key"
KANNEL_SMSBOX = 860

# wrk's Lua: each request its own destination; each answer's id kept (one file
# per wrk thread, line-buffered) so the bench can match receipts to ids.
WRK_SCRIPT = r"""
local threads = {}
local counter = 0
accepted = 0
refused = 0
local out
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  out = io.open(args[1] .. "." .. tid, "w")
  out:setvbuf("line")
end
function request()
  counter = counter + 1
  local number = string.format("1555%02d%07d", tid, counter)
  if API == "rest" then
    local body = '{"deliverychannel":"sms","channels":{"sms":{"text":"bench ' .. counter ..
      '","senderid":"BENCH"}},"destination":[{"msisdn":["' .. number .. '"]}]}'
    return wrk.format("POST", "/resources/v1/messaging",
                      {["key"] = KEY, ["content-type"] = "application/json"}, body)
  end
  return wrk.format("GET", "/websmpp/websms?user=esme1&pass=pw1&sid=BENCH&type=1&mno=" ..
                    number .. "&text=bench%20" .. counter)
end
function response(status, headers, body)
  local id
  if API == "rest" then
    id = body:match('"code":"1001"[^}]*"transid":"([^"]+)"')
  else
    id = body:match("^Response: (%S+)")
  end
  if status == 200 and id then
    accepted = accepted + 1
    out:write(id, "\n")
  else
    refused = refused + 1
  end
end
function done(summary, latency, requests)
  local a, r = 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    r = r + thread:get("refused")
  end
  io.write(string.format("BENCH accepted=%d refused=%d p50=%.3f p99=%.3f\n", a, r,
           latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""

FLOOR_SERVER = r"""
import sys
from twisted.internet import reactor
from twisted.web import resource, server
class R(resource.Resource):
    isLeaf = True
    def render(self, request):
        request.setHeader(b"content-type", b"application/json")
        return b'{"response":[{"code":"1001","description":"Queued","transid":"0"}]}'
site = server.Site(R())
site.log = lambda request: None
reactor.listenTCP(int(sys.argv[1]), site, interface="127.0.0.1", backlog=1024)
print("floor listening", flush=True)
reactor.run()
"""


def write_config(directory, smpp_port, http_port, smsc_port, sink_port):
    write_routes(directory)
    config = os.path.join(directory, "smpprouter.toml")
    with open(config, "w") as f:
        f.write("""
[router]
var_dir = "var"
[http]
webhook_allow = ["127.0.0.0/8"]
webhook_concurrency = 64
[listeners.smpp]
endpoint = "tcp:%(smpp)d:interface=127.0.0.1"
[listeners.http]
endpoint = "tcp:%(http)d:interface=127.0.0.1:backlog=1024"
[connectors.smsc]
host = "127.0.0.1"
port = %(smsc)d
system_id = "router"
password = "secret"
window = 100
[users.esme1]
password = "%(hash)s"
service_key = "%(key)s"
dlr_url = "http://127.0.0.1:%(sink)d/dlr"
""" % dict(smpp=smpp_port, http=http_port, smsc=smsc_port, sink=sink_port,
           hash=hash_password("pw1"), key=hash_service_key(KEY)))
    return config


def wrk(port, args, api, ids_prefix, directory, cpus=None):
    script = os.path.join(directory, "bench.lua")
    with open(script, "w") as f:
        f.write('API = "%s"\nKEY = "%s"\n' % (api, KEY) + WRK_SCRIPT)
    run = subprocess.run(
        pinned(cpus, ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
         "%ds" % args.duration, "--timeout", "10s", "-s", script,
         "http://127.0.0.1:%d/" % port, "--", ids_prefix]),
        capture_output=True, text=True, timeout=args.duration + 60)
    match = re.search(r"BENCH accepted=(\d+) refused=(\d+) p50=([\d.]+) p99=([\d.]+)",
                      run.stdout)
    if run.returncode or match is None:
        raise RuntimeError("wrk failed:\n" + run.stdout + run.stderr)
    requests = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    return dict(accepted=int(match.group(1)), refused=int(match.group(2)),
                p50_ms=float(match.group(3)), p99_ms=float(match.group(4)),
                requests_per_s=float(requests.group(1)) if requests else 0.0)


def read_ids(prefix, threads):
    ids = []
    for n in range(1, threads + 1):
        try:
            with open("%s.%d" % (prefix, n)) as f:
                ids.extend(line.strip() for line in f if line.strip())
        except FileNotFoundError:
            pass
    return ids


def sink_progress(sink, wanted, timeout):
    """The sink's stats once it saw `wanted` transids (its once-a-interval lines),
    or when timeout has passed."""
    stats = {"requests": 0, "transids": 0, "duplicate_events": 0}
    for line in output_lines(sink, time.monotonic() + timeout):
        if line.startswith("stats json: "):
            stats = json.loads(line[len("stats json: "):])
            if stats["transids"] >= wanted:
                break
    return stats


def last_stats(output, stats):
    for line in output.splitlines():
        if line.startswith("stats json: "):
            stats = json.loads(line[len("stats json: "):])
    return stats


def floor(args, directory):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-u", "-c", FLOOR_SERVER, str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_line(proc, ["floor listening"], 20, [])
        before = total_cpu([proc.pid])
        result = wrk(port, args, "rest", os.path.join(directory, "floor"), directory)
        after = total_cpu([proc.pid])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    cpu = (after[0] - before[0]) + (after[1] - before[1])
    result["cpu_us"] = cpu / max(1, result["accepted"]) * 1e6
    print("twisted.web floor (a constant 200, one process): %.0f requests/s, p50 %.1f ms, "
          "p99 %.1f ms, %.0f us CPU per request" % (
              result["requests_per_s"], result["p50_ms"], result["p99_ms"], result["cpu_us"]))
    return result


def run_api(args, api, floor_result, upstream=True):
    """One API through a fresh router, its figures printed; without upstream, the
    connector's SMSC is not there and every message stays queued: what the door
    alone costs."""
    m = measure_api(args, api, upstream)
    result, stats, ids, matched = m["wrk"], m["sink"], m["ids"], m["matched"]
    per_request, rate = m["cpu_us"], m["msg_per_s"]
    print("%s, %d router worker(s), wrk -t%d -c%d for %d s%s:" % (
        {"rest": "REST POST /resources/v1/messaging (seed 004)",
         "websms": "GET /websmpp/websms (seed 003)"}[api],
        args.workers, args.threads, args.connections, args.duration,
        "" if upstream else ", the door alone (no upstream: every message stays queued)"))
    print("  %-36s %8.0f   (%.2fx the twisted.web floor; %.1fx Kannel smsbox's %d)" % (
        "accepted requests/s", rate, rate / max(1.0, floor_result["requests_per_s"]),
        rate / KANNEL_SMSBOX, KANNEL_SMSBOX))
    print("  %-36s %8.1f / %.1f ms" % ("latency p50 / p99", result["p50_ms"],
                                       result["p99_ms"]))
    print("  %-36s %8d   (refused or failed: %d)" % ("requests accepted", result["accepted"],
                                                      result["refused"]))
    if upstream:
        print("  %-36s %8d   (%d of the %d ids answered matched by a receipt; %d duplicate "
              "events)" % ("webhooks delivered", stats["requests"], matched, len(ids),
                           stats["duplicate_events"]))
    print("  %-36s %8.0f us  (%.2fx the floor's %.0f us; %s)" % (
        "router CPU per request", per_request, per_request / max(1.0, floor_result["cpu_us"]),
        floor_result["cpu_us"], "requests, upstream sends, receipts and webhooks" if upstream
        else "the request and its enqueue"))
    return m["ok"]


def measure_api(args, api, upstream=True, env=None, probes=(), pin=None):
    """Simulator, sink, router and wrk for one API; a dict of the figures: msg_per_s
    (accepted/s), cpu_us (router CPU per accepted request), user_us, system_us,
    accepted, ok (every answered id's receipt webhooked once), and wrk's, the
    sink's and the ids' details. env, probes and pin as for bench.e2e.measure
    (the sink is pinned with the simulator)."""
    pin = pin or {}
    directory = tempfile.mkdtemp(prefix="smpprouter-bench-http-")
    smpp_port, http_port, smsc_port, sink_port = (free_port() for _ in range(4))
    config = write_config(directory, smpp_port, http_port, smsc_port, sink_port)
    procs, seen = [], []
    try:
        if upstream:
            smsc = subprocess.Popen(
                pinned(pin.get("smsc"), [sys.executable, "-u", "-m", "bench.smsc", "--port",
                                         str(smsc_port), "--stats-interval", "3600"]),
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(smsc)
            wait_for_line(smsc, ["simulated SMSC on"], 20, seen)
        ids_seen = os.path.join(directory, "seen")
        sink = subprocess.Popen(pinned(pin.get("smsc"), [
                                    sys.executable, "-u", "-m", "bench.sink", "--port",
                                    str(sink_port), "--ids", ids_seen, "--interval", "0.25"]),
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        procs.append(sink)
        wait_for_line(sink, ["webhook sink on"], 20, seen)
        router = subprocess.Popen(
            pinned(pin.get("router"), [os.path.join(BIN, "smpprouter"), "run", "--config",
                                       config, "--workers", str(args.workers)]),
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(router)
        wait_for_line(router, ["listener http on"] + ["bind up as TRX"] * upstream
                      * args.workers, 60, seen)
        pids = []
        for i in range(args.workers):
            with open(os.path.join(directory, "var", "smpprouter-%d.pid" % i)) as f:
                pids.append(int(f.read()))
        run = Run(directory, pids)
        for probe in probes:
            probe.start(run)
        before = total_cpu(pids)
        prefix = os.path.join(directory, "ids")
        result = wrk(http_port, args, api, prefix, directory, pin.get("load"))
        ids = set(read_ids(prefix, args.threads))
        stats = {"requests": 0, "transids": 0, "duplicate_events": 0}
        if upstream:
            stats = sink_progress(sink, len(ids), args.drain_timeout)
        after = total_cpu(pids)
        for probe in probes:
            probe.stop(run)
        sink.send_signal(signal.SIGTERM)
        stats = last_stats(rest_of_output(sink, 30), stats)
        with open(ids_seen) as f:
            matched = len(ids & {line.strip() for line in f})
    finally:
        stop_processes(procs)
        shutil.rmtree(directory, ignore_errors=True)
    accepted = max(1, result["accepted"])
    user, system = after[0] - before[0], after[1] - before[1]
    return {"msg_per_s": result["accepted"] / args.duration,
            "cpu_us": (user + system) / accepted * 1e6, "user_us": user / accepted * 1e6,
            "system_us": system / accepted * 1e6, "accepted": result["accepted"],
            "ok": not upstream or (matched == len(ids) and not stats["duplicate_events"]),
            "wrk": result, "sink": stats, "ids": ids, "matched": matched}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=int, default=10, metavar="SECONDS")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=1, help="router processes")
    p.add_argument("--apis", default=",".join(APIS), help="comma-separated: rest,websms")
    p.add_argument("--drain-timeout", type=float, default=120.0, metavar="SECONDS")
    p.add_argument("--no-door-alone", dest="door_alone", action="store_false",
                   help="skip the runs without an upstream (the door's own cost)")
    args = p.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench.http needs wrk: apt-get install wrk", file=sys.stderr)
        return 2
    apis = [a.strip() for a in args.apis.split(",") if a.strip()]
    directory = tempfile.mkdtemp(prefix="smpprouter-bench-floor-")
    try:
        floor_result = floor(args, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    ok = all([run_api(args, api, floor_result) for api in apis])
    if args.door_alone:
        ok = all([run_api(args, api, floor_result, upstream=False) for api in apis]) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
