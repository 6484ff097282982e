"""Leases on a real Redis: one holder at a time, renewed by it, free after its ttl."""

from twisted.internet import defer

from .support import StoreTestCase, retry_until_ok


class LeaseTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_one_holder_renewal_release_and_expiry(self):
        store = yield self.make_store()
        self.assertTrue((yield store.lease("hook:esme1", "a", 10_000)))
        self.assertFalse((yield store.lease("hook:esme1", "b", 10_000)))
        self.assertTrue((yield store.lease("hook:esme1", "a", 10_000)))   # renewed
        self.assertTrue((yield store.lease("hook:esme2", "b", 10_000)))   # per queue
        self.assertEqual(self.server.command("GET", "hookl:{hook:esme1}"), "a")
        yield store.release("hook:esme1", "b")                             # not b's
        self.assertFalse((yield store.lease("hook:esme1", "b", 10_000)))
        yield store.release("hook:esme1", "a")
        self.assertTrue((yield store.lease("hook:esme1", "b", 100)))
        self.assertGreater(int(self.server.command("PTTL", "hookl:{hook:esme1}")), 0)

        def taken():
            d = store.lease("hook:esme1", "a", 10_000)
            return d.addCallback(lambda ok: ok or defer.fail(AssertionError("still b's")))
        yield retry_until_ok(taken, timeout=5.0, interval=0.05)   # b's lapsed after 100 ms
