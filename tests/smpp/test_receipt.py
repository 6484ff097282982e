"""Tests for smpprouter.smpp.receipt."""

from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp.receipt import (
    MessageState, Receipt, build_receipt, format_receipt, is_final, parse_receipt,
    rewrite_id, stat_to_state, state_to_stat,
)

UTC = timezone.utc

# The example of seed 000, as the vendor documents it (nine-digit dates and all).
SEED_000 = (b'id:1_14839433040000 sub:001 submit date:170100935 done date:170100940 '
            b'stat:DELIVRD err:000 text:"Sending SMS through SMPP "')

# Seed 002's stat/err table, in a receipt of the shape that vendor sends.
SEED_002 = (b"id:5F3A9B21 sub:001 dlvrd:000 submit date:2403101200 done date:2403101201 "
            b"stat:DLT-REJECTED err:777 text:Your OTP is 123456")

CANONICAL = (b"id:0123456789 sub:001 dlvrd:001 submit date:2403101200 "
             b"done date:240310120130 stat:DELIVRD err:000 Text:Hello world")


class ParseTests(SynchronousTestCase):

    def test_seed_000(self):
        self.assertEqual(parse_receipt(SEED_000), Receipt(
            id="1_14839433040000", sub="001", dlvrd=None, submit_date="170100935",
            done_date="170100940", stat="DELIVRD", err="000",
            text="Sending SMS through SMPP "))

    def test_seed_000_dates_are_kept_raw_but_unreadable(self):
        receipt = parse_receipt(SEED_000)
        self.assertRaises(ValueError, receipt.submit_datetime)
        self.assertRaises(ValueError, receipt.done_datetime)

    def test_seed_002_dlt_stat(self):
        receipt = parse_receipt(SEED_002)
        self.assertEqual(receipt, Receipt(
            id="5F3A9B21", sub="001", dlvrd="000", submit_date="2403101200",
            done_date="2403101201", stat="DLT-REJECTED", err="777", text="Your OTP is 123456"))
        self.assertEqual(receipt.state(), MessageState.REJECTED)

    def test_canonical(self):
        receipt = parse_receipt(CANONICAL)
        self.assertEqual(receipt, Receipt(
            id="0123456789", sub="001", dlvrd="001", submit_date="2403101200",
            done_date="240310120130", stat="DELIVRD", err="000", text="Hello world"))
        self.assertEqual(receipt.submit_datetime(), datetime(2024, 3, 10, 12, 0, tzinfo=UTC))
        self.assertEqual(receipt.done_datetime(), datetime(2024, 3, 10, 12, 1, 30, tzinfo=UTC))

    def test_str_input(self):
        self.assertEqual(parse_receipt(CANONICAL.decode()), parse_receipt(CANONICAL))

    def test_hex_and_decimal_ids(self):
        for value in ("0a1B2c3D", "ffffffff", "18446744073709551615", "000042"):
            with self.subTest(id=value):
                data = b"id:%s stat:DELIVRD" % value.encode()
                self.assertEqual(parse_receipt(data).id, value)

    def test_uuid_id(self):
        value = "8d2f5b1c-1f0e-4b1a-9f6e-6a1b2c3d4e5f"
        self.assertEqual(parse_receipt(b"id:" + value.encode() + b" stat:ACCEPTD").id, value)

    def test_missing_done_date(self):
        receipt = parse_receipt(b"id:42 sub:001 dlvrd:000 submit date:2403101200 "
                                b"stat:ENROUTE err:000 text:")
        self.assertIsNone(receipt.done_date)
        self.assertIsNone(receipt.done_datetime())
        self.assertEqual(receipt.submit_date, "2403101200")
        self.assertEqual(receipt.text, "")

    def test_only_id(self):
        self.assertEqual(parse_receipt(b"id:42"), Receipt(id="42"))

    def test_text_key_any_case(self):
        for key in (b"Text:", b"text:", b"TEXT:"):
            with self.subTest(key=key):
                receipt = parse_receipt(b"id:1 stat:DELIVRD err:000 " + key + b"abc")
                self.assertEqual(receipt.text, "abc")
                self.assertEqual(receipt.err, "000")

    def test_no_text_field(self):
        self.assertIsNone(parse_receipt(b"id:1 stat:DELIVRD err:000").text)

    def test_keys_any_case(self):
        receipt = parse_receipt(b"ID:7 SUB:001 DLVRD:001 Submit Date:2403101200 "
                                b"DONE DATE:2403101201 Stat:delivrd ERR:000 TEXT:x")
        self.assertEqual(receipt, Receipt(
            id="7", sub="001", dlvrd="001", submit_date="2403101200",
            done_date="2403101201", stat="delivrd", err="000", text="x"))
        self.assertEqual(receipt.state(), MessageState.DELIVERED)

    def test_underscored_date_keys(self):
        receipt = parse_receipt(b"id:7 submit_date:240310120005 done_date:240310120106 "
                                b"stat:UNDELIV")
        self.assertEqual(receipt.submit_date, "240310120005")
        self.assertEqual(receipt.done_date, "240310120106")

    def test_other_order_extra_fields_extra_spaces(self):
        receipt = parse_receipt(b"  stat:EXPIRED   err:021 imsi:404450000000000  "
                                b"done date:2403101201 id :  abc  sub: 001 "
                                b"vendor-ref:x:y\tdlvrd:000  Text:  hi  ")
        self.assertEqual(receipt, Receipt(
            id="abc", sub="001", dlvrd="000", submit_date=None, done_date="2403101201",
            stat="EXPIRED", err="021", text="hi"))

    def test_text_runs_to_the_end(self):
        receipt = parse_receipt(b"id:1 stat:DELIVRD text:id:2 stat:UNDELIV err:99 done date:x")
        self.assertEqual(receipt.id, "1")
        self.assertEqual(receipt.stat, "DELIVRD")
        self.assertIsNone(receipt.err)
        self.assertEqual(receipt.text, "id:2 stat:UNDELIV err:99 done date:x")

    def test_id_only_inside_text_is_not_a_receipt(self):
        self.assertIsNone(parse_receipt(b"stat:DELIVRD text:id:5"))
        self.assertIsNone(parse_receipt(b"stat:DELIVRD Text: your id:5 sub:001"))

    def test_not_a_receipt(self):
        for data in (b"", b"Hello, are you coming tonight?", b"kid:1 stat:DELIVRD",
                     b"idx:1", b"i_d:1", b"stat:DELIVRD err:000", "Bonjour à tous"):
            with self.subTest(data=data):
                self.assertIsNone(parse_receipt(data))

    def test_first_occurrence_wins(self):
        receipt = parse_receipt(b"id:1 stat:DELIVRD id:2 stat:UNDELIV")
        self.assertEqual((receipt.id, receipt.stat), ("1", "DELIVRD"))

    def test_quoted_values(self):
        receipt = parse_receipt(b"id:\"abc\" stat:'DELIVRD' text:'hi there'")
        self.assertEqual((receipt.id, receipt.stat, receipt.text), ("abc", "DELIVRD", "hi there"))

    def test_empty_values(self):
        receipt = parse_receipt(b"id: sub: stat:DELIVRD err:")
        self.assertEqual(receipt, Receipt(id="", stat="DELIVRD"))

    def test_alphanumeric_err_and_vendor_stat(self):
        receipt = parse_receipt(b"id:9 stat:ABSENT-SUB err:E03")
        self.assertEqual((receipt.stat, receipt.err), ("ABSENT-SUB", "E03"))
        self.assertEqual(receipt.state(), MessageState.UNDELIVERABLE)

    def test_value_with_colon(self):
        self.assertEqual(parse_receipt(b"id:a:b:c stat:DELIVRD").id, "a:b:c")

    def test_text_bytes_survive(self):
        data = b"id:1 text:\xe9\xa0\x1b\xff"
        self.assertEqual(parse_receipt(data).text.encode("latin-1"), b"\xe9\xa0\x1b\xff")
        self.assertEqual(format_receipt(parse_receipt(data)), b"id:1 Text:\xe9\xa0\x1b\xff")

    def test_trailing_nul(self):
        self.assertEqual(parse_receipt(b"id:1 stat:DELIVRD text:hi\x00").text, "hi")


