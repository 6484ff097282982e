"""Splits a TCP byte stream into SMPP frames.

Twisted's Int32StringReceiver cannot frame SMPP (its length prefix excludes
itself), and a naive "append and re-slice" buffer goes quadratic when a
large PDU trickles in a few bytes at a time.  This framer touches each
received byte a bounded number of times: whole frames are decoded straight
out of the chunk they arrived in; only a partial frame at the end of a chunk
is copied aside, and it is joined once, when enough bytes have arrived.
"""

import struct

from .codec import DEFAULT_MAX_LENGTH, HEADER_SIZE, frame_length

_LENGTH = struct.Struct(">I")


class Framer:
    def __init__(self, max_length: int = DEFAULT_MAX_LENGTH):
        self.max_length = max_length
        self._pending = bytearray()
        self._need = 0  # bytes _pending must hold before a frame can be complete

    def frames(self, data: bytes):
        """Yield (buffer, start, end) for each complete frame in the stream.

        Iterate to the end: the remainder is kept for the next call. Raises
        FramingError when a command_length cannot be trusted; the stream is
        then lost and the caller must close the connection.
        """
        if self._pending:
            self._pending += data
            if len(self._pending) < self._need:
                return
            data = bytes(self._pending)
            self._pending.clear()
        pos = 0
        size = len(data)
        max_length = self.max_length
        unpack_from = _LENGTH.unpack_from
        # frame_length inline (a call per frame saved); it still raises the errors
        while size - pos >= 4:
            length = unpack_from(data, pos)[0]
            if length < HEADER_SIZE or length > max_length:
                frame_length(data, pos, max_length)   # raises FramingError
            end = pos + length
            if end > size:
                break
            yield data, pos, end
            pos = end
        if pos < size:
            self._pending += memoryview(data)[pos:]
            # The loop above already vetted a length it could read.
            self._need = int.from_bytes(data[pos:pos + 4], "big") if size - pos >= 4 else 4

    @property
    def buffered(self) -> int:
        """Octets held of a frame not yet complete."""
        return len(self._pending)
