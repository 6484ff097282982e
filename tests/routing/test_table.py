"""Tests for smpprouter.routing.table: what the rules decide, and the plugin registry."""

from dataclasses import replace

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from smpprouter.routing.interface import (
    IRouter, MORequest, MORoute, MTReject, MTRequest, MTRoute,
)
from smpprouter.routing.table import (
    INDEX_FROM, NO_ROUTE, ROUTERS, RoutingTable, load_routes, make_router,
)
from smpprouter.smpp.status import Status
from smpprouter.tomlfile import ConfigError

from .helpers import SHIPPED, mo, mt, table, write

RINVDSTADR = Status.ESME_RINVDSTADR.value


class ShippedTests(SynchronousTestCase):
    """etc/routes.toml is the operator's starting point: it must load and do what it says."""

    def setUp(self):
        self.table = load_routes(SHIPPED)

    def test_is_an_irouter_named_table(self):
        self.assertTrue(verifyObject(IRouter, self.table))
        self.assertEqual(self.table.name, "table")

    def test_checks_against_the_shipped_config(self):
        self.table.check({"smsc"}, {"esme1", "esme2"})

    def test_us_numbers_go_to_smsc(self):
        for number in ("15551234567", "+15551234567", "0015551234567"):
            with self.subTest(number=number):
                self.assertEqual(self.table.route_mt(mt(number)),
                                 MTRoute(connectors=("smsc",), rule="us", price=35))
        self.assertEqual(self.table.route_mt(mt("15551234567", user="esme2")),
                         MTRoute(connectors=("smsc",), rule="us", price=35))

    def test_other_numbers_are_refused_with_the_default(self):
        self.assertEqual(self.table.route_mt(mt("447700900123")),
                         MTReject(status=RINVDSTADR, rule=NO_ROUTE))

    def test_short_code_mo_goes_to_esme1(self):
        route = MORoute(user="esme1", rule="shortcode")
        self.assertEqual(self.table.route_mo(mo("12345")), route)
        self.assertEqual(self.table.route_mo(mo("+12345")), route)
        self.assertIsNone(self.table.route_mo(mo("123456")))
        self.assertIsNone(self.table.route_mo(mo("1234")))


