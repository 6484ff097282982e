"""A worker's counts as one plain value, and the sum of several workers'.

A snapshot is a dict, JSON-encodable so that workers can publish it
(publish.py): {"t": unix time taken, "c": counters, "g": gauges, "h":
histograms}, each a list of [family, [label values], value]; a histogram's
value is its bucket counts and sum (histogram.Latency.snapshot). Label
values are strings, ready to export: two workers' samples of the same
series have equal keys. Reading the router's objects is all this module
does: no I/O, no prometheus_client.
"""

import json

from ..smpp.receipt import MessageState, state_to_stat
from ..smpp.status import Status

# Family name -> (type, help, label names). The one list of what is exported;
# collector.py declares each family from it, the tests check etc/ against it.
FAMILIES = {
    "smpprouter_submits_total": (
        "counter", "Submissions answered, by user, connector (\"\" when none took it) and "
        "the command_status the ESME got", ("user", "connector", "status")),
    "smpprouter_upstream_responses_total": (
        "counter", "Responses to the router's submits, by connector and command_status",
        ("connector", "status")),
    "smpprouter_receipts_total": (
        "counter", "Receipts from upstreams, by connector and stat", ("connector", "stat")),
    "smpprouter_mo_total": ("counter", "MO messages from upstreams", ()),
    "smpprouter_mo_unrouted_total": ("counter", "MO messages no rule routed to a user", ()),
    "smpprouter_connector_bind_changes_total": (
        "counter", "Upstream binds that came up or went down", ("connector", "change")),
    "smpprouter_connector_held_total": (
        "counter", "Submissions held while a connector had no bind up, and those that then "
        "failed for it", ("connector", "outcome")),
    "smpprouter_events_total": (
        "counter", "What the core counts (accepted, failed, queued, receipts, ...)",
        ("event",)),
    "smpprouter_deliveries_total": (
        "counter", "deliver_sm to ESME sessions: sent, acked, refused, unanswered",
        ("outcome",)),
    "smpprouter_redis_errors_total": (
        "counter", "Redis failures: batches unanswered in time, commands that met no "
        "connection, commands refused", ("kind",)),
    "smpprouter_binds": ("gauge", "ESME sessions bound, by user and mode", ("user", "mode")),
    "smpprouter_connector_binds": (
        "gauge", "Upstream binds up and down (configured, not up), summed over workers",
        ("connector", "state")),
    "smpprouter_submit_duration_seconds": (
        "histogram", "From a submission reaching the core to its answer", ()),
    "smpprouter_upstream_rtt_seconds": (
        "histogram", "From a submit sent upstream to its response", ("connector",)),
    "smpprouter_receipt_delay_seconds": (
        "histogram", "From a message's acceptance to its final receipt from upstream", ()),
    # Not from snapshots: read at scrape time (collector.py).
    "smpprouter_delivery_queue_depth": (
        "gauge", "Entries waiting in a user's delivery queue (smpp: dlv:{user}, webhook: "
        "dlv:{hook:user})", ("user", "queue")),
    "smpprouter_outbound_queue_depth": (
        "gauge", "Messages waiting in a connector's outbound queues (normal: out:{c}, "
        "priority: outp:{c}, scheduled: sched:{c})", ("connector", "queue")),
    "smpprouter_workers": (
        "gauge", "Router processes whose snapshot this scrape adds up, by whether it is "
        "fresh (gauges count only the live ones)", ("state",)),
    "smpprouter_metrics_merged": (
        "gauge", "1 when this scrape shows every worker (read from Redis), 0 when it shows "
        "this process alone (Redis did not answer in time)", ()),
}

_MODES = {"TRX": "transceiver", "TX": "transmitter", "RX": "receiver"}
_HELD = (("held", "held"), ("held_expired", "expired"))
_MO = {"mo": "smpprouter_mo_total", "mo_unrouted": "smpprouter_mo_unrouted_total"}


def status_label(status: int) -> str:
    """A command_status as its name; -1 (any status outside the spec) as "other"."""
    try:
        return Status(status).name
    except ValueError:
        return "other"


def stat_label(state: int) -> str:
    try:
        return state_to_stat(MessageState(state))
    except ValueError:
        return "other"


