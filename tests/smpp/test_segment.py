"""Tests for smpprouter.smpp.segment: split, parse_udh, Reassembler."""

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import text
from smpprouter.smpp.errors import DecodeError, EncodeError
from smpprouter.smpp.segment import (
    Concat, Incomplete, Part, Reassembler, parse_udh, part_status, split, with_concat)
from smpprouter.smpp.status import Status
from smpprouter.smpp.text import BINARY, GSM7, LATIN1, UCS2, count_parts, gsm7_encode

FAST = settings(max_examples=200, deadline=None)
GSM_CHARS = "".join(c for c in text.GSM_BASIC if c != "\x1b") + "".join(
    text.GSM_EXTENSION.values())


def payload_of(part: Part) -> bytes:
    if part.esm_class_udhi:
        return parse_udh(part.short_message).payload
    return part.short_message


def concat_of(part: Part, index: int) -> tuple[int, int, int]:
    if part.sar is not None:
        return part.sar
    if part.esm_class_udhi:
        return tuple(parse_udh(part.short_message).concat)
    return (0, 1, 1)


# Encoded payloads with their alphabet: GSM texts heavy in escapes, UCS2
# texts heavy in surrogate pairs, raw octets.
gsm_payloads = st.text(alphabet=st.sampled_from(GSM_CHARS + "€€€[[["),
                       max_size=700).map(lambda t: (gsm7_encode(t), GSM7))
ucs2_payloads = st.text(alphabet=st.sampled_from("aж😀🎉𝄞"), max_size=300).map(
    lambda t: (t.encode("utf-16-be"), UCS2))
octet_payloads = st.tuples(st.binary(max_size=700), st.sampled_from((BINARY, LATIN1)))
payloads = st.one_of(gsm_payloads, ucs2_payloads, octet_payloads)
methods = st.sampled_from(("udh8", "udh16", "sar"))


