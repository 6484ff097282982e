"""Idempotency records (store/idempotency.py): the same contract on Redis
(two stores: two router processes' connections) and on the in-memory store."""

from twisted.internet import defer, task
from twisted.trial import unittest

from smpprouter.store import idempotency
from smpprouter.store.idempotency import BUSY, DONE, MISMATCH, NEW, key, key_problem
from tests.core.memory_store import MemoryStore

from .support import StoreTestCase

BODY = b'{"response":[{"code":"1001"}]}'


class Contract:
    """The tests; self.first and self.second are two stores on the same data."""

    @defer.inlineCallbacks
    def test_the_first_claim_is_new_and_a_second_sees_it_in_progress(self):
        claim = yield self.first.claim_request("esme1", "k1", "f1", 60)
        self.assertEqual(claim.state, NEW)
        again = yield self.second.claim_request("esme1", "k1", "f1", 60)
        self.assertEqual(again.state, BUSY)

    @defer.inlineCallbacks
    def test_a_finished_request_answers_its_retries_with_its_answer(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        kept = yield self.first.finish_request("esme1", "k1", "f1", 200, BODY, 3600)
        self.assertTrue(kept)
        claim = yield self.second.claim_request("esme1", "k1", "f1", 60)
        self.assertEqual((claim.state, claim.status, claim.body), (DONE, 200, BODY))

    @defer.inlineCallbacks
    def test_the_same_key_with_another_body_is_a_mismatch(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        claim = yield self.second.claim_request("esme1", "k1", "f2", 60)
        self.assertEqual(claim.state, MISMATCH)
        yield self.first.finish_request("esme1", "k1", "f1", 200, BODY, 3600)
        claim = yield self.second.claim_request("esme1", "k1", "f2", 60)
        self.assertEqual(claim.state, MISMATCH)

    @defer.inlineCallbacks
    def test_keys_are_per_user(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        claim = yield self.second.claim_request("esme2", "k1", "f2", 60)
        self.assertEqual(claim.state, NEW)

    @defer.inlineCallbacks
    def test_a_released_claim_lets_the_retry_go_ahead(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        released = yield self.first.release_request("esme1", "k1", "f1")
        self.assertTrue(released)
        claim = yield self.second.claim_request("esme1", "k1", "f1", 60)
        self.assertEqual(claim.state, NEW)

    @defer.inlineCallbacks
    def test_release_and_finish_touch_only_their_own_claim(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        self.assertFalse((yield self.second.release_request("esme1", "k1", "f2")))
        self.assertFalse((yield self.second.finish_request("esme1", "k1", "f2", 200, b"x", 60)))
        yield self.first.finish_request("esme1", "k1", "f1", 200, BODY, 3600)
        # a finished one is not released: its answer stays for the retries
        self.assertFalse((yield self.first.release_request("esme1", "k1", "f1")))
        claim = yield self.second.claim_request("esme1", "k1", "f1", 60)
        self.assertEqual(claim.body, BODY)

    @defer.inlineCallbacks
    def test_keys_and_bodies_of_any_bytes_round_trip(self):
        body = '{"e":"é\\u0000"}'.encode() + bytes(range(256))
        yield self.first.claim_request("esmé", "~k:{x}", "f1", 60)
        yield self.first.finish_request("esmé", "~k:{x}", "f1", 422, body, 60)
        claim = yield self.second.claim_request("esmé", "~k:{x}", "f1", 60)
        self.assertEqual((claim.status, claim.body), (422, body))

    def test_a_bad_key_is_refused_before_the_store(self):
        d = self.first.claim_request("esme1", "k" * 256, "f1", 60)
        return self.assertFailure(d, ValueError)


class RedisContractTests(Contract, StoreTestCase):
    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        self.first = yield self.make_store(instance="node-1")
        self.second = yield self.make_store(instance="node-2")

    @defer.inlineCallbacks
    def test_the_record_is_one_hash_under_the_users_tag_with_its_ttls(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        name = key("esme1", "k1")
        self.assertEqual(name, b"idem:{esme1}:k1")
        self.assertTrue(50 < int(self.server.command("TTL", name)) <= 60)
        yield self.first.finish_request("esme1", "k1", "f1", 200, BODY, 86400)
        self.assertTrue(86000 < int(self.server.command("TTL", name)) <= 86400)
        self.assertEqual(self.server.command("HGET", name, "s"), "200")


class MemoryContractTests(Contract, unittest.TestCase):
    """The in-memory store follows the same contract (answers a turn later)."""

    def setUp(self):
        self.clock = task.Clock()
        self.first = self.second = _Advancing(MemoryStore(self.clock), self.clock)

    @defer.inlineCallbacks
    def test_a_claim_in_progress_ends_with_its_lease(self):
        yield self.first.claim_request("esme1", "k1", "f1", 60)
        self.clock.advance(61)
        claim = yield self.second.claim_request("esme1", "k1", "f1", 60)
        self.assertEqual(claim.state, NEW)


class _Advancing:
    """The memory store, its clock turned once after each call (its answers
    come a reactor turn later, as RedisStore's do)."""

    def __init__(self, store, clock):
        self.store, self.clock = store, clock

    def __getattr__(self, name):
        method = getattr(self.store, name)

        def call(*args):
            d = method(*args)
            self.clock.advance(0)
            return d
        return call


class KeyTests(unittest.SynchronousTestCase):
    def test_what_a_key_may_be(self):
        self.assertIsNone(key_problem("a" * idempotency.MAX_KEY))
        self.assertIsNone(key_problem("order-42 ~!@#"))
        self.assertIn("at most 255", key_problem("a" * 256))
        self.assertIn("empty", key_problem(""))
        self.assertIn("printable", key_problem("é"))
        self.assertIn("printable", key_problem("a\tb"))
