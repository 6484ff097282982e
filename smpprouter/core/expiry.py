"""Validity ends a queued or scheduled message even when no process can send it.

A message waiting in a connector's queue or schedule is expired by whichever
process asks first, bind up or not: the store takes the messages of exp:{c}
past their validity out of the schedule or their stream (state EXPIRING,
leased for claim_idle), this module queues the router's EXPIRED receipt for
each (when its user asked for one), then finishes them (EXPIRED). A process
that dies in between leaves them to the next sweep after the lease: the
receipt may come twice, never not at all. A prepaid user's charge is given
back with it, once (the refund takes the charge's marker).
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure

from ..smpp.receipt import MessageState
from ..store.credits import REFUND_MARKED
from .codec import CorruptEntry, decode_queued
from .receipts import EXPIRED_AT_GATEWAY


class ExpirySweep:
    log = Logger()

    def __init__(self, name, store, receipts, counters, lease, batch):
        self.name = name
        self.store = store
        self.receipts = receipts
        self.counters = counters
        self.lease = lease
        self.batch = batch
        self._running = False

    def sweep(self, now):
        """One pass (none while the last is still under way)."""
        if self._running:
            return
        self._running = True
        self.store.expire_due(self.name, now, self.lease, self.batch) \
            .addCallback(self._expired).addBoth(self._done)

    def _expired(self, found):
        if not found:
            return None
        receipts, ids = [], []
        for message_id, blob in found:
            ids.append(message_id)
            try:
                queued = decode_queued(blob)
            except CorruptEntry as e:
                self.log.error("{connector}: {error}; expired without a receipt",
                               connector=self.name, error=e)
                continue
            self.counters["outbound_expired"] += 1
            if queued.charged:   # refunded once: the refund takes the charge's marker
                receipts.append(self.store.refund(queued.submission.user, queued.message_id, 0,
                                                  REFUND_MARKED, "EXPIRED"))
            receipts.append(self.receipts.own(queued, MessageState.EXPIRED,
                                             EXPIRED_AT_GATEWAY))
        d = defer.gatherResults(receipts, consumeErrors=True)
        return d.addCallback(lambda _: self.store.finish_expired(self.name, ids,
                                                                 EXPIRED_AT_GATEWAY))

    def _done(self, result):
        self._running = False
        if isinstance(result, failure.Failure):
            self.log.warn("{connector}: expiring queued messages failed (again after the "
                          "lease): {error}", connector=self.name,
                          error=result.getErrorMessage())
