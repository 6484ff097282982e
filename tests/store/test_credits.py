"""Credits on a real redis-server: the charge and refund scripts, the ledger."""

from twisted.internet import defer

from smpprouter.store.credits import REFUND_MARKED, REFUND_UNDELIVERED

from .support import StoreTestCase


class CreditTests(StoreTestCase):

    def ledger_sum(self, user):
        """(sum of the ledger's amounts, its last balance, entries) as Redis holds them."""
        entries = self.server.command("XRANGE", "ledger:{%s}" % user, "-", "+")
        fields = [dict(zip(f[::2], f[1::2])) for _, f in entries]
        total = sum(int(f["amount"]) for f in fields)
        return total, (int(fields[-1]["balance"]) if fields else 0), fields

    @defer.inlineCallbacks
    def test_credit_adds_and_is_ledgered(self):
        store = yield self.make_store()
        self.assertEqual((yield store.balance("u")), 0)
        self.assertEqual((yield store.credit("u", 500, "ops", "first")), 500)
        self.assertEqual((yield store.credit("u", 250, "ops", "second")), 750)
        self.assertEqual((yield store.credit("u", -50, "ops", "correction")), 700)
        self.assertEqual(self.server.command("GET", "bal:{u}"), "700")
        total, last, fields = self.ledger_sum("u")
        self.assertEqual((total, last), (700, 700))
        self.assertEqual([(f["kind"], f["who"], f["why"]) for f in fields],
                         [("credit", "ops", "first"), ("credit", "ops", "second"),
                          ("credit", "ops", "correction")])
        newest = yield store.ledger("u", 2)
        self.assertEqual([e["why"] for e in newest], ["correction", "second"])
        self.assertIsInstance(newest[0]["at"], int)

    @defer.inlineCallbacks
    def test_charges_of_one_turn_stop_at_the_balance(self):
        store = yield self.make_store()
        yield store.credit("u", 100, "ops", "")
        commands = store.commands
        results = yield defer.gatherResults(
            [store.charge("u", 30, "m%d" % i, why="us") for i in range(5)]
            + [store.charge("u", 10, "cheap")])
        self.assertEqual(store.commands - commands, 1)   # one script for the turn
        self.assertEqual(results, [(70, False), (40, False), (10, False), (None, False),
                                   (None, False), (0, False)])
        total, last, fields = self.ledger_sum("u")
        self.assertEqual((total, last), (0, 0))
        self.assertEqual([f["id"] for f in fields if f["kind"] == "charge"],
                         ["m0", "m1", "m2", "cheap"])
        self.assertEqual(fields[-1]["who"], store.instance)

    @defer.inlineCallbacks
    def test_never_below_zero_from_nothing(self):
        store = yield self.make_store()
        self.assertEqual((yield store.charge("nobody", 1, "m")), (None, False))
        self.assertIsNone(self.server.command("GET", "bal:{nobody}"))

    @defer.inlineCallbacks
    def test_two_stores_never_overdraw(self):
        a = yield self.make_store(instance="a")
        b = yield self.make_store(instance="b")
        yield a.credit("u", 1000, "ops", "")
        results = yield defer.gatherResults(
            [s.charge("u", 7, "%s%d" % (s.instance, i)) for i in range(100) for s in (a, b)])
        charged = [r for r, _ in results if r is not None]
        self.assertEqual(len(charged), 1000 // 7)
        self.assertEqual((yield a.balance("u")), 1000 - 7 * (1000 // 7))
        total, last, _ = self.ledger_sum("u")
        self.assertEqual((total, last), (1000 % 7, 1000 % 7))

    @defer.inlineCallbacks
    def test_low_balance_crossing_is_seen_once(self):
        store = yield self.make_store()
        yield store.credit("u", 100, "ops", "")
        results = yield defer.gatherResults(
            [store.charge("u", 20, "m%d" % i, low=50) for i in range(5)])
        self.assertEqual(results, [(80, False), (60, False), (40, True), (20, False),
                                   (0, False)])
        yield store.credit("u", 100, "ops", "top-up")     # above again: armed again
        again = yield store.charge("u", 60, "n", low=50)
        self.assertEqual(again, (40, True))

    @defer.inlineCallbacks
    def test_marked_refund_happens_once(self):
        store = yield self.make_store()
        yield store.credit("u", 100, "ops", "")
        yield store.charge("u", 40, "m1", ttl=600)
        self.assertEqual(self.server.command("GET", "chg:{u}:m1"), "40")
        self.assertTrue(0 < self.server.command("TTL", "chg:{u}:m1") <= 600)
        results = yield defer.gatherResults(
            [store.refund("u", "m1", mode=REFUND_MARKED, why="EXPIRED") for _ in range(3)])
        self.assertEqual(results, [100, None, None])
        again = yield store.refund("u", "m1", mode=REFUND_UNDELIVERED)
        self.assertIsNone(again)
        self.assertIsNone(self.server.command("GET", "chg:{u}:m1"))
        total, last, fields = self.ledger_sum("u")
        self.assertEqual((total, last), (100, 100))
        self.assertEqual(fields[-1]["why"], "EXPIRED")

    @defer.inlineCallbacks
    def test_undelivered_refunds_only_a_charge_marked_for_it(self):
        store = yield self.make_store()
        yield store.credit("u", 100, "ops", "")
        yield store.charge("u", 10, "plain", ttl=600)
        yield store.charge("u", 10, "undeliv", ttl=600, flag="u")
        yield store.charge("u", 10, "unmarked")
        results = yield defer.gatherResults(
            [store.refund("u", m, mode=REFUND_UNDELIVERED) for m in
             ("plain", "undeliv", "undeliv", "unmarked")])
        self.assertEqual(results, [None, 80, None, None])
        # the one left marked still refunds for a refusal
        self.assertEqual((yield store.refund("u", "plain", mode=REFUND_MARKED)), 90)

    @defer.inlineCallbacks
    def test_unmarked_refund_gives_the_amount_back(self):
        store = yield self.make_store()
        yield store.credit("u", 100, "ops", "")
        yield store.charge("u", 30, "m")
        self.assertEqual((yield store.refund("u", "m", 30, why="ESME_RSYSERR")), 100)
        self.assertIsNone((yield store.refund("u", "m", 0)))          # nothing to give
        self.assertIsNone((yield store.refund("u", "m", 30, mode=REFUND_MARKED)))

    @defer.inlineCallbacks
    def test_ledger_is_bounded(self):
        store = yield self.make_store(ledger_max=1000)
        yield store.credit("u", 10 ** 6, "ops", "")
        for _ in range(3):
            yield defer.gatherResults([store.charge("u", 1, "m%d" % i) for i in range(1000)])
        # MAXLEN ~ trims whole macro nodes: about the bound, never unbounded
        self.assertLess(self.server.command("XLEN", "ledger:{u}"), 2000)
        self.assertEqual((yield store.balance("u")), 10 ** 6 - 3000)

    @defer.inlineCallbacks
    def test_odd_user_names_stay_in_one_slot(self):
        store = yield self.make_store()
        for user in ("a{b}c", "é", "x}"):
            yield store.credit(user, 10, "ops", "")
            self.assertEqual((yield store.charge(user, 4, "m", ttl=60)), (6, False))
            self.assertEqual((yield store.refund(user, "m", mode=REFUND_MARKED)), 10)