class RewriteIdTests(SynchronousTestCase):

    def test_canonical(self):
        self.assertEqual(rewrite_id(CANONICAL, "R-1"), b"id:R-1" + CANONICAL[len(b"id:0123456789"):])

    def test_seed_000(self):
        self.assertEqual(rewrite_id(SEED_000, "abc"), b"id:abc" + SEED_000[len(b"id:1_14839433040000"):])

    def test_id_in_text_untouched(self):
        data = b"id:111 sub:001 stat:DELIVRD err:000 text:your id:111 is ok id:111"
        self.assertEqual(rewrite_id(data, "999"),
                         b"id:999 sub:001 stat:DELIVRD err:000 text:your id:111 is ok id:111")

    def test_id_not_first(self):
        data = b"  sub:001\tID : 0xAB  stat:DELIVRD Text:id:x"
        self.assertEqual(rewrite_id(data, "N"), b"  sub:001\tID : N  stat:DELIVRD Text:id:x")

    def test_id_last(self):
        self.assertEqual(rewrite_id(b"stat:DELIVRD id:77 ", "N"), b"stat:DELIVRD id:N ")

    def test_quoted_id_keeps_quotes(self):
        self.assertEqual(rewrite_id(b'id:"77" stat:DELIVRD', "N"), b'id:"N" stat:DELIVRD')

    def test_empty_id(self):
        self.assertEqual(rewrite_id(b"id: sub:001", "N"), b"id:N sub:001")
        self.assertEqual(rewrite_id(b"id:", "N"), b"id:N")

    def test_first_id_only(self):
        self.assertEqual(rewrite_id(b"id:1 id:2", "N"), b"id:N id:2")

    def test_other_bytes_kept(self):
        data = b"id:1 text:\xff\x00\xe9 stat:\r\n"
        self.assertEqual(rewrite_id(data, "N"), b"id:N text:\xff\x00\xe9 stat:\r\n")

    def test_no_id(self):
        for data in (b"", b"stat:DELIVRD", b"stat:DELIVRD text:id:1", b"stat:DELIVRD text: id:1",
                     b"kid:1", b"I_D:1", b"hello"):
            with self.subTest(data=data):
                self.assertRaises(ValueError, rewrite_id, data, "N")

    def test_bad_new_id(self):
        for new_id in ("", "a b", "a\tb", "\"x\"", "€"):
            with self.subTest(new_id=new_id):
                self.assertRaises(ValueError, rewrite_id, CANONICAL, new_id)