def take(core, store, now):
    """This process's snapshot (core: core.core.Core; store: its RedisStore)."""
    c, g, h = [], [], []
    mt = core.mt
    if mt.submits is not None:
        for (user, connector, status), n in mt.submits.items():
            c.append(["smpprouter_submits_total", [user, connector, status_label(status)], n])
    states = core.receipts.states
    if states is not None:
        for (connector, state), n in states.items():
            c.append(["smpprouter_receipts_total", [connector, stat_label(state)], n])
    for event, n in core.counters.items():
        family = _MO.get(event)
        if family is not None:
            c.append([family, [], n])
        else:
            c.append(["smpprouter_events_total", [event], n])
    for outcome, n in core.deliveries.counters.items():
        c.append(["smpprouter_deliveries_total", [outcome], n])
    for kind, n in getattr(store, "errors", {}).items():
        c.append(["smpprouter_redis_errors_total", [kind], n])
    for name, connector in core.connectors.items():
        counters = connector.counters
        c.append(["smpprouter_connector_bind_changes_total", [name, "up"],
                  counters["binds_up"]])
        c.append(["smpprouter_connector_bind_changes_total", [name, "down"],
                  counters["binds_down"]])
        for key, outcome in _HELD:
            c.append(["smpprouter_connector_held_total", [name, outcome], counters[key]])
        if connector.responses is not None:
            for status, n in connector.responses.items():
                c.append(["smpprouter_upstream_responses_total", [name, status_label(status)],
                          n])
            h.append(["smpprouter_upstream_rtt_seconds", [name], connector.rtt.snapshot()])
        up = connector.binds_up
        config = connector.config
        configured = config.binds * (1 if config.bind == "transceiver" else 2)
        g.append(["smpprouter_connector_binds", [name, "up"], up])
        g.append(["smpprouter_connector_binds", [name, "down"], max(0, configured - up)])
    binds = {}
    for user, sessions in core.admission.sessions.items():
        for session in sessions:
            mode = getattr(session.mode, "name", None)
            key = (user, _MODES.get(mode, "other"))
            binds[key] = binds.get(key, 0) + 1
    for (user, mode), n in binds.items():
        g.append(["smpprouter_binds", [user, mode], n])
    if mt.latency is not None:
        h.append(["smpprouter_submit_duration_seconds", [], mt.latency.snapshot()])
    if core.receipts.delay is not None:
        h.append(["smpprouter_receipt_delay_seconds", [], core.receipts.delay.snapshot()])
    return {"t": now, "c": c, "g": g, "h": h}


def encode(snapshot) -> bytes:
    return json.dumps(snapshot, separators=(",", ":")).encode("utf-8")


def decode(blob):
    """A published snapshot, or None for one that is not (a foreign or broken value)."""
    try:
        snapshot = json.loads(blob)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("t"), (int, float)):
        return None
    return snapshot


def plus(base, snapshot):
    """snapshot with base's counters and histograms added (base: what this
    worker published before it restarted; its gauges are history)."""
    if not base:
        return snapshot
    total = merge([base, snapshot], fresh_after=snapshot["t"])
    return {"t": snapshot["t"], "c": total["c"], "g": snapshot["g"], "h": total["h"]}


def merge(snapshots, fresh_after):
    """The sum of snapshots: counters and histograms of all, gauges of those
    taken at or after fresh_after; {"c", "g", "h", "live", "stale"}."""
    c, g, h = {}, {}, {}
    live = stale = 0
    for snapshot in snapshots:
        fresh = snapshot["t"] >= fresh_after
        if fresh:
            live += 1
        else:
            stale += 1
        for table, rows in ((c, snapshot.get("c", ())), (g, snapshot.get("g", ()) if fresh
                                                         else ())):
            for family, labels, value in rows:
                key = (family, tuple(labels))
                table[key] = table.get(key, 0) + value
        for family, labels, value in snapshot.get("h", ()):
            key = (family, tuple(labels))
            have = h.get(key)
            h[key] = list(value) if have is None else [a + b for a, b in zip(have, value)]
    return {"c": _rows(c), "g": _rows(g), "h": _rows(h), "live": live, "stale": stale}


def _rows(table):
    return [[family, list(labels), value] for (family, labels), value in table.items()]
