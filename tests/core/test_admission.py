"""A user's throughput split across processes by their share of its sessions."""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.config import SecurityConfig, User
from smpprouter.core.admission import SESSION_TTL, Admission
from smpprouter.smpp.session import Mode
from smpprouter.smpp.status import Status


class FakeStore:
    def __init__(self):
        self.totals = {}
        self.admit = True

    def open_session(self, user, member, max_binds, ttl, max_receivers=0, scope=""):
        return defer.succeed(self.admit)

    def refresh_sessions(self, user, members, ttl):
        return defer.succeed(self.totals.get(user, len(members)))

    def close_session(self, user, member):
        return defer.succeed(None)


class Deliveries:
    def attach(self, session):
        pass

    def detach(self, session):
        pass


def make_router(clock, store, throughput=100.0, **policies):
    user = User(name="u", password=None, groups=frozenset(), max_binds=10,
                throughput=throughput, window=10, message_id="hex", **policies)
    config = SimpleNamespace(router=SimpleNamespace(name="r"), users={"u": user},
                             security=SecurityConfig(bind_failures=0))
    cache = SimpleNamespace(peek=lambda password, stored: True)
    return Admission(config, store, clock, cache, "p", Deliveries())


class Session:
    receiving = False
    peer, peer_host = "127.0.0.1:1", "127.0.0.1"

    def __init__(self, n):
        self.user = "u"
        self.session_id = "p/%d" % n
        self.shut = False

    async def shutdown(self):
        self.shut = True


session = Session


class ShareTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.store = FakeStore()
        self.router = make_router(self.clock, self.store)
        self.router.start()
        self.addCleanup(self.router.stop)

    def rate(self):
        return self.router._buckets["u"].rate

    def test_share_follows_the_sessions_in_all_processes(self):
        self.router.session_bound(session(1))
        self.router._bucket(self.router.config.users["u"])
        self.assertEqual(self.rate(), 100.0)
        # Three more sessions of u live in other processes: we get a quarter.
        self.store.totals["u"] = 4
        self.clock.advance(SESSION_TTL / 3)
        self.assertEqual(self.rate(), 25.0)
        # A second local session: two of five.
        self.router.session_bound(session(2))
        self.assertEqual(self.rate(), 40.0)
        # The others go away: at the next heartbeat, all of it again.
        self.store.totals["u"] = 2
        self.clock.advance(SESSION_TTL / 3)
        self.assertEqual(self.rate(), 100.0)

    def test_bind_refused_when_the_registry_is_full(self):
        self.store.admit = False
        result = self.successResultOf(self.router._authenticated(
            True, self.router.config.users["u"], [], Mode.TX, session(1)))
        self.assertEqual(result.status, Status.ESME_RBINDFAIL)


class PerSecondTests(SynchronousTestCase):
    """A limit of 50 msg/s is policed per second: 50 at once are taken."""

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1000)
        self.store = FakeStore()
        self.router = make_router(self.clock, self.store, throughput=50.0)
        self.user = self.router.config.users["u"]
        self.router.session_bound(session(1))

    def test_a_seconds_worth_at_once_then_the_rate(self):
        allow = self.router.allow
        self.assertEqual([allow(self.user) for _ in range(50)], [True] * 50)
        self.assertFalse(allow(self.user))            # the 51st within the second
        self.clock.advance(0.019)
        self.assertFalse(allow(self.user))
        self.clock.advance(0.002)                     # past 1/50 s: one more token
        self.assertTrue(allow(self.user))
        self.assertFalse(allow(self.user))
        # sustained: the rate, never more
        taken = 0
        for _ in range(1000):
            self.clock.advance(0.01)
            taken += allow(self.user)
        self.assertEqual(taken, 500)

    def test_the_burst_is_split_across_processes_with_the_rate(self):
        # one of the user's two sessions is elsewhere: half the rate, half the burst
        self.store.totals["u"] = 2
        self.router.allow(self.user)
        self.router.start()
        self.addCleanup(self.router.stop)
        self.clock.advance(SESSION_TTL / 3)
        self.clock.advance(10)
        taken = sum(self.router.allow(self.user) for _ in range(50))
        self.assertEqual(taken, 25)


class ScopeTests(SynchronousTestCase):
    def test_a_process_scoped_user_gets_its_whole_throughput_in_each_process(self):
        clock, store = task.Clock(), FakeStore()
        router = make_router(clock, store, bind_scope="process")
        router.start()
        self.addCleanup(router.stop)
        router.session_bound(session(1))
        router._bucket(router.config.users["u"])
        store.totals["u"] = 4   # three more sessions in other processes
        clock.advance(SESSION_TTL / 3)
        self.assertEqual(router._buckets["u"].rate, 100.0)


class ExpiryTests(SynchronousTestCase):
    def test_sessions_unbind_when_the_account_expires(self):
        clock, store = task.Clock(), FakeStore()
        clock.advance(1000)
        router = make_router(clock, store, expires=1060.0)
        router.start()
        self.addCleanup(router.stop)
        first, second = session(1), session(2)
        router.session_bound(first)
        router.session_bound(second)
        clock.advance(59)
        self.assertFalse(first.shut or second.shut)
        clock.advance(1)
        self.assertTrue(first.shut and second.shut)
        # and a bind from then on is refused
        result = router._authenticated(True, router.config.users["u"], [], Mode.TX,
                                       session(3))
        self.assertEqual(result.status, Status.ESME_RBINDFAIL)

    def test_no_timer_is_left_once_the_users_sessions_are_gone(self):
        clock, store = task.Clock(), FakeStore()
        router = make_router(clock, store, expires=3600.0)
        router.start()
        self.addCleanup(router.stop)
        one = session(1)
        router.session_bound(one)
        router.session_closed(one)
        self.assertEqual([c for c in clock.getDelayedCalls()
                          if c.func == router._expire], [])
