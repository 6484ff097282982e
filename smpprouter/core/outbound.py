"""Store and forward: draining a connector's outbound queue at its binds' pace.

Each process runs one Drainer per connector. It moves due scheduled
messages into the queue (any process may; the store makes it exactly once)
and, while the connector has a bind up here, takes entries from the queue
and sends them, never more at once than the binds' windows hold. An entry
leaves Redis only when the upstream answered for it (finish_outbound);
entries in hand have their idle time refreshed, so another process takes
over only what a dead one left (reclaim after claim_idle).

What an answer does to a message:
- ESME_ROK: its mapping is stored (when a receipt was asked for), then it
  is SENT; its receipt comes from the upstream.
- ESME_RTHROTTLED / ESME_RMSGQFUL: the upstream is busy, not the message:
  the connector's sending pauses (back-off from retry_min, doubling to
  retry_max) and the message is sent again, never failed.
- another retryable status, a lost bind, a timeout, a generic_nack: the
  next route of the message's list that is up here; with none, again from
  the first after a back-off, until its validity ends.
- a permanent status, or no route that can carry it: REJECTED, with the
  router's own receipt (stat REJECTD, err the status) when asked for.
- validity passed while queued: EXPIRED, with an EXPIRED receipt (here when the
  message is in hand; otherwise by core/expiry.py, bind up or not).
REJECTED and EXPIRED give a prepaid user's charge back (core/credits.py).
"""

from collections import deque

from twisted.internet import defer, task
from twisted.logger import Logger

from ..ids import normalise
from ..protocol.smsc import Unsendable
from ..smpp.errors import EncodeError
from ..smpp.receipt import MessageState
from ..smpp.status import Status
from ..store.credits import REFUND_MARKED
from ..store.interface import SENT, Mapping
from . import multipart
from .codec import CorruptEntry, decode_queued
from .expiry import ExpirySweep
from .timeouts import ReceiptTimeouts
from .mt import ATTEMPT_FAILURES, RETRYABLE_STATUS
from .receipts import EXPIRED_AT_GATEWAY, WANTS_RECEIPT

_BUSY = frozenset((Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL))
REJECTED = str(int(MessageState.REJECTED))
EXPIRED = str(int(MessageState.EXPIRED))


