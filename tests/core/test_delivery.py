"""The delivery manager against a fake store and fake sessions, on a fake clock."""

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.codec import encode_entry
from smpprouter.smpp import adapt, codec
from smpprouter.core.delivery import Deliveries
from smpprouter.core.messages import Inbound
from smpprouter.smpp.status import Status
from smpprouter.store.interface import Delivery


class FakeStore:
    """A user's queue: entries not yet taken, and what each consumer took."""

    def __init__(self, entries=(), pending=()):
        self.fresh = list(entries)
        self.taken = list(pending)
        self.acked = []
        self.touched = []
        self.callbacks = {}

    def subscribe(self, user, callback):
        self.callbacks[user] = callback
        return defer.succeed(None)

    def unsubscribe(self, user):
        self.callbacks.pop(user, None)

    def pending(self, user, consumer, count):
        return defer.succeed(self.taken[:count])

    def claim(self, user, consumer, count):
        batch, self.fresh = self.fresh[:count], self.fresh[count:]
        self.taken += batch
        return defer.succeed(batch)

    def reclaim(self, user, consumer, min_idle_ms, count):
        return defer.succeed([])

    def ack(self, user, entry_id):
        self.acked.append(entry_id)
        return defer.succeed(None)

    def touch(self, user, consumer, entry_ids):
        self.touched.append(sorted(entry_ids))
        return defer.succeed(None)


class FakeSession:
    receiving = True

    def __init__(self, user="u", window=10, answer=Status.ESME_ROK):
        self.user = user
        self.window = window
        self.answer = answer
        self.inflight = []
        self.sent = []

    def can_send(self):
        return len(self.inflight) < self.window

    def deliver(self, entry, reply=None):
        d = defer.Deferred() if reply is None else reply
        self.inflight.append(d)
        self.sent.append(entry)
        return d

    def deliver_rendered(self, data, reply=None):
        return self.deliver(("rendered", data), reply)

    def answer_all(self):
        while self.inflight:
            self.inflight.pop(0).callback(type("Resp", (), {"command_status": self.answer}))


def entries(start, count):
    return [Delivery("%d-0" % i, encode_entry(Inbound("smsc", "1555", "12345", b"p%d" % i)))
            for i in range(start, start + count)]


class DeliveriesTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()

    def drain(self, session, rounds=1000):
        for _ in range(rounds):
            if not session.inflight:
                return
            session.answer_all()

    def test_restart_with_a_big_pending_list_also_reads_the_rest(self):
        # A restarted process took 115 entries before it died; 885 more wait.
        store = FakeStore(entries(115, 885), pending=entries(0, 115))
        deliveries = Deliveries(store, self.clock, "c", batch=100)
        session = FakeSession()
        deliveries.attach(session)
        self.drain(session)
        self.assertEqual(len(store.acked), 1000)
        self.assertEqual(len(set(store.acked)), 1000)

    def test_a_bug_answering_is_logged_not_raised_into_the_session(self):
        store = FakeStore(entries(0, 1))
        deliveries = Deliveries(store, self.clock, "c")
        session = FakeSession()
        deliveries.attach(session)

        def broken(*args):
            raise RuntimeError("bug")
        self.patch(deliveries, "_done", broken)
        session.answer_all()   # the answer's PDU arrives; nothing escapes to the protocol
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual(store.acked, [])   # still pending in Redis: taken again later

    def test_refused_delivery_is_retried_after_a_backoff(self):
        store = FakeStore(entries(0, 1))
        deliveries = Deliveries(store, self.clock, "c")
        session = FakeSession(answer=Status.ESME_RX_T_APPN)
        deliveries.attach(session)
        session.answer_all()
        self.assertEqual(len(session.sent), 1)
        self.clock.advance(1.0)
        self.assertEqual(len(session.sent), 2)
        session.answer = Status.ESME_ROK
        session.answer_all()
        self.assertEqual(store.acked, ["0-0"])

    def test_a_permanent_refusal_ends_the_delivery(self):
        for status in (Status.ESME_RX_P_APPN, Status.ESME_RX_R_APPN):
            store = FakeStore(entries(0, 1))
            deliveries = Deliveries(store, self.clock, "c")
            session = FakeSession(answer=status)
            deliveries.attach(session)
            session.answer_all()
            self.assertEqual(store.acked, ["0-0"])
            self.clock.advance(120)
            self.assertEqual(len(session.sent), 1)   # never sent again
            self.assertEqual((deliveries.counters["ended"], deliveries.counters["refused"],
                              deliveries.counters["acked"]), (1, 1, 0))
            self.assertEqual(deliveries._users["u"].held, set())
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_temporary_and_unknown_refusals_are_retried(self):
        for status in (Status.ESME_RX_T_APPN, Status.ESME_RTHROTTLED, Status.ESME_RSYSERR,
                       0x400):
            store = FakeStore(entries(0, 1))
            deliveries = Deliveries(store, self.clock, "c")
            session = FakeSession(answer=status)
            deliveries.attach(session)
            session.answer_all()
            self.clock.advance(1.0)
            self.assertEqual((len(session.sent), store.acked, deliveries.counters["ended"]),
                             (2, [], 0))

    def test_a_session_that_cannot_take_it_does_not_lose_it(self):
        store = FakeStore(entries(0, 3))
        deliveries = Deliveries(store, self.clock, "c")
        session = FakeSession()
        session.receiving = False   # unbinding
        deliveries.attach(session)
        self.assertEqual(session.sent, [])
        self.assertEqual(store.acked, [])
        other = FakeSession()
        deliveries.attach(other)
        other.answer_all()
        self.assertEqual(len(store.acked), 3)

    def test_reclaimed_entries_already_held_are_not_sent_twice(self):
        store = FakeStore(entries(0, 2))
        deliveries = Deliveries(store, self.clock, "c")
        session = FakeSession()
        deliveries.attach(session)
        store.reclaim = lambda *a: defer.succeed(entries(0, 2))   # ours, still in flight
        deliveries.sweep()
        self.assertEqual(len(session.sent), 2)

    def test_held_entries_keep_their_idle_time_fresh(self):
        # Held past claim_idle (a retry wait, a slow session) they would be
        # reclaimed by another process and delivered twice.
        store = FakeStore(entries(0, 2))
        deliveries = Deliveries(store, self.clock, "c", claim_idle=30.0)
        deliveries.start()
        self.addCleanup(deliveries.stop)
        session = FakeSession(answer=Status.ESME_RX_T_APPN)
        deliveries.attach(session)
        session.answer_all()          # refused: both wait for a retry
        self.clock.advance(10.0)      # a sweep, within claim_idle / 3
        self.assertEqual(store.touched, [["0-0", "1-0"]])
        session.answer = Status.ESME_ROK
        self.drain(session)
        self.clock.advance(10.0)
        self.assertEqual(store.touched, [["0-0", "1-0"]])   # nothing held: nothing to touch

    def test_sessions_get_the_stored_rendering_or_the_entry_as_data(self):
        long_source = Inbound("smsc", "1" * 30, "12345", b"p1")   # beyond a deliver_sm
        store = FakeStore(entries(0, 1) + [Delivery("1-0", encode_entry(long_source))])
        deliveries = Deliveries(store, self.clock, "c")
        session = FakeSession()
        deliveries.attach(session)
        rendered = codec.encode(adapt.deliver_pdu(Inbound("smsc", "1555", "12345", b"p0")))
        self.assertEqual(session.sent, [("rendered", rendered), long_source])

    def test_an_entry_no_session_can_take_is_dropped_not_held_forever(self):
        store = FakeStore([Delivery("0-0", b"[\"?\"]")] + entries(1, 1))
        deliveries = Deliveries(store, self.clock, "c")
        session = FakeSession()
        deliveries.attach(session)
        session.answer_all()
        self.assertEqual(sorted(store.acked), ["0-0", "1-0"])
        self.assertEqual(len(session.sent), 1)
        self.flushLoggedErrors()


class HandingStore(FakeStore):
    """A FakeStore that, like RedisStore, can hand new entries to this process."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.here = {}

    def deliver_here(self, user, taker):
        if taker is None:
            self.here.pop(user, None)
        else:
            self.here[user] = taker


class HandOverTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.store = HandingStore()
        self.deliveries = Deliveries(self.store, self.clock, "c", batch=10)

    def test_a_user_with_a_session_here_takes_what_fits_its_backlog(self):
        session = FakeSession(window=3)
        self.deliveries.attach(session)
        taker = self.store.here["u"]
        self.assertEqual(taker.consumer, "c")
        self.assertEqual(taker.room(), 10)
        taker.take(entries(0, 5))
        self.assertEqual(len(session.sent), 3)       # the window; 2 wait in the backlog
        self.assertEqual(taker.room(), 8)
        taker.take(entries(3, 4))                    # 3 and 4 held already: not twice
        session.answer_all()
        session.answer_all()
        session.answer_all()
        self.assertEqual(sorted(self.store.acked), sorted("%d-0" % i for i in range(7)))

    def test_the_user_leaving_ends_the_hand_over(self):
        session = FakeSession()
        self.deliveries.attach(session)
        taker = self.store.here["u"]
        self.deliveries.detach(session)
        self.assertNotIn("u", self.store.here)
        self.assertEqual(taker.room(), 0)
        taker.take(entries(0, 1))   # answered late: left pending, nothing sent
        self.assertEqual(session.sent, [])

    def test_stop_ends_every_hand_over(self):
        self.deliveries.attach(FakeSession("a"))
        self.deliveries.attach(FakeSession("b"))
        self.assertEqual(sorted(self.store.here), ["a", "b"])
        self.deliveries.stop()
        self.assertEqual(self.store.here, {})
