"""What the router core asks of the shared store, with Redis hidden behind it.

All methods return Deferreds. Implementations batch: everything asked within
one reactor turn goes to Redis together, so a caller may issue one call per
PDU without paying one round trip per PDU.
"""

from dataclasses import dataclass

from zope.interface import Attribute, Interface


# Not frozen (treated as immutable all the same): one is made per message sent
# and one per receipt decoded (a Delivery per entry read), and a frozen
# dataclass's __init__ costs three times as much (core/messages.py).
@dataclass(slots=True)
class Mapping:
    """What the router must remember of an accepted message to relay its receipt."""
    message_id: str        # the router's id, as handed to the ESME
    user: str
    source_addr: str
    destination_addr: str
    submitted_at: float    # unix time
    parts: int = 1
    registered_delivery: int = 0
    home: str = ""         # the connector holding its msg: record, when not this one
                           # (a queued message sent by failover through another)
    reference: str = ""    # the submitter's reference (Submission.reference), for its receipt
    part: int = 0          # 1..parts: one part of a message the router split (its one
                           # receipt comes when every part is final); 0: a message as sent


@dataclass(slots=True)
class Delivery:
    """One pending entry of a user's delivery queue."""
    entry_id: str   # the stream entry id
    payload: bytes  # an encoded deliver_sm (sequence number 0), ready to send


class ICorrelationStore(Interface):
    available = Attribute(
        "bool, no I/O: whether the store can be expected to take a write now (connected, "
        "and no batch failed or timed out since the last answered one). The core refuses "
        "work it would have to record while it is false, before anything is sent upstream.")

    def start():
        """Connect; Deferred fires when ready (raises a clear error if Redis is unreachable)."""

    def stop():
        """Flush what is pending and disconnect."""

    def allocate_id_block():
        """Deferred(int): a number never handed out before, by any process,
        used as the high part of the router's message ids."""

    def save_mapping(connector, upstream_id, mapping, ttl, record=False):
        """Remember map:{connector}:<upstream_id> -> mapping for ttl seconds;
        record: also the message's record in state SENT (IOutboundStore; its
        field of rec:{connector}:<block>), so query_sm can answer for a message
        sent synchronously."""

    def get_mapping(connector, upstream_id, state=None):
        """Deferred(Mapping or None). state, a final state's digit: also record
        it (and the final date) in the mapped message's record, if it exists."""

    def watch_receipts(connector, timeout):
        """From now on a mapping of connector saved with a receipt asked for waits
        timeout seconds for its final receipt (due:{c}, in the scripts that save
        and read mappings), then is take_overdue's (store/timeouts.py)."""

    def take_overdue(connector, now, lease, count):
        """Deferred([(upstream id, Mapping)]): messages past their receipt's timeout,
        leased to the caller; a final receipt read meanwhile finds no mapping."""

    def finish_overdue(connector, done):
        """done [(upstream id, marker)]: their router-made receipts are queued; each
        mapping becomes its marker for the rest of its TTL."""

    def enqueue(user, payload):
        """Append an encoded deliver_sm to dlv:{user}; Deferred(entry id) once stored.

        Fails with QueueFull when the user's queue is at its bound: an
        undelivered receipt is never trimmed to make room."""

    def subscribe(user, callback):
        """Call callback(user) whenever dlv:{user} gets an entry, from any process.

        One callback per user. It is also called each time the subscription
        takes effect (first time, after a reconnect), since entries may have
        arrived meanwhile."""

    def unsubscribe(user):
        """Stop the callbacks for user."""

    def claim(user, consumer, count):
        """Deferred(list of Delivery): entries of dlv:{user} for this consumer to deliver."""

    def pending(user, consumer, count):
        """Deferred(list of Delivery): entries this consumer took and never acked
        (a restarted process reads them again under its stable consumer name)."""

    def reclaim(user, consumer, min_idle_ms, count):
        """Deferred(list of Delivery): entries other consumers took and left idle
        for min_idle_ms (their process died), now this consumer's."""

    def open_session(user, member, max_binds, ttl, max_receivers=0, scope=""):
        """Deferred(bool): register a bound session unless the user has max_binds
        (or, for a receiver-capable member, one ending in ":rx", max_receivers
        such; 0 = no limit of that kind) among its sessions whose member starts
        with scope ("" = all processes); it lapses after ttl seconds unless
        refreshed."""

    def refresh_sessions(user, members, ttl):
        """Deferred(int): keep these sessions registered; the user's session count
        in all processes."""

    def close_session(user, member):
        """Forget a session that ended."""

    def ack(user, entry_id):
        """Delivered (deliver_sm_resp ESME_ROK): acknowledge and delete the entry."""


