"""The seed 003 parser: its examples read as written, every bad field gets its code, and
under Hypothesis nothing but WebSmsError ever escapes it."""

import calendar
from urllib.parse import quote

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.http.door import GSM7, UCS2
from smpprouter.http.websmscodes import TEXTS
from smpprouter.http.websmsparse import (
    STATUS_KEYS, WEBSMS_KEYS, WebSms, WebSmsError, fields, number_of, parse_status,
    parse_websms, schedule_of,
)
from smpprouter.smpp.text import gsm7_septets

from .client import wire

NOW = calendar.timegm((2026, 12, 1, 12, 0, 0))
SEED = "user=testUser&pass=12345&sid=Test&mno=96170123456&type=%s&text=%s"


def parse(query, limit=100, now=NOW, body=b""):
    return parse_websms(fields(WEBSMS_KEYS, wire(query), body), limit, now)


class SeedExamplesTests(SynchronousTestCase):
    def test_english_after_the_space_the_seed_puts_after_the_question_mark(self):
        ask = parse(" " + SEED % ("1", "testing English message"))
        self.assertEqual(ask, WebSms("testUser", "12345", "Test", ["96170123456"],
                                     "testing English message", GSM7, 1, None))

    def test_unicode_is_hex_of_utf16be(self):
        ask = parse(SEED % ("2", "00740065007300740069006E006700200075006E00690063006F0064"
                                 "00650020006D006500730073006100670065"))
        self.assertEqual((ask.text, ask.coding), ("testing unicode message", UCS2))

    def test_special_characters_are_gsm(self):
        ask = parse(" " + SEED % ("3", "testing $@ Character"))
        self.assertEqual((ask.text, ask.coding), ("testing $@ Character", GSM7))

    def test_arabic_as_sent_goes_ucs2(self):
        ask = parse(" " + SEED % ("4", " اختبار رسالة عربية"))
        self.assertEqual((ask.text, ask.coding), ("اختبار رسالة عربية", UCS2))

    def test_the_schedule_example_is_past_and_sends_now(self):
        ask = parse(" " + SEED % ("1", "testing Schedule ") + "&gmt=+0530&schtime=201605101422")
        self.assertEqual((ask.text, ask.schedule), ("testing Schedule", None))

    def test_gmt_plus_arrives_as_a_space_and_still_means_east(self):
        # 2026-12-01 18:30 at +05:30 is 13:00 UTC, an hour after NOW
        ask = parse(SEED % ("1", "x") + "&gmt=+0530&schtime=202612011830")
        self.assertEqual(ask.schedule, NOW + 3600)
        self.assertEqual(schedule_of("-0100", "202612011200", NOW), NOW + 3600)
        self.assertEqual(schedule_of("+05:30", "202612011830", NOW), NOW + 3600)
        self.assertEqual(schedule_of("", "202612011300", NOW), NOW + 3600)   # UTC
        self.assertIsNone(schedule_of("", "202612011200", NOW))   # now is not future


class FieldTests(SynchronousTestCase):
    def test_form_encoding_and_names_ignoring_case_and_spaces(self):
        got = fields(WEBSMS_KEYS, b"%20User=a+b&TEXT=%D8%A7&other=1&&", b"mno=1")
        self.assertEqual(got, {"user": "a b", "text": "ا", "mno": "1"})

    def test_raw_utf8_octets_are_taken_too(self):
        self.assertEqual(fields(WEBSMS_KEYS, "text=ا".encode()), {"text": "ا"})

    def assertCode(self, code, call, *args):
        e = self.assertRaises(WebSmsError, call, *args)
        self.assertEqual(e.code, code, e.detail)
        self.assertTrue(e.detail)
        return e

    def test_a_raw_ampersand_in_the_text_is_refused_not_cut(self):
        e = self.assertCode("HTTP02", fields, WEBSMS_KEYS, b"text=rock & roll&type=1")
        self.assertIn("%26", e.detail)

    def test_a_parameter_twice_even_across_query_and_body(self):
        self.assertCode("HTTP02", fields, WEBSMS_KEYS, b"mno=1&mno=2")
        self.assertCode("HTTP02", fields, WEBSMS_KEYS, b"mno=1", b"MNO=2")

    def test_not_utf8(self):
        self.assertCode("HTTP02", fields, WEBSMS_KEYS, b"text=%FF")