class Drainer:
    log = Logger()

    def __init__(self, name, store, clock, consumer, connectors, upstreams, receipts,
                 outbound, claim_idle, counters):
        self.name = name
        self.references = multipart.References()
        self.store = store
        self.clock = clock
        self.consumer = consumer
        self.connectors = connectors
        self.upstreams = upstreams
        self.receipts = receipts
        self.settings = outbound
        self.claim_idle = claim_idle
        self.counters = counters
        self.capacity = max(1, upstreams[name].capacity)
        self.held = {}            # entry id -> Outbound, until finished
        self.backlog = deque()    # (Outbound, Queued) ready to send
        self.inflight = 0
        self.reading = False
        self.more = True          # the queue may hold more than we read
        self.paused_until = 0.0
        self.backoff = outbound.retry_min
        self.running = False
        self.expiry = ExpirySweep(name, store, receipts, counters, claim_idle, outbound.batch)
        self.timeouts = ReceiptTimeouts(name, store, receipts, counters, outbound.batch) \
            if upstreams[name].receipt_timeout else None
        self._calls = set()
        self._ticks = 0
        self._loop = task.LoopingCall(self.tick)
        self._loop.clock = clock

    @property
    def connector(self):
        return self.connectors[self.name]

    # -- life -----------------------------------------------------------------

    def start(self):
        self.running = True
        self.store.subscribe_outbound(self.name, self._notified).addErrback(
            self._failed, "subscribe")
        self.store.pending_outbound(self.name, self.consumer, 10 * self.settings.batch) \
            .addCallbacks(self._fill, self._failed, errbackArgs=("read",))
        self._loop.start(self.settings.schedule_interval, now=False)

    def stop(self):
        """Stop taking and sending; what is in hand stays pending in Redis under
        our consumer name, for our next start or another process's reclaim."""
        self.running = False
        if self._loop.running:
            self._loop.stop()
        for call in self._calls:
            if call.active():
                call.cancel()
        self._calls.clear()
        self.store.unsubscribe_outbound(self.name)

    def tick(self):
        """Due scheduled messages into the queue; refresh what we hold; take over
        what a dead process left; read if there may be more."""
        self._ticks += 1
        now = self.clock.seconds()
        self.store.move_due(self.name, now, 10 * self.settings.batch).addErrback(
            self._failed, "schedule")
        self.expiry.sweep(now)   # validity passed while queued, whoever holds binds
        if self.timeouts is not None:
            self.timeouts.sweep(now)   # receipts the upstream owes past receipt_timeout
        if not self.connector.up and self.backlog:
            # Held here while no bind is up: what expires meanwhile ends now.
            keep = deque()
            for entry, queued in self.backlog:
                validity = queued.submission.validity
                if validity is not None and validity <= now:
                    self._end(entry, queued, EXPIRED, MessageState.EXPIRED, EXPIRED_AT_GATEWAY)
                else:
                    keep.append((entry, queued))
            self.backlog = keep
        every = max(1, int(self.claim_idle / 3 / self.settings.schedule_interval))
        if self.held and self._ticks % every == 0:
            self.store.touch_outbound(self.name, self.consumer, list(self.held.values())) \
                .addErrback(self._failed, "touch")
        if self.connector.up:
            if self._ticks % (every * 2) == 0:
                self.store.reclaim_outbound(self.name, self.consumer,
                                            int(self.claim_idle * 1000), self.settings.batch) \
                    .addCallbacks(self._fill, self._failed, errbackArgs=("reclaim",))
            self.more = True
            self._read()
            self._pump()

    def _notified(self, _name):
        self.more = True
        self._read()

    def _failed(self, failure, what):
        self.reading = self.reading and what != "read"
        self.log.warn("{connector}: outbound queue {what} failed: {error}",
                      connector=self.name, what=what, error=failure.getErrorMessage())

    # -- taking ---------------------------------------------------------------

    def _read(self):
        if (self.reading or not self.running or not self.more or not self.connector.up
                or len(self.backlog) + self.inflight >= 2 * self.capacity):
            return
        self.reading = True
        d = self.store.take_outbound(self.name, self.consumer, self.settings.batch)
        d.addCallbacks(self._taken, self._failed, errbackArgs=("read",))

    def _taken(self, entries):
        self.reading = False
        self.more = len(entries) >= self.settings.batch
        self._fill(entries)
        if self.more:
            self._read()

    def _fill(self, entries):
        for entry in entries:
            if entry.entry_id in self.held:   # a reclaim may return what we hold
                continue
            try:
                queued = decode_queued(entry.blob)
            except CorruptEntry as e:
                self.log.error("{connector}: {error}; dropped", connector=self.name, error=e)
                self.store.finish_outbound(self.name, entry, REJECTED).addErrback(
                    self._failed, "finish")
                continue
            self.held[entry.entry_id] = entry
            self.backlog.append((entry, queued))
        self._pump()

    # -- sending --------------------------------------------------------------

    def _pump(self):
        if not self.running:
            return
        now = self.clock.seconds()
        if now < self.paused_until:
            return
        backlog = self.backlog
        # Answers may come within submit (a failed attempt): recheck the pause.
        while (backlog and self.inflight < self.capacity and self.connector.up
               and self.clock.seconds() >= self.paused_until):
            entry, queued = backlog.popleft()
            validity = queued.submission.validity
            if validity is not None and validity <= now:
                self._end(entry, queued, EXPIRED, MessageState.EXPIRED, EXPIRED_AT_GATEWAY)
                continue
            self._send(entry, queued, 0)
        if not backlog:
            self._read()

    def _send(self, entry, queued, index):
        routes = queued.routes
        while index < len(routes):
            connector = self.connectors.get(routes[index])
            if connector is not None and connector.up:
                break
            index += 1
        else:
            self._later(entry, queued)
            return
        self.inflight += 1
        s = queued.submission
        upstream = self.upstreams.get(connector.name)
        if upstream is not None and upstream.splits and (
                len(s.body) > upstream.splits or s.datagram):
            # may not fit one SMS of an upstream that takes no message_payload
            try:
                parts = multipart.plan(s, upstream, self.references.next(upstream.split))
            except (ValueError, EncodeError) as e:
                self.inflight -= 1
                self._end(entry, queued, REJECTED, MessageState.REJECTED,
                          getattr(e, "status", Status.ESME_RINVDCS))
                return
            if parts is not None and len(parts) > 1:
                defer.DeferredList([connector.submit(part) for part in parts],
                                   consumeErrors=True).addCallback(
                    self._parts_answered, entry, queued, index, connector)
                return
            if parts is not None:
                s = parts[0]   # a data_sm that fits: as submit_sm
        d = connector.submit(s)
        d.addCallbacks(self._answered, self._not_answered, (entry, queued, index, connector),
                       None, (entry, queued, index))

    def _parts_answered(self, results, entry, queued, index, connector):
        """A split message's parts answered. None accepted: as one message's answer
        (retried, the next route, or REJECTED). All or some: SENT, never sent again
        (the handset has parts); a refused part counts as REJECTED in the one
        receipt (err 101), recorded before the accepted parts are mapped, so the
        last receipt of an accepted part is the one that completes the message."""
        accepted, refused, first = [], [], None
        for seq, (ok, value) in enumerate(results, 1):
            if ok and value[0] == Status.ESME_ROK:
                accepted.append((seq, value[1]))
            else:
                refused.append(seq)
                if first is None:
                    first = (ok, value)
        if not accepted:
            ok, value = first
            if ok:
                self._answered(value, entry, queued, index, connector)
            else:
                self._not_answered(value, entry, queued, index)
            return
        self.inflight -= 1
        self.backoff = self.settings.retry_min
        self.counters["outbound_sent"] += 1
        if refused:
            self.counters["outbound_parts_refused"] += len(refused)
        self._map_parts(entry, queued, connector.name, accepted, refused, len(results))
        self._pump()

    def _map_parts(self, entry, queued, via, accepted, refused, total):
        s = queued.submission
        if not s.registered_delivery & WANTS_RECEIPT:
            self._finish(entry, SENT, 0, accepted[0][1])
            return
        upstream = self.upstreams[via]
        now = self.clock.seconds()
        marks = [self.store.record_part(via, queued.message_id, seq, total,
                                        MessageState.REJECTED, upstream.dlr_expiry, now, 0)
                 for seq in refused]
        home = self.name if via != self.name else ""

        def map_accepted(_):
            saves = []
            for seq, upstream_id in accepted:
                key = normalise(upstream_id, upstream.resp_form)
                if key:
                    saves.append(self.store.save_mapping(via, key, Mapping(
                        queued.message_id, s.user, s.source, s.destination,
                        queued.submitted_at, total, s.registered_delivery, home,
                        s.reference, seq), upstream.dlr_expiry))
            return defer.gatherResults(saves, consumeErrors=True)
        defer.gatherResults(marks, consumeErrors=True).addCallback(map_accepted).addCallbacks(
            lambda _: self._finish(entry, SENT, 0, accepted[0][1]), self._parts_not_mapped,
            None, None, (entry, queued, via, accepted, refused, total))

    def _parts_not_mapped(self, failure, entry, queued, via, accepted, refused, total):
        # The upstream has them: never sent again; stored later (both steps repeat safely).
        self.log.warn("{connector}: mappings of the parts of {message_id} not stored yet: "
                      "{error}", connector=via, message_id=queued.message_id,
                      error=failure.getErrorMessage())
        self._call(self.settings.retry_min, self._map_parts, entry, queued, via, accepted,
                   refused, total)

    def _answered(self, answer, entry, queued, index, connector):
        self.inflight -= 1
        status, upstream_id = answer
        if status == Status.ESME_ROK:
            self.backoff = self.settings.retry_min
            self._sent(entry, queued, connector.name, upstream_id)
        elif status in _BUSY:
            self.counters["outbound_throttled"] += 1
            self._slow_down()
            self.backlog.appendleft((entry, queued))
        elif status in RETRYABLE_STATUS:
            self.counters["outbound_retried"] += 1
            self._next(entry, queued, index, status)
        else:
            self._end(entry, queued, REJECTED, MessageState.REJECTED, status)
        self._pump()

    def _not_answered(self, failure, entry, queued, index):
        self.inflight -= 1
        if not failure.check(*ATTEMPT_FAILURES):
            self.log.failure("{connector}: sending a queued message failed", failure,
                             connector=self.name)
        self.counters["outbound_retried"] += 1
        self._next(entry, queued, index, getattr(failure.value, "status", 0),
                   unsendable=failure.check(Unsendable) is not None)
        self._pump()

    def _next(self, entry, queued, index, status, unsendable=False):
        if not self.running:
            return
        if index + 1 < len(queued.routes):
            self._send(entry, queued, index + 1)
        elif unsendable:   # the last route cannot carry it: no retry will
            self._end(entry, queued, REJECTED, MessageState.REJECTED, status)
        else:
            self._later(entry, queued)

    def _later(self, entry, queued):
        """Nothing could take it now: again from its first route after a back-off."""
        delay = self.backoff
        self.backoff = min(self.backoff * 2, self.settings.retry_max)
        self._call(delay, self._again, entry, queued)

    def _again(self, entry, queued):
        self.backlog.append((entry, queued))
        self._pump()

    def _slow_down(self):
        self.paused_until = self.clock.seconds() + self.backoff
        self._call(self.backoff, self._pump)
        self.backoff = min(self.backoff * 2, self.settings.retry_max)

    def _call(self, delay, f, *args):
        if not self.running:
            # stopped (a store call failed as the service stopped): what is in
            # hand stays pending in Redis, as stop() says; no timer outlives it
            return
        calls = self._calls
        call = self.clock.callLater(delay, lambda: (calls.discard(call), f(*args)))
        calls.add(call)

    # -- outcomes -------------------------------------------------------------

    def _sent(self, entry, queued, via, upstream_id):
        self.counters["outbound_sent"] += 1
        self._map(entry, queued, via, upstream_id)

    def _map(self, entry, queued, via, upstream_id):
        s = queued.submission
        if s.registered_delivery & WANTS_RECEIPT:
            upstream = self.upstreams[via]
            key = normalise(upstream_id, upstream.resp_form)
            if key:
                mapping = Mapping(queued.message_id, s.user, s.source, s.destination,
                                  queued.submitted_at, queued.parts, s.registered_delivery,
                                  self.name if via != self.name else "", s.reference)
                d = self.store.save_mapping(via, key, mapping, upstream.dlr_expiry)
                d.addCallbacks(lambda _: self._finish(entry, SENT, 0, upstream_id),
                               self._mapping_failed, None, None,
                               (entry, queued, via, upstream_id))
                return
            self.log.error("{connector}: submit_sm_resp ESME_ROK without a message_id for "
                           "{message_id}; its receipt cannot be correlated", connector=via,
                           message_id=queued.message_id)
        self._finish(entry, SENT, 0, upstream_id)

    def _mapping_failed(self, failure, entry, queued, via, upstream_id):
        # The upstream has it: never send it again; store the mapping later.
        self.log.warn("{connector}: mapping of {message_id} not stored yet: {error}",
                      connector=via, message_id=queued.message_id,
                      error=failure.getErrorMessage())
        self._call(self.settings.retry_min, self._map, entry, queued, via, upstream_id)

    def _end(self, entry, queued, state, message_state, error_code, counted=False):
        """A final outcome the upstream will never report: a prepaid user's refund
        and our receipt first, then the entry ends (a crash in between repeats the
        receipt, never loses it; the refund happens once: it takes the charge's
        marker)."""
        if not counted:
            self.counters["outbound_expired" if state == EXPIRED else "outbound_rejected"] += 1
        if queued.charged:
            d = self.store.refund(queued.submission.user, queued.message_id, 0, REFUND_MARKED,
                                  "EXPIRED" if state == EXPIRED else "REJECTED %d" % error_code)
            d.addCallbacks(self._refunded, self._refund_failed,
                           (entry, queued, state, message_state, error_code), None,
                           (entry, queued, state, message_state, error_code))
            return
        self._own_receipt(entry, queued, state, message_state, error_code)

    def _refunded(self, _, entry, queued, state, message_state, error_code):
        self.counters["refunds"] += 1
        self._own_receipt(entry, queued, state, message_state, error_code)

    def _refund_failed(self, failure, entry, queued, state, message_state, error_code):
        self.log.warn("{connector}: refund of {message_id} not made yet: {error}",
                      connector=self.name, message_id=queued.message_id,
                      error=failure.getErrorMessage())
        self._call(self.settings.retry_min, self._end, entry, queued, state, message_state,
                   error_code, True)

    def _own_receipt(self, entry, queued, state, message_state, error_code):
        d = self.receipts.own(queued, message_state, error_code)
        d.addCallbacks(lambda _: self._finish(entry, state, error_code),
                       self._receipt_failed, None, None, (entry, queued, state, message_state,
                                                          error_code))

    def _receipt_failed(self, failure, entry, queued, state, message_state, error_code):
        self.log.warn("{connector}: receipt for {message_id} not queued yet: {error}",
                      connector=self.name, message_id=queued.message_id,
                      error=failure.getErrorMessage())
        self._call(self.settings.retry_min, self._own_receipt, entry, queued, state,
                   message_state, error_code)

    def _finish(self, entry, state, error_code, upstream_id=""):
        d = self.store.finish_outbound(self.name, entry, state, error_code, upstream_id)
        d.addCallbacks(self._finished, self._finish_failed, (entry,), None,
                       (entry, state, error_code, upstream_id))

    def _finished(self, _, entry):
        self.held.pop(entry.entry_id, None)

    def _finish_failed(self, failure, entry, state, error_code, upstream_id):
        self.log.warn("{connector}: outcome of {message_id} not recorded yet: {error}",
                      connector=self.name, message_id=entry.message_id,
                      error=failure.getErrorMessage())
        self._call(self.settings.retry_min, self._finish, entry, state, error_code,
                   upstream_id)
