"""End to end: the load generator binds to a real router process (twistd,
embedded Redis) that routes to the SMSC simulator and relays every receipt.

    python -m bench.e2e [--count 20000] [--sessions 3] [--window 10] [--workers 1 2]
                        [--paths sync,sf,prepaid] [--metrics on,off] [--profile FILE]

Prints messages/s, submit_sm_resp latency, the share of receipts matched,
and the router's own CPU time per message (from /proc): with the load
generator and the simulator sharing the machine's two cores, CPU per
message says more about the router than wall-clock throughput does.

Two paths, each with its own router process per worker count (`--paths`,
both by default, the synchronous one first):

- sync: user esme1, the submit_sm_resp relayed from the upstream's.
- sf (store and forward): user esme-sf with `store_and_forward = true`, the
  router answering once the message is stored and delivering it from its
  queue.  Prints accepted/s (how fast the router stores), drained/s
  (submit_sm/s arriving at the simulator, first to last), receipts matched,
  the upstream's duplicate submits, and router CPU per message as for sync.
  A router whose config does not know `store_and_forward` fails this run
  with the config error (it is never measured on the sync path instead).

`--metrics on,off` runs the sync path twice per worker count, with the
router's metrics on and with `[metrics] enabled = false`, and prints both
figures and their ratio (`make bench` does).
- prepaid: the cost of charging. One router, a priced route, two synchronous
  users loaded one after the other in the same run: esme1 postpaid (metered
  in-process), then esme-pre prepaid (charged in Redis before each message is
  sent, its balance topped up with `smpprouter credit`). Prints msg/s and router
  CPU per message of each, and the difference.
- hygiene (only with --paths hygiene): the cost of number lists and duplicate
  suppression, as prepaid: esme1
  with no list anywhere, then (a global dnd list added with `smpprouter lists`,
  which every message is then looked up in) esme-hyg with a duplicate_window.
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
PATHS = ("sync", "sf", "prepaid")   # the default: all of these
OPTIONAL_PATHS = ("hygiene",)       # only when asked for
METRICS = ("on", "off")
SF_USER, SF_PASSWORD = "esme-sf", "pw-sf"
PREPAID_USER, PREPAID_PASSWORD = "esme-pre", "pw-pre"
HYGIENE_USER, HYGIENE_PASSWORD = "esme-hyg", "pw-hyg"


class ConfigRefused(RuntimeError):
    """The router does not accept the config a run wrote (smpprouter check's output)."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def output_lines(proc, deadline):
    """proc's output, complete lines as they come, until deadline or its end.

    Read from the pipe itself (os.read), not through proc.stdout: a TextIOWrapper
    reads ahead, so two lines arriving together leave the second in its buffer
    where select() cannot see it, and a wait for it times out although it came
    (1 router start in ~20 on a loaded machine: "listener smpp on" and "bind up
    as TRX" in one chunk). What was read past the last complete line is kept on
    proc for the next call and for rest_of_output()."""
    fd = proc.stdout.fileno()
    while True:
        pending = getattr(proc, "bench_pending", b"")
        if b"\n" in pending:
            line, proc.bench_pending = pending.split(b"\n", 1)
            yield line.decode("utf-8", "replace") + "\n"
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return
        chunk = os.read(fd, 65536)
        if not chunk:   # the process closed its output
            proc.bench_eof = True
            return
        proc.bench_pending = pending + chunk


def rest_of_output(proc, timeout):
    """Everything proc still prints until it ends (communicate), after what
    output_lines() had read ahead."""
    ahead = getattr(proc, "bench_pending", b"").decode("utf-8", "replace")
    proc.bench_pending = b""
    return ahead + (proc.communicate(timeout=timeout)[0] or "")


def wait_for_line(proc, needles, timeout, seen):
    """Read proc's output until each needle has appeared (as often as it is
    listed); bounded by timeout."""
    deadline = time.monotonic() + timeout
    missing = list(needles)
    lines = output_lines(proc, deadline)
    while missing:
        line = next(lines, None)
        if line is None:
            if getattr(proc, "bench_eof", False):   # its output closed: it is ending
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            ended = proc.poll() is not None
            if ended:   # what it said before it ended
                seen.extend(output_lines(proc, time.monotonic() + 1))
                seen.append(rest_of_output(proc, 5))
            raise RuntimeError("not ready (%s; %s); output:\n%s" % (
                missing, "exit status %s" % proc.returncode if ended
                else "timed out after %.0f s" % timeout, "".join(seen[-30:])))
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


def stop_processes(procs):
    """SIGTERM each still running (the last started first), then wait; kill what
    does not stop within 30 s."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def total_cpu(pids):
    times = [cpu_seconds(pid) for pid in pids]
    return sum(t[0] for t in times), sum(t[1] for t in times)


def write_routes(directory, extra=""):
    """The benches' routing table: every destination starting with 1 to `smsc`."""
    with open(os.path.join(directory, "routes.toml"), "w") as f:
        f.write('[[mt]]\nname = "all"\ndestination_prefix = ["1"]\nconnectors = ["smsc"]\n'
                + extra)


def write_config(directory, smpp_port, smsc_port, args, path="sync", metrics="on",
                 router="", connector=""):
    """The bench's router config; router and connector: extra lines for those
    tables (the soak names its router and sets dlr_expiry)."""
    write_routes(directory, 'price = 35\n' if path == "prepaid" else "")
    config = os.path.join(directory, "smpprouter.toml")
    with open(config, "w") as f:
        f.write("""
[router]
var_dir = "var"
%(router)s[smpp]
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
%(connector)s""" % dict(window=args.window, smpp=smpp_port, smsc=smsc_port, binds=args.binds,
                        upstream_window=args.upstream_window, router=router,
                        connector=connector))
        f.write(_user("esme1", "pw1"))
        if metrics == "off":
            f.write("[metrics]\nenabled = false\n")
        if path == "sf":
            f.write(_user(SF_USER, SF_PASSWORD, "store_and_forward = true\n"))
        if path == "prepaid":
            f.write(_user(PREPAID_USER, PREPAID_PASSWORD, 'billing = "prepaid"\n'))
        if path == "hygiene":
            f.write(_user(HYGIENE_USER, HYGIENE_PASSWORD, "duplicate_window = 3600\n"))
    return config


def _user(name, password, extra=""):
    return '[users.%s]\npassword = "%s"\nmax_binds = 64\n%s' % (
        name, hash_password(password), extra)


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
    p.add_argument("--paths", type=_paths, default=PATHS, metavar="sync,sf",
                   help="which paths to run, comma-separated (default: both)")
    p.add_argument("--metrics", type=_metrics, default=("on",), metavar="on,off",
                   help="sync path with the router's metrics on, off, or both (on,off: "
                   "both in one run, and their ratio)")
    p.add_argument("--sf-drain-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="how long the sf run waits for receipts after the last resp")
    args = p.parse_args(argv)
    results = []
    if "sync" in args.paths:
        by_setting = {m: [] for m in args.metrics}
        for workers in args.workers:
            for metrics in args.metrics:
                by_setting[metrics].append(run_once(args, workers, metrics))
        results = by_setting[args.metrics[0]]
        if len(args.metrics) > 1:
            for workers, on, off in zip(args.workers, by_setting["on"], by_setting["off"]):
                print("%d worker(s), metrics on against off: %.0f / %.0f messages/s "
                      "(%.3fx), %.0f / %.0f us router CPU per message (%.3fx)" % (
                          workers, on["msg_per_s"], off["msg_per_s"],
                          on["msg_per_s"] / off["msg_per_s"], on["cpu_us"], off["cpu_us"],
                          on["cpu_us"] / off["cpu_us"]))
            results = results + by_setting[args.metrics[1]]
        if len(args.workers) > 1:
            base = results[0]
            for workers, result in zip(args.workers[1:], results[1:]):
                print("%d workers against %d: %.2fx the messages/s" % (
                    workers, args.workers[0], result["msg_per_s"] / base["msg_per_s"]))
    if "sf" in args.paths:
        for workers in args.workers:
            try:
                results.append(run_sf(args, workers))
            except ConfigRefused as e:
                sys.stdout.flush()
                print("store and forward: FAILED, the router refused the config "
                      "(has the store_and_forward key landed?):\n  %s" % e, file=sys.stderr)
                return 1
    if "prepaid" in args.paths:
        for workers in args.workers:
            try:
                results.append(run_prepaid(args, workers))
            except ConfigRefused as e:
                sys.stdout.flush()
                print("prepaid: FAILED, the router refused the config (has billing "
                      "landed?):\n  %s" % e, file=sys.stderr)
                return 1
    if "hygiene" in args.paths:
        for workers in args.workers:
            results.append(run_hygiene(args, workers))
    return 0 if all(r["ok"] for r in results) else 1


def _metrics(text):
    settings = tuple(m.strip() for m in text.split(",") if m.strip())
    if not settings or set(settings) - set(METRICS) or len(set(settings)) != len(settings):
        raise argparse.ArgumentTypeError("%r: on, off or on,off" % text)
    return tuple(m for m in METRICS if m in settings)


def _paths(text):
    paths = tuple(p.strip() for p in text.split(",") if p.strip())
    known = PATHS + OPTIONAL_PATHS
    unknown = sorted(set(paths) - set(known))
    if unknown or not paths:
        raise argparse.ArgumentTypeError("%r: a comma-separated list of %s" % (
            text, ", ".join(known)))
    return tuple(p for p in known if p in paths)


def run_once(args, workers, metrics="on"):
    """The sync path: run it and print its figures."""
    summary, workers, user, system, _ = measure(args, workers, "sync", metrics)
    cpu = user + system
    matched = summary["receipts_matched"] / max(1, summary["ok"])
    per_message = cpu / max(1, summary["ok"]) * 1e6
    summary["cpu_us"] = per_message
    print("end to end, %d router worker(s), metrics %s: %d messages, %d ESME sessions x "
          "window %d, %d upstream bind(s) per worker" % (workers, metrics, args.count,
                                                         args.sessions, args.window, args.binds))
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


def check_config(config):
    """smpprouter check on a written config; ConfigRefused with its complaint."""
    check = subprocess.run([os.path.join(BIN, "smpprouter"), "check", "--config", config],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    if check.returncode:
        raise ConfigRefused((check.stderr + check.stdout).strip())


def simulator_stats(output, seen):
    """The `stats json:` line bench.smsc prints as it stops."""
    for line in reversed(output.splitlines()):
        if line.startswith("stats json: "):
            return json.loads(line[len("stats json: "):])
    raise RuntimeError("the simulator printed no stats; output:\n%s" % "".join(
        seen[-30:] + [output]))


def run_sf(args, workers):
    """The store-and-forward path: run it and print its figures."""
    summary, workers, user, system, upstream = measure(args, workers, "sf")
    ok = max(1, summary["ok"])
    matched = summary["receipts_matched"] / ok
    per_message = (user + system) / ok * 1e6
    span = (upstream["last_message_at"] or 0) - (upstream["first_message_at"] or 0)
    drained = upstream["messages"] / span if span > 0 else 0.0
    print("store and forward, %d router worker(s): %d messages, %d ESME sessions x window %d, "
          "%d upstream bind(s) per worker" % (workers, args.count, args.sessions, args.window,
                                              args.binds))
    print("  %-34s %10.0f" % ("accepted/s (submit to resp)", summary["accepted_per_s"]))
    print("  %-34s %10.0f   (%d upstream submits over %.3f s, %d duplicate)" % (
        "drained/s (upstream submits)", drained, upstream["messages"], span,
        upstream["duplicate_submits"]))
    print("  %-34s %10.2f%%   (%d of %d, %d unmatched, %d duplicate)" % (
        "receipts relayed and matched", 100 * matched, summary["receipts_matched"], summary["ok"],
        summary["receipts_unmatched"], summary["receipts_duplicate"]))
    print("  %-34s %10.3f s" % ("last receipt after the last resp",
                                summary["receipt_tail_seconds"]))
    print("  %-34s %10.0f us  (%.0f us user + %.0f us system)" % (
        "router CPU per message + receipt", per_message, user / ok * 1e6, system / ok * 1e6))
    if summary["errors"]:
        print("  errors:", summary["errors"])
    summary["drained_per_s"] = drained
    summary["upstream"] = upstream
    summary["ok"] = (matched == 1.0 and not summary["errors"]
                     and not upstream["duplicate_submits"])
    return summary


def run_prepaid(args, workers):
    """The cost of charging: postpaid then prepaid through one router; print both."""
    runs, workers = measure(args, workers, "prepaid")
    print("prepaid against postpaid, %d router worker(s), one run, a priced route: %d messages "
          "each, %d ESME sessions x window %d" % (workers, args.count, args.sessions,
                                                  args.window))
    return _compare(runs, ("postpaid (metered)", "prepaid (charged)"), "charging costs")


def run_hygiene(args, workers):
    """The cost of lists and duplicates: without, then with, through one router."""
    runs, workers = measure(args, workers, "hygiene")
    print("lists and duplicates against none, %d router worker(s), one run: %d messages "
          "each, %d ESME sessions x window %d" % (workers, args.count, args.sessions,
                                                  args.window))
    return _compare(runs, ("no list", "dnd list + dup window"), "hygiene costs")


def _compare(runs, names, difference):
    figures = []
    ok = True
    for name, (summary, user, system) in zip(names, runs):
        done = max(1, summary["ok"])
        per_message = (user + system) / done * 1e6
        matched = summary["receipts_matched"] / done
        figures.append((summary["msg_per_s"], per_message))
        print("  %-20s %8.0f msg/s  %6.0f us CPU per message + receipt (%.0f user + %.0f "
              "system)  p50/p99 %.1f/%.1f ms  receipts %.2f%%" % (
                  name, summary["msg_per_s"], per_message, user / done * 1e6,
                  system / done * 1e6, summary["latency_ms"]["p50"],
                  summary["latency_ms"]["p99"], 100 * matched))
        if summary["errors"]:
            print("  errors:", summary["errors"])
        ok = ok and matched == 1.0 and not summary["errors"]
    (rate0, cpu0), (rate1, cpu1) = figures
    print("  %-20s %+7.1f%% msg/s  %+6.0f us CPU per message (%+.1f%%)" % (
        difference, 100 * (rate1 / rate0 - 1), cpu1 - cpu0, 100 * (cpu1 / cpu0 - 1)))
    return {"ok": ok, names[0]: runs[0][0], names[1]: runs[1][0]}


def pinned(cpus, command):
    """command under `taskset -c cpus` (inherited by its children), or as is."""
    return ["taskset", "-c", cpus] + command if cpus else command


class Run:
    """What a probe is given around a load: the router's directory and worker pids."""

    def __init__(self, directory, pids):
        self.directory = directory
        self.pids = pids


def measure(args, workers, path, metrics="on", env=None, probes=(), pin=None):
    """Simulator, router and load for one path; (load summary, workers, router user and
    system CPU seconds, the simulator's stats for sf else None). For "prepaid":
    ([(summary, user, system) postpaid, then prepaid], workers).

    env: the router's environment (bench.ab runs a baseline's code through it).
    probes: objects with start(run) and stop(run), called around each load, where
    run has .directory (the router's, var/ inside) and .pids (the workers').
    pin: {"router"|"redis"|"smsc"|"load": cpu list for taskset -c}; the router's
    list is inherited by its workers and its embedded Redis, which bench.ab re-pins."""
    pin = pin or {}
    directory = tempfile.mkdtemp(prefix="smpprouter-bench-")
    smpp_port, smsc_port = free_port(), free_port()
    config = write_config(directory, smpp_port, smsc_port, args, path, metrics)
    procs = []
    seen = []
    smsc_stats = None
    user_args = ["--system-id", SF_USER, "--password", SF_PASSWORD,
                 "--drain-timeout", str(args.sf_drain_timeout)] if path == "sf" else []
    loads = [user_args]
    if path == "prepaid":
        loads = [[], ["--system-id", PREPAID_USER, "--password", PREPAID_PASSWORD]]
    if path == "hygiene":
        loads = [[], ["--system-id", HYGIENE_USER, "--password", HYGIENE_PASSWORD]]
    runs = []
    try:
        if path in ("sf", "prepaid", "hygiene"):
            check_config(config)   # before anything starts: a clear error
        smsc = subprocess.Popen(
            pinned(pin.get("smsc"), [sys.executable, "-u", "-m", "bench.smsc", "--port",
                                     str(smsc_port), "--stats-interval", "3600"]),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(smsc)
        wait_for_line(smsc, ["simulated SMSC on"], 20, seen)
        if getattr(args, "profile", None):
            command = [os.path.join(BIN, "twistd"), "--nodaemon", "--pidfile", "",
                       "--logfile", "-", "--profile", args.profile, "--profiler", "cprofile",
                       "--savestats", "smpprouter", "--config", config]
            workers = 1
        else:   # as make run does
            command = [os.path.join(BIN, "smpprouter"), "run", "--config", config,
                       "--workers", str(workers)]
        router = subprocess.Popen(pinned(pin.get("router"), command), cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(router)
        wait_for_line(router, ["listener smpp on", "bind up as TRX"] * workers, 60, seen)
        if getattr(args, "profile", None):
            pids = [router.pid]
        else:
            pids = []
            for i in range(workers):
                with open(os.path.join(directory, "var", "smpprouter-%d.pid" % i)) as f:
                    pids.append(int(f.read()))
        if path == "prepaid":   # enough credit for every message, as an operator adds it
            top_up = subprocess.run(
                [os.path.join(BIN, "smpprouter"), "credit", "--config", config, PREPAID_USER,
                 "+%d" % (10 ** 12), "--reason", "bench"], cwd=ROOT, capture_output=True,
                text=True, timeout=60)
            if top_up.returncode:
                raise RuntimeError("smpprouter credit failed:\n" + top_up.stdout +
                                   top_up.stderr)
        for extra in loads:
            # Bind (and unbind) first, outside the measured window: a user's first bind
            # in a worker costs one scrypt (~40 ms, cached after), not a per-message cost.
            warm = subprocess.run(
                pinned(pin.get("load"), [
                    sys.executable, "-m", "bench.load", "--port", str(smpp_port), "--count",
                    "0", "--sessions", str(args.sessions)] + extra), cwd=ROOT,
                capture_output=True, text=True, timeout=120)
            if warm.returncode:
                raise RuntimeError("bench.load (binding first) failed:\n" + warm.stdout +
                                   warm.stderr)
        for n, extra in enumerate(loads):
            if path == "hygiene" and n == 1:
                # a global list every message is now looked up in (its number is
                # none of the load's), seen by the router within a refresh
                added = subprocess.run(
                    [os.path.join(BIN, "smpprouter"), "lists", "add", "dnd", "19999999999",
                     "--config", config], cwd=ROOT, capture_output=True, text=True,
                    timeout=60)
                if added.returncode:
                    raise RuntimeError("smpprouter lists failed:\n" + added.stdout +
                                       added.stderr)
                time.sleep(2.0)   # LIST_REFRESH (1 s) and a margin
            run = Run(directory, pids)
            for probe in probes:
                probe.start(run)
            cpu_before = total_cpu(pids)
            load = subprocess.run(
                pinned(pin.get("load"), [
                    sys.executable, "-m", "bench.load", "--port", str(smpp_port), "--count",
                    str(args.count), "--sessions", str(args.sessions), "--window",
                    str(args.window), "--json"] + extra), cwd=ROOT, capture_output=True,
                text=True, timeout=600)
            cpu_after = total_cpu(pids)
            for probe in probes:
                probe.stop(run)
            user, system = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
            if load.returncode:
                raise RuntimeError("bench.load failed:\n" + load.stdout + load.stderr)
            summary = json.loads(load.stdout.strip().splitlines()[-1])
            runs.append((summary, user, system))
        if path == "sf":   # the simulator's own count and timing, printed as it stops
            smsc.send_signal(signal.SIGTERM)
            smsc_stats = simulator_stats(rest_of_output(smsc, 30), seen)
    finally:
        stop_processes(procs)
        shutil.rmtree(directory, ignore_errors=True)

    if path in ("prepaid", "hygiene"):
        return runs, workers
    return summary, workers, user, system, smsc_stats


if __name__ == "__main__":
    raise SystemExit(main())