class BuildTests(SynchronousTestCase):

    def test_canonical_form(self):
        data = build_receipt("0123456789", datetime(2024, 3, 10, 12, 0, 59, tzinfo=UTC),
                             datetime(2024, 3, 10, 12, 1, 30, tzinfo=UTC),
                             MessageState.DELIVERED, text="Hello world")
        self.assertEqual(data, b"id:0123456789 sub:001 dlvrd:001 submit date:2403101200 "
                               b"done date:2403101201 stat:DELIVRD err:000 Text:Hello world")

    def test_seconds(self):
        data = build_receipt("1", datetime(2024, 3, 10, 12, 0, 59), datetime(2024, 3, 10, 12, 1, 30),
                             "UNDELIV", err=5, seconds=True)
        self.assertEqual(data, b"id:1 sub:001 dlvrd:000 submit date:240310120059 "
                               b"done date:240310120130 stat:UNDELIV err:005 Text:")

    def test_raw_dates_and_strings(self):
        data = build_receipt("1", "170100935", "170100940", "DLT-REJECTED", sub="2",
                             dlvrd="0", err="E7", text=b"\xe9t\xe9")
        self.assertEqual(data, b"id:1 sub:002 dlvrd:000 submit date:170100935 "
                               b"done date:170100940 stat:DLT-REJECTED err:E7 Text:\xe9t\xe9")

    def test_text_truncated_to_20(self):
        long = "abcdefghijklmnopqrstuvwxyz"
        data = build_receipt("1", "2403101200", "2403101200", "DELIVRD", text=long)
        self.assertTrue(data.endswith(b" Text:abcdefghijklmnopqrst"))
        data = build_receipt("1", "2403101200", "2403101200", "DELIVRD", text=long.encode())
        self.assertTrue(data.endswith(b" Text:abcdefghijklmnopqrst"))

    def test_text_outside_latin1(self):
        data = build_receipt("1", "2403101200", "2403101200", "DELIVRD", text="Привет")
        self.assertTrue(data.endswith(b" Text:??????"))

    def test_dlvrd_follows_sub_when_delivered(self):
        data = build_receipt("1", "2403101200", "2403101200", "DELIVRD", sub=3)
        self.assertEqual(parse_receipt(data).dlvrd, "003")

    def test_invalid(self):
        args = ("2403101200", "2403101200", "DELIVRD")
        self.assertRaises(ValueError, build_receipt, "", *args)
        self.assertRaises(ValueError, build_receipt, "a b", *args)
        self.assertRaises(ValueError, build_receipt, "1", *args, sub=-1)
        self.assertRaises(ValueError, build_receipt, "1", "2403101200", "2403101200", "NOT OK")
        self.assertRaises(ValueError, build_receipt, "1", "", "2403101200", "DELIVRD")

    def test_format_receipt(self):
        self.assertEqual(format_receipt(parse_receipt(CANONICAL)), CANONICAL)

    def test_format_receipt_leaves_out_absent_fields(self):
        self.assertEqual(format_receipt(Receipt(id="1", stat="ACCEPTD", err="000")),
                         b"id:1 stat:ACCEPTD err:000")

    def test_text_quoted_when_it_would_be_trimmed(self):
        for text, field in ((" padded ", b'Text:" padded "'), ('"q"', b'Text:""q""'),
                            ("\x00", b'Text:"\x00"'), ("'", b"Text:'"), ('a"', b'Text:a"')):
            with self.subTest(text=text):
                data = build_receipt("1", "2403101200", "2403101200", "DELIVRD", text=text)
                self.assertTrue(data.endswith(b" " + field))
                self.assertEqual(parse_receipt(data).text, text)

    def test_format_receipt_keeps_long_text(self):
        receipt = parse_receipt(SEED_000)
        self.assertEqual(parse_receipt(format_receipt(receipt)), receipt)