class SplitTests(SynchronousTestCase):

    def test_single_message_has_no_udh(self):
        for payload, alphabet in ((b"a" * 160, GSM7), (b"a" * 140, BINARY),
                                  (b"\x00a" * 70, UCS2), (b"", GSM7)):
            for method in ("udh8", "udh16", "sar"):
                self.assertEqual(split(payload, alphabet, method),
                                 [Part(payload, False, None)])

    def test_udh8_bytes_as_seed_000(self):
        payload = gsm7_encode("x" * 153 + "y" * 10)
        parts = split(payload, GSM7, "udh8", ref=5)
        self.assertEqual(len(parts), 2)
        self.assertEqual(parts[0].short_message,
                         b"\x05\x00\x03\x05\x02\x01" + b"x" * 153)
        self.assertEqual(parts[1].short_message,
                         b"\x05\x00\x03\x05\x02\x02" + b"y" * 10)
        self.assertTrue(all(p.esm_class_udhi and p.sar is None for p in parts))

    def test_udh16_bytes(self):
        parts = split(b"z" * 200, BINARY, "udh16", ref=0x1234)
        self.assertEqual([p.short_message[:7] for p in parts],
                         [b"\x06\x08\x04\x12\x34\x02\x01",
                          b"\x06\x08\x04\x12\x34\x02\x02"])
        self.assertEqual(len(parts[0].short_message), 7 + 133)

    def test_sar_has_no_udh(self):
        parts = split(b"q" * 300, LATIN1, "sar", ref=700)
        self.assertEqual([p.sar for p in parts], [(700, 3, 1), (700, 3, 2), (700, 3, 3)])
        self.assertEqual([len(p.short_message) for p in parts], [134, 134, 32])
        self.assertFalse(any(p.esm_class_udhi for p in parts))

    def test_gsm_escape_never_ends_a_part(self):
        payload = gsm7_encode("a" * 152 + "€" + "b" * 10)
        parts = split(payload, GSM7)
        self.assertEqual(len(parts), 2)
        self.assertEqual(parts[0].short_message[6:], b"a" * 152)
        self.assertEqual(parts[1].short_message[6:], b"\x1b\x65" + b"b" * 10)

    def test_escape_pair_of_escapes_may_end_a_part(self):
        # 1B 1B is a complete (reserved) pair: cutting after it splits nothing.
        payload = b"a" * 151 + b"\x1b\x1b" + b"b" * 10
        parts = split(payload, GSM7)
        self.assertEqual(parts[0].short_message[6:], b"a" * 151 + b"\x1b\x1b")

    def test_ucs2_never_ends_on_high_surrogate(self):
        payload = ("ж" * 66 + "😀" + "ж" * 10).encode("utf-16-be")
        parts = split(payload, UCS2)
        self.assertEqual(len(parts), 2)
        self.assertEqual(parts[0].short_message[6:], ("ж" * 66).encode("utf-16-be"))
        self.assertEqual(parts[1].short_message[6:].decode("utf-16-be"), "😀" + "ж" * 10)

    def test_count_parts_agrees(self):
        t = "a" * 152 + "€" + "a" * 152
        self.assertEqual(len(split(gsm7_encode(t), GSM7)), count_parts(t))
        self.assertEqual(count_parts(t), 3)

    def test_255_parts_limit(self):
        self.assertEqual(len(split(b"a" * 153 * 255, GSM7)), 255)
        e = self.assertRaises(EncodeError, split, b"a" * (153 * 255 + 1), GSM7)
        self.assertEqual(e.status, Status.ESME_RINVMSGLEN)

    def test_bad_arguments(self):
        self.assertRaises(ValueError, split, b"a", GSM7, "udh9")
        self.assertRaises(ValueError, split, b"a", GSM7, "udh8", 256)
        self.assertRaises(ValueError, split, b"a", GSM7, "udh16", 65536)
        self.assertRaises(ValueError, split, b"a", GSM7, "sar", -1)
        self.assertRaises(ValueError, split, b"a", "klingon")
        self.assertEqual(len(split(b"a" * 400, GSM7, "udh16", 65535)), 3)
        self.assertRaises(ValueError, split, b"a", GSM7, "udh8", 0, 141)
        self.assertRaises(ValueError, split, b"a", GSM7, "udh8", 0, 15)

    def test_capacity_of_a_smaller_upstream(self):
        # 100 octets on air: 114 septets alone, (100 - 6) * 8 // 7 = 107 per part
        self.assertEqual(text.capacity(GSM7, "udh8", 100), (114, 107))
        self.assertEqual(len(split(b"a" * 114, GSM7, "udh8", 0, 100)), 1)
        parts = split(b"a" * 115, GSM7, "udh8", 0, 100)
        self.assertEqual([len(payload_of(p)) for p in parts], [107, 8])
        self.assertEqual(text.capacity(UCS2, "udh16", 100), (50, 46))

    @FAST
    @given(payloads, methods, st.integers(0, 255),
           st.one_of(st.just(140), st.integers(text.MIN_AIR_OCTETS, 140)))
    def test_split_properties(self, payload_alphabet, method, ref, air_octets):
        """Whatever an upstream's SMS holds (a connector's max_octets): the parts
        join to the message, each fits, none ends inside a GSM escape or a
        surrogate pair, and count_parts (what is charged) agrees."""
        payload, alphabet = payload_alphabet
        if air_octets < 40 and len(payload) > 2000:
            payload = payload[:2000]   # stay under 255 parts
        parts = split(payload, alphabet, method, ref, air_octets)
        self.assertEqual(b"".join(payload_of(p) for p in parts), payload)
        self.assertEqual(len(parts), count_parts(
            payload=payload, method=method, air_octets=air_octets,
            data_coding={GSM7: 0, UCS2: 8, BINARY: 4, LATIN1: 3}[alphabet]))
        unit = text.UNIT_OCTETS[alphabet]
        single, per_part = text.capacity(alphabet, method, air_octets)
        if len(parts) == 1:
            self.assertLessEqual(len(payload), single * unit)
            return
        self.assertGreater(len(payload), single * unit)
        capacity = per_part * unit
        for seq, part in enumerate(parts, 1):
            body = payload_of(part)
            self.assertLessEqual(len(body), capacity)
            self.assertTrue(body)
            self.assertEqual(concat_of(part, seq), (ref, len(parts), seq))
            if alphabet == GSM7 and seq < len(parts):
                self.assertNotEqual(body[-1], 0x1B)
            if alphabet == UCS2 and seq < len(parts):
                self.assertFalse(0xD8 <= body[-2] <= 0xDB)
        if alphabet == UCS2:
            self.assertEqual(
                "".join(payload_of(p).decode("utf-16-be") for p in parts),
                payload.decode("utf-16-be"))


