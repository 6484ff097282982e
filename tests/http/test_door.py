"""The Door: HTTP messages into Submissions, answers in order, users by key and password."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from smpprouter.config import HttpConfig, User
from smpprouter.core.messages import Outcome
from smpprouter.core.mt import STORE_DOWN
from smpprouter.http.door import GSM7, UCS2, Door, HttpMessage, Login, address_of
from smpprouter.http.meta import decode_meta
from smpprouter.passwords import PasswordCache, hash_password, hash_service_key
from smpprouter.smpp.status import Status
from smpprouter.smpp.text import DC_DEFAULT, DC_UCS2


def _user(name, key="", password=None):
    return User(name=name, password=password or "x", groups=frozenset(), max_binds=1,
                throughput=0, window=10, message_id="hex", service_key=key)


class _Config:
    def __init__(self, users):
        self.users = {u.name: u for u in users}
        self.http = HttpConfig()


class _MT:
    """The MT core's submit, answering when the test says."""

    def __init__(self):
        self.calls = []

    def submit(self, s, answer, queue=False, parts=1):
        self.calls.append((s, answer, queue, parts))


class _Core:
    def __init__(self):
        self.mt = _MT()


class _Store:
    available = True


def _door(*users, passwords=None):
    core = _Core()
    store = _Store()
    door = Door(_Config(users or [_user("esme1")]), core, store, passwords or PasswordCache())
    return door, core, store


class SubmissionTests(SynchronousTestCase):
    def setUp(self):
        self.door, _, _ = _door()
        self.user = _user("esme1")

    def test_gsm_text_goes_as_gsm(self):
        s, parts = self.door.submission(self.user, HttpMessage("15551234567", "Hi {you}", "ACME"))
        self.assertEqual((s.data_coding, s.body), (DC_DEFAULT, b"Hi \x1b(you\x1b)"))
        self.assertEqual(parts, 1)
        self.assertEqual((s.source, s.source_ton, s.source_npi), ("ACME", 5, 0))
        self.assertEqual((s.destination, s.dest_ton, s.dest_npi), ("15551234567", 1, 1))
        self.assertEqual(s.registered_delivery, 1)   # the status API and webhooks need it
        self.assertEqual(s.user, "esme1")

    def test_other_text_goes_as_ucs2(self):
        s, parts = self.door.submission(self.user, HttpMessage("15551234567", "اختبار"))
        self.assertEqual((s.data_coding, s.body), (DC_UCS2, "اختبار".encode("utf-16-be")))

    def test_forced_codings(self):
        s, _ = self.door.submission(self.user, HttpMessage("1555", "abc", coding=UCS2))
        self.assertEqual((s.data_coding, s.body), (DC_UCS2, "abc".encode("utf-16-be")))
        refused = self.door.submission(self.user, HttpMessage("1555", "اختبار", coding=GSM7))
        self.assertEqual(refused, Outcome(Status.ESME_RINVDCS))

    def test_parts_counted_with_extension_characters_twice(self):
        _, parts = self.door.submission(self.user, HttpMessage("1555", "a" * 160))
        self.assertEqual(parts, 1)
        _, parts = self.door.submission(self.user, HttpMessage("1555", "a" * 159 + "^"))
        self.assertEqual(parts, 2)     # ^ takes two septets: 161

    def test_too_long_refused(self):
        refused = self.door.submission(self.user, HttpMessage("1555", "x" * 153 * 256))
        self.assertEqual(refused, Outcome(Status.ESME_RINVMSGLEN))

    def test_meta_travels_as_the_reference(self):
        meta = {"correlationid": "c1", "notifyurl": "https://example.com/dlr",
                "callbackData": "", "other": "dropped"}
        s, _ = self.door.submission(self.user, HttpMessage("1555", "x", meta=meta))
        self.assertEqual(decode_meta(s.reference),
                         {"correlationid": "c1", "notifyurl": "https://example.com/dlr"})
        s, _ = self.door.submission(self.user, HttpMessage("1555", "x"))
        self.assertEqual(s.reference, "")

    def test_schedule_validity_priority_pass_through(self):
        s, _ = self.door.submission(self.user, HttpMessage("1555", "x", schedule=100.0,
                                                           validity=200.0, priority=2))
        self.assertEqual((s.schedule, s.validity, s.priority), (100.0, 200.0, 2))

    def test_addresses(self):
        self.assertEqual(address_of("441234567890"), (1, 1))
        self.assertEqual(address_of("12345"), (0, 1))
        self.assertEqual(address_of("ACME"), (5, 0))
        self.assertEqual(address_of(""), (0, 0))


