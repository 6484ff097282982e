"""Tests for smpprouter.smpp.text: GSM 03.38, data_coding dispatch, part counts."""

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import text
from smpprouter.smpp.errors import DecodeError, EncodeError
from smpprouter.smpp.status import Status
from smpprouter.smpp.text import (
    BINARY, GSM7, LATIN1, UCS2, alphabet_of, choose_coding, count_parts,
    decode_text, encode_text, gsm7_decode, gsm7_encode, gsm7_septets, part_count)

GSM_CHARS = "".join(c for c in text.GSM_BASIC if c != "\x1b") + "".join(
    text.GSM_EXTENSION.values())
gsm_text = st.text(alphabet=GSM_CHARS, max_size=400)
FAST = settings(max_examples=300, deadline=None)


class GSM7EncodeTests(SynchronousTestCase):

    def test_basic_table_positions(self):
        self.assertEqual(gsm7_encode("@£$¥"), b"\x00\x01\x02\x03")
        self.assertEqual(gsm7_encode("Hello"), b"Hello")
        self.assertEqual(gsm7_encode("_ΔΩ¤¡§¿àÉ"),
                         b"\x11\x10\x15\x24\x40\x5f\x60\x7f\x1f")
        self.assertEqual(gsm7_encode("\n\r"), b"\x0a\x0d")

    def test_extension_table_is_escaped(self):
        self.assertEqual(gsm7_encode("€"), b"\x1b\x65")
        self.assertEqual(gsm7_encode("^{}\\[~]|\f"),
                         b"\x1b\x14\x1b\x28\x1b\x29\x1b\x2f\x1b\x3c"
                         b"\x1b\x3d\x1b\x3e\x1b\x40\x1b\x0a")

    def test_mixed_escape_and_non_latin1_path(self):
        # Greek capitals and € take the str.translate path, not the Latin-1 one.
        self.assertEqual(gsm7_encode("ΔA€[é"), b"\x10A\x1b\x65\x1b\x3c\x05")

    def test_empty(self):
        self.assertEqual(gsm7_encode(""), b"")
        self.assertEqual(gsm7_decode(b""), "")

    def test_unencodable_character_named(self):
        for sample, char, index in (("ab`c", "`", 2), ("héllo ç", "ç", 6),
                                    ("ok 😀", "😀", 3), ("\x00", "\x00", 0),
                                    ("€ш", "ш", 1), ("a\tb", "\t", 1)):
            e = self.assertRaises(EncodeError, gsm7_encode, sample)
            self.assertEqual(e.status, Status.ESME_RINVDCS)
            self.assertIn(repr(char), e.reason)
            self.assertIn("index %d" % index, e.reason)

    def test_septets_count_escapes_twice(self):
        self.assertEqual(gsm7_septets("["), 2)
        self.assertEqual(gsm7_septets("a[b€"), 6)
        self.assertEqual(gsm7_septets(""), 0)
        self.assertRaises(EncodeError, gsm7_septets, "ж")

    @FAST
    @given(gsm_text)
    def test_roundtrip(self, t):
        encoded = gsm7_encode(t)
        self.assertTrue(all(octet < 0x80 for octet in encoded))
        self.assertEqual(gsm7_decode(encoded), t)
        extended = sum(t.count(c) for c in text.GSM_EXTENSION_CHARS)
        self.assertEqual(gsm7_septets(t), len(t) + extended)


