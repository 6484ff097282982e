"""Receipts and MOs while Redis is away: kept on local disk, put into Redis when it is back.

Without it an upstream is answered ESME_RX_T_APPN for every receipt and MO it
sends during an outage, and some SMSCs never send a refused one again: the
promise "a receipt is delivered at least once" would depend on the
upstream's retry policy. With it, a delivery the store cannot take is
appended to this process's spool (store/spool.py, fsync'ed) and only then
acknowledged ESME_ROK. Two kinds of record:
- RAW: a delivery as the upstream sent it (Redis was away before it could be
  correlated): replayed through the core's receipt and MO paths;
- READY: an entry already correlated and rewritten for its user (Redis went
  away between lookup and enqueue): replayed straight into the user's queue.
Every half second, and at start-up (what a crashed process spooled), a
non-empty spool is replayed in order, in batches, once the store is
available; replayed records are dropped from the file. A record replayed
twice (a crash between the replay and the drop) gives a receipt twice: at
least once, never lost. Nothing of this runs while Redis is up.
"""

from twisted.internet import defer, task
from twisted.logger import Logger

from ..smpp.status import Status
from ..store.spool import SpoolFull
from .codec import CorruptEntry, decode_entry, encode_entry

RAW, READY = b"u", b"q"
BATCH = 100


class Spooling:
    log = Logger()

    def __init__(self, spool, store, clock, counters, interval=0.5):
        self.spool = spool
        self.store = store
        self.clock = clock
        self.counters = counters
        self.deliver = None   # callable(connector name, delivery, answer): the core's paths
        self._replaying = False
        self._stopped = False
        self._loop = task.LoopingCall(self.tick)
        self._loop.clock = clock
        self._interval = interval

    def start(self):
        if self.spool.size:
            self.log.info("{n} bytes of receipts and MOs in the spool {path} from an earlier "
                          "run: they go to Redis once it answers", n=self.spool.size,
                          path=self.spool.path)
        self._loop.start(self._interval, now=True)

    def stop(self):
        self._stopped = True
        if self._loop.running:
            self._loop.stop()
        self.spool.close()

    # -- keeping --------------------------------------------------------------

    def keep(self, connector, delivery, answer):
        """A delivery as the upstream sent it; answer(status for the upstream)."""
        self._append(RAW + _name(connector) + b"\0" + encode_entry(delivery), answer)

    def keep_entry(self, user, entry, answer):
        """An entry ready for user's queue; answer(status for the upstream)."""
        self._append(READY + _name(user) + b"\0" + encode_entry(entry), answer)

    def _append(self, record, answer):
        if self._stopped:   # shutting down: the upstream keeps it and sends it again
            answer(Status.ESME_RX_T_APPN)
            return
        self.spool.append(record).addCallbacks(self._kept, self._not_kept, (answer,), None,
                                               (answer,))

    def _kept(self, _, answer):
        self.counters["spooled"] += 1
        answer(Status.ESME_ROK)

    def _not_kept(self, failure, answer):
        if failure.check(SpoolFull):
            self.counters["spool_full"] += 1
            self.log.warn("{error}; the upstream keeps what it sends now", error=failure.value)
        else:
            self.log.failure("the spool could not be written", failure)
        answer(Status.ESME_RX_T_APPN)

    # -- replaying ------------------------------------------------------------

    def tick(self):
        if self.spool.size and not self._replaying and self.store.available:
            defer.Deferred.fromCoroutine(self._replay()).addErrback(
                lambda f: self.log.failure("replaying the spool failed", f))

    async def _replay(self):
        self._replaying = True
        try:
            records = self.spool.records()
            done = 0
            for i in range(0, len(records), BATCH):
                batch = records[i:i + BATCH]
                results = await defer.gatherResults([self._one(r) for r in batch])
                if not all(results):
                    break   # the store went away again: the rest waits (and this batch repeats)
                done += len(batch)
            if done:
                self.spool.drop(done)
                self.counters["unspooled"] += done
                self.log.info("{n} receipts and MOs from the spool are in Redis; {left} bytes "
                              "left", n=done, left=self.spool.size)
        finally:
            self._replaying = False

    def _one(self, record):
        """Deferred(True once record is safe in Redis, False to keep it)."""
        kind, rest = record[:1], record[1:]
        name, _, payload = rest.partition(b"\0")
        name = name.decode("utf-8", "surrogatepass")
        if kind == READY:
            return self.store.enqueue(name, payload).addCallbacks(lambda _: True,
                                                                  lambda _: False)
        try:
            delivery = decode_entry(payload)
        except CorruptEntry as e:
            self.log.error("spool record dropped: {error}", error=e)
            return defer.succeed(True)
        d = defer.Deferred()
        self.deliver(name, delivery, d.callback)
        return d.addCallback(lambda status: status == Status.ESME_ROK)


def _name(name):
    return name.encode("utf-8", "surrogatepass")
