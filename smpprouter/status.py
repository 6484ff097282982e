"""`smpprouter status`: the whole router as Redis knows it, for an operator.

Everything comes from Redis, so one command run anywhere sees every process
sharing it: the metrics snapshots each worker publishes (metrics:{router},
field = its consumer name: its binds by user and mode, its connectors' binds
up and down, and when it published last), the session registry (sess:{user},
members "<consumer>/<n>" scored by expiry) and the queues' lengths and first
entries (a stream id is the Redis time in ms at XADD, so the first entry's
age is the oldest message's wait), with Redis's memory (INFO memory) and key
count. Ages are measured against Redis's TIME, the one clock all processes
share.

A process is live when its snapshot is fresher than the metrics' staleness
(three publish intervals) or it holds an unexpired session; a stopped one
stays listed as gone (its counts stay in the totals). With [metrics] enabled
= false there are no snapshots: processes are known by their sessions only.

report() and render() are pure (tests feed them what read_status returns);
gather() is the one Redis call.
"""

import json

from .core.inbox import webhook_queue
from .metrics import snapshot
from .metrics.publish import STALE_AFTER

_MODES = ("transceiver", "transmitter", "receiver", "other")
_SHORT = {"transceiver": "TRX", "transmitter": "TX", "receiver": "RX", "other": "?"}


def queues_of(config):
    """{queue name: (user, "smpp" | "webhook")} of every configured user."""
    queues = {}
    for user in config.users:
        queues[user] = (user, "smpp")
        queues[webhook_queue(user)] = (user, "webhook")
    return queues


def gather(store, config):
    """Deferred(raw) for report(): one flush of reads."""
    return store.read_status(list(config.users), list(queues_of(config)),
                             list(config.connectors))


def _age(now, stream_id):
    """Seconds since a stream id's time (None for no entry)."""
    if stream_id is None:
        return None
    try:
        return max(0.0, now - int(stream_id.split("-", 1)[0]) / 1000)
    except ValueError:
        return None


def report(raw, config):
    """The status as plain data (what --json prints)."""
    now = raw["time"]
    fresh_after = now - STALE_AFTER * config.metrics.publish_interval
    processes = {}

    def process(name):
        p = processes.get(name)
        if p is None:
            p = processes[name] = {"name": name, "state": "gone", "last_seen": None,
                                   "sessions": {}, "binds": {}, "connectors": {}}
        return p

    for field, blob in raw["metrics"].items():
        name = field.decode("utf-8", "surrogateescape") if isinstance(field, bytes) else field
        taken = snapshot.decode(blob)
        if taken is None:
            continue
        p = process(name)
        p["last_seen"] = round(max(0.0, now - taken["t"]), 3)
        if taken["t"] >= fresh_after:
            p["state"] = "live"
            for family, labels, value in taken.get("g", ()):
                if family == "smpprouter_binds" and value:
                    user, mode = labels
                    p["binds"].setdefault(user, {})[mode] = value
                elif family == "smpprouter_connector_binds":
                    connector, state = labels
                    p["connectors"].setdefault(connector, {})[state] = value
    users = {}
    for user, members in raw["sessions"].items():
        live = [(m, e) for m, e in members if e > now]
        users[user] = {"sessions": [], "queues": {}}
        for member, expiry in live:
            name = member.rsplit("/", 1)[0]
            users[user]["sessions"].append({"session": member, "process": name,
                                            "expires_in": round(expiry - now, 3)})
            p = process(name)
            p["state"] = "live"
            p["sessions"][user] = p["sessions"].get(user, 0) + 1
    for queue, (user, kind) in queues_of(config).items():
        length, first = raw["queues"][queue]
        users.setdefault(user, {"sessions": [], "queues": {}})["queues"][kind] = {
            "key": "dlv:{%s}" % queue, "depth": length, "oldest_age": _rounded(_age(now, first))}
    connectors = {}
    for name, (normal, priority, scheduled) in raw["outbound"].items():
        count, due = scheduled
        connectors[name] = {
            "binds": {p["name"]: p["connectors"][name] for p in processes.values()
                      if name in p["connectors"]},
            "queues": {
                "normal": {"key": "out:{%s}" % name, "depth": normal[0],
                           "oldest_age": _rounded(_age(now, normal[1]))},
                "priority": {"key": "outp:{%s}" % name, "depth": priority[0],
                             "oldest_age": _rounded(_age(now, priority[1]))},
                "scheduled": {"key": "sched:{%s}" % name, "depth": count,
                              "next_due_in": None if due is None
                              else round(due / 1000 - now, 3)}}}
    ordered = sorted(processes.values(), key=lambda p: (p["state"] != "live", p["name"]))
    memory = raw.get("redis", {})
    redis = {"keys": memory.get("keys")}
    for name in ("used_memory", "used_memory_rss", "maxmemory"):
        try:
            redis[name] = int(memory[name])
        except (KeyError, ValueError):
            redis[name] = None
    return {"router": config.router.name, "time": now, "processes": ordered,
            "users": users, "connectors": connectors, "redis": redis,
            "metrics": config.metrics.enabled}


