"""What the router core asks of the shared store, with Redis hidden behind it.

All methods return Deferreds. Implementations batch: everything asked within
one reactor turn goes to Redis together, so a caller may issue one call per
PDU without paying one round trip per PDU.
"""

from dataclasses import dataclass

from zope.interface import Interface


@dataclass(frozen=True, slots=True)
class Mapping:
    """What the router must remember of an accepted message to relay its receipt."""
    message_id: str        # the router's id, as handed to the ESME
    user: str
    source_addr: str
    destination_addr: str
    submitted_at: float    # unix time
    parts: int = 1
    registered_delivery: int = 0


@dataclass(frozen=True, slots=True)
class Delivery:
    """One pending entry of a user's delivery queue."""
    entry_id: str   # the stream entry id
    payload: bytes  # an encoded deliver_sm (sequence number 0), ready to send


class ICorrelationStore(Interface):
    def start():
        """Connect; Deferred fires when ready (raises a clear error if Redis is unreachable)."""

    def stop():
        """Flush what is pending and disconnect."""

    def allocate_id_block():
        """Deferred(int): a number never handed out before, by any process,
        used as the high part of the router's message ids."""

    def save_mapping(connector, upstream_id, mapping, ttl):
        """Remember map:{connector}:<upstream_id> -> mapping for ttl seconds."""

    def get_mapping(connector, upstream_id):
        """Deferred(Mapping or None)."""

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

    def open_session(user, member, max_binds, ttl):
        """Deferred(bool): register a bound session unless the user has max_binds
        in all processes; it lapses after ttl seconds unless refreshed."""

    def refresh_sessions(user, members, ttl):
        """Deferred(int): keep these sessions registered; the user's session count
        in all processes."""

    def close_session(user, member):
        """Forget a session that ended."""

    def ack(user, entry_id):
        """Delivered (deliver_sm_resp ESME_ROK): acknowledge and delete the entry."""
