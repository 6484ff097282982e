"""Receipts against a fake store: what a receipt's outcome does to the records."""

from collections import Counter

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Receipt
from smpprouter.core.receipts import Receipts
from smpprouter.core.upstreams import Upstream
from smpprouter.smpp.status import Status
from smpprouter.store.interface import Mapping


class FakeStore:
    def __init__(self, mapping):
        self.mapping = mapping
        self.lookups = []
        self.states = []

    def get_mapping(self, connector, key, state=None):
        self.lookups.append((connector, key, state))
        return defer.succeed(self.mapping)

    def set_state(self, connector, message_id, state, error_code=0):
        self.states.append((connector, message_id, state))
        return defer.succeed(None)


class FakeInbox:
    def __init__(self):
        self.entries = []

    def put(self, user, entry, connector, what, answer):
        self.entries.append((user, entry))
        answer(Status.ESME_ROK)


class ReceiptTests(SynchronousTestCase):
    def receipts(self, mapping):
        self.store, self.inbox = FakeStore(mapping), FakeInbox()
        upstreams = {"b": Upstream("b", "as-is", "as-is", 1.0, 5, 3600, 10)}
        return Receipts(self.store, self.inbox, task.Clock(), upstreams, Counter())

    def test_a_final_outcome_rides_on_the_lookup(self):
        r = self.receipts(Mapping("r1", "u", "s", "d", 0.0, 1, 1))
        answers = []
        r.deliver("b", Receipt("UP1", 2, b"id:UP1 stat:DELIVRD"), answers.append)
        self.assertEqual(answers, [Status.ESME_ROK])
        self.assertEqual(self.store.lookups, [("b", "up1", "2")])
        self.assertEqual(self.store.states, [])
        [(user, entry)] = self.inbox.entries
        self.assertEqual((user, entry.message_id, entry.text), ("u", "r1", b"id:r1 stat:DELIVRD"))
        self.assertEqual(entry.tlvs["receipted_message_id"], "r1")

    def test_an_intermediate_one_records_nothing(self):
        r = self.receipts(Mapping("r1", "u", "s", "d", 0.0, 1, 1))
        r.deliver("b", Receipt("UP1", 1, b"id:UP1 stat:ENROUTE"), lambda status: None)
        self.assertEqual(self.store.lookups, [("b", "up1", None)])

    def test_sent_by_failover_its_home_record_gets_the_outcome(self):
        r = self.receipts(Mapping("r1", "u", "s", "d", 0.0, 1, 1, home="a"))
        r.deliver("b", Receipt("UP1", 5, b"id:UP1 stat:UNDELIV"), lambda status: None)
        self.assertEqual(self.store.states, [("a", "r1", "5")])


class BatchStore(FakeStore):
    """The plain forms, answered a batch at a time as the Redis store does:
    one loop over the batch's Thens."""
    save_mapping_then = None   # plain_forms: the store has them

    def __init__(self, mapping):
        super().__init__(mapping)
        self.waiting = []

    def get_mapping_then(self, then, connector, key, state=None):
        self.lookups.append((connector, key, state))
        self.waiting.append(then)

    def answer_batch(self):
        waiting, self.waiting = self.waiting, []
        for then in waiting:
            then.callback(self.mapping)


class BrokenStepTests(SynchronousTestCase):
    def test_a_step_and_its_answer_raising_leave_the_batch_to_go_on(self):
        """A bug in a step whose answer raises too is logged: the store's batch
        loop goes on, and the next receipt of the batch is relayed."""
        store, inbox = BatchStore(Mapping("r1", "u", "s", "d", 0.0, 1, 1)), FakeInbox()
        upstreams = {"b": Upstream("b", "as-is", "as-is", 1.0, 5, 3600, 10)}
        r = Receipts(store, inbox, task.Clock(), upstreams, Counter())
        put = inbox.put
        calls = []

        def first_put_breaks(*args):
            calls.append(args)
            if len(calls) == 1:
                raise RuntimeError("a bug in a step")
            put(*args)
        inbox.put = first_put_breaks

        def answer_breaks(status):
            raise RuntimeError("a bug in the answer")
        answers = []
        r.deliver("b", Receipt("UP1", 2, b"id:UP1 stat:DELIVRD"), answer_breaks)
        r.deliver("b", Receipt("UP2", 2, b"id:UP2 stat:DELIVRD"), answers.append)
        store.answer_batch()
        self.assertEqual(answers, [Status.ESME_ROK])
        self.assertEqual(len(inbox.entries), 1)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 2)