class MTTests(SynchronousTestCase):

    def test_first_match_wins(self):
        t = table(self, """
            [[mt]]
            name = "uk-mobile"
            destination_prefix = ["447"]
            connectors = ["a"]
            [[mt]]
            name = "uk"
            destination_prefix = ["44"]
            connectors = ["b"]
            [[mt]]
            name = "uk-mobile-late"
            destination_prefix = ["4477"]
            connectors = ["c"]
        """)
        self.assertEqual(t.route_mt(mt("447700900123")).rule, "uk-mobile")
        self.assertEqual(t.route_mt(mt("441632960000")).rule, "uk")
        self.assertEqual(t.route_mt(mt("441632960000")).connectors, ("b",))

    def test_users_or_groups(self):
        t = table(self, """
            [[mt]]
            name = "vip"
            users = ["alice"]
            groups = ["gold", "platinum"]
            connectors = ["premium"]
            [[mt]]
            name = "rest"
            connectors = ["bulk"]
        """)
        self.assertEqual(t.route_mt(mt(user="alice")).rule, "vip")
        self.assertEqual(t.route_mt(mt(user="bob", groups={"gold"})).rule, "vip")
        self.assertEqual(t.route_mt(mt(user="bob", groups={"silver", "platinum"})).rule, "vip")
        self.assertEqual(t.route_mt(mt(user="bob", groups={"silver"})).rule, "rest")
        self.assertEqual(t.route_mt(mt(user="bob")).rule, "rest")
        # A user named like a group is still not in that group.
        self.assertEqual(t.route_mt(mt(user="gold")).rule, "rest")

    def test_users_only_and_groups_only(self):
        t = table(self, """
            [[mt]]
            name = "by-user"
            users = ["alice"]
            connectors = ["a"]
            [[mt]]
            name = "by-group"
            groups = ["gold"]
            connectors = ["b"]
        """)
        self.assertEqual(t.route_mt(mt(user="alice", groups={"gold"})).rule, "by-user")
        self.assertEqual(t.route_mt(mt(user="bob", groups={"gold"})).rule, "by-group")
        self.assertEqual(t.route_mt(mt(user="bob", groups={"alice"})).rule, NO_ROUTE)

    def test_same_user_with_different_groups(self):
        """The per-(user, groups) memo must not let one request's groups leak to another."""
        t = table(self, """
            [[mt]]
            name = "gold"
            groups = ["gold"]
            connectors = ["a"]
        """)
        self.assertEqual(t.route_mt(mt(user="bob", groups={"gold"})).rule, "gold")
        self.assertEqual(t.route_mt(mt(user="bob")).rule, NO_ROUTE)
        self.assertEqual(t.route_mt(mt(user="bob", groups={"gold"})).rule, "gold")

    def test_prefix_normalisation(self):
        t = table(self, """
            [[mt]]
            name = "plus"
            destination_prefix = ["+44"]
            connectors = ["uk"]
            [[mt]]
            name = "zerozero"
            destination_prefix = ["0033"]
            connectors = ["fr"]
            [[mt]]
            name = "bare"
            destination_prefix = ["1"]
            connectors = ["us"]
            [[mt]]
            name = "national"
            destination_prefix = ["07"]
            connectors = ["uk-national"]
        """)
        cases = {
            "447700900123": "plus", "+447700900123": "plus", "00447700900123": "plus",
            "33612345678": "zerozero", "+33612345678": "zerozero", "0033612345678": "zerozero",
            "15551234567": "bare", "+15551234567": "bare", "0015551234567": "bare",
            # A national number keeps its single 0; only "00" is an international prefix.
            "07700900123": "national",
            # One prefix is dropped, not two: "+0044..." is "0044...", not "44...".
            "+0044770090012": NO_ROUTE,
            "": NO_ROUTE, "+": NO_ROUTE, "00": NO_ROUTE,
        }
        for number, rule in cases.items():
            with self.subTest(number=number):
                self.assertEqual(t.route_mt(mt(number)).rule, rule)

    def test_source_prefix(self):
        t = table(self, """
            [[mt]]
            name = "brand"
            source_prefix = ["MyBrand", "+4420"]
            connectors = ["a"]
        """)
        self.assertEqual(t.route_mt(mt(source="MyBrand")).rule, "brand")
        self.assertEqual(t.route_mt(mt(source="MyBrandX")).rule, "brand")
        self.assertEqual(t.route_mt(mt(source="0044207946000")).rule, "brand")
        self.assertEqual(t.route_mt(mt(source="mybrand")).rule, NO_ROUTE)
        self.assertEqual(t.route_mt(mt(source="Brand")).rule, NO_ROUTE)

    def test_source_regex_is_a_full_match_on_the_raw_source(self):
        t = table(self, r"""
            [[mt]]
            name = "alpha"
            source_regex = "[A-Za-z]{3,11}"
            connectors = ["alpha"]
            [[mt]]
            name = "intl"
            source_regex = '\+\d+'
            connectors = ["numeric"]
        """)
        self.assertEqual(t.route_mt(mt(source="MyBrand")).rule, "alpha")
        self.assertEqual(t.route_mt(mt(source="MyBrand1")).rule, NO_ROUTE)   # not a full match
        self.assertEqual(t.route_mt(mt(source="AB")).rule, NO_ROUTE)
        self.assertEqual(t.route_mt(mt(source="ABCDEFGHIJKL")).rule, NO_ROUTE)
        self.assertEqual(t.route_mt(mt(source="+12025550100")).rule, "intl")
        self.assertEqual(t.route_mt(mt(source="12025550100")).rule, NO_ROUTE)  # not normalised

    def test_service_type(self):
        t = table(self, """
            [[mt]]
            name = "wap"
            service_type = ["WAP"]
            connectors = ["wap"]
            [[mt]]
            name = "plain"
            service_type = [""]
            connectors = ["sms"]
        """)
        self.assertEqual(t.route_mt(mt(service_type="WAP")).rule, "wap")
        self.assertEqual(t.route_mt(mt(service_type="")).rule, "plain")
        self.assertEqual(t.route_mt(mt(service_type="CMT")).rule, NO_ROUTE)

    def test_all_criteria_must_match(self):
        t = table(self, """
            [[mt]]
            name = "narrow"
            users = ["alice"]
            destination_prefix = ["44"]
            source_prefix = ["Shop"]
            source_regex = "Shop[0-9]"
            connectors = ["a"]
        """)
        good = dict(user="alice", destination="447700900123", source="Shop1")
        self.assertEqual(t.route_mt(mt(**good)).rule, "narrow")
        for field, value in (("user", "bob"), ("destination", "337700900123"),
                             ("source", "Shop12"), ("source", "shop1")):
            with self.subTest(field=field, value=value):
                self.assertEqual(t.route_mt(mt(**dict(good, **{field: value}))).rule, NO_ROUTE)

    def test_failover_keeps_the_listed_order(self):
        t = table(self, """
            [[mt]]
            name = "fo"
            connectors = ["a", "b", "c"]
        """)
        for _ in range(4):
            self.assertEqual(t.route_mt(mt()), MTRoute(connectors=("a", "b", "c"), rule="fo"))

    def test_round_robin_rotates_the_start_and_keeps_the_order(self):
        t = table(self, """
            [[mt]]
            name = "rr"
            destination_prefix = ["1"]
            connectors = ["a", "b", "c"]
            strategy = "round-robin"
            [[mt]]
            name = "other"
            connectors = ["z"]
        """)
        seen = []
        for i in range(7):
            seen.append(t.route_mt(mt("15551234567")).connectors)
            # A message of another rule does not advance this rule's turn.
            self.assertEqual(t.route_mt(mt("447700900123")).connectors, ("z",))
        self.assertEqual(seen, [("a", "b", "c"), ("b", "c", "a"), ("c", "a", "b"),
                                ("a", "b", "c"), ("b", "c", "a"), ("c", "a", "b"),
                                ("a", "b", "c")])

    def test_round_robin_turns_are_per_rule(self):
        t = table(self, """
            [[mt]]
            name = "one"
            users = ["alice"]
            connectors = ["a", "b"]
            strategy = "round-robin"
            [[mt]]
            name = "two"
            connectors = ["a", "b"]
            strategy = "round-robin"
        """)
        self.assertEqual(t.route_mt(mt(user="alice")).connectors, ("a", "b"))
        self.assertEqual(t.route_mt(mt(user="bob")).connectors, ("a", "b"))
        self.assertEqual(t.route_mt(mt(user="alice")).connectors, ("b", "a"))
        self.assertEqual(t.route_mt(mt(user="bob")).connectors, ("b", "a"))

    def test_reject_rule(self):
        t = table(self, """
            [[mt]]
            name = "premium"
            destination_prefix = ["1900"]
            reject = "ESME_RPROHIBITED"
            [[mt]]
            name = "numeric"
            destination_prefix = ["1976"]
            reject = "0x45"
            [[mt]]
            name = "as-int"
            destination_prefix = ["1977"]
            reject = 88
            [[mt]]
            name = "us"
            destination_prefix = ["1"]
            connectors = ["smsc"]
        """)
        self.assertEqual(t.route_mt(mt("19005550100")),
                         MTReject(status=Status.ESME_RPROHIBITED.value, rule="premium"))
        self.assertEqual(t.route_mt(mt("19765550100")),
                         MTReject(status=Status.ESME_RSUBMITFAIL.value, rule="numeric"))
        self.assertEqual(t.route_mt(mt("19775550100")),
                         MTReject(status=Status.ESME_RTHROTTLED.value, rule="as-int"))
        self.assertEqual(t.route_mt(mt("12025550100")).rule, "us")

    def test_no_route_default_and_override(self):
        empty = table(self, "")
        self.assertEqual(empty.route_mt(mt()), MTReject(status=RINVDSTADR, rule=NO_ROUTE))
        custom = table(self, """
            [defaults]
            no_route = "ESME_RSUBMITFAIL"
            [[mt]]
            name = "uk"
            destination_prefix = ["44"]
            connectors = ["uk"]
        """)
        self.assertEqual(custom.route_mt(mt("15551234567")),
                         MTReject(status=Status.ESME_RSUBMITFAIL.value, rule=NO_ROUTE))

    def test_never_raises_on_malformed_requests(self):
        t = table(self, """
            [[mt]]
            name = "g"
            groups = ["gold"]
            source_regex = "x"
            connectors = ["a"]
        """)
        no_route = MTReject(status=RINVDSTADR, rule=NO_ROUTE)
        for request in (MTRequest("u", frozenset(), None, None),
                        MTRequest("u", frozenset(), b"x", "1"),
                        MTRequest("u", frozenset(), "x", 1),
                        MTRequest(["u"], frozenset(), "x", "1"),
                        None):
            with self.subTest(request=request):
                self.assertEqual(t.route_mt(request), no_route)

    def test_groups_as_any_collection(self):
        t = table(self, """
            [[mt]]
            name = "g"
            groups = ["gold"]
            connectors = ["a"]
        """)
        for groups in ({"gold"}, ["silver", "gold"], ("gold",)):
            with self.subTest(groups=groups):
                self.assertEqual(t.route_mt(replace(mt(), groups=groups)).rule, "g")
        self.assertEqual(t.route_mt(replace(mt(), groups=None)).rule, NO_ROUTE)


