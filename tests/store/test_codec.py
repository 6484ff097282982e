"""The Mapping encoding and the command encoder, against their references."""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase
import txredisapi

from smpprouter.store.codec import decode_mapping, encode_mapping
from smpprouter.store.errors import CorruptValue
from smpprouter.store.interface import Mapping
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

    def test_compact(self):
        m = Mapping("7f3c2a9e0b1d4c55", "acme", "MyBrand", "447700900123", 1795000000.25, 1, 1)
        self.assertEqual(encode_mapping(m),
                         b'["7f3c2a9e0b1d4c55","acme","MyBrand","447700900123",1795000000.25,1,1]')

    def test_values_written_before_a_field_was_added_still_decode(self):
        self.assertEqual(decode_mapping(b'["r","u","s","d",1.5]'),
                         Mapping("r", "u", "s", "d", 1.5))

    def test_garbage_is_a_clear_error(self):
        for raw in (b"", b"{", b"42", b'["too","few"]', b"\xff"):
            self.assertRaises(CorruptValue, decode_mapping, raw)


class CommandEncoderTests(SynchronousTestCase):
    @given(st.lists(st.one_of(st.binary(max_size=30), st.integers(), st.text(max_size=20)),
                    min_size=1, max_size=10))
    def test_same_bytes_as_txredisapi(self, args):
        reference = txredisapi.BaseRedisProtocol(charset=None)
        self.assertEqual(encode_command(args), reference._build_command(*args))
