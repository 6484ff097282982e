"""Tests for smpprouter.routing.rules: every mistake in routes.toml names file, line and key."""

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.routing.rules import normalise
from smpprouter.routing.table import load_routes
from smpprouter.tomlfile import ConfigError

from .helpers import write

GOOD_MT = """\
[[mt]]
name = "ok"
destination_prefix = ["1"]
connectors = ["smsc"]
"""


class ErrorTests(SynchronousTestCase):

    def assertError(self, text, line, key, *words):
        """Loading text fails at this line and key, with these words in the message."""
        path = write(self, text)
        e = self.assertRaises(ConfigError, load_routes, path)
        self.assertEqual((e.path, e.line, e.key), (path, line, key), str(e))
        for word in words:
            self.assertIn(word, e.message)
        prefix = "%s:%d: %s: " % (path, line, key) if key else "%s:%d: " % (path, line)
        self.assertTrue(str(e).startswith(prefix), str(e))
        return e

    # -- the file's shape ----------------------------------------------------------------

    def test_invalid_toml(self):
        self.assertError(GOOD_MT + "name = \n", 5, "", "invalid TOML")

    def test_missing_file(self):
        path = self.mktemp()
        e = self.assertRaises(ConfigError, load_routes, path)
        self.assertEqual((e.path, e.line), (path, None))

    def test_unknown_top_level_key(self):
        self.assertError(GOOD_MT + "\n[[MO]]\nname = \"x\"\n", 6, "MO", "did you mean 'mo'?")

    def test_unknown_top_level_table(self):
        self.assertError("[default]\nno_route = \"ESME_RSYSERR\"\n", 1, "default",
                         "unknown key; did you mean 'defaults'?")

    def test_single_bracket_section(self):
        self.assertError("[mt]\nname = \"x\"\n", 1, "mt", "write [[mt]], not [mt]")

    def test_defaults_not_a_table(self):
        self.assertError("defaults = 3\n", 1, "defaults", "must be a table")

    def test_unknown_defaults_key(self):
        self.assertError("[defaults]\nno_rout = \"ESME_RSYSERR\"\n", 2, "defaults.no_rout",
                         "did you mean 'no_route'?")

    # -- statuses ----------------------------------------------------------------------

    def test_bad_no_route_status(self):
        self.assertError("[defaults]\n\nno_route = \"ESME_RINVDSTADDR\"\n", 3, "defaults.no_route",
                         "unknown SMPP status", "did you mean 'ESME_RINVDSTADR'?")

    def test_no_route_wrong_type(self):
        self.assertError("[defaults]\nno_route = true\n", 2, "defaults.no_route",
                         "must be an SMPP status name")

    def test_ok_is_not_a_rejection(self):
        self.assertError("[defaults]\nno_route = \"ESME_ROK\"\n", 2, "defaults.no_route",
                         "ESME_ROK is not a rejection")
        self.assertError("[defaults]\nno_route = 0\n", 2, "defaults.no_route",
                         "ESME_ROK is not a rejection")

    def test_status_out_of_range(self):
        self.assertError("[defaults]\nno_route = 4294967296\n", 2, "defaults.no_route",
                         "out of range")

    def test_bad_reject_status(self):
        self.assertError(GOOD_MT + "[[mt]]\nname = \"r\"\nreject = \"ESME_NOPE\"\n", 7,
                         "mt[1].reject", "unknown SMPP status 'ESME_NOPE'")

    # -- MT rules ------------------------------------------------------------------------

    def test_unknown_mt_key(self):
        self.assertError(GOOD_MT + "[[mt]]\nname = \"x\"\nuser = [\"a\"]\nconnectors = [\"s\"]\n",
                         7, "mt[1].user", "unknown key; did you mean 'users'?")

    def test_unknown_mt_key_plural(self):
        self.assertError("[[mt]]\nname = \"x\"\ndestination_prefixes = [\"1\"]\n", 3,
                         "mt[0].destination_prefixes", "did you mean 'destination_prefix'?")

    def test_missing_name(self):
        self.assertError(GOOD_MT + "\n[[mt]]\nconnectors = [\"s\"]\n", 6, "mt[1]",
                         "rule needs name")

    def test_bad_name(self):
        self.assertError("[[mt]]\nname = \"two words\"\nconnectors = [\"s\"]\n", 2, "mt[0].name",
                         "no spaces")
        self.assertError("[[mt]]\nname = 3\nconnectors = [\"s\"]\n", 2, "mt[0].name")
        self.assertError("[[mt]]\nname = \"\"\nconnectors = [\"s\"]\n", 2, "mt[0].name")

    def test_duplicate_name(self):
        self.assertError(GOOD_MT + "\n[[mt]]\nname = \"ok\"\nconnectors = [\"s\"]\n", 7,
                         "mt[1].name", "duplicate rule name 'ok' (first at line 2)")

    def test_same_name_in_mt_and_mo_is_fine(self):
        load_routes(write(self, GOOD_MT + "[[mo]]\nname = \"ok\"\nuser = \"u\"\n"))

    def test_neither_connectors_nor_reject(self):
        self.assertError(GOOD_MT + "\n[[mt]]\nname = \"empty\"\nusers = [\"a\"]\n", 6, "mt[1]",
                         "needs connectors", "or reject")

    def test_both_connectors_and_reject(self):
        self.assertError("[[mt]]\nname = \"x\"\nconnectors = [\"s\"]\nreject = \"ESME_RSYSERR\"\n",
                         4, "mt[0].reject", "not both")

    def test_wrong_types(self):
        cases = [
            ("users = \"esme1\"", "mt[0].users", "must be a list of strings, e.g. [\"esme1\"]"),
            ("groups = [1]", "mt[0].groups[0]", "must be a string: write \"1\""),
            ("destination_prefix = [1, 44]", "mt[0].destination_prefix[0]",
             "must be a string: write \"1\""),
            ("source_prefix = {a = 1}", "mt[0].source_prefix", "must be a list of strings"),
            ("source_regex = [\"x\"]", "mt[0].source_regex", "regular expression in a string"),
            ("service_type = \"WAP\"", "mt[0].service_type", "must be a list of strings"),
            ("connectors = \"smsc\"", "mt[0].connectors", "e.g. [\"smsc\"]"),
            ("connectors = [\"a\", \"\"]", "mt[0].connectors[1]", "must not be empty"),
            ("reject = 1.5", "mt[0].reject", "must be an SMPP status name"),
        ]
        for assignment, key, words in cases:
            with self.subTest(assignment=assignment):
                if not assignment.startswith(("connectors", "reject")):
                    assignment += "\nconnectors = [\"s\"]"
                self.assertError("[[mt]]\nname = \"x\"\n%s\n" % assignment, 3, key, words)

    def test_empty_lists(self):
        for field in ("users", "groups", "destination_prefix", "source_prefix", "service_type",
                      "connectors"):
            with self.subTest(field=field):
                tail = "" if field == "connectors" else "connectors = [\"s\"]\n"
                self.assertError("[[mt]]\nname = \"x\"\n%s = []\n%s" % (field, tail), 3,
                                 "mt[0].%s" % field, "empty list", "leave the key out")

    def test_prefix_that_is_only_an_international_marker(self):
        for prefix in ("+", "00", ""):
            with self.subTest(prefix=prefix):
                self.assertError("[[mt]]\nname = \"x\"\ndestination_prefix = [\"1\", \"%s\"]\n"
                                 "connectors = [\"s\"]\n" % prefix, 3,
                                 "mt[0].destination_prefix[1]")

    def test_prefix_with_spaces(self):
        self.assertError("[[mt]]\nname = \"x\"\nsource_prefix = [\"44 20\"]\n"
                         "connectors = [\"s\"]\n", 3, "mt[0].source_prefix[0]", "no spaces")

    def test_unknown_strategy(self):
        self.assertError("[[mt]]\nname = \"x\"\nconnectors = [\"s\"]\nstrategy = \"roundrobin\"\n",
                         4, "mt[0].strategy", "did you mean 'round-robin'?")
        self.assertError("[[mt]]\nname = \"x\"\nconnectors = [\"s\"]\nstrategy = 1\n",
                         4, "mt[0].strategy", "must be one of 'failover', 'round-robin'")

    def test_strategy_with_reject(self):
        self.assertError("[[mt]]\nname = \"x\"\nreject = 11\nstrategy = \"failover\"\n", 4,
                         "mt[0].strategy", "not to reject")

    def test_duplicate_connector(self):
        self.assertError("[[mt]]\nname = \"x\"\nconnectors = [\"a\", \"b\", \"a\"]\n", 3,
                         "mt[0].connectors[2]", "'a' listed twice")

    def test_bad_regex(self):
        self.assertError(GOOD_MT + "[[mt]]\nname = \"x\"\n\nsource_regex = \"[A-Z\"\n"
                         "connectors = [\"s\"]\n", 8, "mt[1].source_regex",
                         "invalid regular expression")
        self.assertError("[[mt]]\nname = \"x\"\nsource_regex = \"\"\nconnectors = [\"s\"]\n", 3,
                         "mt[0].source_regex")

    def test_rule_after_a_catch_all(self):
        self.assertError("[[mt]]\nname = \"all\"\nconnectors = [\"a\"]\n\n" + GOOD_MT, 5,
                         "mt[1]", "rule 'ok' can never match", "rule 'all' (line 1)")

    def test_catch_all_last_is_fine(self):
        t = load_routes(write(self, GOOD_MT + "[[mt]]\nname = \"all\"\nreject = 11\n"))
        self.assertEqual([r.name for r in t.routes.mt], ["ok", "all"])

    # -- MO rules ------------------------------------------------------------------------

    def test_unknown_mo_key(self):
        self.assertError("[[mo]]\nname = \"x\"\nusers = [\"a\"]\n", 3, "mo[0].users",
                         "did you mean 'user'?")

    def test_mo_user_required(self):
        self.assertError("[[mo]]\nname = \"x\"\ndestination = [\"1\"]\n", 1, "mo[0]",
                         "needs user")

    def test_mo_user_is_one_name(self):
        self.assertError("[[mo]]\nname = \"x\"\nuser = [\"a\"]\n", 3, "mo[0].user",
                         "must be one user name")

    def test_mo_wrong_types_and_empty_lists(self):
        cases = [
            ("destination = \"12345\"", "mo[0].destination", "e.g. [\"12345\"]"),
            ("destination = [12345]", "mo[0].destination[0]", "write \"12345\""),
            ("destination = []", "mo[0].destination", "empty list"),
            ("destination_prefix = []", "mo[0].destination_prefix", "empty list"),
            ("destination = [\"00\"]", "mo[0].destination[0]", "not a number"),
            ("keyword = []", "mo[0].keyword", "empty list"),
            ("keyword = [\"STOP ALL\"]", "mo[0].keyword[0]", "one word"),
            ("keyword = [\"\"]", "mo[0].keyword[0]", "must not be empty"),
            ("connectors = []", "mo[0].connectors", "empty list"),
            ("connectors = \"smsc\"", "mo[0].connectors", "must be a list"),
        ]
        for assignment, key, words in cases:
            with self.subTest(assignment=assignment):
                self.assertError("[[mo]]\nname = \"x\"\n%s\nuser = \"u\"\n" % assignment, 3, key,
                                 words)

    def test_mo_duplicate_name(self):
        self.assertError("[[mo]]\nname = \"a\"\ndestination = [\"1\"]\nuser = \"u\"\n"
                         "[[mo]]\nname = \"a\"\nuser = \"u\"\n", 6, "mo[1].name",
                         "duplicate rule name 'a' (first at line 2)")

    def test_mo_rule_after_a_catch_all(self):
        self.assertError("[[mo]]\nname = \"all\"\nuser = \"u\"\n[[mo]]\nname = \"b\"\n"
                         "user = \"v\"\n", 4, "mo[1]", "can never match")

    def test_mo_single_bracket(self):
        self.assertError("[mo]\nname = \"x\"\n", 1, "mo", "write [[mo]]")


class NormaliseTests(SynchronousTestCase):

    def test_exact_rules(self):
        self.assertEqual(normalise("+447700900123"), "447700900123")
        self.assertEqual(normalise("00447700900123"), "447700900123")
        self.assertEqual(normalise("07700900123"), "07700900123")
        self.assertEqual(normalise("+00447"), "00447")
        self.assertEqual(normalise("000447"), "0447")
        self.assertEqual(normalise("MyBrand"), "MyBrand")
        self.assertEqual(normalise(""), "")

    def test_prefixes_are_stored_normalised(self):
        t = load_routes(write(self, "[[mt]]\nname = \"x\"\ndestination_prefix = "
                                    "[\"+44\", \"0044\", \"33\", \"1\"]\nconnectors = [\"s\"]\n"))
        self.assertEqual(t.routes.mt[0].destination_prefix, ("1", "33", "44"))
