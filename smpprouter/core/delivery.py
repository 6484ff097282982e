"""Delivering each user's queue (receipts and MOs) to its ESME sessions.

The queue lives in Redis (dlv:{user}); this process reads it only while it
holds a receiving session of that user, and an entry leaves Redis only when
an ESME answered its deliver_sm with ESME_ROK. Anything else, an error
status, no answer, a lost session, sends it again after a backoff; if the
user's last session here goes, the entries this process had taken stay
pending in Redis under its consumer name and are read again (or claimed by
another process) when the user is back.

Per user, entries wait in a small in-memory backlog between the store and
the sessions' windows; it is refilled in batches when it runs low, so a busy
user costs a handful of Redis commands per batch, not per receipt.
A store that can (RedisStore.deliver_here) also hands over what is queued for
a user while it has sessions here, in the enqueue's own script, up to the
backlog's room: a receipt that comes in through this process then costs no
notification and no read of its own (_Taker).

Entries are receipts and MOs as data (core.messages), stored in the form an
SMPP v3.4 session takes as is (core/codec.py); a session of another version
renders each anew when it sends it.

What an ESME's deliver_sm_resp status means for the entry:
- ESME_ROK: delivered, acknowledged in Redis.
- a permanent answer (PERMANENT): the entry ends, acknowledged in Redis as if
  delivered, counted ("ended") and logged once; sending the same octets again
  would only get the same answer. These are ESME_RX_P_APPN and ESME_RX_R_APPN
  (v3.4's "permanent" and "reject" application errors), and the statuses that
  say the ESME cannot read this PDU at all (message, command or TLV length,
  TLV stream or value, esm_class, data_coding): they come from the client's
  decoder and do not change between attempts.
- anything else, ESME_RX_T_APPN, ESME_RTHROTTLED, ESME_RSYSERR, a status we do
  not know, or no answer: sent again after a backoff, as long as it takes. A
  receipt is delivered at least once; a status we cannot read as final must not
  lose one.

Entries held here (in the
backlog, in flight, waiting to be retried) have their idle time in Redis
refreshed every claim_idle / 3, so another process's reclaim takes only what
a dead process left, never what this one is still delivering.
"""

from collections import deque

from twisted.internet import task
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..smpp.errors import SMPPError
from ..smpp.status import Status, status_name
from ..store.then import plain_forms
from .codec import CorruptEntry, decode_entry, rendering

RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# deliver_sm_resp statuses that end a delivery (see the module docstring).
PERMANENT = frozenset((
    Status.ESME_RX_P_APPN, Status.ESME_RX_R_APPN, Status.ESME_RINVMSGLEN,
    Status.ESME_RINVCMDLEN, Status.ESME_RINVESMCLASS, Status.ESME_RINVTLVSTREAM,
    Status.ESME_RINVTLVLEN, Status.ESME_RINVTLVVAL, Status.ESME_RINVDCS,
))
# an enum member read from the class costs ~120 ns (3.11's descriptor); once here
_ROK = Status.ESME_ROK


class _User:
    __slots__ = ("name", "sessions", "backlog", "next", "reading", "again", "more",
                 "attempts", "held", "retries")

    def __init__(self, name):
        self.name = name
        self.sessions = []
        self.backlog = deque()   # Delivery entries claimed and not yet sent
        self.next = 0            # round-robin position among sessions
        self.reading = False
        self.again = False       # notified while a read was under way
        self.more = False        # the last read came back full: the queue has more
        self.attempts = {}       # entry id -> failed attempts so far
        self.held = set()        # entry ids here: in the backlog, in flight or to retry
        self.retries = []        # pending delayed calls


