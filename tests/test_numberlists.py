"""policy/numberlists.py: the list form of a number and of a sender id, and CSV imports."""

import io

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.policy.numberlists import BadNumber, number, read_csv, sender, sender_id

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


ALPHANUMERIC = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 &.-",
                       min_size=1, max_size=11).filter(
    lambda t: t.strip() and not t.strip()[0].isdigit())


class SenderTests(SynchronousTestCase):

    @given(ALPHANUMERIC)
    def test_an_alphanumeric_id_is_one_entry_whatever_its_case(self, text):
        self.assertEqual(sender_id(text.upper()), sender_id(text.lower()))
        self.assertEqual(sender(text), sender_id(text.strip()))

    @given(DIGITS, st.sampled_from(["", "+", "00"]))
    def test_a_numeric_id_is_kept_as_the_number_lists_keep_numbers(self, digits, prefix):
        self.assertEqual(sender_id(prefix + digits), number(digits))
        self.assertEqual(sender(prefix + digits), number(digits))

    @given(st.text(max_size=30))
    def test_anything_is_a_sender_id_or_a_bad_one(self, text):
        try:
            got = sender(text)
        except BadNumber:
            return
        self.assertTrue(got and got.isascii() and len(got) <= 20)
        self.assertEqual(sender_id(text.strip()), got)   # the core finds what the CLI put

    @given(st.text(max_size=30))
    def test_the_core_reads_any_source(self, text):
        self.assertIsInstance(sender_id(text), str)

    def test_the_forms_people_write(self):
        self.assertEqual(sender_id("MyBrand"), "mybrand")
        self.assertEqual(sender_id("+44 7700-900001"), "447700900001")
        self.assertEqual(sender_id("12AB"), "12ab")   # not a number: an alphanumeric id
        for bad in ("", "   ", "ABCDEFGHIJKLMNOPQRSTU", "Caf\u00e9", "00"):
            with self.assertRaises(BadNumber):
                sender(bad)


class CsvTests(SynchronousTestCase):

    def test_sender_ids_import_with_their_parser(self):
        self.assertEqual(read_csv(io.StringIO("sender\nMyBrand\nMYBRAND\n+4477\n"), sender),
                         ["mybrand", "4477"])

    def test_a_header_is_skipped_and_duplicates_kept_once(self):
        self.assertEqual(read_csv(io.StringIO("msisdn,name\n+4477,a\n\n004477\n15551\n")),
                         ["4477", "15551"])

    def test_a_bad_row_names_its_line_and_nothing_is_taken(self):
        with self.assertRaisesRegex(BadNumber, "line 3: 'call me'"):
            read_csv(io.StringIO("4477\n15551\ncall me\n"))
