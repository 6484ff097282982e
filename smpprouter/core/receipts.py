"""Receipts: correlating an upstream's receipt with the message it reports on,
and writing the router's own receipts for what happens to queued messages.

An upstream receipt names the upstream's id; the mapping stored when the
upstream accepted the message (map:{connector}:<id>) gives the router's id
and the user. The receipt is rewritten to carry the router's id (the
receipted_message_id TLV and the text's id: field), queued for the user, and
its outcome recorded for query_sm (by the lookup itself). Only then does the
upstream hear ESME_ROK.

A receipt whose mapping is not stored yet (the upstream answered on another
bind, or to another process, before its submit_sm_resp was handled) is
looked up again, first soon then less often, for the connector's
receipt_wait seconds; its deliver_sm_resp waits meanwhile, so if this
process dies the upstream still has it and sends it again. A receipt for a
message sent without asking for one is answered at once instead, where the
router can know it (core/unasked.py).
"""

from datetime import datetime, timezone

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..ids import normalise
from ..logs import message_text
from ..metrics.histogram import Latency
from ..smpp.receipt import (MessageState, build_receipt, is_final, parse_receipt, rewrite_fields,
                            rewrite_id, state_to_stat)
from ..smpp.status import Status
from ..smpp.times import format_receipt_date
from ..store.errors import StoreUnavailable
from ..store.then import plain_forms
from .codec import encode_entry
from .credits import UNDELIVERED
from . import multipart
from .inbox import queue_for
from .messages import Receipt
from .unasked import Unasked

# registered_delivery bits asking for any receipt or notification.
WANTS_RECEIPT = 0x13
INTERMEDIATE = 0x10   # registered_delivery: intermediate notifications asked for
ENROUTE = int(MessageState.ENROUTE)   # a plain int: compared per receipt
PARK_FIRST, PARK_MAX = 0.05, 2.0
PARK_LONG = 1.0   # a receipt parked longer than this is no race: see Receipts._park
PART_LEASE = 30.0  # seconds a process may take to queue a split message's receipt
# seed 000's delivery report codes for what the router itself reports
EXPIRED_AT_GATEWAY = 16   # "Message Expired @ Gateway": validity passed in the router's queue
RECEIPT_TIMEOUT = multipart.RECEIPT_TIMEOUT   # "SMS delivery receipt timeout" (core/timeouts.py)
# registered_delivery of the marker left where a mapping was once the router made
# its own receipt for it (core/timeouts.py): the upstream's, late, is dropped.
TIMED_OUT = 0x80
# message_state values counted as themselves in Receipts.states; anything else
# an upstream sends is counted as 0, so no upstream can grow the label set.
_STATES = frozenset(MessageState)
# is_final as data, for the receipt path: a set test, and the digit the lookup
# records, without a call and a str() per receipt.
_FINALS = frozenset(s for s in MessageState if is_final(s))
_FINAL_DIGITS = {int(s): str(int(s)) for s in _FINALS}


def wants_receipt(registered_delivery: int, final_state: int) -> bool:
    """Whether a receipt for a message in final_state was asked for: bits 0-1
    are 1 (any final outcome) or 2 (failures only)."""
    asked = registered_delivery & 3
    return asked == 1 or (asked == 2 and final_state != MessageState.DELIVERED)


def relays(registered_delivery: int, state: int, esm_class: int) -> bool:
    """Whether an upstream's receipt is one its message asked for, whatever the
    upstream chose to send: an intermediate notification only with bit 0x10; a
    final one as wants_receipt says (value 2: failures only, so no DELIVRD).

    Intermediate: esm_class 0x20 (SMPP's intermediate delivery notification),
    or message_state ENROUTE, the one state v3.4 does not call final. ACCEPTED
    and UNKNOWN are final there, and an unreadable receipt reads as UNKNOWN:
    a user asking for receipts gets those."""
    if esm_class & 0x20 or state == ENROUTE:
        return bool(registered_delivery & INTERMEDIATE)
    return wants_receipt(registered_delivery, state)