class GSM7DecodeTests(SynchronousTestCase):

    def test_basic_and_extension(self):
        self.assertEqual(gsm7_decode(b"\x00\x01\x1b\x65x\x1b\x3c"), "@£€x[")

    def test_high_octet_strict(self):
        e = self.assertRaises(DecodeError, gsm7_decode, b"ab\x80c")
        self.assertEqual(e.status, Status.ESME_RINVDCS)
        self.assertIn("0x80", e.reason)
        self.assertIn("index 2", e.reason)

    def test_high_octet_replace(self):
        self.assertEqual(gsm7_decode(b"ab\x80\xffc", errors="replace"), "ab??c")

    def test_escape_before_unknown_code_is_basic_char(self):
        self.assertEqual(gsm7_decode(b"\x1bA\x1b\x00"), "A@")
        self.assertEqual(gsm7_decode(b"\x1bA", errors="replace"), "A")

    def test_escape_escape_is_space(self):
        self.assertEqual(gsm7_decode(b"a\x1b\x1bb"), "a b")
        # The third escape pairs with the following septet, not the second.
        self.assertEqual(gsm7_decode(b"\x1b\x1b\x1b\x65"), " €")

    def test_trailing_lone_escape(self):
        e = self.assertRaises(DecodeError, gsm7_decode, b"abc\x1b")
        self.assertEqual(e.status, Status.ESME_RINVDCS)
        self.assertRaises(DecodeError, gsm7_decode, b"\x1b\x1b\x1b")
        self.assertEqual(gsm7_decode(b"abc\x1b", errors="replace"), "abc ")
        # An even run of escapes is complete pairs, not a lone escape.
        self.assertEqual(gsm7_decode(b"abc\x1b\x1b"), "abc ")

    def test_bad_errors_argument(self):
        self.assertRaises(ValueError, gsm7_decode, b"a", errors="ignore")

    @FAST
    @given(st.binary(max_size=300))
    def test_replace_never_fails_strict_fails_only_typed(self, data):
        decoded = gsm7_decode(data, errors="replace")
        self.assertIsInstance(decoded, str)
        try:
            strict = gsm7_decode(data)
        except DecodeError as e:
            self.assertEqual(e.status, Status.ESME_RINVDCS)
        else:
            self.assertEqual(strict, decoded)


class AlphabetTests(SynchronousTestCase):

    def test_smpp_values(self):
        expected = {0: GSM7, 1: GSM7, 2: BINARY, 3: LATIN1, 4: BINARY,
                    5: BINARY, 6: BINARY, 7: BINARY, 8: UCS2, 9: BINARY,
                    0x0A: BINARY, 0x0D: BINARY, 0x0E: BINARY}
        for dc, alphabet in expected.items():
            self.assertEqual(alphabet_of(dc), alphabet, hex(dc))

    def test_gsm_coding_groups(self):
        expected = {0x10: GSM7, 0x11: GSM7, 0x13: GSM7, 0x14: BINARY,
                    0x16: BINARY, 0x18: UCS2, 0x19: UCS2, 0x31: BINARY,
                    0x40: GSM7, 0x48: UCS2, 0x55: BINARY,
                    0xC0: GSM7, 0xD3: GSM7, 0xE0: UCS2,
                    0xF0: GSM7, 0xF1: GSM7, 0xF3: GSM7, 0xF4: BINARY, 0xF6: BINARY,
                    0xF7: BINARY}
        for dc, alphabet in expected.items():
            self.assertEqual(alphabet_of(dc), alphabet, hex(dc))

    def test_reserved_values(self):
        for dc in (0x0B, 0x0C, 0x0F, 0x1C, 0x1F, 0x80, 0xBF, -1, 0x100):
            e = self.assertRaises(DecodeError, alphabet_of, dc)
            self.assertEqual(e.status, Status.ESME_RINVDCS)
            e = self.assertRaises(EncodeError, encode_text, "a", dc)
            self.assertEqual(e.status, Status.ESME_RINVDCS)

    def test_every_byte_value_answers(self):
        for dc in range(256):
            try:
                self.assertIn(alphabet_of(dc), text.ALPHABETS)
            except DecodeError:
                pass