class ParseUdhTests(SynchronousTestCase):

    def test_concat_8bit(self):
        udh = parse_udh(b"\x05\x00\x03\x05\x02\x01hello")
        self.assertEqual(udh.concat, Concat(5, 2, 1))
        self.assertEqual(udh.header_length, 6)
        self.assertEqual(udh.payload, b"hello")

    def test_concat_16bit_among_other_elements(self):
        # port addressing (05), then 16-bit concat (08), then a language shift (25)
        sm = (b"\x0f\x05\x04\x0b\x84\x23\xf0\x08\x04\x12\x34\x03\x02\x25\x01\x01"
              b"body")
        udh = parse_udh(sm)
        self.assertEqual(udh.concat, Concat(0x1234, 3, 2))
        self.assertEqual(udh.header_length, 16)
        self.assertEqual(udh.payload, b"body")
        self.assertEqual(udh.elements, ((0x05, b"\x0b\x84\x23\xf0"),
                                        (0x08, b"\x12\x34\x03\x02"),
                                        (0x25, b"\x01")))

    def test_no_concat(self):
        udh = parse_udh(b"\x06\x05\x04\x0b\x84\x23\xf0data")
        self.assertIsNone(udh.concat)
        self.assertEqual(udh.payload, b"data")
        self.assertEqual(parse_udh(b"\x00x"), parse_udh(b"\x00x"))
        self.assertEqual(parse_udh(b"\x00x").payload, b"x")

    def test_last_concat_wins(self):
        udh = parse_udh(b"\x0b\x00\x03\x01\x02\x01\x08\x04\x00\x07\x03\x03")
        self.assertEqual(udh.concat, Concat(7, 3, 3))
        self.assertEqual(udh.payload, b"")

    def test_meaningless_concat_ignored(self):
        for ie in (b"\x00\x03\x05\x00\x00", b"\x00\x03\x05\x02\x00",
                   b"\x00\x03\x05\x02\x03", b"\x00\x02\x05\x02"):
            udh = parse_udh(bytes((len(ie),)) + ie + b"text")
            self.assertIsNone(udh.concat, ie)
            self.assertEqual(udh.payload, b"text")

    def test_malformed(self):
        for sm in (b"", b"\x05\x00\x03\x01\x02", b"\x01\x00",
                   b"\x03\x00\x03\x01\x02\x01", b"\x02\x00\x03\x01\x02\x01"):
            e = self.assertRaises(DecodeError, parse_udh, sm)
            self.assertEqual(e.status, Status.ESME_RINVMSGLEN)

    @settings(max_examples=500, deadline=None)
    @given(st.binary(max_size=60))
    def test_random_bytes(self, sm):
        try:
            udh = parse_udh(sm)
        except DecodeError as e:
            self.assertEqual(e.status, Status.ESME_RINVMSGLEN)
        else:
            self.assertEqual(udh.header_length, sm[0] + 1)
            self.assertEqual(sm[udh.header_length:], udh.payload)
            if udh.concat is not None:
                self.assertTrue(1 <= udh.concat.seqnum <= udh.concat.total)


