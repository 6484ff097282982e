"""The merged snapshot as Prometheus metric families, built at scrape time.

A custom Collector (prometheus_client.registry.Collector): nothing is
registered with the library between scrapes, so the router's hot paths never
touch it. Every family of snapshot.FAMILIES is declared on every scrape,
with no sample when nothing was counted yet, so a dashboard or an alert
finds its metric from the start.
"""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)
from prometheus_client.registry import Collector

from .histogram import cumulative
from .snapshot import FAMILIES

_KINDS = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily,
          "histogram": HistogramMetricFamily}
_DELIVERY = ("smpp", "webhook")
_OUTBOUND = ("normal", "priority", "scheduled")


class SnapshotCollector(Collector):
    """merged: snapshot.merge's result; depths: ({queue: n}, {connector: (n, n, n)})
    with queues named by user and webhook queue (queues: {queue name: (user,
    "smpp" | "webhook")}), or None when Redis did not answer."""

    def __init__(self, merged, depths=None, queues=None, is_merged=True):
        self.merged = merged
        self.depths = depths
        self.queues = queues or {}
        self.is_merged = is_merged

    def collect(self):
        families = {}
        for name, (kind, doc, labels) in FAMILIES.items():
            # CounterMetricFamily wants the name without _total (it adds it back)
            declared = name[:-6] if kind == "counter" else name
            families[name] = _KINDS[kind](declared, doc, labels=labels)
        merged = self.merged
        for family, labels, value in merged["c"] + merged["g"]:
            target = families.get(family)
            if target is not None:
                target.add_metric(labels, value)
        for family, labels, value in merged["h"]:
            target = families.get(family)
            if target is not None:
                buckets, total = cumulative(value)
                target.add_metric(labels, buckets, total)
        workers = families["smpprouter_workers"]
        workers.add_metric(["live"], merged["live"])
        workers.add_metric(["stale"], merged["stale"])
        families["smpprouter_metrics_merged"].add_metric([], 1 if self.is_merged else 0)
        if self.depths is not None:
            by_queue, by_connector = self.depths
            delivery = families["smpprouter_delivery_queue_depth"]
            for queue, n in by_queue.items():
                user, kind = self.queues[queue]
                delivery.add_metric([user, kind], n)
            outbound = families["smpprouter_outbound_queue_depth"]
            for connector, counts in by_connector.items():
                for kind, n in zip(_OUTBOUND, counts):
                    outbound.add_metric([connector, kind], n)
        return iter(families.values())


def exposition(collector) -> bytes:
    """The text format of one collector's families (what /metrics answers)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