class RefusalTests(SynchronousTestCase):
    def assertCode(self, code, query, limit=100):
        e = self.assertRaises(WebSmsError, parse, query, limit)
        self.assertEqual(e.code, code, e.detail)
        self.assertIn(code, TEXTS)

    def test_each_missing_parameter_has_its_own_code(self):
        full = dict(user="u", **{"pass": "p"}, sid="S", mno="1555", type="1", text="t")
        for name, code in (("user", "HTTP05"), ("pass", "HTTP04"), ("sid", "HTTP06"),
                           ("mno", "HTTP09"), ("type", "HTTP07"), ("text", "HTTP17")):
            without = "&".join("%s=%s" % kv for kv in full.items() if kv[0] != name)
            self.assertCode(code, without)
            self.assertCode(code, without + "&%s=" % name)

    def test_type(self):
        self.assertCode("HTTP07", SEED % ("5", "x"))
        self.assertCode("HTTP07", SEED % ("１", "x"))   # a digit, but not 1-4

    def test_restricted_characters(self):
        self.assertCode("HTTP02", SEED % ("1", "a%26b"))
        self.assertCode("HTTP02", SEED % ("4", "a%23b"))
        # hex of "&#" carries nothing restricted
        self.assertEqual(parse(SEED % ("2", "00260023")).text, "&#")

    def test_bad_hex(self):
        for text in ("0074006", "007G", "00 74", "D800"):   # odd, not hex, space, surrogate
            self.assertCode("HTTP19", SEED % ("2", text))

    def test_gsm_types_refuse_what_gsm_lacks(self):
        self.assertCode("HTTP19", SEED % ("1", "日本"))
        self.assertCode("HTTP19", SEED % ("3", "`"))

    def test_length(self):
        self.assertEqual(parse(SEED % ("1", "a" * 160)).parts, 1)
        self.assertEqual(parse(SEED % ("1", "a" * 161)).parts, 2)
        self.assertEqual(parse(SEED % ("4", "ب" * 70)).parts, 1)
        self.assertEqual(parse(SEED % ("2", "0062" * 71)).parts, 2)
        self.assertEqual(parse(SEED % ("1", "a" * 153 * 255)).parts, 255)
        self.assertCode("HTTP17", SEED % ("1", "a" * (153 * 255 + 1)))

    def test_extension_characters_count_twice(self):
        twice = "[]{}|\\~^"
        self.assertEqual(gsm7_septets(twice), 2 * len(twice))
        self.assertEqual(gsm7_septets("€"), 2)
        self.assertEqual(parse(SEED % ("1", quote("[" * 80))).parts, 1)    # 160 septets
        self.assertEqual(parse(SEED % ("1", quote("[" * 80 + "a"))).parts, 2)
        self.assertEqual(parse(SEED % ("3", quote("~" * 79 + "$@"))).parts, 1)

    def test_sender(self):
        self.assertEqual(parse(SEED.replace("sid=Test", "sid=+9617") % ("1", "x")).sender,
                         "9617")
        self.assertEqual(parse(SEED.replace("sid=Test", "sid=My Shop") % ("1", "x")).sender,
                         "My Shop")
        for sid in ("TwelveLetter", "1" * 16, "A%26B", "caf%C3%A9"):
            self.assertCode("HTTP06", (SEED % ("1", "x")).replace("sid=Test", "sid=" + sid))

    def test_numbers(self):
        ask = parse(SEED.replace("mno=96170123456", "mno=+96170123456,0096170123457,"
                                 "961-70,,12") % ("1", "x"))
        self.assertEqual(ask.numbers, ["96170123456", "96170123457", None, None, None])
        self.assertEqual(number_of(" 155512 "), "155512")
        self.assertIsNone(number_of("1" * 16))
        self.assertIsNone(number_of("١٢٣٤٥"))   # Arabic-Indic digits are not ASCII digits

    def test_too_many_numbers(self):
        numbers = ",".join(["15551234567"] * 100)
        self.assertEqual(len(parse(SEED.replace("96170123456", numbers) % ("1", "x")).numbers),
                         100)
        self.assertEqual(len(parse(SEED.replace("96170123456", numbers + ",") % ("1", "x"))
                             .numbers), 100)   # one trailing comma is no entry
        self.assertCode("HTTP24", SEED.replace("96170123456", numbers + ",1555") % ("1", "x"))

    def test_schedule(self):
        for gmt, schtime in (("+0530", "2026121"), ("+0530", "202613011200"),
                             ("+0530", "202612311260"), ("+1500", "202612311200"),
                             ("-1230", "202612311200"), ("+0575", "202612311200"),
                             ("IST", "202612311200"), ("", "00001231 200"),
                             ("+1400", "000001010000")):
            self.assertCode("HTTP22", SEED % ("1", "x") + "&gmt=%s&schtime=%s"
                            % (quote(gmt), quote(schtime)))
        # gmt alone is ignored
        self.assertIsNone(parse(SEED % ("1", "x") + "&gmt=IST").schedule)