class Deliveries:
    log = Logger()

    def __init__(self, store, clock, consumer, batch=100, claim_idle=60.0):
        self.store = store
        self.plain = plain_forms(store)   # the hot calls without a Deferred (store/then.py)
        # a store that can hand this process new entries as they are queued
        self._here = getattr(store, "deliver_here", None)
        self.clock = clock
        self.consumer = consumer
        self.batch = batch
        self.claim_idle = claim_idle
        self._users = {}
        self._sweep = task.LoopingCall(self.sweep)
        self._sweep.clock = clock
        self.counters = dict.fromkeys(("sent", "acked", "refused", "ended", "unanswered"), 0)

    # -- sessions -----------------------------------------------------------

    def attach(self, session):
        user = self._users.get(session.user)
        if user is None:
            user = self._users[session.user] = _User(session.user)
            # While Redis is down this fails; the store subscribes again by
            # itself when it is back and then calls _notified.
            self.store.subscribe(user.name, self._notified).addErrback(
                self._subscribe_failed, user)
            if self._here is not None:
                self._here(user.name, _Taker(self, user.name))
            self._recover(user)
        user.sessions.append(session)
        self._pump(user)

    def detach(self, session):
        user = self._users.get(session.user)
        if user is None or session not in user.sessions:
            return
        user.sessions.remove(session)
        if user.sessions:
            return
        # The entries stay pending in Redis under our consumer name.
        del self._users[user.name]
        self.store.unsubscribe(user.name)
        if self._here is not None:
            self._here(user.name, None)
        for call in user.retries:
            if call.active():
                call.cancel()

    def _subscribe_failed(self, failure, user):
        self.log.warn("notifications for {user} not subscribed yet: {error}", user=user.name,
                      error=failure.getErrorMessage())

    def _recover(self, user):
        """Entries this consumer took earlier and never saw acknowledged."""
        d = self.store.pending(user.name, self.consumer, self.batch * 10)
        d.addCallback(self._fill, user)
        d.addErrback(self._read_failed, user)
        d.addBoth(lambda _: self._read(user))

    def start(self):
        self._sweep.start(max(1.0, self.claim_idle / 3), now=False)

    def sweep(self):
        """Keep what we hold ours (its idle time refreshed), and take over what a
        dead process had taken of our users' queues: entries left
        unacknowledged longer than claim_idle (XAUTOCLAIM)."""
        for user in list(self._users.values()):
            if user.held:
                self.store.touch(user.name, self.consumer, list(user.held)).addErrback(
                    self._touch_failed, user)
            d = self.store.reclaim(user.name, self.consumer, int(self.claim_idle * 1000),
                                   self.batch)
            d.addCallback(self._reclaimed, user)
            d.addErrback(self._read_failed, user)

    def _reclaimed(self, entries, user):
        if entries:
            self.log.info("took over {n} pending deliveries of {user}", n=len(entries),
                          user=user.name)
            self._fill(entries, user)

    def stop(self):
        """Stop reading and retrying; what is undelivered stays in Redis."""
        if self._sweep.running:
            self._sweep.stop()
        for user in list(self._users.values()):
            for call in user.retries:
                if call.active():
                    call.cancel()
            self.store.unsubscribe(user.name)
            if self._here is not None:
                self._here(user.name, None)
        self._users.clear()

    # -- reading the queue --------------------------------------------------

    def _notified(self, name):
        user = self._users.get(name)
        if user is not None:
            self._read(user)

    def _read(self, user):
        if user.reading:
            user.again = True
            return
        if self._users.get(user.name) is not user:
            return
        if len(user.backlog) >= self.batch:
            # Enough to send for now: read when the backlog runs low, not on the
            # next notification, which may never come (all already queued).
            user.more = True
            return
        user.reading = True
        user.again = False
        d = self.store.claim(user.name, self.consumer, self.batch)
        d.addCallback(self._claimed, user)
        d.addErrback(self._read_failed, user)

    def _claimed(self, entries, user):
        user.reading = False
        user.more = len(entries) >= self.batch
        self._fill(entries, user)
        if user.again:
            self._read(user)

    def _fill(self, entries, user):
        held = user.held
        for entry in entries:
            if entry.entry_id not in held:   # a reclaim may return what we already hold
                held.add(entry.entry_id)
                user.backlog.append(entry)
        self._pump(user)

    def _touch_failed(self, failure, user):
        self.log.warn("held deliveries of {user} not refreshed: {error}", user=user.name,
                      error=failure.getErrorMessage())

    def _read_failed(self, failure, user):
        user.reading = False
        self.log.warn("deliveries for {user} could not be read: {error}", user=user.name,
                      error=failure.getErrorMessage())
        call = self.clock.callLater(RETRY_DELAYS[0], self._read, user)
        user.retries.append(call)

    # -- sending ------------------------------------------------------------

    def _pump(self, user):
        backlog = user.backlog
        sessions = user.sessions
        while backlog and sessions:
            # the round-robin pick inline (a call less per entry): the first
            # session from user.next on that receives and has room in its window
            count = len(sessions)
            start = user.next
            for i in range(count):
                session = sessions[(start + i) % count]
                if session.receiving and session.can_send():
                    user.next = (start + i + 1) % count
                    break
            else:
                break
            entry = backlog.popleft()
            # only this loop waits for the answer, then for the ack (_InFlight)
            reply = _InFlight(self, user, entry)
            try:
                rendered = rendering(entry.payload)
                if rendered is not None:
                    session.deliver_rendered(rendered, reply)
                else:
                    session.deliver(decode_entry(entry.payload), reply)
            except (CorruptEntry, SMPPError):
                # Only we write the queue; an entry no session can be sent would
                # block the user's queue forever.
                self.log.failure("unsendable delivery {entry} of {user} dropped",
                                 entry=entry.entry_id, user=user.name)
                user.held.discard(entry.entry_id)
                self.store.ack(user.name, entry.entry_id)
                continue
            self.counters["sent"] += 1
        if user.more and len(backlog) < self.batch // 2 and not user.reading:
            self._read(user)

    def _answered(self, status, flight):
        user, entry = flight.user, flight.entry
        if status == _ROK:
            self.counters["acked"] += 1
            self._done(flight)
        elif status in PERMANENT:
            self.counters["refused"] += 1
            self.counters["ended"] += 1
            self.log.warn("delivery {entry} to {user} refused for good ({status}), dropped",
                          entry=entry.entry_id, user=user.name, status=status_name(status))
            self._done(flight)
        else:
            self.counters["refused"] += 1
            self._retry(user, entry)
        if user.backlog or user.more:   # else _pump has nothing to do (a call less)
            self._pump(user)

    def _broken(self, failure, user, entry):
        # a bug in handling the answer: the entry stays pending in Redis, and is
        # taken again when this consumer recovers or another reclaims it
        self.log.failure("handling the answer to delivery {entry} of {user} failed", failure,
                         entry=entry.entry_id, user=user.name)

    def _done(self, flight):
        """The entry leaves Redis: delivered, or refused for good."""
        user, entry = flight.user, flight.entry
        user.held.discard(entry.entry_id)
        user.attempts.pop(entry.entry_id, None)
        flight.acking = True   # it waits for the ack now
        self.plain.ack_then(flight, user.name, entry.entry_id)

    def _unanswered(self, failure, user, entry):
        self.counters["unanswered"] += 1
        self._retry(user, entry)
        if self._users.get(user.name) is user:
            self._pump(user)

    def _ack_failed(self, failure, user, entry):
        # Delivered but still pending in Redis: it may be delivered again
        # (at least once), never lost.
        self.log.warn("ack of {entry} for {user} failed: {error}", entry=entry.entry_id,
                      user=user.name, error=failure.getErrorMessage())

    def _retry(self, user, entry):
        if self._users.get(user.name) is not user:
            return  # the user left; the entry waits in Redis
        attempt = user.attempts.get(entry.entry_id, 0)
        user.attempts[entry.entry_id] = attempt + 1
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
        user.retries = [c for c in user.retries if c.active()]
        user.retries.append(self.clock.callLater(delay, self._again, user, entry))

    def _again(self, user, entry):
        if self._users.get(user.name) is user:
            user.backlog.appendleft(entry)
            self._pump(user)