class LongTableTests(SynchronousTestCase):
    """Long tables take the destination-prefix index; the answers must stay first-match."""

    def setUp(self):
        rules = []
        for i in range(30):
            if i == 10:
                rules.append('[[mt]]\nname = "alice-all"\nusers = ["alice"]\n'
                             'connectors = ["alice"]\n')
            rules.append('[[mt]]\nname = "c%d"\ndestination_prefix = ["+%d"]\n'
                         'connectors = ["c%d"]\n' % (i, 200 + i, i))
        rules.append('[[mt]]\nname = "long-first"\ndestination_prefix = ["2101", "3"]\n'
                     'connectors = ["x"]\n')
        rules.append('[[mt]]\nname = "short-late"\ndestination_prefix = ["21"]\n'
                     'connectors = ["y"]\n')
        self.table = table(self, "\n".join(rules))
        self.assertGreaterEqual(len(self.table.routes.mt), INDEX_FROM)

    def rule(self, destination, user="bob"):
        return self.table.route_mt(mt(destination, user=user)).rule

    def test_prefix_rules(self):
        self.assertEqual(self.rule("2005551234"), "c0")
        self.assertEqual(self.rule("+2295551234"), "c29")
        self.assertEqual(self.rule("002105551234"), "c10")
        self.assertEqual(self.rule("2101"), "c10")          # c10 ("210") comes first
        self.assertEqual(self.rule("35551234"), "long-first")
        self.assertEqual(self.rule("2191"), "c19")
        self.assertEqual(self.rule("2"), NO_ROUTE)          # shorter than every prefix
        self.assertEqual(self.rule(""), NO_ROUTE)
        self.assertEqual(self.rule("+21"), "short-late")    # too short for every "21x"
        self.assertEqual(self.rule("2405551234"), NO_ROUTE)

    def test_rule_without_prefix_keeps_its_place(self):
        self.assertEqual(self.rule("2005551234", user="alice"), "c0")
        self.assertEqual(self.rule("2095551234", user="alice"), "c9")
        self.assertEqual(self.rule("2105551234", user="alice"), "alice-all")
        self.assertEqual(self.rule("2295551234", user="alice"), "alice-all")
        self.assertEqual(self.rule("999", user="alice"), "alice-all")


