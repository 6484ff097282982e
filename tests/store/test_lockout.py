"""The bind lockout's counts in a real Redis, shared by two stores (two router
processes): a lockout one of them sets holds in the other, and ends."""

from twisted.internet import defer

from smpprouter.store.lockout import fail_key, lock_key

from .support import StoreTestCase


class LockoutStoreTests(StoreTestCase):
    @defer.inlineCallbacks
    def test_failures_in_two_processes_add_up_and_the_lock_is_seen_by_both(self):
        a = yield self.make_store()
        b = yield self.make_store()
        subject = "ip:192.0.2.7"
        self.assertFalse((yield a.bind_failed(subject, 3, 60, 300)))
        self.assertFalse((yield b.bind_failed(subject, 3, 60, 300)))
        self.assertTrue((yield a.bind_failed(subject, 3, 60, 300)))    # the third sets it
        self.assertFalse((yield b.bind_failed(subject, 3, 60, 300)))   # logged once only
        for store in (a, b):
            [remaining, other] = yield store.lockout([subject, "id:esme1"])
            self.assertTrue(299 < remaining <= 300, remaining)
            self.assertEqual(other, 0.0)
        self.assertEqual(self.server.command("EXISTS", fail_key(subject).decode()), 0)

    @defer.inlineCallbacks
    def test_keys_carry_the_subject_as_hash_tag_and_expire(self):
        store = yield self.make_store()
        yield store.bind_failed("id:esme1", 5, 60, 300)
        key = fail_key("id:esme1").decode()
        self.assertEqual(key, "bfail:{id:esme1}")
        self.assertTrue(55 <= self.server.command("TTL", key) <= 60)
        yield store.bind_succeeded("id:esme1")
        self.assertEqual(self.server.command("EXISTS", key), 0)
        self.assertEqual(lock_key("ip:::1"), b"block:{ip:::1}")

    @defer.inlineCallbacks
    def test_a_lock_ends(self):
        store = yield self.make_store()
        yield store.bind_failed("ip:10.0.0.1", 1, 60, 300)
        self.server.command("PEXPIRE", lock_key("ip:10.0.0.1").decode(), 1)
        yield self.wait_gone(lock_key("ip:10.0.0.1").decode())
        self.assertEqual((yield store.lockout(["ip:10.0.0.1"])), [0.0])

    def wait_gone(self, key):
        from .support import wait_for
        return wait_for(lambda: self.server.command("EXISTS", key) == 0)
