"""What the store tests share: a real redis-server and stores wired to it."""

import time

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from smpprouter.store.redis import RedisStore
from tests.redis_server import shared


def wait_for(predicate, timeout=5.0, interval=0.01):
    """Deferred firing once predicate() is true; fails after timeout (a bounded
    retry, for conditions that arrive over a socket we don't hold)."""
    deadline = time.monotonic() + timeout

    @defer.inlineCallbacks
    def poll():
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s")
            yield task.deferLater(reactor, interval, lambda: None)
    return poll()


@defer.inlineCallbacks
def retry_until_ok(call, timeout=10.0, interval=0.05):
    """call() -> Deferred, retried until it succeeds or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = yield call()
        except Exception:
            if time.monotonic() > deadline:
                raise
            yield task.deferLater(reactor, interval, lambda: None)
        else:
            return result


class StoreTestCase(unittest.TestCase):
    """Each test starts on an empty database of this process's shared server."""

    timeout = 60

    def setUp(self):
        self.server = shared()
        self.server.command("FLUSHALL")

    @defer.inlineCallbacks
    def make_store(self, server=None, **kwargs):
        server = server or self.server
        store = RedisStore(server.host, server.port, **kwargs)
        yield store.start()
        self.addCleanup(store.stop)
        return store