class Receipts:
    log = Logger()
    show_text = False   # [log] message_text

    def __init__(self, store, inbox, clock, upstreams, counters, metrics=True, credits=None):
        self.store = store
        self.plain = plain_forms(store)   # the hot calls without a Deferred (store/then.py)
        self.credits = credits       # an UNDELIV receipt may refund a prepaid user
        self.inbox = inbox
        self.clock = clock
        self.upstreams = upstreams   # name -> Upstream
        self.counters = counters
        self._parked = {}            # connector -> receipts waiting long for their mapping
        self.spooling = None         # Core.use_spool
        self.unasked = Unasked()     # receipts nobody asked for (core/unasked.py)
        # For the metrics only (None when they are off): upstream receipts by
        # (connector, message_state), and the time from submit to final receipt.
        self.states = {} if metrics else None
        self.delay = Latency() if metrics else None

    # -- from upstreams -------------------------------------------------------

    def deliver(self, connector, receipt, answer):
        """answer(status for the upstream), once, for a Receipt as the upstream sent it."""
        self.counters["receipts"] += 1
        states = self.states
        if states is not None:
            key = (connector, receipt.state if receipt.state in _STATES else 0)
            states[key] = states.get(key, 0) + 1
        if not receipt.message_id:
            self.counters["receipts_unknown"] += 1
            self.log.warn("{connector}: receipt without an id dropped", connector=connector,
                          **message_text(self.show_text, receipt.text))
            answer(Status.ESME_ROK)
            return
        upstream = self.upstreams[connector]
        if upstream.receipt_map is not None:
            _map_status(upstream.receipt_map, receipt)
        key = normalise(receipt.message_id, upstream.receipt_form)
        # A final outcome is recorded for query_sm by the lookup itself.
        final = _FINAL_DIGITS.get(receipt.state)
        # Each step ends in answer(status): plain callbacks, no Deferred, on
        # the path every receipt takes.
        self.plain.get_mapping_then(_Lookup(self, upstream, receipt, key, final, answer),
                                    connector, key, final)

    def _not_mapped(self, upstream, receipt, key, final, answer):
        """A receipt whose lookup found no mapping."""
        unasked = self.unasked
        if unasked.claims(upstream.name, key):
            # sent without a receipt asked for: no mapping will ever come
            self.counters["receipts_unwanted"] += 1
            answer(Status.ESME_ROK)
            return
        unasked.arm(upstream.name)
        defer.Deferred.fromCoroutine(self._park(upstream, receipt, key, final)) \
            .addCallback(answer)

    def _relay(self, mapping, connector, receipt, answer):
        if mapping.part:
            self._part(mapping, connector, receipt, answer)
            return
        message_id = mapping.message_id
        state = receipt.state
        final = state in _FINALS
        if state == UNDELIVERED and self.credits is not None \
                and mapping.user in self.credits.prepaid:
            # refunded if its route says refund_undelivered (its charge's marker
            # says so); once, however often the receipt comes
            self.credits.refund_undelivered(mapping.user, message_id)
        if final and mapping.home:
            # Sent by failover: its record is in its home connector's slot,
            # which the lookup did not touch.
            self.store.set_state(mapping.home, message_id, str(state)).addErrback(
                self._state_not_kept, mapping.home, message_id)
        delay = self.delay
        if final and delay is not None:
            delay.observe(self.clock.seconds() - mapping.submitted_at)
        asked = mapping.registered_delivery
        if asked != 1 or receipt.esm_class & 0x20 or state == ENROUTE:
            # not the common case (a final receipt, any outcome asked for)
            if not relays(asked, state, receipt.esm_class):
                late = asked & TIMED_OUT   # the router's own receipt was given
                self.counters["receipts_late" if late else "receipts_unwanted"] += 1
                answer(Status.ESME_ROK)
                return
        text = receipt.text
        if text:
            try:
                text = rewrite_id(text, message_id)
            except ValueError:
                pass  # no id: field in the text; the TLV carries the id
        # The delivery handed to the core is the core's: rewritten in place.
        receipt.tlvs["receipted_message_id"] = receipt.message_id = message_id
        receipt.text = text
        receipt.reference = mapping.reference
        self.inbox.put(mapping.user, receipt, connector, "receipt", answer)

    # -- the parts of a message the router split (core/multipart.py) -----------

    def _part(self, mapping, connector, receipt, answer):
        """A part's receipt: counted in the message's hash; the user's one
        receipt is written by whoever records the last part final."""
        if not (mapping.registered_delivery & WANTS_RECEIPT and is_final(receipt.state)):
            self.counters["receipts_parts"] += 1
            answer(Status.ESME_ROK)   # an intermediate one, or a part nobody waits for
            return
        self.store.record_part(connector, mapping.message_id, mapping.part, mapping.parts,
                               receipt.state, self.upstreams[connector].dlr_expiry,
                               self.clock.seconds(), PART_LEASE).addCallbacks(
            self._part_recorded, self._part_not_recorded,
            (mapping, connector, receipt, answer), None, (connector, answer)) \
            .addErrback(self._unexpected, connector, answer)

    def _part_recorded(self, result, mapping, connector, receipt, answer):
        code, states = result
        if code != multipart.COMPLETE:
            self.counters["receipts_parts"] += 1
            answer(Status.ESME_ROK if code == multipart.RECORDED else Status.ESME_RX_T_APPN)
            return
        message_id = mapping.message_id
        state, err, delivered = multipart.combine(states)
        now = self.clock.seconds()
        if state == UNDELIVERED and not delivered and self.credits is not None \
                and mapping.user in self.credits.prepaid:
            self.credits.refund_undelivered(mapping.user, message_id)
        # query_sm: the message's state, not its last part's
        self.store.set_state(mapping.home or connector, message_id, str(int(state)),
                             err).addErrback(self._state_not_kept, connector, message_id)
        delay = self.delay
        if delay is not None:
            delay.observe(now - mapping.submitted_at)

        def queued(status):
            if status == Status.ESME_ROK:
                self.store.part_receipt_queued(connector, message_id).addErrback(
                    self._state_not_kept, connector, message_id)
            answer(status)
        if not wants_receipt(mapping.registered_delivery, state):
            # registered_delivery 2 and every part delivered: no receipt is owed
            self.counters["receipts_unwanted"] += 1
            queued(Status.ESME_ROK)
            return
        seconds = self.inbox.seconds(mapping.user)
        text = build_receipt(message_id, _date(mapping.submitted_at, seconds),
                             _date(now, seconds), state, sub=len(states), dlvrd=delivered,
                             err=err)
        tlvs = {"receipted_message_id": message_id, "message_state": int(state)}
        whole = Receipt(message_id, int(state), text, receipt.source, receipt.destination,
                        receipt.source_ton, receipt.source_npi, receipt.dest_ton,
                        receipt.dest_npi, 0, 0x04, tlvs, mapping.reference)
        self.counters["receipts_multipart"] += 1
        self.inbox.put(mapping.user, whole, connector, "receipt", queued)

    def _part_not_recorded(self, failure, connector, answer):
        # The upstream keeps the part's receipt and sends it again.
        self.log.error("{connector}: a part's receipt not recorded: {error}",
                       connector=connector, error=failure.getErrorMessage())
        answer(Status.ESME_RX_T_APPN)

    def _state_not_kept(self, failure, connector, message_id):
        # The receipt itself still goes to the user; only query_sm lags.
        self.log.warn("{connector}: state of {message_id} not recorded: {error}",
                      connector=connector, message_id=message_id,
                      error=failure.getErrorMessage())

    async def _park(self, upstream, receipt, key, final):
        """Look the mapping up again, soon then less often, for receipt_wait.

        Each parked receipt holds a slot of the upstream's window. A race
        (the receipt a few ms ahead of its mapping) ends quickly; a receipt
        for an id never mapped (e.g. from before dlr_expiry) would hold its
        slot for all of receipt_wait. So at most half the window may wait
        longer than PARK_LONG; beyond, the receipt goes back to the upstream,
        which keeps it and sends it again later.
        """
        name = upstream.name
        waited, counted = 0.0, False
        try:
            while True:
                left = upstream.receipt_wait - waited
                if left <= 0:
                    self.counters["receipts_unknown"] += 1
                    self.log.warn("{connector}: receipt for unknown id {upstream_id!r} dropped "
                                  "after {waited:.1f} s", connector=name,
                                  upstream_id=receipt.message_id, waited=waited,
                                  **message_text(self.show_text, receipt.text))
                    return Status.ESME_ROK
                if waited >= PARK_LONG and not counted:
                    parked = self._parked.get(name, 0)
                    if parked >= upstream.park_limit:
                        self.counters["receipts_deferred"] += 1
                        self.log.info("{connector}: receipt for {upstream_id!r} handed back to "
                                      "the upstream, {n} already wait long for their mapping",
                                      connector=name, upstream_id=receipt.message_id, n=parked)
                        return Status.ESME_RX_T_APPN
                    self._parked[name] = parked + 1
                    counted = True
                delay = min(left, PARK_MAX, max(PARK_FIRST, waited))
                await task.deferLater(self.clock, delay, lambda: None)
                waited += delay
                try:
                    mapping = await self.store.get_mapping(name, key, final)
                except Exception as e:
                    self.log.error("{connector}: receipt not queued: {error}",
                                   connector=name, error=e)
                    return Status.ESME_RX_T_APPN
                if mapping is not None:
                    relayed = defer.Deferred()
                    self._relay(mapping, name, receipt, relayed.callback)
                    return await relayed
        finally:
            if counted:
                self._parked[name] -= 1

    def _unexpected(self, failure, connector, answer):
        # A bug in a step: the upstream keeps the receipt and sends it again.
        # Never raises: the store's reply loop calls it, and an exception there
        # would fail the rest of its batch (receipts that had their mapping).
        self.log.failure("{connector}: a receipt could not be handled", failure,
                         connector=connector)
        try:
            answer(Status.ESME_RX_T_APPN)
        except Exception:
            self.log.failure("{connector}: a receipt's answer failed", connector=connector)

    def _store_down(self, failure, connector, receipt, answer):
        if self.spooling is not None and failure.check(StoreUnavailable):
            # not correlated yet: kept as it came
            self.spooling.keep(connector, receipt, answer)
            return
        # A temporary error makes the upstream deliver it again later: the
        # receipt is not lost, it waits upstream.
        self.log.error("{connector}: receipt not queued: {error}", connector=connector,
                       error=failure.getErrorMessage())
        answer(Status.ESME_RX_T_APPN)

    # -- the router's own -----------------------------------------------------

    def own(self, queued, state, err=0):
        """Deferred(None) once the router's receipt for a queued message that ended
        in `state` (REJECTED, EXPIRED, UNDELIVERABLE) is queued for its user, or at
        once when the user did not ask for one."""
        s = queued.submission
        if not wants_receipt(s.registered_delivery, state):
            return defer.succeed(None)
        self.counters["receipts_own"] += 1
        now = self.clock.seconds()
        seconds = self.inbox.seconds(s.user)
        text = build_receipt(queued.message_id, _date(queued.submitted_at, seconds),
                             _date(now, seconds), MessageState(state), sub=queued.parts,
                             err=err, text=s.body if not s.esm_class & 0x40 else b"")
        tlvs = {"receipted_message_id": queued.message_id, "message_state": int(state)}
        receipt = Receipt(queued.message_id, int(state), text, s.destination, s.source,
                          s.dest_ton, s.dest_npi, s.source_ton, s.source_npi, 0, 0x04, tlvs,
                          s.reference)
        if self.inbox.profiles:
            self.inbox.restyled(s.user, receipt)
        return self.store.enqueue(queue_for(self.inbox.users, s.user, receipt),
                                  encode_entry(receipt))


