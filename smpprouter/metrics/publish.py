"""Each worker's snapshot in Redis, and a scrape's sum of all of them.

See the package docstring for why a merge through Redis rather than
prometheus_client's multiprocess mode. The store calls are one flush each
(redis.py: exchange_metrics, queue_lengths), bounded by `timeout` here so a
scrape never waits on a hung Redis longer than that.
"""

from twisted.internet import defer, task
from twisted.logger import Logger

from ..core.inbox import webhook_queue
from . import snapshot
from .collector import SnapshotCollector, exposition

SCRAPE_TIMEOUT = 2.0   # seconds a scrape waits for Redis before answering alone
STALE_AFTER = 3        # publish intervals after which a snapshot's gauges no longer count


class Publisher:
    log = Logger()

    def __init__(self, core, store, clock, field, config):
        self.core = core
        self.store = store
        self.clock = clock
        self.field = field                 # this process's consumer name
        self._key = field.encode("utf-8", "surrogatepass")
        self.interval = config.metrics.publish_interval
        self.base = None                   # what this field held before we started
        # {queue name: (user, "smpp" | "webhook")}: both delivery queues of each user
        self.queues = {}
        for user in config.users:
            self.queues[user] = (user, "smpp")
            self.queues[webhook_queue(user)] = (user, "webhook")
        self.connectors = list(config.connectors)
        self._loop = task.LoopingCall(self.publish)
        self._loop.clock = clock
        self._failing = False

    async def start(self):
        """Take up the counts this worker published before it restarted (same
        consumer name), so the totals never go down; then publish regularly."""
        try:
            blob = await self.store.read_metrics(self.field)
        except Exception as e:
            self.log.warn("metrics: earlier counts of {field} not read, starting from 0: "
                          "{error}", field=self.field, error=e)
        else:
            old = snapshot.decode(blob) if blob is not None else None
            if old is not None:
                self.base = {"t": old["t"], "c": old.get("c", []), "g": [],
                             "h": old.get("h", [])}
        self._loop.start(self.interval, now=True)

    async def stop(self):
        """Stop publishing; the last counts are published once more."""
        if self._loop.running:
            self._loop.stop()
            try:
                await self.store.publish_metrics(self.field, snapshot.encode(self.own()))
            except Exception:
                pass   # the counts of the last interval are lost, not the totals

    def own(self):
        return snapshot.plus(self.base, snapshot.take(self.core, self.store,
                                                      self.clock.seconds()))

    def publish(self):
        d = self.store.publish_metrics(self.field, snapshot.encode(self.own()))
        d.addCallbacks(self._published, self._not_published)

    def _published(self, _):
        self._failing = False

    def _not_published(self, failure):
        if not self._failing:   # once per outage, not every interval
            self._failing = True
            self.log.warn("metrics: snapshot not published: {error}",
                          error=failure.getErrorMessage())

    async def scrape(self, timeout=SCRAPE_TIMEOUT) -> bytes:
        """The text exposition of the whole machine (this process alone, with
        smpprouter_metrics_merged 0, when Redis does not answer in time)."""
        own = self.own()
        now = own["t"]
        fresh_after = now - STALE_AFTER * self.interval
        both = defer.gatherResults([
            self.store.exchange_metrics(self.field, snapshot.encode(own)),
            self.store.queue_lengths(list(self.queues), self.connectors)],
            consumeErrors=True)
        both.addTimeout(timeout, self.clock)
        try:
            published, depths = await both
        except Exception:
            merged = snapshot.merge([own], fresh_after)
            return exposition(SnapshotCollector(merged, None, self.queues, False))
        snapshots = [own]
        for field, blob in published.items():
            if field != self._key:
                other = snapshot.decode(blob)
                if other is not None:
                    snapshots.append(other)
        merged = snapshot.merge(snapshots, fresh_after)
        return exposition(SnapshotCollector(merged, depths, self.queues, True))