class EncodeDecodeTextTests(SynchronousTestCase):

    def test_dispatch(self):
        self.assertEqual(encode_text("€1", 0), b"\x1b\x651")
        self.assertEqual(encode_text("@", 1), b"\x00")
        self.assertEqual(encode_text("@", 0xF0), b"\x00")
        self.assertEqual(encode_text("é@", 3), b"\xe9@")
        self.assertEqual(encode_text("é", 8), b"\x00\xe9")
        self.assertEqual(encode_text("😀", 8), b"\xd8\x3d\xde\x00")
        self.assertEqual(encode_text("ж", 0x18), b"\x04\x36")
        self.assertEqual(decode_text(b"\xd8\x3d\xde\x00", 8), "😀")
        self.assertEqual(decode_text(b"\xe9", 3), "é")
        self.assertEqual(decode_text(b"\x1b\x65", 0x11), "€")

    def test_binary_refuses_text(self):
        for dc in (2, 4, 0xF4, 0x15):
            e = self.assertRaises(EncodeError, encode_text, "abc", dc)
            self.assertEqual(e.status, Status.ESME_RINVDCS)
            e = self.assertRaises(DecodeError, decode_text, b"abc", dc)
            self.assertEqual(e.status, Status.ESME_RINVDCS)

    def test_latin1_cannot_carry(self):
        e = self.assertRaises(EncodeError, encode_text, "a€", 3)
        self.assertEqual(e.status, Status.ESME_RINVDCS)
        self.assertIn("index 1", e.reason)

    def test_lone_surrogate_refused(self):
        e = self.assertRaises(EncodeError, encode_text, "a\ud800", 8)
        self.assertEqual(e.status, Status.ESME_RINVDCS)

    def test_bad_ucs2(self):
        for data in (b"\x00a\x00", b"\xd8\x3d", b"\xdc\x00\x00a"):
            e = self.assertRaises(DecodeError, decode_text, data, 8)
            self.assertEqual(e.status, Status.ESME_RINVDCS)
        self.assertEqual(decode_text(b"\x00a\x00", 8, errors="replace"), "a\ufffd")

    def test_gsm_replace_through_dispatch(self):
        self.assertEqual(decode_text(b"a\x90", 0, errors="replace"), "a?")
        self.assertRaises(DecodeError, decode_text, b"a\x90", 0)

    @FAST
    @given(st.text(max_size=200))
    def test_ucs2_roundtrip_any_text(self, t):
        # st.text() never yields lone surrogates; it does yield non-BMP.
        self.assertEqual(decode_text(encode_text(t, 8), 8), t)

    @FAST
    @given(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=200))
    def test_latin1_roundtrip(self, t):
        self.assertEqual(decode_text(encode_text(t, 3), 3), t)


class ChooseCodingTests(SynchronousTestCase):

    def test_gsm_when_possible(self):
        self.assertEqual(choose_coding("Hello €"), (0, b"Hello \x1b\x65"))
        self.assertEqual(choose_coding(""), (0, b""))

    def test_ucs2_when_not_gsm(self):
        self.assertEqual(choose_coding("ça"), (8, b"\x00\xe7\x00a"))
        self.assertEqual(choose_coding("😀"), (8, b"\xd8\x3d\xde\x00"))

    def test_latin1_only_when_allowed(self):
        self.assertEqual(choose_coding("ça", allow_latin1=True), (3, b"\xe7a"))
        # Not Latin-1 at all: UCS2 even when Latin-1 is allowed.
        self.assertEqual(choose_coding("ça€", allow_latin1=True),
                         (8, "ça€".encode("utf-16-be")))
        # GSM still wins over Latin-1.
        self.assertEqual(choose_coding("é", allow_latin1=True), (0, b"\x05"))

    @FAST
    @given(st.text(max_size=100), st.booleans())
    def test_choice_roundtrips(self, t, allow_latin1):
        dc, encoded = choose_coding(t, allow_latin1)
        self.assertEqual(decode_text(encoded, dc), t)
        if set(t) <= set(GSM_CHARS):
            self.assertEqual(dc, 0)
        elif allow_latin1 and all(ord(c) <= 0xFF for c in t):
            self.assertEqual(dc, 3)
        else:
            self.assertEqual(dc, 8)