class _Lookup:
    """A receipt waiting for its mapping: the store's Then for get_mapping, the
    receipt's state in slots (a Then and its argument tuple cost ~0.1 us more
    on the path every receipt takes). The store failing: _store_down; a step
    raising: _unexpected (the upstream keeps the receipt)."""
    __slots__ = ("receipts", "upstream", "receipt", "key", "final", "answer", "called")

    def __init__(self, receipts, upstream, receipt, key, final, answer):
        self.receipts = receipts
        self.upstream = upstream
        self.receipt = receipt
        self.key = key
        self.final = final
        self.answer = answer
        self.called = False

    def callback(self, mapping):
        self.called = True
        try:
            if mapping is not None:
                self.receipts._relay(mapping, self.upstream.name, self.receipt, self.answer)
            else:
                self.receipts._not_mapped(self.upstream, self.receipt, self.key, self.final,
                                          self.answer)
        except Exception:
            self.receipts._unexpected(Failure(), self.upstream.name, self.answer)

    def errback(self, error=None):
        self.called = True
        reason = error if isinstance(error, Failure) else Failure(error)
        try:
            self.receipts._store_down(reason, self.upstream.name, self.receipt, self.answer)
        except Exception:
            self.receipts._unexpected(Failure(), self.upstream.name, self.answer)


def _map_status(table, receipt):
    """Rewrite receipt (the upstream's, in place) to the users' vocabulary: its
    text's stat and err, its state and message_state TLV, by the connector's
    receipt_map (receiptmap.py). What the table does not name stays as sent."""
    text = receipt.text
    parsed = parse_receipt(text) if text else None
    if parsed is not None:
        found = table.lookup(parsed.stat, parsed.err)
    else:
        found = table.lookup(state_to_stat(receipt.state), None)
    if found is None:
        return
    stat, err, state = found
    if parsed is not None:
        values = {}
        if parsed.stat is not None:
            values["stat"] = stat
        if parsed.err is not None:
            values["err"] = "%03d" % err
        receipt.text = rewrite_fields(text, values)
    receipt.state = state
    if "message_state" in receipt.tlvs:
        receipt.tlvs["message_state"] = state


def _date(t, seconds=False):
    return format_receipt_date(datetime.fromtimestamp(t, timezone.utc), seconds)
