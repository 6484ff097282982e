from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp import codec
from smpprouter.smpp.errors import FramingError
from smpprouter.smpp.framer import Framer

from .strategies import any_pdu


def _collect(framer, chunks):
    out = []
    for chunk in chunks:
        for buf, start, end in framer.frames(chunk):
            out.append(codec.decode_frame(buf, start, end))
    return out


class FramerTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None)
    @given(st.lists(any_pdu, min_size=1, max_size=8), st.data())
    def test_any_chunking_yields_the_same_pdus(self, pdus, data):
        stream = b"".join(codec.encode(p) for p in pdus)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
        chunks = [stream[a:b] for a, b in zip([0] + cuts, cuts + [len(stream)])]
        framer = Framer()
        self.assertEqual(_collect(framer, chunks), pdus)
        self.assertEqual(framer.buffered, 0)

    def test_byte_by_byte(self):
        from smpprouter.smpp.pdu import EnquireLink, SubmitSm
        pdus = [SubmitSm(sequence_number=1, short_message=b"x" * 200), EnquireLink(sequence_number=2)]
        stream = b"".join(codec.encode(p) for p in pdus)
        framer = Framer()
        self.assertEqual(_collect(framer, [stream[i:i + 1] for i in range(len(stream))]), pdus)

    def test_oversized_frame_is_refused_before_it_is_buffered(self):
        framer = Framer(max_length=1000)
        header = (5000).to_bytes(4, "big") + bytes.fromhex("00000004" "00000000" "00000009")
        with self.assertRaises(FramingError) as cm:
            list(framer.frames(header))
        self.assertEqual(cm.exception.sequence_number, 9)
        self.assertEqual(framer.buffered, 0)

    def test_short_length_is_a_framing_error(self):
        with self.assertRaises(FramingError):
            list(Framer().frames(bytes.fromhex("00000008" "00000015")))
