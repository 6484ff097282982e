"""The Mapping encoding and the command encoder, against their references."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
import txredisapi

from smpprouter.store.codec import decode_mapping, encode_mapping
from smpprouter.store.errors import CorruptValue
from smpprouter.store.interface import Mapping
from smpprouter.store import protocol
from smpprouter.store.protocol import encode_command

any_text = st.text(st.characters(), max_size=40)   # NUL, surrogates, astral planes
mappings = st.builds(Mapping, any_text, any_text, any_text, any_text,
                     st.floats(allow_nan=False), st.integers(0, 255), st.integers(0, 255),
                     st.one_of(st.just(""), any_text), st.one_of(st.just(""), any_text))


class MappingCodecTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None)
    @given(mappings)
    def test_round_trip(self, m):
        raw = encode_mapping(m)
        self.assertIsInstance(raw, bytes)
        self.assertEqual(decode_mapping(raw), m)

    @settings(max_examples=300, deadline=None)
    @given(mappings, st.booleans())
    def test_marked_as_in_a_block_reads_the_same(self, m, in_block):
        """A mapping whose record is in its block: the same array to any JSON
        reader (json.loads as d60fad7's fallback, its C scanner here)."""
        raw = encode_mapping(m, in_block)
        self.assertEqual(decode_mapping(raw), m)
        self.assertEqual(Mapping(*json.loads(raw)), m)
        first = json.dumps(m.message_id).encode()
        self.assertEqual(raw.startswith(b"[" + first + b", "), in_block)

    def test_marked_compact(self):
        m = Mapping("7f3c2a9e0b1d4c55", "acme", "MyBrand", "447700900123", 1795000000.25, 1, 1)
        self.assertEqual(encode_mapping(m, True),
                         b'["7f3c2a9e0b1d4c55", "acme","MyBrand","447700900123",1795000000.25,1,1]')

    def test_compact(self):
        m = Mapping("7f3c2a9e0b1d4c55", "acme", "MyBrand", "447700900123", 1795000000.25, 1, 1)
        self.assertEqual(encode_mapping(m),
                         b'["7f3c2a9e0b1d4c55","acme","MyBrand","447700900123",1795000000.25,1,1]')

    def test_values_written_before_a_field_was_added_still_decode(self):
        self.assertEqual(decode_mapping(b'["r","u","s","d",1.5]'),
                         Mapping("r", "u", "s", "d", 1.5))

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(mappings.map(encode_mapping), st.binary(max_size=60),
                     st.lists(st.one_of(any_text, st.integers(), st.floats(allow_nan=False)),
                              max_size=11).map(lambda v: json.dumps(v).encode()),
                     mappings.map(lambda m: b" " + encode_mapping(m) + b"\n")))
    def test_decodes_as_json_loads_does(self, raw):
        """Whatever the value, the answer json.loads gives: a Mapping or CorruptValue."""
        try:
            expected = Mapping(*json.loads(raw))
        except (ValueError, TypeError):
            self.assertRaises(CorruptValue, decode_mapping, raw)
        else:
            self.assertEqual(decode_mapping(raw), expected)

    def test_garbage_is_a_clear_error(self):
        for raw in (b"", b"{", b"42", b'["too","few"]', b"\xff"):
            self.assertRaises(CorruptValue, decode_mapping, raw)


class CommandEncoderTests(SynchronousTestCase):
    @given(st.lists(st.one_of(st.binary(max_size=30), st.integers(), st.text(max_size=20)),
                    min_size=1, max_size=10))
    def test_same_bytes_as_txredisapi(self, args):
        reference = txredisapi.BaseRedisProtocol(charset=None)
        self.assertEqual(encode_command(args), reference._build_command(*args))

    @given(st.lists(st.one_of(st.binary(max_size=30), st.integers(), st.text(max_size=20),
                              st.floats(allow_nan=False), st.booleans()),
                    min_size=1, max_size=10))
    def test_hiredis_and_the_fallback_loop_agree(self, args):
        self.assertEqual(encode_command(args), protocol._encode(args))