class ReassemblerTests(SynchronousTestCase):

    def test_in_order(self):
        r = Reassembler(timeout=60)
        self.assertIsNone(r.add("k", 5, 3, 1, b"aa", now=0))
        self.assertIsNone(r.add("k", 5, 3, 2, b"bb", now=1))
        self.assertEqual(r.add("k", 5, 3, 3, b"cc", now=2), b"aabbcc")
        self.assertEqual(len(r), 0)
        self.assertIsNone(r.next_deadline())

    def test_out_of_order_with_duplicates(self):
        r = Reassembler(timeout=60)
        self.assertIsNone(r.add("k", 5, 3, 3, b"cc", now=0))
        self.assertIsNone(r.add("k", 5, 3, 3, b"XX", now=0))
        self.assertIsNone(r.add("k", 5, 3, 1, b"aa", now=0))
        self.assertEqual(r.add("k", 5, 3, 2, b"bb", now=0), b"aabbcc")
        # Resent parts after completion are recognised and ignored.
        self.assertIsNone(r.add("k", 5, 3, 2, b"bb", now=1))
        self.assertIsNone(r.add("k", 5, 3, 1, b"aa", now=1))
        self.assertIsNone(r.add("k", 5, 3, 3, b"cc", now=1))
        self.assertEqual(len(r), 0)

    def test_reused_reference_after_completion(self):
        r = Reassembler(timeout=60)
        r.add("k", 5, 2, 1, b"a1", now=0)
        self.assertEqual(r.add("k", 5, 2, 2, b"a2", now=0), b"a1a2")
        # Different content under the same reference: a new message.
        self.assertIsNone(r.add("k", 5, 2, 1, b"b1", now=1))
        self.assertEqual(len(r), 1)
        self.assertEqual(r.add("k", 5, 2, 2, b"b2", now=1), b"b1b2")

    def test_completed_sets_forgotten_after_timeout(self):
        r = Reassembler(timeout=10)
        r.add("k", 5, 2, 1, b"a1", now=0)
        self.assertEqual(r.add("k", 5, 2, 2, b"a2", now=5), b"a1a2")
        self.assertIsNone(r.add("k", 5, 2, 1, b"a1", now=14))
        self.assertEqual(len(r), 0)     # still remembered at 14
        self.assertEqual(r.expire(15), [])
        # Forgotten at 15: the same part now opens a new set.
        self.assertIsNone(r.add("k", 5, 2, 1, b"a1", now=15))
        self.assertEqual(len(r), 1)
        self.assertEqual(r.add("k", 5, 2, 2, b"a2", now=16), b"a1a2")
        # Forgotten once timeout has passed even if expire() was not called.
        self.assertIsNone(r.add("k", 5, 2, 1, b"a1", now=26))
        self.assertEqual(len(r), 1)

    def test_single_part_set(self):
        self.assertEqual(Reassembler(60).add("k", 1, 1, 1, b"x", now=0), b"x")

    def test_sets_are_separate(self):
        r = Reassembler(timeout=60)
        r.add("a", 1, 2, 1, b"a1", now=0)
        r.add("b", 1, 2, 1, b"b1", now=0)
        r.add("a", 2, 2, 1, b"x1", now=0)
        r.add("a", 1, 3, 1, b"t1", now=0)    # same ref, another total
        self.assertEqual(len(r), 4)
        self.assertEqual(r.add("b", 1, 2, 2, b"b2", now=0), b"b1b2")
        self.assertEqual(r.add("a", 1, 2, 2, b"a2", now=0), b"a1a2")

    def test_invalid_parts(self):
        r = Reassembler(timeout=60)
        for total, seqnum in ((0, 0), (3, 0), (3, 4), (256, 1)):
            e = self.assertRaises(DecodeError, r.add, "k", 1, total, seqnum, b"", 0)
            self.assertEqual(e.status, Status.ESME_RINVTLVVAL)
        self.assertEqual(len(r), 0)

    def test_expiry_from_first_part(self):
        r = Reassembler(timeout=10)
        r.add("k", 1, 3, 2, b"bb", now=100)
        r.add("k", 2, 2, 1, b"zz", now=105)
        r.add("k", 1, 3, 1, b"aa", now=108)
        self.assertEqual(r.next_deadline(), 110)
        self.assertEqual(r.expire(109.9), [])
        self.assertEqual(r.expire(110), [
            Incomplete("k", 1, 3, {1: b"aa", 2: b"bb"}, 100, "timeout")])
        self.assertEqual(r.next_deadline(), 115)
        self.assertEqual([i.ref for i in r.expire(1000)], [2])
        self.assertIsNone(r.next_deadline())
        # The expired set is gone: its last part now opens a fresh one.
        self.assertIsNone(r.add("k", 1, 3, 3, b"cc", now=1001))

    def test_expire_at_deadline_with_float_times(self):
        r = Reassembler(timeout=0.3)
        r.add("k", 1, 2, 1, b"a", now=0.1)
        self.assertEqual(len(r.expire(r.next_deadline())), 1)

    def test_overflow_evicts_oldest(self):
        r = Reassembler(timeout=60, max_pending=2)
        r.add("k", 1, 2, 1, b"a", now=0)
        r.add("k", 2, 2, 1, b"b", now=1)
        self.assertIsNone(r.add("k", 3, 2, 1, b"c", now=2))
        self.assertEqual(len(r), 2)
        self.assertEqual(r.next_deadline(), 2)    # due now: collect the evicted
        self.assertEqual(r.expire(2), [Incomplete("k", 1, 2, {1: b"a"}, 0, "overflow")])
        self.assertEqual(r.next_deadline(), 61)
        self.assertEqual(r.add("k", 2, 2, 2, b"B", now=3), b"bB")
        # Parts of an open set never evict anything.
        r.add("k", 4, 2, 1, b"d", now=4)
        r.add("k", 3, 2, 1, b"c", now=5)
        self.assertEqual(r.expire(5), [])

    def test_many_sets_expire_cheaply(self):
        r = Reassembler(timeout=1000, max_pending=100000)
        for i in range(20000):
            r.add(i, 0, 2, 1, b"x", now=i)
        expired = r.expire(10000)
        self.assertEqual([i.key for i in expired], list(range(9001)))
        self.assertEqual(len(r), 10999)
        self.assertEqual(r.next_deadline(), 10001)

    @FAST
    @given(payloads, methods, st.data())
    def test_split_then_reassemble_any_order(self, payload_alphabet, method, data):
        payload, alphabet = payload_alphabet
        parts = split(payload, alphabet, method, ref=9)
        arrivals = data.draw(st.permutations(parts))
        extra = data.draw(st.lists(st.sampled_from(parts), max_size=5))
        positions = [data.draw(st.integers(0, len(arrivals))) for _ in extra]
        arrivals = list(arrivals)
        for part, position in zip(extra, positions):
            arrivals.insert(position, part)
        r = Reassembler(timeout=30)
        results = []
        for now, part in enumerate(arrivals):
            if part.esm_class_udhi:
                udh = parse_udh(part.short_message)
                ref, total, seqnum = udh.concat
                body = udh.payload
            elif part.sar is not None:
                (ref, total, seqnum), body = part.sar, part.short_message
            else:
                ref, total, seqnum, body = 0, 1, 1, part.short_message
            whole = r.add(("src", "dst"), ref, total, seqnum, body, now=0)
            if whole is not None:
                results.append((now, whole))
        completed_at = max(arrivals.index(p) for p in parts)
        self.assertEqual(results[0], (completed_at, payload))
        if len(parts) > 1:
            # duplicates after completion may open a new set but never complete it
            self.assertEqual(len(results), 1)


