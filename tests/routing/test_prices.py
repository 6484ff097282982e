"""Prices, UNDELIV refunds and required TLVs in routes.toml: what the decision carries."""

import os

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.routing.table import RoutingTable, load_routes
from smpprouter.tomlfile import ConfigError

from .helpers import SHIPPED, mt, table, write

PRICED = """
[[mt]]
name = "world"
connectors = ["a", "b"]
strategy = "round-robin"
price = 10
prices = { "44" = 20, "+447" = 30, "00447700" = 40, "1" = 0 }
refund_undelivered = true
require_tlvs = ["PE_ID", "template_id", "0x1402", 0x1500]
"""


class PriceTests(SynchronousTestCase):

    def test_longest_prefix_wins_else_the_rules_price(self):
        t = table(self, PRICED)
        for destination, price in (("447700900123", 40), ("+447712345678", 30),
                                   ("00441632960000", 20), ("33612345678", 10),
                                   ("15551234567", 0), ("4", 10)):
            self.assertEqual(t.route_mt(mt(destination)).price, price, destination)

    def test_round_robin_rotates_whatever_the_price(self):
        t = table(self, PRICED)
        first = t.route_mt(mt("447700900123"))
        second = t.route_mt(mt("33612345678"))
        self.assertEqual((first.connectors, second.connectors), (("a", "b"), ("b", "a")))
        self.assertEqual((first.price, second.price), (40, 10))

    def test_the_decision_carries_the_terms(self):
        d = table(self, PRICED).route_mt(mt("33612345678"))
        self.assertTrue(d.refund_undelivered)
        self.assertEqual(d.required_tlvs, ("pe_id", "template_id", "tm_id", 0x1500))

    def test_unpriced_rule_has_no_price(self):
        d = table(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\n').route_mt(mt())
        self.assertEqual((d.price, d.refund_undelivered, d.required_tlvs), (None, False, ()))

    def test_shipped_routes_price_and_require_dlt(self):
        t = load_routes(SHIPPED)
        us = t.route_mt(mt("15551234567", user="esme2"))
        self.assertIsInstance(us.price, int)
        self.assertGreater(us.price, 0)
        india = t.route_mt(mt("919876543210"))
        self.assertEqual(india.connectors, ("smsc",))
        self.assertEqual(set(india.required_tlvs), {"pe_id", "template_id"})


class PriceErrorTests(SynchronousTestCase):

    def assertError(self, body, key, *words):
        path = write(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\n' + body)
        e = self.assertRaises(ConfigError, load_routes, path)
        self.assertEqual((e.path, e.line, e.key), (path, 4, key), str(e))
        for word in words:
            self.assertIn(word, e.message)

    def test_float_price_refused(self):
        self.assertError("price = 0.5\n", "mt[0].price", "never a float")

    def test_float_in_prices_refused(self):
        self.assertError('prices = { "44" = 1.5 }\n', "mt[0].prices.44", "never a float")

    def test_negative_and_huge_prices(self):
        self.assertError("price = -1\n", "mt[0].price", "between 0")
        self.assertError("price = 10000000000000\n", "mt[0].price", "between 0")

    def test_string_price(self):
        self.assertError('price = "5"\n', "mt[0].price", "integer")

    def test_prices_not_a_table(self):
        self.assertError('prices = [1]\n', "mt[0].prices", "table")

    def test_same_prefix_twice(self):
        self.assertError('prices = { "44" = 1, "+44" = 2 }\n', "mt[0].prices.+44", "twice")

    def test_bad_prefix(self):
        self.assertError('prices = { "+" = 1 }\n', "mt[0].prices.+", "not a destination prefix")

    def test_refund_undelivered_needs_a_price(self):
        self.assertError("refund_undelivered = true\n", "mt[0].refund_undelivered", "priced")

    def test_unknown_tlv(self):
        self.assertError('require_tlvs = ["pe-id"]\n', "mt[0].require_tlvs[0]", "unknown TLV",
                         "did you mean 'pe_id'")

    def test_message_payload_is_not_required(self):
        self.assertError('require_tlvs = ["message_payload"]\n', "mt[0].require_tlvs",
                         "message body")

    def test_terms_on_a_reject_rule(self):
        path = write(self, '[[mt]]\nname = "x"\nreject = "ESME_RINVDSTADR"\nprice = 1\n')
        e = self.assertRaises(ConfigError, load_routes, path)
        self.assertEqual(e.key, "mt[0].price")
        self.assertIn("not to reject", e.message)


prefixes = st.text(alphabet="1234", min_size=1, max_size=4)


class PricePropertyTests(SynchronousTestCase):
    """The table's precomputed price is the naive longest-prefix answer (MTRule.price_of)."""

    @settings(max_examples=200, deadline=None)
    @given(prices=st.dictionaries(prefixes, st.integers(0, 1000), max_size=8),
           default=st.one_of(st.none(), st.integers(0, 1000)),
           destinations=st.lists(st.text(alphabet="12345", max_size=7), max_size=20))
    def test_longest_prefix(self, prices, default, destinations):
        lines = ['[[mt]]', 'name = "x"', 'connectors = ["a"]']
        if default is not None:
            lines.append("price = %d" % default)
        if prices:
            lines.append("prices = { %s }" % ", ".join('"%s" = %d' % kv for kv in prices.items()))
        path = os.path.join(self.mktemp() + ".toml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        t = load_routes(path)
        indexed = RoutingTable(t.routes, index_from=0)
        rule = t.routes.mt[0]
        for destination in destinations:
            best = max((p for p in prices if destination.startswith(p)), key=len, default=None)
            expected = prices[best] if best is not None else default
            self.assertEqual(rule.price_of(destination), expected)
            self.assertEqual(t.route_mt(mt(destination)).price, expected, destination)
            self.assertEqual(indexed.route_mt(mt(destination)).price, expected, destination)
