"""policy/numberlists.py: the list form of a number, and CSV imports."""

import io

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.policy.numberlists import BadNumber, number, read_csv

DIGITS = st.text("0123456789", min_size=1, max_size=18).filter(lambda d: not d.startswith("00"))


class NumberTests(SynchronousTestCase):

    @given(DIGITS, st.sampled_from(["", "+", "00"]))
    def test_international_prefixes_give_one_entry(self, digits, prefix):
        self.assertEqual(number(prefix + digits), number(digits))

    @given(st.text(max_size=30))
    def test_anything_is_a_number_or_a_bad_number(self, text):
        try:
            got = number(text)
        except BadNumber:
            return
        self.assertTrue(got.isascii() and got.isdigit() and len(got) <= 20)

    def test_spaces_and_punctuation_people_write_are_dropped(self):
        self.assertEqual(number("+44 (0)7700-900.001"), "4407700900001")


class CsvTests(SynchronousTestCase):

    def test_a_header_is_skipped_and_duplicates_kept_once(self):
        self.assertEqual(read_csv(io.StringIO("msisdn,name\n+4477,a\n\n004477\n15551\n")),
                         ["4477", "15551"])

    def test_a_bad_row_names_its_line_and_nothing_is_taken(self):
        with self.assertRaisesRegex(BadNumber, "line 3: 'call me'"):
            read_csv(io.StringIO("4477\n15551\ncall me\n"))
