"""`smpprouter status` against two real router processes sharing one real
Redis, with sessions bound on each and every kind of queue non-empty: a
user's receipts waiting for a receiver, messages queued for a connector that
is down, a scheduled message. The workers log JSON lines ([log] format)."""

import atexit
import json
import os
import subprocess
import sys
import time

from twisted.internet import task, threads
from twisted.trial.unittest import TestCase

from smpprouter.smpp.status import Status
from smpprouter.store.embedded import free_port

from ..redis_server import RedisServer
from .harness import DEFAULT_ROUTES, run
from .processes import RouterProcesses, reactor
from .test_store_forward import relative

SMPPROUTER = os.path.join(os.path.dirname(sys.executable), "smpprouter")
MESSAGE = dict(source_addr="MyBrand", destination_addr="15551234567", short_message=b"hi",
               registered_delivery=1)
ROUTES = DEFAULT_ROUTES + """
[[mt]]
name = "nowhere"
destination_prefix = ["2"]
connectors = ["down"]
"""


class StatusCommandTests(TestCase):
    timeout = 120
    redis = None

    def setUp(self):
        cls = type(self)
        if cls.redis is None:
            cls.redis = RedisServer()
            atexit.register(cls.redis.cleanup)
            cls.redis.start()
        cls.redis.command("FLUSHALL")
        self.h = RouterProcesses(cls.redis, workers=2, routes=ROUTES, users={
            "esme1": "", "esme2": "store_and_forward = true"}, extra="""
[metrics]
publish_interval = 0.2

[log]
format = "json"

[connectors.down]
host = "127.0.0.1"
port = %d
system_id = "router"
reconnect_min = 5
""" % free_port())
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def status(self, *argv):
        return threads.deferToThread(
            subprocess.run, [SMPPROUTER, "status", "--config", self.h.config_path] + list(argv),
            capture_output=True, text=True, timeout=60)

    async def until_status(self, predicate, timeout=30.0):
        """`status --json` until predicate(report) (the snapshots lag by an interval)."""
        deadline = time.monotonic() + timeout
        while True:
            done = await self.status("--json")
            self.assertEqual(done.returncode, 0, done.stderr)
            report = json.loads(done.stdout)
            if predicate(report):
                return report
            if time.monotonic() > deadline:
                raise AssertionError("status never showed it; last:\n%s" % done.stdout)
            await task.deferLater(reactor, 0.1, lambda: None)

    async def until_redis(self, predicate, timeout=20.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("never happened\n" + self.h.describe())
            await task.deferLater(reactor, 0.02, lambda: None)

    def test_processes_sessions_binds_and_queues(self):
        async def go():
            tx = await self.h.bind(0, "transmitter", "esme1")
            await self.h.bind(1, "transceiver", "esme2")
            # esme1 has no receiver: its receipt waits in dlv:{esme1}
            resp = await tx.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            await self.until_redis(lambda: self.h.xlen("esme1") == 1)
            sf = self.h.clients[-1]
            for _ in range(2):   # to the connector that never binds: out:{down}
                resp = await sf.submit(**dict(MESSAGE, destination_addr="2025550100"))
                self.assertEqual(resp.command_status, Status.ESME_ROK)
            resp = await sf.submit(**dict(MESSAGE, schedule_delivery_time=relative(3600)))
            self.assertEqual(resp.command_status, Status.ESME_ROK)

            def shown(r):
                live = [p for p in r["processes"] if p["state"] == "live"]
                return len(live) == 2 and all(p["binds"] for p in live)
            report = await self.until_status(shown)
            names = sorted(p["name"] for p in report["processes"])
            self.assertEqual([n.rsplit("#", 1)[1] for n in names], ["0", "1"])
            first, second = sorted(report["processes"], key=lambda p: p["name"])
            self.assertEqual(first["sessions"], {"esme1": 1})
            self.assertEqual(first["binds"], {"esme1": {"transmitter": 1}})
            self.assertEqual(second["sessions"], {"esme2": 1})
            self.assertEqual(second["binds"], {"esme2": {"transceiver": 1}})
            for p in (first, second):
                self.assertEqual(p["connectors"]["smsc"], {"up": 1, "down": 0})
                self.assertEqual(p["connectors"]["down"], {"up": 0, "down": 1})
                self.assertLess(p["last_seen"], 5)
            [session] = report["users"]["esme1"]["sessions"]
            self.assertEqual(session["process"], first["name"])
            self.assertTrue(session["session"].startswith(first["name"] + "/"))
            queue = report["users"]["esme1"]["queues"]["smpp"]
            self.assertEqual((queue["key"], queue["depth"]), ("dlv:{esme1}", 1))
            self.assertGreaterEqual(queue["oldest_age"], 0)
            self.assertLess(queue["oldest_age"], 60)
            self.assertEqual(report["users"]["esme1"]["queues"]["webhook"]["depth"], 0)
            self.assertIsNone(report["users"]["esme1"]["queues"]["webhook"]["oldest_age"])
            down = report["connectors"]["down"]["queues"]
            self.assertEqual(down["normal"]["depth"], 2)
            self.assertGreaterEqual(down["normal"]["oldest_age"], 0)
            self.assertGreater(report["redis"]["used_memory"], 100_000)
            self.assertGreater(report["redis"]["keys"], 4)
            scheduled = report["connectors"]["smsc"]["queues"]["scheduled"]
            self.assertEqual(scheduled["depth"], 1)
            self.assertGreater(scheduled["next_due_in"], 3500)

            done = await self.status()
            self.assertEqual(done.returncode, 0, done.stderr)
            table = done.stdout
            self.assertIn("router testrouter: 2 process(es) live", table)
            self.assertRegex(table, r"Redis: [\d.]+ MiB used \([\d.]+ MiB resident\), \d+ keys")
            self.assertRegex(table, r"#0\s+live\s+\S+\s+esme1 1\s+esme1 TX 1\s+"
                                    r"down 0/1 up, smsc 1/1 up")
            self.assertRegex(table, r"esme1\s+1\s+dlv:\{esme1\}\s+1\s+\d")
            self.assertRegex(table, r"down\s+0/2 up\s+out:\{down\}\s+2\s+\d")
            self.assertRegex(table, r"sched:\{smsc\}\s+1\s+due in \d+m")

            # the workers' output is JSON lines, one event each
            for line in self.h.logs().splitlines():
                if line.startswith("=== "):
                    continue
                event = json.loads(line)
                self.assertIn("log_text", event)
        return run(go())

    def test_a_stopped_process_is_gone_and_its_sessions_with_it(self):
        async def go():
            await self.h.bind(1, "transceiver", "esme1")
            await self.until_status(lambda r: sum(p["state"] == "live"
                                                  for p in r["processes"]) == 2)
            code, _, _ = await self.h.terminate(1)
            self.assertEqual(code, 0)
            report = await self.until_status(
                lambda r: [p["state"] for p in sorted(r["processes"],
                                                      key=lambda p: p["name"])]
                == ["live", "gone"])
            self.assertEqual(report["users"]["esme1"]["sessions"], [])
        return run(go())