class StateTests(SynchronousTestCase):

    def test_values(self):
        self.assertEqual([(s.name, int(s)) for s in MessageState], [
            ("ENROUTE", 1), ("DELIVERED", 2), ("EXPIRED", 3), ("DELETED", 4),
            ("UNDELIVERABLE", 5), ("ACCEPTED", 6), ("UNKNOWN", 7), ("REJECTED", 8),
            ("SKIPPED", 9)])

    def test_standard_stats(self):
        expected = {
            "ENROUTE": MessageState.ENROUTE, "DELIVRD": MessageState.DELIVERED,
            "EXPIRED": MessageState.EXPIRED, "DELETED": MessageState.DELETED,
            "UNDELIV": MessageState.UNDELIVERABLE, "ACCEPTD": MessageState.ACCEPTED,
            "UNKNOWN": MessageState.UNKNOWN, "REJECTD": MessageState.REJECTED,
        }
        for stat, state in expected.items():
            with self.subTest(stat=stat):
                self.assertIs(stat_to_state(stat), state)
                self.assertIs(stat_to_state(stat.lower()), state)
                self.assertEqual(state_to_stat(state), stat)

    def test_state_to_stat_is_seven_chars(self):
        for state in MessageState:
            with self.subTest(state=state):
                self.assertEqual(len(state_to_stat(state)), 7)
                self.assertIs(stat_to_state(state_to_stat(state)), state)

    def test_seed_002_stats(self):
        rejected = ("DLT-REJECTED", "DLT-INV-TMID", "DLT-INV-ENTITY", "DLT-TM-VAR-EXECEED",
                    "DLT-SENDER-NOT-REG-TM", "BLACKLST", "SPAM", "DUPLICATE", "NOTALLOWED",
                    "BARRED", "DNDNUMB", "NO-CREDITS", "INV-SENDER", "REJECTED")
        undeliverable = ("ABSENT-SUB", "MOB-OFF", "HANDSET-ERR", "HANDSET-BUSY", "NET-ERR",
                         "FAILED", "INVALID-SUB", "MEMEXEC", "REJ-MULTIPART", "SERVER-ERR")
        for stat in rejected:
            with self.subTest(stat=stat):
                self.assertIs(stat_to_state(stat), MessageState.REJECTED)
        for stat in undeliverable:
            with self.subTest(stat=stat):
                self.assertIs(stat_to_state(stat), MessageState.UNDELIVERABLE)

    def test_spelling_variants(self):
        self.assertIs(stat_to_state(" absent_sub "), MessageState.UNDELIVERABLE)
        self.assertIs(stat_to_state("DLT_NEW_VENDOR_CODE"), MessageState.REJECTED)
        self.assertIs(stat_to_state("DELIVERED"), MessageState.DELIVERED)
        self.assertIs(stat_to_state("2"), MessageState.DELIVERED)

    def test_unknown_stats(self):
        for stat in ("WHATEVER", "DELIVRDX", "0", "10", "\u0662", "", "  "):
            with self.subTest(stat=stat):
                self.assertIs(stat_to_state(stat), MessageState.UNKNOWN)

    def test_err_only_matters_without_stat(self):
        self.assertIs(stat_to_state(None, "000"), MessageState.UNKNOWN)
        self.assertIs(stat_to_state(None, "034"), MessageState.UNDELIVERABLE)
        self.assertIs(stat_to_state("", 5), MessageState.UNDELIVERABLE)
        self.assertIs(stat_to_state("DELIVRD", "034"), MessageState.DELIVERED)
        self.assertIs(stat_to_state("WHATEVER", "034"), MessageState.UNKNOWN)

    def test_is_final(self):
        final = {MessageState.DELIVERED, MessageState.EXPIRED, MessageState.DELETED,
                 MessageState.UNDELIVERABLE, MessageState.REJECTED, MessageState.SKIPPED}
        for state in MessageState:
            with self.subTest(state=state):
                self.assertEqual(is_final(state), state in final)
        self.assertTrue(is_final(2))


