"""smpprouter.status: what Redis holds, as a report and a table (no I/O here;
tests/integration/test_status.py runs the command against real processes)."""

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from smpprouter import status
from smpprouter.config import load_config
from smpprouter.metrics import snapshot

from .test_config import MINIMAL

NOW = 1_800_000_000.0


def snap(t, binds=(), connectors=()):
    g = [["smpprouter_binds", [u, m], n] for u, m, n in binds]
    g += [["smpprouter_connector_binds", [c, s], n] for c, s, n in connectors]
    return snapshot.encode({"t": t, "c": [["smpprouter_mo_total", [], 3]], "g": g, "h": []})


def stream_id(seconds_ago):
    return "%d-0" % int((NOW - seconds_ago) * 1000)


class ReportTests(SynchronousTestCase):

    def setUp(self):
        path = os.path.join(self.mktemp())
        os.makedirs(path)
        self.config_path = os.path.join(path, "smpprouter.toml")
        self.write("")

    def write(self, extra):
        with open(self.config_path, "w") as f:
            f.write(MINIMAL + extra)
        self.config = load_config(self.config_path)

    def raw(self, **changes):
        raw = {"time": NOW, "metrics": {
            b"r@h#0": snap(NOW - 1, [("esme1", "transceiver", 2)],
                           [("smsc", "up", 1), ("smsc", "down", 0)]),
            b"r@h#1": snap(NOW - 3600, [("esme1", "receiver", 5)], [("smsc", "up", 1)]),
            b"junk": b"not a snapshot"},
            "sessions": {"esme1": [("r@h#0/1", NOW + 20), ("r@h#0/2", NOW + 25),
                                   ("r@h#1/9", NOW - 5)]},
            "queues": {"esme1": (4, stream_id(12.5)), "hook:esme1": (0, None)},
            "outbound": {"smsc": ((7, stream_id(90)), (0, None), (2, (NOW + 30) * 1000))},
            "redis": {"used_memory": "3145728", "used_memory_rss": "8388608",
                      "maxmemory": "0", "keys": 42}}
        raw.update(changes)
        return raw

    def test_live_and_gone_processes(self):
        report = status.report(self.raw(), self.config)
        live, gone = report["processes"]
        self.assertEqual((live["name"], live["state"], live["last_seen"]), ("r@h#0", "live", 1))
        self.assertEqual(live["sessions"], {"esme1": 2})
        self.assertEqual(live["binds"], {"esme1": {"transceiver": 2}})
        self.assertEqual(live["connectors"], {"smsc": {"up": 1, "down": 0}})
        # stale snapshot, expired session: its gauges are history
        self.assertEqual((gone["name"], gone["state"], gone["sessions"], gone["binds"]),
                         ("r@h#1", "gone", {}, {}))
        self.assertEqual(report["connectors"]["smsc"]["binds"], {"r@h#0": {"up": 1, "down": 0}})

    def test_queue_depths_and_ages(self):
        report = status.report(self.raw(), self.config)
        smpp = report["users"]["esme1"]["queues"]["smpp"]
        self.assertEqual((smpp["key"], smpp["depth"], smpp["oldest_age"]),
                         ("dlv:{esme1}", 4, 12.5))
        self.assertEqual(report["users"]["esme1"]["queues"]["webhook"],
                         {"key": "dlv:{hook:esme1}", "depth": 0, "oldest_age": None})
        queues = report["connectors"]["smsc"]["queues"]
        self.assertEqual((queues["normal"]["depth"], queues["normal"]["oldest_age"]), (7, 90))
        self.assertEqual(queues["priority"]["oldest_age"], None)
        self.assertEqual((queues["scheduled"]["depth"], queues["scheduled"]["next_due_in"]),
                         (2, 30))
        self.assertEqual([s["session"] for s in report["users"]["esme1"]["sessions"]],
                         ["r@h#0/1", "r@h#0/2"])
        self.assertEqual(report["redis"], {"used_memory": 3145728, "used_memory_rss": 8388608,
                                           "maxmemory": 0, "keys": 42})
        json.loads(status.as_json(report))   # plain data

    def test_a_process_known_only_by_its_sessions(self):
        self.write("[metrics]\nenabled = false\n")
        report = status.report(self.raw(metrics={}), self.config)
        [p] = report["processes"]
        self.assertEqual((p["name"], p["state"], p["last_seen"], p["sessions"]),
                         ("r@h#0", "live", None, {"esme1": 2}))
        self.assertIn("enabled = false", status.render(report))

    def test_the_table(self):
        table = status.render(status.report(self.raw(), self.config))
        lines = table.splitlines()
        self.assertEqual(lines[0], "router smpprouter: 1 process(es) live")
        self.assertEqual(lines[1], "  Redis: 3.0 MiB used (8.0 MiB resident), 42 keys")
        self.assertRegex(table, r"r@h#0\s+live\s+1.0s\s+esme1 2\s+esme1 TRX 2\s+smsc 1/1 up")
        self.assertRegex(table, r"r@h#1\s+gone\s+60m\s+-\s+-\s+-")
        self.assertRegex(table, r"esme1\s+2\s+dlv:\{esme1\}\s+4\s+12.5s")
        self.assertRegex(table, r"dlv:\{hook:esme1\}\s+0\s+-")
        self.assertRegex(table, r"smsc\s+1/1 up\s+out:\{smsc\}\s+7\s+90.0s")
        self.assertRegex(table, r"sched:\{smsc\}\s+2\s+due in 30.0s")
        overdue = self.raw(outbound={"smsc": ((0, None), (0, None), (1, (NOW - 8) * 1000))})
        self.assertIn("overdue 8.0s", status.render(status.report(overdue, self.config)))
