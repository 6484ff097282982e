"""The write side of users' delivery queues: what the receipts and MO paths hand a user.

An entry is safe once it is in Redis; only then does the upstream hear
ESME_ROK. Anything else (the user's queue is full, Redis is away) answers a
temporary error, so the upstream keeps the receipt or MO and sends it again.

Each user has two queues: its SMPP queue (the user's name), read by its
receiver sessions, and its webhook queue ("hook:" + the name; a user name
cannot hold ":"), read by the HTTP face's webhook sender. A receipt goes to the
webhook queue when its message named a notifyurl (the HTTP face keeps it in
the message's reference) or the user has a dlr_url; an MO when the user has
an mo_url. Both queues are the same kind of stream, with the same guarantees.
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..smpp.status import Status
from ..store.errors import QueueFull, StoreUnavailable
from ..store.then import plain_forms
from .codec import encode_entry
from .messages import Receipt

# an enum member read from the class costs ~120 ns (3.11's descriptor); once here
_ROK = Status.ESME_ROK

WEBHOOK_PREFIX = "hook:"
# The HTTP face's references are JSON objects; this key names a message's own
# webhook URL (http/meta.py writes it only when there is one).
NOTIFY_KEY = '"notifyurl"'


def webhook_queue(user: str) -> str:
    """The name of user's webhook queue (the store makes it dlv:{hook:user})."""
    return WEBHOOK_PREFIX + user


def queue_for(users, user, entry) -> str:
    """The queue an entry for user goes to: its webhook queue or its SMPP one."""
    account = users.get(user)
    if account is None:
        return user
    if type(entry) is Receipt:
        reference = entry.reference
        if account.dlr_url or (reference and NOTIFY_KEY in reference):
            return WEBHOOK_PREFIX + user
    elif account.mo_url:
        return WEBHOOK_PREFIX + user
    return user


class Inbox:
    log = Logger()

    def __init__(self, store, counters, users=None):
        self.store = store
        self.plain = plain_forms(store)   # the hot calls without a Deferred (store/then.py)
        self.counters = counters
        self.users = users if users is not None else {}   # name -> config.User
        self.spooling = None   # while Redis is away, entries go to local disk (Core.use_spool)
        # users whose receipts are written their own way (config.User.receipt_profile)
        self.profiles = {name: u.receipt_profile for name, u in self.users.items()
                         if getattr(u, "receipt_profile", None) is not None}

    def restyled(self, user, receipt):
        """receipt (the core's, changed in place) in user's receipt profile."""
        profile = self.profiles.get(user)
        if profile is not None and receipt.text:
            receipt.text = profile.apply(receipt.text)
        return receipt

    def seconds(self, user):
        """Whether the router's own receipts for user give their dates' seconds."""
        profile = self.profiles.get(user)
        return profile is not None and profile.seconds

    def put(self, user, entry, connector, what, answer):
        """answer(status for the upstream) once entry is queued for user, or not."""
        if self.profiles and type(entry) is Receipt:   # one test when nobody has one
            self.restyled(user, entry)
        queue = queue_for(self.users, user, entry)
        self.plain.enqueue_then(_Put(self, connector, what, queue, entry, answer), queue,
                                encode_entry(entry))

    def put_all(self, queue, payloads, connector, what, done, args):
        """done(status for the upstream, *args) once every encoded entry is in
        queue (issued in one turn: one script), or not. Used for the parts of a
        concatenated MO (core/moparts.py); not spooled: a set not queued is
        claimed again after its lease."""
        ds = [self.store.enqueue(queue, payload) for payload in payloads]
        d = ds[0] if len(ds) == 1 else defer.gatherResults(ds, consumeErrors=True)
        d.addCallbacks(self._all_queued, self._not_all_queued, (done, args), None,
                       (connector, what, queue, done, args))

    @staticmethod
    def _all_queued(_, done, args):
        done(_ROK, *args)

    def _not_all_queued(self, failure, connector, what, queue, done, args):
        if failure.check(defer.FirstError):
            failure = failure.value.subFailure
        done(self._refusal(failure, connector, what, queue), *args)

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


class _Put:
    """An entry waiting for its enqueue: the store's Then, the entry's state in
    slots (a Then and its argument tuple cost ~0.1 us more on the path every
    receipt takes). What answer raises is logged, as a Then without broken."""
    __slots__ = ("inbox", "connector", "what", "queue", "entry", "answer", "called")

    def __init__(self, inbox, connector, what, queue, entry, answer):
        self.inbox = inbox
        self.connector = connector
        self.what = what
        self.queue = queue
        self.entry = entry
        self.answer = answer
        self.called = False

    def callback(self, _):
        self.called = True
        try:
            self.answer(_ROK)
        except Exception:
            _log.failure("a store call's answer could not be handled")

    def errback(self, error=None):
        self.called = True
        try:
            self.inbox._not_queued(error if isinstance(error, Failure) else Failure(error),
                                   self.connector, self.what, self.queue, self.entry,
                                   self.answer)
        except Exception:
            _log.failure("a store call's answer could not be handled")


_log = Logger()
