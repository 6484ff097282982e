"""The outbound Drainer against an in-memory store and fake connectors, on a fake clock:
what each upstream answer does to a queued message, in milliseconds."""

from collections import Counter
from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.codec import Queued, encode_queued
from smpprouter.core.messages import Submission
from smpprouter.core.outbound import Drainer
from smpprouter.core.upstreams import Upstream
from smpprouter.protocol.base import SessionClosed
from smpprouter.protocol.smsc import Unsendable
from smpprouter.smpp.receipt import MessageState
from smpprouter.smpp.status import Status
from smpprouter.store.interface import SENT, Outbound

SETTINGS = SimpleNamespace(batch=10, retry_min=1.0, retry_max=8.0, schedule_interval=1.0)


class FakeStore:
    def __init__(self):
        self.stream = []          # Outbound entries not yet taken
        self.finished = []        # (entry id, state, error_code, upstream id)
        self.mappings = []
        self.homes = []
        self.touched = []
        self.moved = 0
        self.expiring = []        # (message id, blob) expire_due hands out next
        self.expired = []

    def add(self, queued):
        entry = Outbound("%d-0" % len(self.stream), "out", queued.message_id,
                         encode_queued(queued))
        self.stream.append(entry)
        return entry

    def subscribe_outbound(self, name, callback):
        return defer.succeed(None)

    def unsubscribe_outbound(self, name):
        return defer.succeed(None)

    def pending_outbound(self, name, consumer, count):
        return defer.succeed([])

    def take_outbound(self, name, consumer, count):
        batch, self.stream = self.stream[:count], self.stream[count:]
        return defer.succeed(batch)

    def reclaim_outbound(self, *args):
        return defer.succeed([])

    def move_due(self, name, now, count):
        self.moved += 1
        return defer.succeed(0)

    def expire_due(self, name, now, lease, count):
        found, self.expiring = self.expiring, []
        return defer.succeed(found)

    def finish_expired(self, name, message_ids, error_code=0):
        self.expired += list(message_ids)
        return defer.succeed(None)

    def touch_outbound(self, name, consumer, entries):
        self.touched.append(sorted(e.entry_id for e in entries))
        return defer.succeed(None)

    def finish_outbound(self, name, entry, state, error_code=0, upstream_id=""):
        self.finished.append((entry.entry_id, state, error_code, upstream_id))
        return defer.succeed(None)

    def save_mapping(self, connector, key, mapping, ttl, record=False):
        self.mappings.append((connector, key, mapping.message_id))
        self.homes.append(mapping.home)
        return defer.succeed(None)


class FakeReceipts:
    def __init__(self):
        self.own_receipts = []

    def own(self, queued, state, err=0):
        self.own_receipts.append((queued.message_id, int(state), err))
        return defer.succeed(None)


class FakeConnector:
    """Answers each submit with the next scripted answer: a (status, id) or an exception."""

    def __init__(self, name, answers=()):
        self.name = name
        self.up = True
        self.answers = list(answers)
        self.sent = []
        self.waiting = []

    def submit(self, submission):
        self.sent.append(submission)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                return defer.fail(answer)
            return defer.succeed(answer)
        d = defer.Deferred()
        self.waiting.append(d)
        return d


def upstream(name, capacity=10):
    return Upstream(name, "as-is", "as-is", 1.0, 5, 3600, capacity)


def queued(i=0, routes=("a",), validity=1000.0, registered_delivery=1):
    s = Submission("u", "src", "1555000%04d" % i, b"m%d" % i,
                   registered_delivery=registered_delivery, validity=validity)
    return Queued("id%d" % i, 0.0, tuple(routes), s)


class DrainerTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.store = FakeStore()
        self.receipts = FakeReceipts()
        self.counters = Counter()
        self.connectors = {"a": FakeConnector("a"), "b": FakeConnector("b")}
        self.upstreams = {"a": upstream("a"), "b": upstream("b")}

    def drainer(self, capacity=10):
        self.upstreams["a"] = upstream("a", capacity)
        d = Drainer("a", self.store, self.clock, "me", self.connectors, self.upstreams,
                    self.receipts, SETTINGS, 30, self.counters)
        d.start()
        self.addCleanup(d.stop)
        return d

    def test_rok_stores_the_mapping_then_finishes_as_sent(self):
        self.connectors["a"].answers = [(Status.ESME_ROK, "up1")]
        entry = self.store.add(queued())
        drainer = self.drainer()
        drainer.tick()
        self.assertEqual(self.store.mappings, [("a", "up1", "id0")])
        self.assertEqual(self.store.finished, [(entry.entry_id, SENT, 0, "up1")])
        self.assertEqual(drainer.held, {})

    def test_no_receipt_asked_no_mapping(self):
        self.connectors["a"].answers = [(Status.ESME_ROK, "up1")]
        self.store.add(queued(registered_delivery=0))
        self.drainer().tick()
        self.assertEqual(self.store.mappings, [])
        self.assertEqual(len(self.store.finished), 1)

    def test_throttled_slows_down_and_sends_again_never_fails(self):
        a = self.connectors["a"]
        a.answers = [(Status.ESME_RTHROTTLED, ""), (Status.ESME_RTHROTTLED, ""),
                     (Status.ESME_ROK, "UP")]
        self.store.add(queued())
        drainer = self.drainer()
        drainer.tick()
        self.assertEqual(len(a.sent), 1)
        self.clock.advance(0.99)
        self.assertEqual(len(a.sent), 1)          # paused for retry_min
        self.clock.advance(0.01)
        self.assertEqual(len(a.sent), 2)
        self.clock.advance(1.99)
        self.assertEqual(len(a.sent), 2)          # the back-off doubled
        self.clock.advance(0.01)
        self.assertEqual(len(a.sent), 3)
        self.assertEqual([f[1] for f in self.store.finished], [SENT])
        self.assertEqual(self.receipts.own_receipts, [])
        self.assertEqual(self.counters["outbound_throttled"], 2)

    def test_a_lost_bind_tries_the_next_route(self):
        self.connectors["a"].answers = [SessionClosed("gone")]
        self.connectors["b"].answers = [(Status.ESME_ROK, "b1")]
        self.store.add(queued(routes=("a", "b")))
        self.drainer().tick()
        self.assertEqual(self.store.mappings, [("b", "b1", "id0")])
        self.assertEqual(self.store.homes, ["a"])   # its record stays in a's slot
        self.assertEqual([f[1] for f in self.store.finished], [SENT])

    def test_no_route_left_waits_and_retries_from_the_first(self):
        a = self.connectors["a"]
        a.answers = [SessionClosed("gone"), (Status.ESME_ROK, "A2")]
        self.store.add(queued())
        self.drainer().tick()
        self.assertEqual(self.store.finished, [])
        self.clock.advance(1.0)
        self.assertEqual(len(a.sent), 2)
        self.assertEqual([f[1] for f in self.store.finished], [SENT])

    def test_a_permanent_error_rejects_with_our_receipt_first(self):
        self.connectors["a"].answers = [(Status.ESME_RINVDSTADR, "")]
        entry = self.store.add(queued())
        self.drainer().tick()
        self.assertEqual(self.receipts.own_receipts,
                         [("id0", MessageState.REJECTED, Status.ESME_RINVDSTADR)])
        self.assertEqual(self.store.finished,
                         [(entry.entry_id, "8", Status.ESME_RINVDSTADR, "")])

    def test_unsendable_on_the_last_route_rejects(self):
        self.connectors["a"].answers = [Unsendable(Status.ESME_RINVMSGLEN)]
        self.store.add(queued())
        self.drainer().tick()
        self.assertEqual(self.receipts.own_receipts,
                         [("id0", MessageState.REJECTED, Status.ESME_RINVMSGLEN)])

    def test_validity_passed_expires_without_sending(self):
        self.store.add(queued(validity=0.5))
        self.clock.advance(1.0)
        self.drainer().tick()
        self.assertEqual(self.connectors["a"].sent, [])
        self.assertEqual(self.receipts.own_receipts, [("id0", MessageState.EXPIRED, 16)])
        self.assertEqual([f[1] for f in self.store.finished], ["3"])

    def test_never_more_in_flight_than_the_binds_windows(self):
        for i in range(25):
            self.store.add(queued(i))
        drainer = self.drainer(capacity=4)
        drainer.tick()
        a = self.connectors["a"]
        self.assertEqual(len(a.sent), 4)
        a.waiting.pop(0).callback((Status.ESME_ROK, "x"))
        self.assertEqual(len(a.sent), 5)
        while a.waiting:
            a.waiting.pop(0).callback((Status.ESME_ROK, "x"))
        self.assertEqual(len(a.sent), 25)
        self.assertEqual(len(self.store.finished), 25)

    def test_nothing_is_taken_while_the_connector_is_down(self):
        self.store.add(queued())
        self.connectors["a"].up = False
        drainer = self.drainer()
        drainer.tick()
        self.assertEqual(len(self.store.stream), 1)
        self.assertEqual(self.store.moved, 1)      # schedules still move
        self.connectors["a"].up = True
        self.connectors["a"].answers = [(Status.ESME_ROK, "x")]
        drainer.tick()
        self.assertEqual(len(self.store.finished), 1)

    def test_what_is_held_keeps_its_idle_time_fresh(self):
        self.store.add(queued())
        drainer = self.drainer()
        drainer.tick()                 # sent, no answer yet
        self.clock.pump([1.0] * 10)    # claim_idle 30: every 10 ticks
        self.assertEqual(self.store.touched[-1], ["0-0"])

    def test_what_expires_while_queued_ends_with_our_receipt_bind_up_or_not(self):
        self.connectors["a"].up = False      # nobody could take it
        q = queued(validity=0.5)
        self.store.expiring = [(q.message_id, encode_queued(q))]
        self.drainer().tick()
        self.assertEqual(self.receipts.own_receipts, [("id0", MessageState.EXPIRED, 16)])
        self.assertEqual(self.store.expired, ["id0"])

    def test_held_while_no_bind_is_up_it_expires_here(self):
        self.connectors["a"].up = False
        entry = self.store.add(queued(validity=5.0))
        self.store.stream = []
        drainer = self.drainer()
        drainer._fill([entry])                 # taken when a bind was up, held since
        self.clock.advance(6.0)
        drainer.tick()
        self.assertEqual(self.receipts.own_receipts, [("id0", MessageState.EXPIRED, 16)])
        self.assertEqual([f[1] for f in self.store.finished], ["3"])