# Hypothesis strategies: values a receipt may carry, as build_receipt writes them.
WORD = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF),
               min_size=1, max_size=24).filter(
    lambda w: not (len(w) >= 2 and w[0] in "\"'" and w[-1] == w[0]))
IDS = st.one_of(WORD, st.from_regex(r"[0-9a-f]{8,16}", fullmatch=True),
                st.integers(0, 2**64).map(str))
STATS = st.one_of(st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "ACCEPTD",
                                   "DLT-REJECTED", "ABSENT-SUB", "INVALID-SUB", "MOB-OFF"]),
                  st.from_regex(r"[A-Z][A-Z-]{0,19}", fullmatch=True))
COUNTS = st.integers(0, 999)
ERRS = st.one_of(st.integers(0, 999), st.from_regex(r"[0-9A-Za-z]{1,3}", fullmatch=True))
DATES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))
TEXTS = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=20)


def pad(value):
    return "%03d" % value if isinstance(value, int) else value.zfill(3) if value.isdigit() else value


class PropertyTests(SynchronousTestCase):

    @settings(max_examples=300, deadline=None)
    @given(IDS, COUNTS, COUNTS, DATES, DATES, STATS, ERRS, TEXTS, st.booleans())
    def test_build_then_parse(self, id, sub, dlvrd, submitted, done, stat, err, text, seconds):
        data = build_receipt(id, submitted, done, stat, sub=sub, dlvrd=dlvrd, err=err,
                             text=text, seconds=seconds)
        receipt = parse_receipt(data)
        self.assertEqual(receipt, Receipt(
            id=id, sub="%03d" % sub, dlvrd="%03d" % dlvrd,
            submit_date=submitted.strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M"),
            done_date=done.strftime("%y%m%d%H%M%S" if seconds else "%y%m%d%H%M"),
            stat=stat, err=pad(err), text=text))
        self.assertEqual(receipt.submit_datetime(),
                         submitted.replace(tzinfo=UTC, microsecond=0,
                                           **({} if seconds else {"second": 0})))
        self.assertEqual(format_receipt(receipt), data)

    @settings(max_examples=300, deadline=None)
    @given(IDS, IDS, STATS, ERRS, TEXTS)
    def test_rewrite_then_parse(self, old_id, new_id, stat, err, text):
        data = build_receipt(old_id, "2403101200", "2403101201", stat, err=err,
                             text="id:%s %s" % (old_id, text))
        rewritten = rewrite_id(data, new_id)
        self.assertEqual(rewritten, b"id:" + new_id.encode("latin-1")
                         + data[len(b"id:") + len(old_id.encode("latin-1")):])
        before, after = parse_receipt(data), parse_receipt(rewritten)
        self.assertEqual(after.id, new_id)
        self.assertEqual(after, Receipt(new_id, before.sub, before.dlvrd, before.submit_date,
                                        before.done_date, before.stat, before.err, before.text))

    @settings(max_examples=300, deadline=None)
    @given(st.permutations(["sub:001", "dlvrd:000", "submit_date:2403101200",
                            "done date:2403101201", "stat:UNDELIV", "err:E12", "x-vendor:7"]),
           st.integers(0, 7), IDS, IDS,
           st.lists(st.sampled_from([" ", "  ", "\t", " \r\n "]), min_size=9, max_size=9),
           TEXTS)
    def test_rewrite_keeps_every_other_byte(self, fields, position, old_id, new_id, gaps, text):
        fields = list(fields)
        fields.insert(position, None)  # where the id field goes
        fields.append("text:id:%s %s" % (old_id, text))

        def receipt_with(id_value):
            return "".join(gap + ("id:" + id_value if field is None else field)
                           for gap, field in zip(gaps, fields)).encode("latin-1")

        self.assertEqual(rewrite_id(receipt_with(old_id), new_id), receipt_with(new_id))
        receipt = parse_receipt(receipt_with(new_id))
        self.assertEqual(receipt, Receipt(
            id=new_id, sub="001", dlvrd="000", submit_date="2403101200",
            done_date="2403101201", stat="UNDELIV", err="E12",
            text=("id:%s %s" % (old_id, text)).rstrip(" \t\r\n\x0b\x0c\x00")))

    @settings(max_examples=500, deadline=None)
    @given(st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200),
        st.lists(st.sampled_from(["id", "ID", "text", "stat", "submit", "date", "done", ":",
                                  " ", "\t", "\"", "'", "_", "x", "0", "\x00", "\xa0"]),
                 max_size=40).map("".join)))
    def test_parse_never_raises(self, data):
        receipt = parse_receipt(data)
        if receipt is not None:
            self.assertIsInstance(receipt.id, str)
            receipt.state()
            raw = data.encode("latin-1", "replace") if isinstance(data, str) else data
            try:
                rewritten = rewrite_id(raw, "N")
            except ValueError:
                self.fail("parse found an id that rewrite_id did not: %r" % (data,))
            self.assertEqual(parse_receipt(rewritten).id, "N")
        else:
            raw = data.encode("latin-1", "replace") if isinstance(data, str) else data
            self.assertRaises(ValueError, rewrite_id, raw, "N")
