"""A route's actions (e164, rewrite, add_tlvs, set_tlvs): what the decision carries,
what it does to a Submission, and every mistake in routes.toml named by file:line: key."""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Submission
from smpprouter.policy.rewrite import AddressRule, Rewrite
from smpprouter.routing.actions import unbounded
from smpprouter.routing.interface import MTReject, MTRequest
from smpprouter.smpp.status import Status
from smpprouter.tomlfile import ConfigError

from .helpers import mt, table, write
from smpprouter.routing.table import load_routes

UK = """
[[mt]]
name = "uk"
destination_prefix = ["44", "07"]
connectors = ["a"]
price = 10
prices = { "447" = 40 }
e164 = { country_code = "44", source = true }
rewrite = [
  { field = "destination", prefix = "447700", replace = "447711" },
  { field = "destination", prefix = "4477", replace = "never" },
  { field = "source", regex = "([A-Z]+)-(\\\\d+)", replace = "\\\\2\\\\1", ton = 5, npi = 0 },
]
add_tlvs = { pe_id = "1201" }
set_tlvs = { tm_id = "x,1", 0x1500 = "0a0b", user_message_reference = 7 }

[[mt]]
name = "rest"
connectors = ["b"]
"""


def submission(destination, source="MyBrand", tlvs=None):
    return Submission("esme1", source, destination, b"hi", tlvs=tlvs if tlvs is not None else {})


class DecisionTests(SynchronousTestCase):

    def test_national_number_is_normalised_priced_and_rewritten(self):
        d = table(self, UK).route_mt(mt("07700900123", source="+44 7700 900999"))
        self.assertEqual((d.rule, d.price), ("uk", 40))   # priced on 447700900123
        s = d.rewrite.apply(submission("07700900123", "+44 7700 900999",
                                       {"pe_id": "mine"}))
        self.assertEqual((s.destination, s.dest_ton, s.dest_npi), ("447711900123", 1, 1))
        self.assertEqual((s.source, s.source_ton, s.source_npi), ("447700900999", 1, 1))
        self.assertEqual(s.tlvs, {"pe_id": "mine", "tm_id": "x,1", 0x1500: b"\x0a\x0b",
                                  "user_message_reference": 7})

    def test_the_original_submission_is_untouched(self):
        d = table(self, UK).route_mt(mt("447800900123", source="AB-12"))
        original = submission("447800900123", "AB-12", {})
        s = d.rewrite.apply(original)
        self.assertEqual((original.destination, original.source, original.tlvs),
                         ("447800900123", "AB-12", {}))
        self.assertEqual((s.source, s.source_ton, s.source_npi), ("12AB", 5, 0))
        self.assertEqual(s.tlvs["pe_id"], "1201")   # added: it had none

    def test_a_destination_that_cannot_be_normalised_is_refused(self):
        d = table(self, UK).route_mt(mt("07x", source="AB"))
        self.assertEqual(d, MTReject(Status.ESME_RINVDSTADR, "uk", bad_number=True))

    def test_a_numeric_source_that_cannot_be_normalised_is_refused(self):
        d = table(self, UK).route_mt(mt("447700900123", source="0123"))
        self.assertEqual(d, MTReject(Status.ESME_RINVSRCADR, "uk"))

    def test_a_national_ton_gets_the_country_code(self):
        t = table(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\n'
                        'e164 = { country_code = "33", trunk_prefix = "" }\n')
        request = MTRequest("esme1", frozenset(), "S", "612345678", "", 2)
        self.assertEqual(t.route_mt(request).rewrite.changes["destination"], "33612345678")

    def test_rules_without_actions_carry_none_and_stay_shared(self):
        t = table(self, UK)
        first, second = t.route_mt(mt("15551234567")), t.route_mt(mt("15551234568"))
        self.assertIsNone(first.rewrite)
        self.assertIs(first, second)

    def test_a_rewrite_too_long_for_smpp_is_refused(self):
        t = table(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\n'
                        'rewrite = [{ field = "destination", prefix = "1", '
                        'replace = "11111111111111111111" }]\n')
        self.assertEqual(t.route_mt(mt("15551234567")).status, Status.ESME_RINVDSTADR)

    def test_explain_trace(self):
        trace = []
        out = Rewrite(rules=(AddressRule("destination", "1", None, "01"),))(
            "S", "15551234567", 0, trace)
        self.assertEqual(out.changes, {"destination": "015551234567"})
        self.assertEqual(out.priced, "15551234567")
        self.assertEqual(len(trace), 1)
        self.assertIn("prefix '1' -> '01'", trace[0])