class PartCountTests(SynchronousTestCase):

    def test_gsm7_boundaries(self):
        self.assertEqual(count_parts(""), 1)
        self.assertEqual(count_parts("a" * 160), 1)
        self.assertEqual(count_parts("a" * 161), 2)
        self.assertEqual(count_parts("a" * 306), 2)
        self.assertEqual(count_parts("a" * 307), 3)

    def test_escapes_count_twice(self):
        self.assertEqual(count_parts("[" * 80), 1)
        self.assertEqual(count_parts("a" + "[" * 80), 2)

    def test_escape_at_cut_moves_to_next_part(self):
        # 152 plain septets then "€": septet 153 is the escape, so part 1
        # holds 152 and part 2 gets the pair. 306 septets, yet 3 parts.
        t = "a" * 152 + "€" + "a" * 152
        self.assertEqual(gsm7_septets(t), 306)
        self.assertEqual(part_count(306, GSM7), 2)
        self.assertEqual(count_parts(t), 3)
        self.assertEqual(count_parts("a" * 151 + "€" + "a" * 153), 2)

    def test_ucs2_boundaries(self):
        self.assertEqual(count_parts("ж" * 70), 1)
        self.assertEqual(count_parts("ж" * 71), 2)
        self.assertEqual(count_parts("ж" * 134), 2)
        self.assertEqual(count_parts("ж" * 135), 3)

    def test_non_bmp_counts_two_units(self):
        self.assertEqual(len(encode_text("😀", 8)) // 2, 2)
        self.assertEqual(count_parts("😀" * 35), 1)
        self.assertEqual(count_parts("😀" * 35 + "ж"), 2)
        # 66 units then a pair straddling unit 67: the pair moves on.
        self.assertEqual(count_parts("ж" * 66 + "😀" + "ж" * 66), 3)

    def test_octets(self):
        self.assertEqual(count_parts(payload=b"x" * 140, data_coding=4), 1)
        self.assertEqual(count_parts(payload=b"x" * 141, data_coding=4), 2)
        self.assertEqual(count_parts(payload=b"x" * 268, data_coding=2), 2)
        self.assertEqual(count_parts(payload=b"x" * 269, data_coding=2), 3)
        self.assertEqual(count_parts("é" * 141, data_coding=3), 2)
        self.assertEqual(count_parts(payload=b"", data_coding=8), 1)

    def test_explicit_coding_and_payload(self):
        self.assertEqual(count_parts("a" * 71, data_coding=8), 2)
        self.assertEqual(count_parts(payload=b"a" * 161, data_coding=0), 2)
        self.assertEqual(count_parts(payload=b"\x00a" * 70, data_coding=8), 1)

    def test_udh16_sizes(self):
        self.assertEqual(count_parts("a" * 304, method="udh16"), 2)
        self.assertEqual(count_parts("a" * 305, method="udh16"), 3)
        self.assertEqual(part_count(266, BINARY, "udh16"), 2)
        self.assertEqual(part_count(267, BINARY, "udh16"), 3)
        self.assertEqual(part_count(132, UCS2, "udh16"), 2)
        self.assertEqual(part_count(133, UCS2, "udh16"), 3)

    def test_capacities_exposed(self):
        self.assertEqual(text.SINGLE_UNITS, {GSM7: 160, LATIN1: 140, BINARY: 140, UCS2: 70})
        self.assertEqual(text.PART_UNITS["udh8"], {GSM7: 153, LATIN1: 134, BINARY: 134, UCS2: 67})
        self.assertEqual(text.PART_UNITS["sar"], text.PART_UNITS["udh8"])
        self.assertEqual(text.PART_UNITS["udh16"], {GSM7: 152, LATIN1: 133, BINARY: 133, UCS2: 66})

    def test_misuse(self):
        self.assertRaises(ValueError, count_parts)
        self.assertRaises(ValueError, count_parts, "a", payload=b"a", data_coding=0)
        self.assertRaises(ValueError, count_parts, payload=b"a")
        self.assertRaises(EncodeError, count_parts, "ж", data_coding=0)
        self.assertRaises(ValueError, count_parts, "a", method="udh9")

    @FAST
    @given(st.integers(0, 5000), st.sampled_from(text.ALPHABETS),
           st.sampled_from(text.METHODS))
    def test_part_count_arithmetic(self, units, alphabet, method):
        n = part_count(units, alphabet, method)
        per_part = text.PART_UNITS[method][alphabet]
        if units <= text.SINGLE_UNITS[alphabet]:
            self.assertEqual(n, 1)
        else:
            self.assertTrue((n - 1) * per_part < units <= n * per_part)