def _rounded(value):
    return None if value is None else round(value, 3)


def _seconds(value):
    if value is None:
        return "-"
    if value < 120:
        return "%.1fs" % value
    if value < 7200:
        return "%.0fm" % (value / 60)
    return "%.1fh" % (value / 3600)


def _table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = "  " + "  ".join("%%-%ds" % w for w in widths)
    return [(line % tuple(header)).rstrip()] + [(line % tuple(r)).rstrip() for r in rows]


def render(status) -> str:
    """The human table."""
    out = ["router %s: %d process(es) live" % (
        status["router"], sum(p["state"] == "live" for p in status["processes"]))]
    redis = status["redis"]
    if redis["used_memory"] is not None:
        out.append("  Redis: %.1f MiB used (%.1f MiB resident), %s keys" % (
            redis["used_memory"] / 2 ** 20, (redis["used_memory_rss"] or 0) / 2 ** 20,
            redis["keys"]))
    if not status["metrics"]:
        out.append("  ([metrics] enabled = false: processes are known by their sessions, "
                   "connector binds are not shown)")
    rows = []
    for p in status["processes"]:
        sessions = ", ".join("%s %d" % (u, n) for u, n in sorted(p["sessions"].items()))
        modes = ", ".join("%s %s" % (u, "+".join("%s %d" % (_SHORT.get(m, m), n)
                                                  for m, n in sorted(b.items())))
                          for u, b in sorted(p["binds"].items()))
        binds = ", ".join("%s %d/%d up" % (c, s.get("up", 0), s.get("up", 0) + s.get("down", 0))
                          for c, s in sorted(p["connectors"].items()))
        rows.append([p["name"], p["state"], _seconds(p["last_seen"]), sessions or "-",
                     modes or "-", binds or "-"])
    out += _table(rows, ["PROCESS", "STATE", "SEEN", "SESSIONS", "MODES", "CONNECTORS"])
    out.append("")
    rows = []
    for user, u in status["users"].items():
        by_process = {}
        for s in u["sessions"]:
            by_process[s["process"]] = by_process.get(s["process"], 0) + 1
        for kind in ("smpp", "webhook"):
            q = u["queues"].get(kind)
            if q is None:
                continue
            rows.append([user if kind == "smpp" else "", len(u["sessions"]) if kind == "smpp"
                         else "", q["key"], q["depth"], _seconds(q["oldest_age"])])
    out += _table(rows, ["USER", "SESSIONS", "QUEUE", "DEPTH", "OLDEST"])
    out.append("")
    rows = []
    for name, c in status["connectors"].items():
        up = sum(s.get("up", 0) for s in c["binds"].values())
        total = up + sum(s.get("down", 0) for s in c["binds"].values())
        first = True
        for kind in ("normal", "priority", "scheduled"):
            q = c["queues"][kind]
            age = (_seconds(q["oldest_age"]) if kind != "scheduled" else
                   "-" if q["next_due_in"] is None else "due in %s" % _seconds(q["next_due_in"])
                   if q["next_due_in"] >= 0 else "overdue %s" % _seconds(-q["next_due_in"]))
            rows.append([name if first else "", ("%d/%d up" % (up, total) if c["binds"]
                                                  else "?") if first else "",
                         q["key"], q["depth"], age])
            first = False
    out += _table(rows, ["CONNECTOR", "BINDS", "QUEUE", "DEPTH", "OLDEST"])
    return "\n".join(out) + "\n"


def as_json(status) -> str:
    return json.dumps(status, indent=2, sort_keys=True) + "\n"
