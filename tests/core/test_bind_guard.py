"""Password guessing and source networks, on the whole router with no sockets:
the lockout per source IP and per system_id, ESME_RBINDFAIL while locked
(without scrypt), and allow_from."""

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from bench.esme import ESMEClient
from smpprouter.core.guard import allowed, source_address
from smpprouter.smpp.status import Status
from tests.integration.harness import PASSWORDS

from .test_client_and_server import Rig


class GuardRig(Rig):
    users = {"esme1": "", "esme2": 'allow_from = ["10.1.0.0/16", "2001:db8::/32"]'}
    extra = "[security]\nbind_failures = 3\nbind_failure_window = 60\nbind_lockout = 300\n"

    def setUp(self):
        super().setUp()
        self.cache = self.core.admission.passwords
        self.cache.verify("wrong", self.core.config.users["esme1"].password)
        self.cache.verify("wrong", None)   # an unknown user's answer, cached too
        self.scrypts = 0
        verify = self.cache.verify

        def counted(password, stored):
            if self.cache.peek(password, stored) is None:
                self.scrypts += 1
            return verify(password, stored)
        self.cache.verify = counted

    def bind(self, user, password, host="192.0.2.1", mode="transceiver"):
        """The bind_resp's status, from a connection coming from host."""
        client = ESMEClient()
        server = self.factory.buildProtocol(None)
        kind = IPv6Address if ":" in host else IPv4Address
        server_transport = iosim.FakeTransport(server, True,
                                               IPv4Address("TCP", "127.0.0.1", 2775),
                                               kind("TCP", host, 40000))
        self.pumps.append(iosim.connect(server, server_transport,
                                        client, iosim.makeFakeClient(client), greet=False))
        resp = client.bind(mode, user, password)
        self.settle()
        return self.successResultOf(resp).command_status


class LockoutTests(GuardRig):
    def test_failures_from_one_address_lock_it_out_and_not_others(self):
        statuses = [self.bind("esme1", "wrong") for _ in range(3)]
        self.assertEqual(statuses, [Status.ESME_RINVPASWD] * 3)
        # Locked: even the right password is refused, and no scrypt runs.
        self.assertEqual(self.bind("esme1", "pw1"), Status.ESME_RBINDFAIL)
        self.assertEqual(self.bind("nobody", "pw1"), Status.ESME_RBINDFAIL)
        self.assertEqual(self.scrypts, 0)
        self.assertEqual(self.core.counters["bind_lockouts"], 2)   # the address and esme1
        self.assertEqual(self.core.counters["binds_refused_locked"], 2)
        # esme2 from elsewhere is not concerned.
        self.assertEqual(self.bind("esme2", "pw2", host="10.1.2.3"), Status.ESME_ROK)

    def test_failures_for_one_system_id_lock_it_from_every_address(self):
        for n in range(3):
            self.assertEqual(self.bind("esme1", "wrong", host="198.51.100.%d" % n),
                             Status.ESME_RINVPASWD)
        self.assertEqual(self.bind("esme1", "pw1", host="203.0.113.9"), Status.ESME_RBINDFAIL)
        self.assertEqual(self.core.counters["bind_lockouts"], 1)
        self.clock.advance(301)   # the lockout ends
        self.assertEqual(self.bind("esme1", "pw1", host="203.0.113.9"), Status.ESME_ROK)

    def test_unknown_system_ids_count_against_the_address_only(self):
        for name in ("a", "b", "c"):
            self.assertEqual(self.bind(name, "wrong"), Status.ESME_RINVSYSID)
        self.assertEqual(self.store.failures, {})
        self.assertEqual(set(self.store.locks), {"ip:192.0.2.1"})
        self.assertEqual(self.bind("esme1", "pw1", host="192.0.2.2"), Status.ESME_ROK)

    def test_a_success_forgets_the_system_ids_failures_within_the_window(self):
        self.assertEqual(self.bind("esme1", "wrong", host="192.0.2.1"), Status.ESME_RINVPASWD)
        self.assertEqual(self.bind("esme1", "wrong", host="192.0.2.2"), Status.ESME_RINVPASWD)
        self.assertEqual(self.bind("esme1", "pw1", host="192.0.2.3"), Status.ESME_ROK)
        self.assertEqual(self.bind("esme1", "wrong", host="192.0.2.4"), Status.ESME_RINVPASWD)
        self.assertEqual(self.bind("esme1", "pw1", host="192.0.2.5"), Status.ESME_ROK)

    def test_failures_outside_the_window_do_not_add_up(self):
        for _ in range(2):
            self.assertEqual(self.bind("nobody", "wrong"), Status.ESME_RINVSYSID)
        self.clock.advance(61)
        self.assertEqual(self.bind("nobody", "wrong"), Status.ESME_RINVSYSID)
        self.assertEqual(self.bind("esme1", "pw1"), Status.ESME_ROK)


class AllowFromTests(GuardRig):
    def test_a_bind_from_outside_allow_from_is_refused_before_its_password(self):
        self.assertEqual(self.bind("esme2", "pw2", host="192.0.2.1"), Status.ESME_RBINDFAIL)
        self.assertEqual(self.bind("esme2", "unknown", host="192.0.2.1"),
                         Status.ESME_RBINDFAIL)
        self.assertEqual(self.scrypts, 0)
        self.assertEqual(self.core.counters["binds_refused_origin"], 2)
        self.assertEqual(self.bind("esme2", PASSWORDS["esme2"], host="10.1.200.7"),
                         Status.ESME_ROK)
        self.assertEqual(self.bind("esme2", PASSWORDS["esme2"], host="2001:db8::5"),
                         Status.ESME_ROK)

    def test_outsiders_cannot_lock_the_user_out(self):
        for _ in range(5):
            self.bind("esme2", "wrong", host="192.0.2.1")
        self.assertNotIn("id:esme2", self.store.locks)
        self.assertIn("ip:192.0.2.1", self.store.locks)
        self.assertEqual(self.bind("esme2", "pw2", host="10.1.0.1"), Status.ESME_ROK)


class SourceAddressTests(SynchronousTestCase):
    def test_forms(self):
        import ipaddress
        self.assertEqual(source_address("::ffff:10.0.0.1"), ipaddress.ip_address("10.0.0.1"))
        self.assertIsNone(source_address(None))
        self.assertIsNone(source_address("not-an-address"))
        nets = (ipaddress.ip_network("10.0.0.0/8"),)
        self.assertTrue(allowed(source_address("10.9.9.9"), nets))
        self.assertFalse(allowed(source_address("11.0.0.1"), nets))
        self.assertFalse(allowed(None, nets))     # a unix socket matches no network
        self.assertTrue(allowed(None, ()))
