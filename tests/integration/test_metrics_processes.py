"""One scrape shows every worker: two real router processes sharing one Redis
and one metrics port (SO_REUSEPORT), each with traffic of its own."""

import atexit
import time

from twisted.internet import task
from twisted.trial.unittest import TestCase

from smpprouter.smpp.status import Status
from smpprouter.store.embedded import free_port

from ..redis_server import RedisServer
from .harness import run
from .processes import RouterProcesses, reactor
from .test_metrics import MESSAGE, scrape, value


class TwoWorkerMetricsTests(TestCase):
    timeout = 90
    redis = None

    def setUp(self):
        cls = type(self)
        if cls.redis is None:
            cls.redis = RedisServer()
            atexit.register(cls.redis.cleanup)
            cls.redis.start()
        cls.redis.command("FLUSHALL")
        self.metrics_port = free_port()
        self.h = RouterProcesses(cls.redis, workers=2, extra="""
[metrics]
publish_interval = 0.2

[listeners.metrics]
endpoint = "tcp:%d:interface=127.0.0.1"
""" % self.metrics_port)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def until_scraped(self, predicate, timeout=20.0):
        """Scrape (each time a new connection: any worker may answer) until
        predicate(samples); the last samples."""
        deadline = time.monotonic() + timeout
        url = "http://127.0.0.1:%d/metrics" % self.metrics_port
        samples = None
        while True:
            try:
                samples = (await scrape(url))[0]
            except Exception:   # the metrics listener may not be open yet
                samples = None
            if samples is not None and predicate(samples):
                return samples
            if time.monotonic() > deadline:
                raise AssertionError("scrapes never showed it; last: %r\n%s" % (
                    samples and {k: v for k, v in samples.items() if "submits" in k[0]},
                    self.h.describe()))
            await task.deferLater(reactor, 0.05, lambda: None)

    async def submit(self, worker, count):
        client = await self.h.bind(worker)
        for _ in range(count):
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)

    def test_one_scrape_covers_both_workers(self):
        def ok(samples):
            return value(samples, "smpprouter_submits_total", user="esme1",
                         connector="smsc", status="ESME_ROK")

        async def go():
            await self.submit(0, 3)
            await self.submit(1, 4)
            samples = await self.until_scraped(lambda s: ok(s) == 7)
            self.assertEqual(value(samples, "smpprouter_workers", state="live"), 2)
            self.assertEqual(value(samples, "smpprouter_metrics_merged"), 1)
            self.assertEqual(value(samples, "smpprouter_binds", user="esme1",
                                   mode="transceiver"), 2)
            self.assertEqual(value(samples, "smpprouter_connector_binds", connector="smsc",
                                   state="up"), 2)
            self.assertEqual(value(samples, "smpprouter_submit_duration_seconds_count"), 7)
            # Whichever worker answers, every later scrape shows both.
            for _ in range(10):
                samples = await self.until_scraped(lambda s: True)
                self.assertEqual(ok(samples), 7)
        return run(go())

    def test_a_restarted_worker_takes_up_its_counts(self):
        def total(samples):
            return value(samples, "smpprouter_submits_total", user="esme1",
                         connector="smsc", status="ESME_ROK")

        async def go():
            await self.submit(0, 2)
            await self.submit(1, 3)
            await self.until_scraped(lambda s: total(s) == 5)
            await self.h.kill9(1)
            await self.h.start_worker(1)
            await self.submit(1, 1)
            # 3 counted by worker 1 before it died, 1 since: never a counter going down.
            samples = await self.until_scraped(
                lambda s: total(s) == 6 and value(s, "smpprouter_workers", state="live") == 2)
            self.assertEqual(value(samples, "smpprouter_workers", state="stale"), 0)
        return run(go())