class WithConcatTests(SynchronousTestCase):
    """with_concat: a sar_* part as the UDH part a v3.3 peer can carry."""

    @settings(max_examples=300, deadline=None)
    @given(st.integers(0, 0xFFFF), st.integers(1, 255).flatmap(
        lambda total: st.tuples(st.just(total), st.integers(1, total))),
        st.binary(max_size=140), st.booleans())
    def test_the_udh_says_what_the_tlvs_said(self, ref, total_seq, payload, port_ie):
        total, seq = total_seq
        own = b"\x04\x02\x0b\x84" if port_ie else b""   # 8-bit port addressing IE
        body = bytes((len(own),)) + own + payload if port_ie else payload
        udh = parse_udh(with_concat(body, port_ie, ref, total, seq))
        self.assertEqual(udh.concat, Concat(ref, total, seq))
        self.assertEqual(udh.payload, payload)
        self.assertEqual([e for e in udh.elements if e[0] == 0x04], [(0x04, own[2:])] if own
                         else [])

    def test_a_udh_that_already_concatenates_is_kept(self):
        body = b"\x05\x00\x03\x09\x02\x01hi"
        self.assertEqual(with_concat(body, True, 7, 3, 2), body)

    def test_out_of_range_and_malformed(self):
        for args in ((0x10000, 2, 1), (1, 0, 1), (1, 2, 3), (1, 256, 1)):
            with self.assertRaises(EncodeError):
                with_concat(b"x", False, *args)
        with self.assertRaises(DecodeError):
            with_concat(b"\x09\x00", True, 1, 2, 1)


