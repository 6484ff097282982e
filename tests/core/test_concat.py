"""Concatenated MOs, the pure part (core/concat.py): which MO is a part, and the
message its parts make, whatever the split, the order or the copies."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core import concat
from smpprouter.core.messages import Inbound
from smpprouter.smpp.segment import Concat, split
from smpprouter.smpp.text import (DC_DEFAULT, DC_LATIN1, DC_UCS2, GSM_BASIC, alphabet_of,
                                  decode_text, encode_text)


def _mo(body, dc=DC_DEFAULT, esm_class=0, tlvs=None):
    return Inbound("smsc", "4477", "100", body, dc, esm_class, tlvs=tlvs or {})


def _parts(text, dc, method, ref=7):
    """The MOs a handset's message arrives as, split as the router splits MTs."""
    parts = split(encode_text(text, dc), alphabet_of(dc), method, ref)
    out = []
    for p in parts:
        if p.sar is None:
            out.append(_mo(p.short_message, dc, 0x40 if p.esm_class_udhi else 0))
        else:
            out.append(_mo(p.short_message, dc, 0, dict(zip(concat.SAR_TLVS, p.sar))))
    return out


def _reassembled(arrivals):
    """What the store hands out: each seqnum's first copy, in seqnum order."""
    first = {}
    for mo in arrivals:
        first.setdefault(concat.part_of(mo).seqnum, mo)
    return concat.join([first[n] for n in sorted(first)])


GSM_TEXT = st.text(st.sampled_from([c for c in GSM_BASIC if c != "\x1b"] + list("€[]{}^~|\\")),
                   min_size=161, max_size=900)
UCS2_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=71, max_size=400)


class PartOfTests(SynchronousTestCase):
    def test_udh_8_and_16_bit_references(self):
        self.assertEqual(concat.part_of(_mo(b"\x05\x00\x03\x2a\x03\x02abc", esm_class=0x40)),
                         Concat(0x2A, 3, 2))
        self.assertEqual(concat.part_of(_mo(b"\x06\x08\x04\x01\x02\x02\x01abc",
                                            esm_class=0x40)), Concat(0x102, 2, 1))

    def test_sar_tlvs(self):
        tlvs = dict(zip(concat.SAR_TLVS, (300, 2, 2)))
        self.assertEqual(concat.part_of(_mo(b"abc", tlvs=tlvs)), Concat(300, 2, 2))

    def test_what_is_not_a_part_goes_on_as_one_mo(self):
        for mo in (
                _mo(b"\x05\x00\x03\x2a\x03\x02abc"),                      # no UDHI
                _mo(b"\x05\x00\x03\x2a\x01\x01abc", esm_class=0x40),      # total 1
                _mo(b"\x05\x00\x03\x2a\x02\x03abc", esm_class=0x40),      # seqnum > total
                _mo(b"\x09\x00\x03\x2a", esm_class=0x40),                 # UDH past the end
                _mo(b"\x04\x05\x02\x0b\x84rest", esm_class=0x40),         # a port, no concat
                _mo(b"abc", tlvs=dict(zip(concat.SAR_TLVS, (1, 1, 1)))),
                _mo(b"abc", tlvs=dict(zip(concat.SAR_TLVS, (1, 2, 3)))),
                _mo(b"abc", tlvs={"sar_msg_ref_num": 1})):
            self.assertIsNone(concat.part_of(mo), mo)

    def test_the_set_id_names_handset_number_reference_and_total(self):
        mo = _mo(b"\x05\x00\x03\x2a\x03\x02abc", esm_class=0x40)
        self.assertEqual(concat.set_id(mo, concat.part_of(mo)), b"42:3:4477:100")