class MOTests(SynchronousTestCase):

    def setUp(self):
        self.table = table(self, """
            [[mo]]
            name = "stop"
            destination = ["12345"]
            keyword = ["STOP", "Unsubscribe"]
            user = "optout"
            [[mo]]
            name = "from-b"
            connectors = ["b"]
            user = "b-only"
            [[mo]]
            name = "shortcode"
            destination = ["12345", "+4470000"]
            user = "esme1"
            [[mo]]
            name = "range"
            destination_prefix = ["+4420"]
            user = "esme2"
        """)

    def rule(self, **kw):
        route = self.table.route_mo(mo(**kw))
        return None if route is None else route.rule

    def test_exact_destination(self):
        self.assertEqual(self.table.route_mo(mo("12345")), MORoute(user="esme1", rule="shortcode"))
        self.assertEqual(self.rule(destination="0012345"), "shortcode")
        self.assertEqual(self.rule(destination="4470000"), "shortcode")
        self.assertEqual(self.rule(destination="004470000"), "shortcode")
        self.assertIsNone(self.rule(destination="44700001"))
        self.assertIsNone(self.rule(destination="1234"))

    def test_prefix(self):
        self.assertEqual(self.rule(destination="442079460000"), "range")
        self.assertEqual(self.rule(destination="+442079460000"), "range")
        self.assertEqual(self.rule(destination="00442079460000"), "range")
        self.assertIsNone(self.rule(destination="443079460000"))

    def test_keyword_is_the_first_word_ignoring_case(self):
        for text in ("STOP", "stop", "Stop please", "  sToP\nnow", "unsubscribe me",
                     "UNSUBSCRIBE"):
            with self.subTest(text=text):
                self.assertEqual(self.rule(text=text), "stop")
        for text in ("please stop", "STOP.", "STOPPED", "", "   ", "hello STOP"):
            with self.subTest(text=text):
                self.assertEqual(self.rule(text=text), "shortcode")

    def test_keyword_needs_the_destination_too(self):
        self.assertIsNone(self.rule(destination="99999", text="STOP"))

    def test_connector_filter(self):
        self.assertEqual(self.rule(destination="99999", connector="b"), "from-b")
        self.assertIsNone(self.rule(destination="99999", connector="a"))
        # Earlier rules still win for connector b.
        self.assertEqual(self.rule(destination="12345", text="stop", connector="b"), "stop")
        self.assertEqual(self.rule(destination="12345", connector="b"), "from-b")

    def test_no_rules(self):
        self.assertIsNone(table(self, "").route_mo(mo()))

    def test_never_raises(self):
        self.assertIsNone(self.table.route_mo(MORequest("a", "1", None, None)))
        self.assertIsNone(self.table.route_mo(None))


