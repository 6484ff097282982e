"""The lists on a real redis-server: the sender list (seed 002's 451) kept by the
same machinery as the number lists: its key, the index, one SMISMEMBER a turn."""

from twisted.internet import defer

from smpprouter.core.hygiene import SENDER, Hygiene
from smpprouter.policy.numberlists import sender, sender_id
from smpprouter.store import keys

from .support import StoreTestCase


class SenderListTests(StoreTestCase):

    @defer.inlineCallbacks
    def test_sender_ids_are_asked_once_a_turn_and_found_in_any_case(self):
        store = yield self.make_store()
        key = keys.number_list(SENDER.kind, "esme1")
        self.assertEqual(key, b"lst:{sender:esme1}")
        added = yield store.list_add(key, [sender("SpamCo"), sender("+447700900001")])
        self.assertEqual(added, 2)
        self.assertEqual((yield store.lists_present()), {key})
        commands = store.commands
        found = yield defer.gatherResults([
            store.in_list(key, sender_id(source))
            for source in ("SPAMCO", "spamco", "00447700900001", "MyBrand", "447700900002")])
        self.assertEqual(store.commands - commands, 1)   # one SMISMEMBER for the turn
        self.assertEqual(found, [True, True, True, False, False])

    @defer.inlineCallbacks
    def test_an_emptied_sender_list_leaves_the_index(self):
        store = yield self.make_store()
        key = keys.number_list(SENDER.kind)
        yield store.list_add(key, ["spamco"])
        self.assertEqual((yield store.list_remove(key, ["spamco", "other"])), 1)
        self.assertEqual((yield store.lists_present()), set())
        self.assertEqual(self.server.command("EXISTS", key.decode()), 0)

    @defer.inlineCallbacks
    def test_the_core_asks_nothing_until_a_sender_list_exists(self):
        store = yield self.make_store()
        hygiene = Hygiene(store, None)
        yield hygiene.refresh()
        self.assertFalse(hygiene.active)   # MTPath skips check(): no command per message
        yield store.list_add(keys.number_list(SENDER.kind), ["spamco"])
        yield hygiene.refresh()
        self.assertEqual((hygiene.active, hygiene.present),
                         (True, frozenset([b"lst:{sender}"])))