class SendTests(SynchronousTestCase):
    def test_answers_in_request_order_whatever_order_they_come(self):
        door, core, _ = _door()
        user = _user("esme1")
        results = []
        door.send(user, [HttpMessage("1555%d" % i, "m%d" % i) for i in range(3)]) \
            .addCallback(results.append)
        self.assertEqual([c[2:] for c in core.mt.calls], [(True, 1)] * 3)  # always queued
        for index in (2, 0, 1):
            core.mt.calls[index][1](Outcome(Status.ESME_ROK, "id%d" % index))
        self.assertEqual(results, [[Outcome(Status.ESME_ROK, "id%d" % i) for i in range(3)]])

    def test_a_refused_message_does_not_hold_the_others(self):
        door, core, _ = _door()
        results = []
        door.send(_user("esme1"), [HttpMessage("1555", "ok"),
                                   HttpMessage("1556", "اختبار", coding=GSM7)]) \
            .addCallback(results.append)
        self.assertEqual(len(core.mt.calls), 1)
        core.mt.calls[0][1](Outcome(Status.ESME_ROK, "a"))
        self.assertEqual(results, [[Outcome(Status.ESME_ROK, "a"),
                                    Outcome(Status.ESME_RINVDCS)]])

    def test_store_away_refuses_all_before_submitting(self):
        door, core, store = _door()
        store.available = False
        self.assertFalse(door.available)
        results = []
        door.send(_user("esme1"), [HttpMessage("1555", "x")] * 2).addCallback(results.append)
        self.assertEqual(results, [[Outcome(STORE_DOWN)] * 2])
        self.assertEqual(core.mt.calls, [])

    def test_nothing_to_send(self):
        door, _, _ = _door()
        results = []
        door.send(_user("esme1"), []).addCallback(results.append)
        self.assertEqual(results, [[]])


class UserTests(TestCase):
    def test_service_keys(self):
        door, _, _ = _door(_user("a", hash_service_key("key-a")),
                           _user("b", hash_service_key("key-b")), _user("c"))
        self.assertEqual(door.user_by_key("key-a").name, "a")
        self.assertEqual(door.user_by_key("key-b").name, "b")
        self.assertIsNone(door.user_by_key("key-c"))
        self.assertIsNone(door.user_by_key(""))
        self.assertIsNone(door.user_by_key(hash_service_key("key-a")))  # the stored form

    @defer.inlineCallbacks
    def test_login(self):
        door, _, _ = _door(_user("esme1", password=hash_password("pw1")))
        ok = yield door.login("esme1", "pw1")
        self.assertEqual((ok.result, ok.user.name), (Login.OK, "esme1"))
        bad = yield door.login("esme1", "nope")
        self.assertEqual((bad.result, bad.user), (Login.BAD_PASSWORD, None))
        unknown = yield door.login("nobody", "pw1")
        self.assertEqual(unknown.result, Login.NO_USER)
        again = yield door.login("esme1", "pw1")    # from the cache now
        self.assertEqual(again.result, Login.OK)


class LoginHerdTests(TestCase):
    @defer.inlineCallbacks
    def test_concurrent_first_logins_cost_one_scrypt(self):
        from smpprouter import passwords
        calls = []
        real = passwords._derive
        self.patch(passwords, "_derive", lambda *a: calls.append(1) or real(*a))
        stored = hash_password("pw1")
        calls.clear()
        door, _, _ = _door(_user("esme1", password=stored))
        results = yield defer.gatherResults([door.login("esme1", "pw1") for _ in range(20)])
        self.assertEqual([r.result for r in results], [Login.OK] * 20)
        self.assertEqual(len(calls), 1)