class CheckTests(SynchronousTestCase):
    TEXT = """
        [[mt]]
        name = "one"
        users = ["esme1"]
        connectors = ["smsc", "smsc-backup"]

        [[mt]]
        name = "two"
        groups = ["gold"]
        reject = "ESME_RPROHIBITED"

        [[mo]]
        name = "in"
        connectors = ["smsc"]
        user = "esme2"
    """

    def setUp(self):
        self.path = write(self, self.TEXT)
        self.table = load_routes(self.path)

    def assertCheckError(self, connectors, users, line, key, *words):
        e = self.assertRaises(ConfigError, self.table.check, connectors, users)
        self.assertEqual((e.path, e.line, e.key), (self.path, line, key))
        for word in words:
            self.assertIn(word, e.message)
        self.assertTrue(str(e).startswith("%s:%d: %s: " % (self.path, line, key)), str(e))

    def test_all_known(self):
        self.table.check({"smsc", "smsc-backup", "spare"}, {"esme1", "esme2", "esme3"})

    def test_unknown_mt_connector(self):
        self.assertCheckError({"smsc", "smsc-bakup"}, {"esme1", "esme2"}, 4,
                              "mt[0].connectors", "unknown connector 'smsc-backup'",
                              "did you mean 'smsc-bakup'?")

    def test_unknown_mt_user(self):
        self.assertCheckError({"smsc", "smsc-backup"}, {"esme2"}, 3, "mt[0].users",
                              "unknown user 'esme1'")

    def test_unknown_mo_user(self):
        self.assertCheckError({"smsc", "smsc-backup"}, {"esme1"}, 14, "mo[0].user",
                              "unknown user 'esme2'", "did you mean 'esme1'?")

    def test_unknown_mo_connector(self):
        # The MT rule names smsc too, so it is reported first: file order.
        self.assertCheckError({"smsc-backup"}, {"esme1", "esme2"}, 4, "mt[0].connectors",
                              "unknown connector 'smsc'")
        t = table(self, """
            [[mo]]
            name = "in"
            connectors = ["smsc"]
            user = "esme2"
        """)
        e = self.assertRaises(ConfigError, t.check, {"other"}, {"esme2"})
        self.assertEqual((e.line, e.key), (3, "mo[0].connectors"))

    def test_check_without_a_file(self):
        """A table built in code still reports the key, only without a line."""
        t = RoutingTable(self.table.routes)
        e = self.assertRaises(ConfigError, t.check, {"smsc"}, {"esme1", "esme2"})
        self.assertEqual((e.line, e.key), (None, "mt[0].connectors"))