class _InFlight:
    """A delivery sent, and its two waits: the ESME's answer (its session's
    context: id_answered with the deliver_sm_resp's status, read from the
    frame; callback with a response decoded in full; errback: none came), then,
    once delivered, its ack (the store's Then). One object with the entry's
    state in slots for both: a Then (an IdThen for the answer) and its argument tuple per
    wait cost ~0.1-0.2 us more per receipt. What a step raises goes to
    Deliveries._broken (the entry stays pending in Redis)."""
    __slots__ = ("deliveries", "user", "entry", "acking", "called")

    def __init__(self, deliveries, user, entry):
        self.deliveries = deliveries
        self.user = user
        self.entry = entry
        self.acking = False   # set by Deliveries._done: the ack's wait
        self.called = False   # the store's batches read it (the ack's wait only)

    def id_answered(self, status, message_id):
        try:
            self.deliveries._answered(status, self)
        except Exception:
            self.deliveries._broken(Failure(), self.user, self.entry)

    def callback(self, result):
        if self.acking:
            self.called = True   # acknowledged: nothing more to do
        else:
            self.id_answered(result.command_status, getattr(result, "message_id", ""))

    def errback(self, error=None):
        reason = error if isinstance(error, Failure) else Failure(error)
        if self.acking:
            self.called = True
            try:
                self.deliveries._ack_failed(reason, self.user, self.entry)
            except Exception:
                _log.failure("a store call's answer could not be handled")
            return
        try:
            self.deliveries._unanswered(reason, self.user, self.entry)
        except Exception:
            self.deliveries._broken(Failure(), self.user, self.entry)


_log = Logger()


class _Taker:
    """What the store asks when it queues an entry for a user this process
    delivers to (RedisStore.deliver_here): how many new entries to hand over in
    the same script, and where they go. The entries are then pending for our
    consumer, exactly as a claim would have left them."""
    __slots__ = ("deliveries", "name", "consumer")

    def __init__(self, deliveries, name):
        self.deliveries = deliveries
        self.name = name
        self.consumer = deliveries.consumer

    def room(self):
        deliveries = self.deliveries
        user = deliveries._users.get(self.name)
        if user is None or not user.sessions:
            return 0
        return deliveries.batch - len(user.backlog)

    def take(self, entries):
        deliveries = self.deliveries
        user = deliveries._users.get(self.name)
        if user is not None:
            deliveries._fill(entries, user)
        # else the user left meanwhile: they wait in Redis, pending for us, and
        # are read again (pending) when the user is back, or reclaimed
