"""What core/moparts.py makes of the sets the store hands it, against a fake store
and inbox (the store's own behaviour is tests/store/test_moparts.py)."""

from collections import Counter

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.config import User
from smpprouter.core import concat
from smpprouter.core.codec import decode_entry, encode_entry, rendering
from smpprouter.core.inbox import Inbox
from smpprouter.core.messages import Inbound
from smpprouter.core.moparts import MOParts
from smpprouter.core.upstreams import Upstream
from smpprouter.smpp import codec as pdu_codec
from smpprouter.smpp.status import Status
from smpprouter.store.errors import QueueFull

SET_ID = b"7:3:4477:100"


def _part(seq, text, total=3):
    return encode_entry(Inbound("smsc", "4477", "100",
                                bytes((5, 0, 3, 7, total, seq)) + text, 0, 0x40))


PARTS = {1: _part(1, b"JOIN us "), 2: _part(2, b"on the "), 3: _part(3, b"beach")}


class FakeStore:
    available = True

    def __init__(self, due):
        self.due = due
        self.done = []

    def take_due_mo_sets(self, connector, now, lease, limit=100):
        due, self.due = self.due, []
        return defer.succeed(due)

    def mo_set_done(self, connector, set_id):
        self.done.append((connector, set_id))
        return defer.succeed(1)


class FakeInbox:
    def __init__(self, fail=None):
        self.queued = []
        self.fail = fail

    def put_all(self, queue, payloads, connector, what, done, args):
        if self.fail is not None:
            done(self.fail, *args)
            return
        self.raw = payloads
        self.queued.append((queue, [decode_entry(p) for p in payloads]))
        done(Status.ESME_ROK, *args)


def _user(name, **more):
    return User(name=name, password="x", groups=frozenset(), max_binds=1, throughput=0,
                window=10, message_id="hex", **more)


class SweepTests(SynchronousTestCase):
    def sweep(self, due, user="u", fail=None, **account):
        self.store = FakeStore(due)
        self.inbox = FakeInbox(fail)
        self.counters = Counter()
        self.routed = []

        def route(connector, whole):
            self.routed.append(concat.text(whole))
            return user

        upstream = Upstream("smsc", "as-is", "as-is", 1, 1, 60, 10)
        parts = MOParts(self.store, self.inbox, {"u": _user("u", **account)},
                        {"smsc": upstream}, task.Clock(), self.counters, route)
        parts.sweep()

    def test_a_whole_set_whose_deliverer_died_is_delivered_whole(self):
        self.sweep([(SET_ID, PARTS)], mo_reassemble=True)
        [(queue, [mo])] = self.inbox.queued
        self.assertEqual((queue, mo.body, mo.esm_class), ("u", b"JOIN us on the beach", 0))
        # as its receivers get it: one deliver_sm, the text in message_payload
        pdu, _ = pdu_codec.decode(rendering(self.inbox.raw[0]))
        self.assertEqual((pdu.short_message, pdu.tlvs["message_payload"]),
                         (b"", b"JOIN us on the beach"))
        self.assertEqual(self.routed, ["JOIN us on the beach"])
        self.assertEqual(self.store.done, [("smsc", SET_ID)])
        self.assertEqual((self.counters["mo_sets"], self.counters["mo_sets_expired"]), (1, 0))

    def test_an_incomplete_set_goes_as_its_parts_routed_by_their_joined_text(self):
        self.sweep([(SET_ID, {3: PARTS[3], 1: PARTS[1]})], mo_url="https://e.com/mo",
                   mo_reassemble=True)
        [(queue, mos)] = self.inbox.queued
        self.assertEqual(queue, "hook:u")
        self.assertEqual([mo.body for mo in mos],
                         [decode_entry(PARTS[1]).body, decode_entry(PARTS[3]).body])
        self.assertEqual(self.routed, ["JOIN us beach"])
        self.assertEqual(self.counters["mo_sets_expired"], 1)
        self.assertEqual(self.store.done, [("smsc", SET_ID)])

    def test_a_webhook_user_gets_a_whole_set_as_one_mo(self):
        self.sweep([(SET_ID, PARTS)], mo_url="https://e.com/mo")
        [(queue, [mo])] = self.inbox.queued
        self.assertEqual((queue, mo.body, mo.esm_class), ("hook:u", b"JOIN us on the beach", 0))

    def test_an_unrouted_set_is_not_taken_again(self):
        self.sweep([(SET_ID, PARTS)], user=None)
        self.assertEqual(self.inbox.queued, [])
        self.assertEqual(self.store.done, [("smsc", SET_ID)])

    def test_a_set_not_queued_stays_claimed_for_the_next_sweep(self):
        self.sweep([(SET_ID, PARTS)], fail=Status.ESME_RX_T_APPN)
        self.assertEqual(self.store.done, [])


class InboxPutAllTests(SynchronousTestCase):
    def test_one_refused_entry_refuses_the_set(self):
        class Store:
            def __init__(self):
                self.calls = 0

            def enqueue(self, queue, payload):
                self.calls += 1
                return defer.fail(QueueFull("full")) if self.calls == 2 else defer.succeed("1-1")

        got = []
        Inbox(Store(), Counter()).put_all("u", [b"a", b"b"], "smsc", "MO",
                                          lambda status, tag: got.append((status, tag)),
                                          ("x",))
        self.assertEqual(got, [(Status.ESME_RX_T_APPN, "x")])


