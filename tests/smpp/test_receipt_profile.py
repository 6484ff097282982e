"""A user's receipt profile (smpp.receipt.restyle, receiptmap.ReceiptProfile):
dates with or without seconds, the text key's spelling, err in the user's
vocabulary; every other byte as it was."""

import os
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import TestCase

from smpprouter.receiptmap import ReceiptProfile, load_reverse_map
from smpprouter.smpp.receipt import build_receipt, parse_receipt, restyle

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "etc")
SEED002 = os.path.join(ETC, "receipt-maps", "seed002.toml")
RECEIPT = (b"id:abc sub:001 dlvrd:000 submit date:2612011342 done date:261201134512 "
           b"stat:UNDELIV err:011 text:err:011 submit date:2612011342")

ids = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e, exclude_characters="\"'"),
              min_size=1, max_size=20)
times = st.datetimes(datetime(2001, 1, 1), datetime(2098, 12, 31),
                     timezones=st.just(timezone.utc))
texts = st.binary(max_size=20)
codes = st.integers(0, 999)


class RestyleTests(TestCase):
    def test_the_default_profile_changes_nothing(self):
        self.assertIs(restyle(RECEIPT), RECEIPT)

    def test_each_setting_changes_only_its_own_bytes(self):
        self.assertEqual(restyle(RECEIPT, 12),
                         RECEIPT.replace(b"date:2612011342 done", b"date:261201134200 done"))
        self.assertEqual(restyle(RECEIPT, 10),
                         RECEIPT.replace(b"261201134512", b"2612011345"))
        self.assertEqual(restyle(RECEIPT, 0, b"Text"), RECEIPT.replace(b"text:", b"Text:"))
        # the text is content: nothing in it is a field
        self.assertEqual(restyle(RECEIPT, 0, b"", {11: b"001"}),
                         RECEIPT.replace(b"err:011 text", b"err:001 text"))
        self.assertEqual(restyle(RECEIPT, 0, b"", {12: b"401"}), RECEIPT)   # not named

    def test_dlvrd_left_out_as_seed_000_writes_receipts(self):
        self.assertEqual(restyle(RECEIPT, drop_dlvrd=True), RECEIPT.replace(b"dlvrd:000 ", b""))
        # only the field: a "dlvrd:" inside the text is content
        text = RECEIPT.replace(b"text:err:011", b"text:dlvrd:001")
        self.assertEqual(restyle(text, drop_dlvrd=True), text.replace(b"dlvrd:000 ", b""))
        self.assertIs(restyle(b"id:1 stat:DELIVRD", drop_dlvrd=True), b"id:1 stat:DELIVRD")

    def test_what_is_not_a_date_or_a_number_is_left_alone(self):
        odd = b"id:1 submit date:170100935 done date:soon err:x Text:\"hi\""   # seed 000's 9
        self.assertEqual(restyle(odd, 12, b"text", {0: b"000"}),
                         odd.replace(b"Text:", b"text:"))

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200), st.sampled_from((0, 10, 12)),
           st.sampled_from((b"", b"text", b"Text")),
           st.booleans())
    def test_any_bytes_never_raise(self, data, length, key, drop):
        restyle(data, length, key, {0: b"000"}, drop)

    @settings(max_examples=300, deadline=None)
    @given(ids, times, times, st.sampled_from(("DELIVRD", "UNDELIV", "EXPIRED")), codes, texts,
           st.booleans(), st.sampled_from((10, 12)), st.sampled_from((b"text", b"Text")),
           st.dictionaries(codes, st.integers(0, 999).map(lambda c: b"%03d" % c)),
           st.booleans())
    def test_a_receipt_restyled_reads_back_as_the_profile_says(
            self, id_, submitted, done, stat, err, text, seconds, length, key, table, drop):
        before = build_receipt(id_, submitted, done, stat, err=err, text=text, seconds=seconds)
        after = restyle(before, length, key, table, drop)
        old, new = parse_receipt(before), parse_receipt(after)
        self.assertEqual((new.id, new.sub, new.stat, new.text),
                         (old.id, old.sub, old.stat, old.text))
        self.assertEqual(new.dlvrd, None if drop else old.dlvrd)
        for was, now in ((old.submit_date, new.submit_date), (old.done_date, new.done_date)):
            self.assertEqual(len(now), length)
            self.assertEqual(now[:10], was[:10])   # to the minute, as it was
        self.assertEqual(new.err, table.get(err, b"%03d" % err).decode())
        self.assertIn(b" " + key + b":", after)
        # once in the profile, again changes nothing (dates, key)
        self.assertEqual(restyle(after, length, key), after)


class ReverseMapTests(TestCase):
    def test_seed002_read_backwards_with_its_reverse_table(self):
        table = load_reverse_map(SEED002)
        self.assertEqual(table[0], b"000")
        self.assertEqual(table[11], b"001")    # the first of 001, 002, 003, 015
        self.assertEqual(table[27], b"034")
        self.assertEqual(table[99], b"099")    # [reverse]: the receipt timeout
        self.assertEqual(table[16], b"021")    # [reverse]: expired at gateway
        self.assertEqual(table[102], b"778")

    def test_seed000_users_get_seed000_codes_for_the_routers_own_refusals(self):
        table = load_reverse_map(os.path.join(ETC, "receipt-maps", "seed000.toml"))
        self.assertEqual(table[460], b"018")   # seed 000's 18 "Duplicate Message"
        self.assertEqual(table[408], b"013")
        self.assertEqual(table[407], b"006")   # content: "Failed @ operator"
        self.assertEqual(table[451], b"015")   # a blocked sender: "Invalid Originator"
        self.assertNotIn(11, table)            # the canonical codes stay as they are

    def test_a_profile_applies_all_three(self):
        profile = ReceiptProfile(12, b"Text", load_reverse_map(SEED002))
        self.assertTrue(profile.seconds)
        self.assertEqual(profile.apply(b"id:1 submit date:2612011342 done date:2612011342 "
                                       b"stat:EXPIRED err:016 text:x"),
                         b"id:1 submit date:261201134200 done date:261201134200 "
                         b"stat:EXPIRED err:021 Text:x")