class PartStatusTests(SynchronousTestCase):
    """part_status: an ESME's own part (UDHI) must be one SMS with a well-formed UDH."""

    UDH = b"\x05\x00\x03\x01\x02\x01"   # 6 octets: 7 septets on air

    def test_a_full_part_per_alphabet_fits(self):
        for body, dc in ((self.UDH + b"a" * 153, 0), (self.UDH + b"a" * 134, 4),
                         (self.UDH + b"\x00a" * 67, 8), (self.UDH + b"a" * 134, 3)):
            self.assertEqual(part_status(body, dc), Status.ESME_ROK, (len(body), dc))

    def test_one_unit_more_is_too_long(self):
        for body, dc in ((self.UDH + b"a" * 154, 0), (self.UDH + b"a" * 135, 4),
                         (self.UDH + b"\x00a" * 67 + b"\x00", 8), (self.UDH + b"a" * 135, 3),
                         (self.UDH + b"a" * 135, 0x0B)):   # reserved coding: octets
            self.assertEqual(part_status(body, dc), Status.ESME_RINVMSGLEN, (len(body), dc))

    def test_a_udh_that_is_not_there_is_an_esm_class_error(self):
        for body in (b"", b"\x09\x00\x03\x01", b"\x05\x00\x07\x01\x02\x01abc", b"hello"):
            self.assertEqual(part_status(body, 0), Status.ESME_RINVESMCLASS, body)

    @given(st.binary(min_size=154, max_size=2000),
           st.sampled_from([(GSM7, 0), (BINARY, 4), (LATIN1, 3)]),
           st.sampled_from(["udh8", "udh16"]))
    def test_every_part_split_makes_passes(self, payload, coding, method):
        alphabet, dc = coding
        if alphabet == GSM7:
            payload = bytes(b & 0x7F for b in payload).replace(b"\x1b", b"a")
        for part in split(payload, alphabet, method):
            if part.esm_class_udhi:   # (a payload that fits one SMS is sent whole)
                self.assertEqual(part_status(part.short_message, dc), Status.ESME_ROK)

    @given(st.binary(max_size=300), st.integers(0, 255))
    def test_any_body_gets_a_status_and_never_raises(self, body, dc):
        self.assertIn(part_status(body, dc), (Status.ESME_ROK, Status.ESME_RINVMSGLEN,
                                              Status.ESME_RINVESMCLASS))
