"""The router's own receipt for a message its upstream never reports on.

A message sent with a receipt asked for waits in due:{c} (store/timeouts.py)
for its connector's receipt_timeout. Past it, whichever process sweeps first
leases it, gives the user a final receipt (stat UNKNOWN, err 099, seed 000's
"SMS delivery receipt timeout"; message_state UNKNOWN, recorded for
query_sm), and leaves a marker in the mapping's place: the upstream's
receipt, if it comes after all, is answered ESME_ROK and dropped
(`receipts_late`), so the user hears one final answer. A part of a message
the router split is recorded UNKNOWN among its parts, and the message's one
receipt comes as for any part (core/receipts.py, combine()).

Why a timeout at all: an upstream that loses a receipt (or never sends one
for some routes) would leave the user waiting until dlr_expiry (days) with
no answer; seed 000 promises code 99 for exactly that.
"""

from dataclasses import replace
from datetime import datetime, timezone

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import failure

from ..smpp.receipt import MessageState, build_receipt
from ..smpp.status import Status
from ..smpp.times import format_receipt_date
from ..store.codec import encode_mapping
from .messages import Receipt
from .receipts import PART_LEASE, RECEIPT_TIMEOUT, TIMED_OUT, wants_receipt

UNKNOWN = MessageState.UNKNOWN
LEASE = 60.0   # seconds a sweep may take to queue the receipts it took


class ReceiptTimeouts:
    log = Logger()

    def __init__(self, name, store, receipts, counters, batch, lease=LEASE):
        self.name = name
        self.store = store
        self.receipts = receipts
        self.counters = counters
        self.batch = batch
        self.lease = lease
        self._running = False

    def sweep(self, now):
        """One pass (none while the last is still under way)."""
        if self._running:
            return
        self._running = True
        self.store.take_overdue(self.name, now, self.lease, self.batch) \
            .addCallback(self._overdue, now).addBoth(self._done)

    def _overdue(self, taken, now):
        if not taken:
            return None
        answers = []
        for upstream_id, mapping in taken:
            if mapping is None:   # undecodable: nothing to tell anyone
                answers.append(defer.succeed((upstream_id, b"")))
                continue
            d = defer.Deferred()
            self._receipt(mapping, now, d.callback)
            answers.append(d.addCallback(self._answered, upstream_id, mapping))
        return defer.gatherResults(answers, consumeErrors=True).addCallback(self._finish)

    def _receipt(self, mapping, now, answer):
        """answer(status): ESME_ROK once the user's receipt is queued (or none is owed)."""
        receipts = self.receipts
        connector = self.name
        # the receipt's addresses: from the handset, to the original sender
        stand_in = Receipt(mapping.message_id, int(UNKNOWN), b"", mapping.destination_addr,
                           mapping.source_addr)
        if mapping.part:
            self.store.record_part(connector, mapping.message_id, mapping.part, mapping.parts,
                                   UNKNOWN, receipts.upstreams[connector].dlr_expiry, now,
                                   PART_LEASE).addCallbacks(
                receipts._part_recorded, lambda f: answer(Status.ESME_RX_T_APPN),
                (mapping, connector, stand_in, answer))
            return
        message_id = mapping.message_id
        receipts.store.set_state(mapping.home or connector, message_id, str(int(UNKNOWN)),
                                 RECEIPT_TIMEOUT).addErrback(
            receipts._state_not_kept, connector, message_id)
        if not wants_receipt(mapping.registered_delivery, UNKNOWN):
            answer(Status.ESME_ROK)
            return
        seconds = receipts.inbox.seconds(mapping.user)
        text = build_receipt(message_id, _date(mapping.submitted_at, seconds),
                             _date(now, seconds), UNKNOWN, sub=mapping.parts,
                             err=RECEIPT_TIMEOUT)
        stand_in.text = text
        stand_in.esm_class = 0x04
        stand_in.tlvs = {"receipted_message_id": message_id, "message_state": int(UNKNOWN)}
        stand_in.reference = mapping.reference
        receipts.inbox.put(mapping.user, stand_in, connector, "receipt", answer)

    def _answered(self, status, upstream_id, mapping):
        if status != Status.ESME_ROK:
            return None   # left leased: the next sweep after the lease tries again
        self.counters["receipts_timed_out"] += 1
        return upstream_id, encode_mapping(replace(mapping, registered_delivery=TIMED_OUT))

    def _finish(self, results):
        done = [r for r in results if r is not None]
        if done:
            return self.store.finish_overdue(self.name, done)
        return None

    def _done(self, result):
        self._running = False
        if isinstance(result, failure.Failure):
            self.log.warn("{connector}: router-made receipts for overdue messages failed "
                          "(again after the lease): {error}", connector=self.name,
                          error=result.getErrorMessage())


def _date(t, seconds):
    return format_receipt_date(datetime.fromtimestamp(t, timezone.utc), seconds)