class StatusQueryTests(SynchronousTestCase):
    def query(self, query, required=True):
        return parse_status(fields(STATUS_KEYS, wire(query)), required)

    def test_the_seed_url_needs_the_option(self):
        self.assertEqual(self.query("respId=2541524", False).message_id, "2541524")
        e = self.assertRaises(WebSmsError, self.query, "respId=2541524")
        self.assertEqual(e.code, "HTTP15")

    def test_credentials(self):
        q = self.query("user=esme1&pass=pw1&respid=1f")
        self.assertEqual((q.user, q.password, q.message_id), ("esme1", "pw1", "1f"))
        for query, code in (("user=esme1&respId=1", "HTTP04"), ("pass=x&respId=1", "HTTP05"),
                            ("user=a&pass=b", "HTTP08"), ("user=a&pass=b&respId=1-2", "HTTP08"),
                            ("user=a&pass=b&respId=" + "1" * 65, "HTTP08")):
            for required in (True, False):   # given, they are checked either way
                e = self.assertRaises(WebSmsError, self.query, query, required)
                self.assertEqual(e.code, code, query)


# -- properties --------------------------------------------------------------------

_piece = st.one_of(st.sampled_from(sorted(WEBSMS_KEYS | {" user", "TYPE", "x"})),
                   st.text(max_size=8), st.sampled_from(["1", "2", "3", "4", "00", "+", ","]))
_field = st.builds(lambda n, sep, v: n + sep + v, _piece, st.sampled_from(["=", "", "=="]),
                   st.one_of(_piece, st.text(max_size=40)))
raw_query = st.one_of(
    st.binary(max_size=200),
    st.lists(_field, max_size=10).map(lambda fs: "&".join(fs).encode("utf-8")),
    st.lists(_field, max_size=10).map(lambda fs: wire("&".join(fs))),
)
_valid = st.fixed_dictionaries({
    "user": st.text("abcdefghij0123456789", min_size=1, max_size=15),
    "pass": st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=10)
    .map(str.strip).filter(bool),
    "sid": st.one_of(st.text("0123456789", min_size=1, max_size=15),
                     st.text("ABCxyz09 .-", min_size=1, max_size=11).map(str.strip).filter(
                         lambda s: s and s[0] != "+")),
    "mno": st.lists(st.builds(str.__add__, st.sampled_from("123456789"),
                              st.text("0123456789", min_size=2, max_size=14)),
                    min_size=1, max_size=100),
    "type": st.sampled_from("134"),
    "text": st.text(st.sampled_from("abc XYZ019$@[]{}|\\~^€ä"), min_size=1, max_size=400)
    .map(lambda t: t.strip(" ")).filter(bool),
})


class PropertyTests(SynchronousTestCase):
    @settings(max_examples=500, deadline=None)
    @given(raw_query, st.binary(max_size=80), st.integers(1, 200),
           st.floats(0, 4e9, allow_nan=False))
    def test_raises_nothing_but_its_own_error(self, query, body, limit, now):
        for keys, parse_one in ((WEBSMS_KEYS, lambda p: parse_websms(p, limit, now)),
                                (STATUS_KEYS, lambda p: parse_status(p, limit % 2 == 0))):
            try:
                parse_one(fields(keys, query, body))
            except WebSmsError as e:
                self.assertIn(e.code, TEXTS)
                self.assertIsInstance(e.detail, str)

    @settings(max_examples=300, deadline=None)
    @given(_valid)
    def test_accepts_what_it_should_however_encoded(self, params):
        query = "&".join("%s=%s" % (k, quote(",".join(v) if k == "mno" else v, safe=""))
                         for k, v in params.items())
        ask = parse_websms(fields(WEBSMS_KEYS, query.encode("ascii")), 100, NOW)
        self.assertEqual(ask.user, params["user"])
        self.assertEqual(ask.password, params["pass"])
        self.assertEqual(ask.numbers, params["mno"])
        self.assertEqual(ask.text, params["text"])
        self.assertEqual(ask.coding, UCS2 if params["type"] == "4" else GSM7)
        self.assertGreaterEqual(ask.parts, 1)

    @settings(max_examples=200, deadline=None)
    @given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=100))
    def test_type_2_hex_round_trips(self, text):
        hex_text = text.encode("utf-16-be").hex()
        for digits in (hex_text, hex_text.upper()):
            try:
                ask = parse(SEED % ("2", digits))
            except WebSmsError as e:   # only for the length, never the hex
                self.assertEqual(e.code, "HTTP17")
                continue
            self.assertEqual(ask.text, text)
