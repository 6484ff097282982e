"""The E.164 normaliser (policy/numbers.py): examples, and properties under Hypothesis."""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.policy.numbers import E164, MAX_DIGITS, MIN_DIGITS, is_numeric

UK = E164("44")
digits = st.text(alphabet="0123456789", min_size=1, max_size=20)
# E.164 numbers: a first digit 1-9, 7 to 15 digits in all
e164 = st.builds(lambda first, rest: first + rest, st.sampled_from("123456789"),
                 st.text(alphabet="0123456789", min_size=MIN_DIGITS - 1,
                         max_size=MAX_DIGITS - 1))


class ExampleTests(SynchronousTestCase):

    def test_the_forms_of_one_number(self):
        for number in ("+447700900123", "00447700900123", "447700900123", "07700900123",
                       "+44 7700 900123", "07700-900-123", "0044.7700.900123"):
            self.assertEqual(UK(number), "447700900123", number)

    def test_a_national_ton_without_trunk_prefix_gets_the_country_code(self):
        self.assertEqual(UK("7700900123", ton=2), "447700900123")
        self.assertEqual(UK("7700900123", ton=0), "7700900123")   # taken as international

    def test_other_trunk_prefixes(self):
        self.assertEqual(E164("7", "8")("89161234567"), "79161234567")
        self.assertEqual(E164("39", "")("3123456789", ton=2), "393123456789")
        self.assertEqual(E164("39", "")("3123456789"), "3123456789")

    def test_what_cannot_be_normalised(self):
        plain = E164()
        for number in ("", "+", "00", "07700900123", "MyBrand", "+44 (0)20 7946 0000",
                       "12345", "+1234567890123456", "4477009001２3", None, 447700900123,
                       "+-447700900123x"):
            self.assertIsNone(plain(number), number)
        self.assertIsNone(UK("0"), "the trunk prefix alone")
        self.assertIsNone(UK("00"), "the international prefix alone")

    def test_numeric_sources(self):
        for source, numeric in (("447700900123", True), ("+44 7700", True), ("MyBrand", False),
                                ("", False), ("٤٤", False), (None, False)):
            self.assertEqual(is_numeric(source), numeric, source)


class PropertyTests(SynchronousTestCase):

    @given(number=e164)
    def test_an_e164_number_in_any_international_form_is_itself(self, number):
        for form in (number, "+" + number, "00" + number, "+" + number[:3] + " " + number[3:]):
            self.assertEqual(E164()(form), number)
            self.assertEqual(UK(form), number)

    @given(first=st.sampled_from("123456789"),
           rest=st.text(alphabet="0123456789", min_size=4, max_size=12))
    def test_a_national_number_gets_the_country_code(self, first, rest):
        # (a national number after its trunk "0" never starts with 0: "00" is international)
        national = first + rest
        out = UK("0" + national)
        expected = "44" + national
        self.assertEqual(out, expected if len(expected) <= MAX_DIGITS else None)

    @given(text=st.text(max_size=25), ton=st.integers(0, 6),
           country=st.sampled_from(["", "1", "44", "358"]),
           trunk=st.sampled_from(["", "0", "8"]))
    def test_any_input_gives_e164_digits_or_none_and_is_idempotent(self, text, ton, country,
                                                                   trunk):
        plan = E164(country, trunk)
        out = plan(text, ton)
        if out is not None:
            self.assertTrue(out.isascii() and out.isdigit(), out)
            self.assertTrue(MIN_DIGITS <= len(out) <= MAX_DIGITS)
            self.assertNotEqual(out[0], "0")
            self.assertEqual(plan(out), out)           # normalising twice changes nothing
            self.assertEqual(plan("+" + out), out)

    @given(number=digits)
    def test_without_a_country_code_only_the_prefixes_change(self, number):
        out = E164()(number)
        stripped = number[2:] if number.startswith("00") else number
        self.assertIn(out, (stripped, None))