# -- store and forward ---------------------------------------------------------
#
# A message that is not sent at once lives in its home connector's hash slot:
# msg:{c}:<router id> (a hash: the message and its state), out:{c} and outp:{c}
# (streams of router ids ready to send, normal and priority), sched:{c} (a sorted
# set of router ids by due time). Every script touches one connector's keys, so
# taking, sending, cancelling and replacing a message are each atomic, on one
# Redis or a Cluster. The message itself is an opaque blob for the store (the
# core encodes it); the store only knows its state.

# Phases of msg:{c}:<id>, field "s". Final states are the SMPP message_state
# values 2..9 written as digits (DELIVERED=2, EXPIRED=3, DELETED=4, UNDELIVERABLE=5,
# ACCEPTED=6, UNKNOWN=7, REJECTED=8, SKIPPED=9). ACCEPTED and UNKNOWN are not
# treated as final by the receipts path (a later receipt may still come).
SCHEDULED = "S"   # in sched:{c}, waiting for its time
QUEUED = "Q"      # in out:{c} or outp:{c}, waiting for a bind
TAKEN = "T"       # read from the stream by a process that is sending it
SENT = "U"        # the upstream accepted it (ENROUTE); its receipt may follow
EXPIRING = "X"    # its validity passed while held; its EXPIRED receipt is being written


@dataclass(frozen=True, slots=True)
class Outbound:
    """One entry taken from a connector's outbound streams."""
    entry_id: str     # the stream entry id (for done/touch/release)
    stream: str       # "out" or "outp": which stream it is pending in
    message_id: str   # the router's id
    blob: bytes       # the encoded message, as enqueued (or replaced)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """What query_sm, cancel_sm and replace_sm see of a message."""
    message_id: str
    user: str
    state: str         # one of the phases above, or a final state's digit
    final_date: float  # unix time the state became final; 0 if not final
    error_code: int    # the upstream's or the router's error (network-specific), 0 if none
    connector: str     # its home connector (where its keys live)
    blob: bytes | None  # the encoded message while the router still holds it, else None