class NaiveModelTests(SynchronousTestCase):
    """The compiled rewrite against a direct reading of the rules."""

    @given(destination=st.text(alphabet="0123456789+", max_size=16),
           rules=st.lists(st.tuples(st.sampled_from(["destination", "source"]),
                                    st.text(alphabet="0129", min_size=1, max_size=3),
                                    st.text(alphabet="0129", max_size=3)), max_size=4))
    def test_first_matching_prefix_rule_per_field(self, destination, rules):
        rewrite = Rewrite(rules=tuple(AddressRule(f, p, None, r) for f, p, r in rules))
        out = rewrite("9", destination)
        expected = {"destination": destination, "source": "9"}
        refused = set()
        for field in expected:   # (a rewritten address must be 1 to 20 characters)
            for f, prefix, replacement in rules:
                if f == field and expected[field].startswith(prefix):
                    expected[field] = replacement + expected[field][len(prefix):]
                    if not 0 < len(expected[field]) <= 20:
                        refused.add(Status.ESME_RINVDSTADR if field == "destination"
                                    else Status.ESME_RINVSRCADR)
                    break
        if refused:
            self.assertIn(out, refused)
            return
        self.assertEqual(out.changes.get("destination", destination), expected["destination"])
        self.assertEqual(out.changes.get("source", "9"), expected["source"])


class BoundedRegexTests(SynchronousTestCase):

    def test_patterns(self):
        from re import _parser
        for pattern, ok in (("0(\\d+)", True), ("[A-Z]{3}-\\d*", True), ("(\\d{3})", True),
                            ("(a+)+", False), ("(ab|cd)*", False), ("(\\d*)*", False),
                            ("\\d*\\d*\\d*\\d*", False), ("(a)\\1", False),
                            ("(?=\\d+)\\d", True), ("abc|def", True)):
            self.assertEqual(unbounded(_parser.parse(pattern)) == "", ok, pattern)


class ErrorTests(SynchronousTestCase):

    def error(self, rule, key_text, line=4):
        path = write(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\n' + rule)
        with self.assertRaises(ConfigError) as e:
            load_routes(path)
        message = str(e.exception)
        self.assertIn("%s:%d" % (path, line), message)
        self.assertIn(key_text, message)
        return message

    def test_every_mistake_is_named(self):
        self.error('e164 = "44"\n', "mt[0].e164")
        self.error('e164 = { country_code = "044" }\n', "country_code")
        self.error('e164 = { country = "44" }\n', "did you mean 'country_code'")
        self.error('e164 = { trunk_prefix = "0" }\n', "give country_code too")
        self.error('e164 = { country_code = "44", source = 1 }\n', "true or false")
        self.error('rewrite = []\n', "non-empty list")
        self.error('rewrite = [{ field = "destinaton", prefix = "1", replace = "" }]\n',
                   "did you mean 'destination'")
        self.error('rewrite = [{ field = "source", replace = "" }]\n', "exactly one of")
        self.error('rewrite = [{ field = "source", prefix = "1" }]\n', "needs replace")
        self.error('rewrite = [{ field = "source", regex = "(a+)+", replace = "" }]\n',
                   "a repetition inside a repetition")
        self.error('rewrite = [{ field = "source", regex = "(a", replace = "" }]\n',
                   "invalid regular expression")
        self.error('rewrite = [{ field = "source", regex = "(a)", replace = "\\\\2" }]\n',
                   "invalid replacement")
        self.error('rewrite = [{ field = "source", prefix = "1", replace = "", ton = 9 }]\n',
                   "0 to 6")
        self.error('rewrite = [{ field = "source", prefix = "1", replace = "", x = 1 }]\n',
                   "unknown key")
        self.error('add_tlvs = { pe_idd = "x" }\n', "did you mean 'pe_id'")
        self.error('add_tlvs = { pe_id = 5 }\n', "printable text")
        self.error('set_tlvs = { user_message_reference = "x" }\n', "an integer")
        self.error('set_tlvs = { user_message_reference = 70000 }\n', "does not fit")
        self.error('set_tlvs = { 0x1500 = "xyz" }\n', "in hex")
        self.error('set_tlvs = { message_payload = "00" }\n', "cannot be set")
        self.error('add_tlvs = { pe_id = "a" }\nset_tlvs = { PE_ID = "b" }\n', "add_tlvs too", 5)

    def test_actions_belong_to_routing_rules(self):
        path = write(self, '[[mt]]\nname = "x"\nreject = "ESME_RINVDSTADR"\ne164 = true\n')
        with self.assertRaises(ConfigError) as e:
            load_routes(path)
        self.assertIn("e164 applies to a rule that routes", str(e.exception))

    def test_e164_false_is_no_action(self):
        t = table(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\ne164 = false\n')
        self.assertIsNone(t.route_mt(mt()).rewrite)
