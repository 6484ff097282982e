"""smartlinks.py's order of work, with a store that fails on purpose (the
real Redis paths are tests/store/test_links.py and the integration tests)."""

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.codec import decode_entry
from smpprouter.core.messages import Click, Outcome
from smpprouter.core.mt import STORE_DOWN
from smpprouter.http.door import HttpMessage
from smpprouter.http.smartlinks import Smartlinks
from smpprouter.smpp.status import Status
from smpprouter.store.errors import StoreUnavailable
from smpprouter.store.links import LinkRecord

GIFT = (("5", "https://e.com/gift", 2),)
NOW = 1_800_000_000


class User:
    def __init__(self, name, click_url=""):
        self.name = name
        self.click_url = click_url


class FakeStore:
    def __init__(self, refuse=()):
        self.refuse = refuse          # destinations whose records cannot be stored
        self.records = {}
        self.calls = []
        self.queued = []

    def save_link(self, token, record):
        self.calls.append(("save", token))
        if record.destination in self.refuse:
            return defer.fail(StoreUnavailable("down"))
        self.records[token] = record
        return defer.succeed(True)

    def link_message(self, token, record):
        self.calls.append(("name", token))
        self.records[token] = record
        return defer.succeed(True)

    def drop_link(self, token):
        self.calls.append(("drop", token))
        self.records.pop(token, None)
        return defer.succeed(1)

    def init_clicks(self, user, message_id, link_ids, expires):
        self.calls.append(("init", message_id, tuple(link_ids), expires))
        return defer.succeed(1)

    def follow_link(self, token):
        return defer.succeed(self.records.get(token))

    def count_click(self, user, message_id, link_id, expires):
        self.calls.append(("click", message_id, link_id))
        return defer.succeed(7)

    def enqueue(self, queue, payload):
        self.queued.append((queue, decode_entry(payload)))
        return defer.succeed("1-0")


def counter():
    state = [0]

    def randbytes(n):
        state[0] += 1
        return bytes([state[0] % 62]) * n
    return randbytes


class SendTests(SynchronousTestCase):
    def links(self, store, users=None):
        return Smartlinks(store, "https://s.e/", {}, users or {}, clock=lambda: NOW,
                          randbytes=counter())

    def run_send(self, store, messages, answers):
        sent = []

        def send(user, going):
            sent.extend(going)
            return defer.succeed([answers[m.destination] for m in going])
        outcomes = self.successResultOf(self.links(store).send(send, User("u"), messages))
        return sent, outcomes

    def test_a_destination_whose_records_were_not_stored_is_not_sent(self):
        store = FakeStore(refuse=("2",))
        messages = [HttpMessage("1", "go {{link_5}}", links=GIFT),
                    HttpMessage("2", "go {{link_5}}", links=GIFT),
                    HttpMessage("3", "no link")]
        sent, outcomes = self.run_send(store, messages, {
            "1": Outcome(Status.ESME_ROK, "m1"), "3": Outcome(Status.ESME_ROK, "m3")})
        self.assertEqual([m.destination for m in sent], ["1", "3"])
        self.assertEqual([o.status for o in outcomes], [Status.ESME_ROK, STORE_DOWN,
                                                        Status.ESME_ROK])
        self.assertEqual(messages[0].text, "go https://s.e/" + "1" * 10)
        [(token, record)] = store.records.items()
        self.assertEqual((record.message_id, record.expires, record.destination),
                         ("m1", NOW + 2 * 86400, "1"))
        self.assertIn(("init", "m1", ("5",), NOW + 2 * 86400), store.calls)
        # the failed one's token was asked to go too (nothing is left behind)
        self.assertEqual([c for c in store.calls if c[0] == "drop"],
                         [("drop", "2" * 10)])

    def test_a_message_the_core_refused_loses_its_records(self):
        store = FakeStore()
        messages = [HttpMessage("1", "{{link_5}}", links=GIFT)]
        _, outcomes = self.run_send(store, messages,
                                    {"1": Outcome(Status.ESME_RINVDSTADR)})
        self.assertEqual(outcomes[0].status, Status.ESME_RINVDSTADR)
        self.assertEqual(store.records, {})
        self.assertNotIn("init", [c[0] for c in store.calls])


class FollowTests(SynchronousTestCase):
    def setUp(self):
        self.store = FakeStore()
        self.links = Smartlinks(self.store, "https://s.e/", {},
                                {"u": User("u", "https://hooks.e/c"), "v": User("v")},
                                clock=lambda: NOW)

    def put(self, token, **fields):
        values = dict(target="https://e.com/", user="u", destination="1", link_id="5",
                      expires=NOW + 60, reference='{"correlationid":"c"}', message_id="m1")
        values.update(fields)
        self.store.records[token] = LinkRecord(**values)

    def test_a_click_is_counted_and_queued_for_a_user_with_a_click_url(self):
        self.put("t1")
        self.put("t2", user="v")
        self.assertEqual(self.successResultOf(self.links.follow("t1")).target, "https://e.com/")
        self.successResultOf(self.links.follow("t2"))
        self.assertEqual([c for c in self.store.calls if c[0] == "click"],
                         [("click", "m1", "5")] * 2)
        [(queue, click)] = self.store.queued
        self.assertEqual(queue, "hook:u")
        self.assertEqual(click, Click("m1", "5", "https://e.com/", "1", 7, NOW,
                                      '{"correlationid":"c"}'))

    def test_what_is_not_counted(self):
        self.put("head")
        self.put("unnamed", message_id="")
        self.put("old", expires=NOW)
        self.assertIsNotNone(self.successResultOf(self.links.follow("head", count=False)))
        self.assertIsNotNone(self.successResultOf(self.links.follow("unnamed")))
        self.assertIsNone(self.successResultOf(self.links.follow("old")))
        self.assertIsNone(self.successResultOf(self.links.follow("none")))
        self.assertEqual([c for c in self.store.calls if c[0] == "click"], [])