class JoinTests(SynchronousTestCase):
    def test_a_ucs2_character_cut_between_parts_is_whole_again(self):
        octets = "héllo wörld ✓".encode("utf-16-be")
        cut = 5   # inside the third character
        parts = [_mo(b"\x05\x00\x03\x01\x02\x01" + octets[:cut], DC_UCS2, 0x40),
                 _mo(b"\x05\x00\x03\x01\x02\x02" + octets[cut:], DC_UCS2, 0x40)]
        whole = concat.join(parts)
        self.assertEqual((whole.body, whole.esm_class), (octets, 0))
        self.assertEqual(concat.text(whole), "héllo wörld ✓")

    def test_a_gsm_escape_cut_between_parts_is_whole_again(self):
        parts = [_mo(b"\x05\x00\x03\x01\x02\x01price 5\x1b", esm_class=0x40),
                 _mo(b"\x05\x00\x03\x01\x02\x02e today", esm_class=0x40)]
        self.assertEqual(concat.text(concat.join(parts)), "price 5€ today")

    def test_parts_in_different_codings_are_decoded_each_by_its_own(self):
        parts = [_mo(b"\x05\x00\x03\x01\x02\x01caf", DC_LATIN1, 0x40),
                 _mo(b"\x05\x00\x03\x01\x02\x02" + "é ✓".encode("utf-16-be"), DC_UCS2, 0x40)]
        whole = concat.join(parts)
        self.assertEqual(whole.data_coding, DC_UCS2)
        self.assertEqual(concat.text(whole), "café ✓")

    def test_other_ies_of_the_first_part_stay_sar_tlvs_go(self):
        port = b"\x05\x04\x0b\x84\x23\xf0"
        parts = [_mo(b"\x0b" + port + b"\x00\x03\x01\x02\x01" + b"ab", esm_class=0x40),
                 _mo(b"\x0b" + port + b"\x00\x03\x01\x02\x02" + b"cd", esm_class=0x40)]
        whole = concat.join(parts)
        self.assertEqual((whole.body, whole.esm_class), (b"\x06" + port + b"abcd", 0x40))
        sar = [_mo(b"ab", tlvs=dict(zip(concat.SAR_TLVS, (9, 2, 1)), source_port=5)),
               _mo(b"cd", tlvs=dict(zip(concat.SAR_TLVS, (9, 2, 2)), source_port=5))]
        whole = concat.join(sar)
        self.assertEqual((whole.body, whole.tlvs), (b"abcd", {"source_port": 5}))

    def test_in_payload_moves_the_body_to_message_payload(self):
        mo = concat.in_payload(_mo(b"abcd", tlvs={"source_port": 5}))
        self.assertEqual((mo.body, mo.tlvs), (b"", {"source_port": 5, "message_payload": b"abcd"}))


class JoinPropertyTests(SynchronousTestCase):
    """Any split (the router's own, UDH 8/16-bit or SAR), any order, any copies:
    the parts give back the message."""

    @settings(max_examples=150, deadline=None)
    @given(st.one_of(st.tuples(GSM_TEXT, st.just(DC_DEFAULT)),
                     st.tuples(UCS2_TEXT, st.just(DC_UCS2))),
           st.sampled_from(["udh8", "udh16", "sar"]), st.randoms(use_true_random=False),
           st.integers(0, 5))
    def test_any_order_and_copies_give_back_the_message(self, text_dc, method, rnd, copies):
        text, dc = text_dc
        parts = _parts(text, dc, method)
        self.assertGreater(len(parts), 1)
        arrivals = parts + [rnd.choice(parts) for _ in range(copies)]
        rnd.shuffle(arrivals)
        whole = _reassembled(arrivals)
        self.assertEqual(whole.body, encode_text(text, dc))
        self.assertEqual(concat.text(whole), text)
        self.assertEqual((whole.esm_class & 0x40, whole.tlvs), (0, {}))

    @settings(max_examples=100, deadline=None)
    @given(st.binary(min_size=2, max_size=600), st.data())
    def test_any_cut_of_the_octets_gives_them_back(self, octets, data):
        """Cuts anywhere, even inside a character (an upstream's own splitter)."""
        cuts = sorted(data.draw(st.sets(st.integers(1, len(octets) - 1), min_size=1,
                                        max_size=min(20, len(octets) - 1))))
        bounds = [0] + cuts + [len(octets)]
        total = len(bounds) - 1
        parts = [_mo(bytes((5, 0, 3, 9, total, n + 1)) + octets[bounds[n]:bounds[n + 1]],
                     DC_UCS2, 0x40) for n in range(total)]
        random.Random(len(octets)).shuffle(parts)
        whole = _reassembled(parts)
        self.assertEqual(whole.body, octets)
        self.assertEqual(concat.text(whole), decode_text(octets, DC_UCS2, errors="replace"))