class ReloadTests(SynchronousTestCase):
    """The caller reloads by loading anew and swapping: a broken file must change nothing."""

    def test_broken_file_raises_and_the_running_table_is_untouched(self):
        path = write(self, """
            [[mt]]
            name = "rr"
            connectors = ["a", "b"]
            strategy = "round-robin"
        """)
        running = load_routes(path)
        self.assertEqual(running.route_mt(mt()).connectors, ("a", "b"))
        with open(path, "a") as f:
            f.write('[[mt]]\nname = "rr"\nconnectors = ["c"]\n')
        e = self.assertRaises(ConfigError, load_routes, path)
        self.assertEqual((e.line, e.key), (6, "mt[1].name"))
        self.assertEqual(running.route_mt(mt()).connectors, ("b", "a"))
        self.assertEqual(running.route_mt(mt()).connectors, ("a", "b"))
        self.assertEqual(ROUTERS, {"table": load_routes})

    def test_a_new_table_starts_its_own_turns(self):
        path = write(self, """
            [[mt]]
            name = "rr"
            connectors = ["a", "b"]
            strategy = "round-robin"
        """)
        old = load_routes(path)
        old.route_mt(mt())
        new = load_routes(path)
        self.assertEqual(new.route_mt(mt()).connectors, ("a", "b"))
        self.assertEqual(old.route_mt(mt()).connectors, ("b", "a"))


class RegistryTests(SynchronousTestCase):

    def test_table_is_registered(self):
        self.assertIs(ROUTERS["table"], load_routes)
        router = make_router("table", SHIPPED)
        self.assertTrue(verifyObject(IRouter, router))
        self.assertEqual(router.route_mt(mt()).rule, "us")

    def test_unknown_plugin(self):
        e = self.assertRaises(ConfigError, make_router, "tabel", SHIPPED)
        self.assertEqual(e.key, "router.routing")
        self.assertIn("unknown routing plugin 'tabel'; did you mean 'table'?", e.message)

    def test_loading_errors_pass_through(self):
        e = self.assertRaises(ConfigError, make_router, "table", self.mktemp())
        self.assertIn("cannot read", e.message)
