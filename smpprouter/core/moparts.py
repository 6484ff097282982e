"""Concatenated MOs: their parts kept in Redis until the message is whole, then
routed (by the whole text's keyword) and queued for one user, as one message.

A part is answered ESME_ROK once it is stored (store/moparts.py); the part
that completes the set is answered once the message is queued, so a crash in
between leaves the upstream to send that part again, and the set is claimed
again after LEASE. What the user gets:
- a webhook user (mo_url): one MO, the joined text (core/concat.py join);
- an SMPP user with `mo_reassemble = true`: one deliver_sm, the joined
  payload in message_payload;
- any other SMPP user: the parts as the upstream sent them, in seqnum order,
  every one to the user the whole message was routed to.

A set still incomplete after its connector's `mo_parts_timeout` (counted
from its first part) is delivered as the parts received, each as it came,
routed by their joined text: the router answered ESME_ROK for each, so it
owns them, and dropping them would lose what the handset sent; an SMPP user
sees from the parts' UDHs that some are missing. Counted (`mo_sets_expired`)
and logged once per set. A part that comes after its set was delivered
(late, or long resent) goes alone, routed by its own text.
"""

from twisted.internet import task
from twisted.logger import Logger

from ..smpp.status import Status
from . import concat
from .codec import CorruptEntry, decode_entry, encode_entry
from .inbox import WEBHOOK_PREFIX, queue_for
from ..store.moparts import BUSY, COMPLETE, LATE, STORED

LEASE = 15.0        # seconds a deliverer holds a set before another may take it
SWEEP_MAX = 5.0     # seconds between two looks for sets past their timeout, at most
DEFAULT_TIMEOUT = 120.0


def _ignore(_):
    return None


class MOParts:
    log = Logger()

    def __init__(self, store, inbox, users, upstreams, clock, counters, route):
        self.store = store
        self.inbox = inbox
        self.users = users          # name -> config.User
        self.upstreams = upstreams  # name -> Upstream (its mo_parts_timeout)
        self.clock = clock
        self.counters = counters
        self.route = route          # (connector, Inbound) -> user name, or None (unrouted)
        self._sweep = None

    def _timeout(self, connector):
        upstream = self.upstreams.get(connector)
        return upstream.mo_parts_timeout if upstream is not None else DEFAULT_TIMEOUT

    # -- a part from the upstream

    def add(self, connector, inbound, part, answer):
        """answer(status for the upstream), once: ESME_ROK once the part is stored
        (or, for the part completing its set, once the message is queued)."""
        set_id = concat.set_id(inbound, part)
        raw = encode_entry(inbound)
        d = self.store.add_mo_part(connector, set_id, part.seqnum, part.total, raw,
                                   self.clock.seconds(), self._timeout(connector), LEASE)
        d.addCallbacks(self._added, self._not_added, (connector, set_id, raw, answer), None,
                       (connector, answer))

    def _added(self, result, connector, set_id, raw, answer):
        code, parts = result
        if code == STORED:
            self.counters["mo_parts"] += 1
            answer(Status.ESME_ROK)
        elif code == BUSY:
            answer(Status.ESME_RX_T_APPN)   # another process is queueing its set
        elif code == LATE:
            self.counters["mo_parts_late"] += 1
            self._deliver(connector, None, [raw], False, answer)
        elif code == COMPLETE:
            self.counters["mo_parts"] += 1
            self._deliver(connector, set_id, parts, True, answer)

    def _not_added(self, failure, connector, answer):
        self.log.error("{connector}: MO part not stored: {error}", connector=connector,
                       error=failure.getErrorMessage())
        answer(Status.ESME_RX_T_APPN)

    # -- a set to deliver

    def _deliver(self, connector, set_id, raws, complete, answer):
        """Route the set by its joined text and queue what its user gets; then
        mark it delivered and answer(status)."""
        try:
            parts = [decode_entry(raw) for raw in raws]
        except CorruptEntry:   # only the router writes them
            self.log.failure("{connector}: undecodable MO part dropped", connector=connector)
            self._done(connector, set_id)
            answer(Status.ESME_ROK)
            return
        whole = concat.join(parts)
        user = self.route(connector, whole)
        if user is None:
            self._done(connector, set_id)
            answer(Status.ESME_RX_P_APPN)
            return
        queue = queue_for(self.users, user, whole)
        entries = raws
        if complete:
            self.counters["mo_sets"] += 1
            if queue.startswith(WEBHOOK_PREFIX):
                entries = [encode_entry(whole)]
            else:
                account = self.users.get(user)
                if account is not None and account.mo_reassemble:
                    entries = [encode_entry(concat.in_payload(whole))]
        self.inbox.put_all(queue, entries, connector, "MO", self._queued,
                           (connector, set_id, answer))

    def _queued(self, status, connector, set_id, answer):
        if status == Status.ESME_ROK:
            self._done(connector, set_id)
        answer(status)

    def _done(self, connector, set_id):
        if set_id is not None:
            self.store.mo_set_done(connector, set_id).addErrback(
                self._warn, "{connector}: an MO set not marked delivered "
                "(it may be delivered again): {error}", connector)

    def _failed(self, failure, connector):
        self.log.failure("{connector}: delivering expired MO sets", failure,
                         connector=connector)

    def _warn(self, failure, text, connector):
        self.log.warn(text, connector=connector, error=failure.getErrorMessage())

    # -- sets past their timeout

    def start(self):
        timeouts = [u.mo_parts_timeout for u in self.upstreams.values()] or [DEFAULT_TIMEOUT]
        self._sweep = task.LoopingCall(self.sweep)
        self._sweep.clock = self.clock
        self._sweep.start(max(0.05, min(SWEEP_MAX, min(timeouts) / 4)), now=False)

    def stop(self):
        if self._sweep is not None and self._sweep.running:
            self._sweep.stop()
        self._sweep = None

    def sweep(self):
        """Claim and deliver, for each connector, the sets past their timeout
        (and any whose deliverer died); with none, one script per connector."""
        if not self.store.available:
            return None
        now = self.clock.seconds()
        done = []
        for connector in list(self.upstreams):
            d = self.store.take_due_mo_sets(connector, now, LEASE)
            d.addCallbacks(self._due, self._warn, (connector,), None,
                           ("{connector}: looking for expired MO sets failed: {error}",
                            connector))
            d.addErrback(self._failed, connector)
            done.append(d)
        return done

    def _due(self, sets, connector):
        for set_id, parts in sets:
            total = int(set_id.split(b":", 2)[1])
            raws = [parts[seq] for seq in sorted(parts)]
            complete = len(raws) == total
            if not complete:
                self.counters["mo_sets_expired"] += 1
                self.log.warn("{connector}: MO set {set} incomplete after mo_parts_timeout: "
                              "{got} of {total} parts delivered as they came",
                              connector=connector, set=set_id.decode("utf-8", "replace"),
                              got=len(raws), total=total)
            self._deliver(connector, set_id, raws, complete, _ignore)
