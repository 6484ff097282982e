"""store/then.py: a hot store call's answer without a Deferred."""

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.trial import unittest

from smpprouter.store.then import Then, plain_forms


class ThenTests(unittest.TestCase):
    def setUp(self):
        self.seen = []

    def done(self, result, *args):
        self.seen.append(("done", result, args))

    def failed(self, failure, *args):
        self.seen.append(("failed", failure.value, args))

    def broken(self, failure, *args):
        self.seen.append(("broken", failure.value, args))

    def test_a_result_goes_to_done_with_the_args(self):
        then = Then(self.done, self.failed, self.broken, (1, "a"))
        self.assertFalse(then.called)
        then.callback("x")
        self.assertTrue(then.called)
        self.assertEqual(self.seen, [("done", "x", (1, "a"))])

    def test_an_exception_goes_to_failed_as_a_failure(self):
        error = ValueError("no")
        then = Then(self.done, self.failed, self.broken, (2,))
        then.errback(error)
        self.assertTrue(then.called)
        self.assertEqual(self.seen, [("failed", error, (2,))])
        then = Then(self.done, self.failed)
        then.errback(Failure(KeyError("k")))
        self.assertIsInstance(self.seen[-1][1], KeyError)

    def test_what_done_raises_goes_to_broken_not_to_the_caller(self):
        def done(result, *args):
            raise RuntimeError("bug")
        then = Then(done, self.failed, self.broken, (3,))
        then.callback(None)   # does not raise
        self.assertEqual(len(self.seen), 1)
        kind, error, args = self.seen[0]
        self.assertEqual((kind, args), ("broken", (3,)))
        self.assertIsInstance(error, RuntimeError)

    def test_without_broken_what_done_raises_is_logged(self):
        def done(result):
            raise RuntimeError("bug")
        Then(done, self.failed).callback(None)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_what_broken_raises_is_logged(self):
        def raising(*args):
            raise RuntimeError("bug")
        Then(raising, self.failed, raising).callback(None)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class _DeferredStore:
    """A store with only the Deferred forms (like the tests' fakes)."""

    def __init__(self):
        self.calls = []

    def _answer(self, name, *args):
        self.calls.append((name,) + args)
        if args[-1] == "fail":
            return defer.fail(ValueError(name))
        return defer.succeed(name)

    def save_mapping(self, connector, upstream_id, mapping, ttl, record=False):
        return self._answer("save", connector, upstream_id, mapping, ttl, record)

    def get_mapping(self, connector, upstream_id, state=None):
        return self._answer("get", connector, upstream_id, state)

    def enqueue(self, user, payload):
        return self._answer("enqueue", user, payload)

    def ack(self, user, entry_id):
        return self._answer("ack", user, entry_id)


class PlainFormsTests(unittest.TestCase):
    def test_a_store_with_the_plain_forms_is_used_as_it_is(self):
        class Store:
            def save_mapping_then(self, then, *args):
                pass
        store = Store()
        self.assertIs(plain_forms(store), store)

    def test_a_deferred_only_store_is_adapted(self):
        store = _DeferredStore()
        plain = plain_forms(store)
        seen = []

        def then():
            return Then(lambda r: seen.append(r), lambda f: seen.append(f.value))
        plain.save_mapping_then(then(), "c", "u1", "m", 60, True)
        plain.get_mapping_then(then(), "c", "u1", "2")
        plain.enqueue_then(then(), "user", b"p")
        plain.ack_then(then(), "user", "fail")
        self.assertEqual(store.calls, [("save", "c", "u1", "m", 60, True),
                                       ("get", "c", "u1", "2"), ("enqueue", "user", b"p"),
                                       ("ack", "user", "fail")])
        self.assertEqual(seen[:3], ["save", "get", "enqueue"])
        self.assertIsInstance(seen[3], ValueError)
