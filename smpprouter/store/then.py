"""The hot store calls' answers without a Deferred.

Every message and receipt makes four store calls (save_mapping, get_mapping,
enqueue, ack) whose answer only the caller waits for. A Deferred, its
addCallbacks and its firing cost several times the call itself, so RedisStore
also takes these calls in a plain form, `<call>_then(then, *args)`, and hands
the result to a Then: done(result, *args) or failed(Failure, *args), once.
The Deferred forms stay (one Deferred each) for every other caller.

Then has what the store's batches need of a Deferred (callback, errback,
called), so one batch holds either. What done or failed raises goes to
broken(Failure, *args) (logged when there is none), never into the store's
reply handling, which must go on to the next caller of the batch.

A store without the plain forms (the tests' fakes) is called through
`plain_forms(store)`, which adapts its Deferred forms.
"""

from twisted.logger import Logger
from twisted.python.failure import Failure

_log = Logger()


class Then:
    __slots__ = ("done", "failed", "broken", "args", "called")

    def __init__(self, done, failed, broken=None, args=()):
        self.done = done
        self.failed = failed
        self.broken = broken
        self.args = args
        self.called = False

    def callback(self, result):
        self.called = True
        try:
            self.done(result, *self.args)
        except Exception:
            self._broke()

    def errback(self, error=None):
        self.called = True
        try:
            self.failed(error if isinstance(error, Failure) else Failure(error), *self.args)
        except Exception:
            self._broke()

    def _broke(self):
        reason = Failure()
        if self.broken is not None:
            try:
                self.broken(reason, *self.args)
                return
            except Exception:
                reason = Failure()
        _log.failure("a store call's answer could not be handled", reason)


class _DeferredForms:
    """The plain forms over a store that has only the Deferred ones."""

    def __init__(self, store):
        self._store = store

    def save_mapping_then(self, then, connector, upstream_id, mapping, ttl, record=False):
        self._store.save_mapping(connector, upstream_id, mapping, ttl, record).addCallbacks(
            then.callback, then.errback)

    def get_mapping_then(self, then, connector, upstream_id, state=None):
        self._store.get_mapping(connector, upstream_id, state).addCallbacks(
            then.callback, then.errback)

    def enqueue_then(self, then, user, payload):
        self._store.enqueue(user, payload).addCallbacks(then.callback, then.errback)

    def ack_then(self, then, user, entry_id):
        self._store.ack(user, entry_id).addCallbacks(then.callback, then.errback)


def plain_forms(store):
    """What the core makes its hot calls on: the store itself when it has the
    plain forms, else an adapter over its Deferred forms."""
    if hasattr(store, "save_mapping_then"):
        return store
    return _DeferredForms(store)
