"""A call's answer without a Deferred: Then(done, failed, broken, args).

The hot paths (a PDU's response to the request that waits for it, the store's
four calls per message and receipt) have exactly one waiter each. A Deferred,
its addCallbacks and its firing cost several times the call itself; a Then
holds the caller's two callbacks and their arguments: done(result, *args) or
failed(Failure, *args), once. It has what the protocol's sessions and the
store's batches need of a Deferred (callback, errback, called), so either may
hold one or the other.

What done or failed raises goes to broken(Failure, *args) (logged when there
is none), never into the protocol or the store's reply handling that called
it, which must go on to the next PDU or the next caller of the batch.
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