class IOutboundStore(Interface):
    """The outbound queue and message states (store and forward).

    Batched like ICorrelationStore: calls made in one reactor turn go to
    Redis together, one script per connector where the docstring says so.
    """

    def enqueue_outbound(connector, message_id, user, blob, priority, due, ttl, expires=None):
        """Store a message in its home connector's slot; Deferred(None) once durable.

        due None (or <= now): XADD to out:{c} (outp:{c} when priority > 0) and
        state QUEUED; else ZADD sched:{c} at due (unix seconds, float) and state
        SCHEDULED. ttl (seconds) bounds how long msg:{c}:<id> lives (validity plus
        the receipt's lifetime); expires (unix time) enters it in exp:{c} for
        expire_due. Fails with QueueFull when the connector already
        holds [outbound] max_queue messages (its streams' and schedule's lengths);
        nothing is written then. One script per connector per turn; also PUBLISHes
        outn:{c} once when anything became QUEUED."""

    def move_due(connector, now, count):
        """Deferred(int): move up to count messages of sched:{c} due by now (unix
        seconds) into out:{c}/outp:{c}, state SCHEDULED -> QUEUED, in one script:
        exactly once however many processes call it at the same time. A message
        no longer SCHEDULED (cancelled, expired) is just removed from the set.
        PUBLISHes outn:{c} when it moved any."""

    def take_outbound(connector, consumer, count):
        """Deferred(list of Outbound): new entries for this consumer (XREADGROUP >),
        from outp:{c} first, then out:{c}; state QUEUED -> TAKEN. Entries whose
        message is gone or no longer QUEUED (cancelled) are acknowledged, deleted
        and not returned. Creates the consumer group 'out' as needed."""

    def pending_outbound(connector, consumer, count):
        """Deferred(list of Outbound): entries this consumer took earlier and
        never finished (a restarted process under the same consumer name)."""

    def reclaim_outbound(connector, consumer, min_idle_ms, count):
        """Deferred(list of Outbound): entries any consumer left pending for at
        least min_idle_ms (its process died), now this consumer's (XAUTOCLAIM on
        both streams)."""

    def touch_outbound(connector, consumer, entries):
        """Reset the idle time of entries (list of Outbound) this consumer still
        holds (XCLAIM ... JUSTID), so no other process reclaims them meanwhile."""

    def finish_outbound(connector, entry, state, error_code=0, upstream_id=""):
        """The message of entry (an Outbound) is done here: XACK + XDEL the entry
        and set its state: SENT (the upstream accepted it; upstream_id noted), or
        a final state digit (rejected, expired, ...) with final_date now and
        error_code; the blob is dropped from msg:{c}:<id> then. One script per
        connector per turn. Deferred(None)."""

    def requeue_outbound(connector, entry):
        """Put a taken message back at the end of its stream (XACK + XDEL the old
        entry, XADD a new one, state QUEUED): for a message to be retried later
        by whichever process drains the connector. Deferred(None)."""

    def set_state(connector, message_id, state, error_code=0):
        """Record a receipt's outcome in the message's record if it exists (its
        msg:{c}:<id> hash, or its field of a rec:{c}: block; final states
        also set final_date now). Batched per connector. Deferred(None)."""

    def record_sent(connector, message_id, user, ttl):
        """For a message sent synchronously (never queued): create its record
        (its field of rec:{c}:<block>) in state SENT for ttl seconds, so
        query_sm can answer for it. Batched with save_mapping of the same
        connector where possible. Deferred(None)."""

    def get_message(connectors, message_id):
        """Deferred(MessageRecord or None): the message's record, looked up in each
        of the connectors' slots (a list of names)."""

    def cancel_message(connector, message_id, user):
        """Deferred(bool): if msg:{c}:<id> belongs to user and is SCHEDULED or
        QUEUED, set it DELETED (final date now), remove it from sched:{c} (its
        stream entry is dropped when taken), True; else False. One script."""

    def expire_due(connector, now, lease, count):
        """Deferred(list of (message id, blob)): messages whose `expires` (given at
        enqueue or replace) passed while SCHEDULED or QUEUED, now EXPIRING, for any
        process to write their EXPIRED receipt, bind up or not. One script; each
        comes back after `lease` seconds unless finish_expired ends it first."""

    def finish_expired(connector, message_ids, error_code=0):
        """Their EXPIRED receipts are queued: EXPIRING -> EXPIRED (3), final date now,
        error_code (their receipts' err) for query_sm."""

    def replace_message(connector, message_id, user, blob, due, expires=None):
        """Deferred(bool): if msg:{c}:<id> belongs to user and is SCHEDULED or
        QUEUED, replace its blob; due None keeps its place, a time reschedules it
        (ZADD sched:{c}, state SCHEDULED; a QUEUED one's stream entry is then
        dropped when taken). True; else False. One script."""

    def touch(user, consumer, entry_ids):
        """Reset the idle time of delivery entries this consumer still holds in
        dlv:{user} (XCLAIM ... JUSTID): held receipts are not reclaimed by
        another process while this one is still delivering them."""

    def subscribe_outbound(connector, callback):
        """Call callback(connector) whenever a message of the connector becomes
        QUEUED (outn:{connector} is published to), from any process.

        One callback per connector; a second subscribe replaces it. It is also
        called each time the subscription takes effect (first time, after a
        reconnect), since messages may have been queued meanwhile. Deferred
        fires once Redis confirms; on StoreUnavailable the subscription is kept
        and made when Redis is back."""

    def unsubscribe_outbound(connector):
        """Stop the callbacks for connector."""

    def outbound_depth(connector):
        """Deferred(int): messages waiting for the connector (both streams'
        lengths plus the schedule's)."""


class ICreditStore(Interface):
    """Prepaid balances (bal:{user}) and their ledger (ledger:{user}), in an
    integer minor unit. Charges and refunds are batched per user per reactor
    turn (one script each); see store/credits.py and scripts.CHARGE / REFUND."""

    def charge(user, amount, message_id, ttl=0, flag="", why="", low=0):
        """Deferred((balance after, crossed)), or (None, False) when short: nothing
        charged. ttl > 0: a marker a later refund takes (flag "u": an UNDELIV
        receipt may take it too); crossed: this charge took the balance below low."""

    def refund(user, message_id, amount=0, mode="", why=""):
        """Deferred(balance after, or None when nothing was refunded). A marked
        charge is refunded once, by whichever caller takes its marker."""

    def credit(user, amount, who, why):
        """Deferred(balance after): amount added (negative: a correction), never set."""

    def balance(user):
        """Deferred(int)."""

    def ledger(user, count=10):
        """Deferred(list of dicts, newest first)."""
