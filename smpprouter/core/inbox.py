"""The write side of users' delivery queues: what the receipts and MO paths hand a user.

An entry is safe once it is in Redis; only then does the upstream hear
ESME_ROK. Anything else (the user's queue is full, Redis is away) answers a
temporary error, so the upstream keeps the receipt or MO and sends it again.
"""

from twisted.logger import Logger

from ..smpp.status import Status
from ..store.errors import QueueFull, StoreUnavailable
from .codec import encode_entry


class Inbox:
    log = Logger()

    def __init__(self, store, counters):
        self.store = store
        self.counters = counters
        self.spooling = None   # while Redis is away, entries go to local disk (Core.use_spool)

    def put(self, user, entry, connector, what, answer):
        """answer(status for the upstream) once entry is queued for user, or not."""
        self.store.enqueue(user, encode_entry(entry)).addCallbacks(
            _queued, self._not_queued, (answer,), None, (connector, what, user, entry, answer))

    def _not_queued(self, failure, connector, what, user, entry, answer):
        if failure.check(StoreUnavailable) and self.spooling is not None:
            self.spooling.keep_entry(user, entry, answer)
            return
        answer(self._refusal(failure, connector, what, user))

    def _refusal(self, failure, connector, what, user):
        if failure.check(QueueFull):
            self.counters["queue_full"] += 1
            self.log.warn("{connector}: {what} for {user} refused, their queue is full "
                          "(max_queue); the upstream will send it again",
                          connector=connector, what=what, user=user)
        else:
            self.log.error("{connector}: {what} for {user} not queued: {error}",
                           connector=connector, what=what, user=user,
                           error=failure.getErrorMessage())
        return Status.ESME_RX_T_APPN


def _queued(_, answer):
    answer(Status.ESME_ROK)
