"""Snapshots, their sum across workers, and the collector's families, read
back with prometheus_client's own text parser."""

from collections import Counter
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families
from twisted.trial.unittest import TestCase

from smpprouter.metrics import snapshot
from smpprouter.metrics.collector import SnapshotCollector, exposition
from smpprouter.metrics.histogram import Latency
from smpprouter.smpp.session import Mode
from smpprouter.smpp.status import Status


def parse(body):
    out = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def fake_core(metrics=True):
    latency, delay, rtt = Latency(), Latency(), Latency()
    latency.observe(0.004)
    connector = SimpleNamespace(
        counters={"binds_up": 3, "binds_down": 1, "held": 2, "held_expired": 1},
        responses={Status.ESME_ROK: 7, -1: 1} if metrics else None,
        rtt=rtt if metrics else None, binds_up=1,
        config=SimpleNamespace(binds=2, bind="transceiver"))
    sessions = {"esme1": [SimpleNamespace(mode=Mode.TRX), SimpleNamespace(mode=Mode.RX)]}
    return SimpleNamespace(
        mt=SimpleNamespace(submits={("esme1", "smsc", Status.ESME_ROK): 7,
                                    ("esme1", "", -1): 1} if metrics else None,
                           latency=latency if metrics else None),
        receipts=SimpleNamespace(states={("smsc", 2): 5, ("smsc", 0): 1} if metrics else None,
                                 delay=delay if metrics else None),
        counters=Counter(accepted=7, mo=2),
        deliveries=SimpleNamespace(counters={"sent": 5, "acked": 4}),
        connectors={"smsc": connector},
        admission=SimpleNamespace(sessions=sessions))


class SnapshotTests(TestCase):
    def test_take_reads_every_count(self):
        snap = snapshot.take(fake_core(), SimpleNamespace(errors={"timeout": 2}), 100.0)
        samples = parse(exposition(SnapshotCollector(snapshot.merge([snap], 0))))
        get = lambda name, **labels: samples.get((name, frozenset(labels.items())))
        self.assertEqual(get("smpprouter_submits_total", user="esme1", connector="smsc",
                             status="ESME_ROK"), 7)
        self.assertEqual(get("smpprouter_submits_total", user="esme1", connector="",
                             status="other"), 1)
        self.assertEqual(get("smpprouter_upstream_responses_total", connector="smsc",
                             status="other"), 1)
        self.assertEqual(get("smpprouter_receipts_total", connector="smsc", stat="DELIVRD"), 5)
        self.assertEqual(get("smpprouter_receipts_total", connector="smsc", stat="other"), 1)
        self.assertEqual(get("smpprouter_mo_total"), 2)
        self.assertEqual(get("smpprouter_events_total", event="accepted"), 7)
        self.assertEqual(get("smpprouter_redis_errors_total", kind="timeout"), 2)
        self.assertEqual(get("smpprouter_connector_bind_changes_total", connector="smsc",
                             change="up"), 3)
        self.assertEqual(get("smpprouter_connector_binds", connector="smsc", state="down"), 1)
        self.assertEqual(get("smpprouter_binds", user="esme1", mode="receiver"), 1)
        self.assertEqual(get("smpprouter_submit_duration_seconds_bucket", le="0.005"), 1)
        self.assertEqual(get("smpprouter_submit_duration_seconds_bucket", le="0.0025"), 0)

    def test_metrics_off_keeps_only_the_plain_counters(self):
        snap = snapshot.take(fake_core(metrics=False), SimpleNamespace(), 100.0)
        families = {row[0] for rows in (snap["c"], snap["h"]) for row in rows}
        self.assertNotIn("smpprouter_submits_total", families)
        self.assertNotIn("smpprouter_submit_duration_seconds", families)
        self.assertIn("smpprouter_events_total", families)

    def test_merge_adds_counters_of_all_and_gauges_of_the_fresh(self):
        old = {"t": 10.0, "c": [["smpprouter_mo_total", [], 3]],
               "g": [["smpprouter_binds", ["u", "transceiver"], 4]],
               "h": [["smpprouter_receipt_delay_seconds", [], [1, 0, 2.0]]]}
        new = {"t": 50.0, "c": [["smpprouter_mo_total", [], 5]],
               "g": [["smpprouter_binds", ["u", "transceiver"], 1]],
               "h": [["smpprouter_receipt_delay_seconds", [], [0, 1, 3.0]]]}
        merged = snapshot.merge([old, new], fresh_after=40.0)
        self.assertEqual(merged["c"], [["smpprouter_mo_total", [], 8]])
        self.assertEqual(merged["g"], [["smpprouter_binds", ["u", "transceiver"], 1]])
        self.assertEqual(merged["h"], [["smpprouter_receipt_delay_seconds", [], [1, 1, 5.0]]])
        self.assertEqual((merged["live"], merged["stale"]), (1, 1))

    def test_plus_adds_the_previous_runs_counts_not_its_gauges(self):
        base = {"t": 1.0, "c": [["smpprouter_mo_total", [], 3]], "g": [], "h": []}
        now = {"t": 9.0, "c": [["smpprouter_mo_total", [], 1]],
               "g": [["smpprouter_binds", ["u", "receiver"], 1]], "h": []}
        total = snapshot.plus(base, now)
        self.assertEqual(total["c"], [["smpprouter_mo_total", [], 4]])
        self.assertEqual(total["g"], now["g"])
        self.assertEqual(total["t"], 9.0)

    def test_encode_decode_round_trip_and_foreign_values(self):
        snap = snapshot.take(fake_core(), SimpleNamespace(), 5.0)
        self.assertEqual(snapshot.decode(snapshot.encode(snap)), snapshot.decode(
            snapshot.encode(snapshot.decode(snapshot.encode(snap)))))
        self.assertEqual(snapshot.decode(snapshot.encode(snap))["t"], 5.0)
        for junk in (b"", b"\xff", b"[1]", b'{"c": []}', b"not json"):
            self.assertIsNone(snapshot.decode(junk))

    def test_every_family_is_declared_even_without_samples(self):
        body = exposition(SnapshotCollector(snapshot.merge([], 0), None, None, False))
        names = set()
        for family in text_string_to_metric_families(body.decode("utf-8")):
            names.add(family.name + ("_total" if family.type == "counter" else ""))
        self.assertEqual(names, set(snapshot.FAMILIES))
        self.assertEqual(parse(body)[("smpprouter_metrics_merged", frozenset())], 0)

    def test_names_have_the_prefix_and_counters_end_in_total(self):
        for name, (kind, _, labels) in snapshot.FAMILIES.items():
            self.assertTrue(name.startswith("smpprouter_"), name)
            self.assertEqual(name.endswith("_total"), kind == "counter", name)
