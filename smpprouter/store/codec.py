"""A Mapping as one compact Redis string.

Why JSON: the fields are free text from ESMEs and upstreams (any character,
even NUL or a lone surrogate), and the C json module escapes them all, encodes
in ~2 µs and decodes in ~2 µs. Why an array and not an object: the field names
would double the size of every key in Redis for nothing. Fields are in
Mapping's declaration order; a Mapping that grows new fields (with defaults) at
its end still decodes values written before.
"""

import json
import math
from json.encoder import encode_basestring_ascii as _quote  # the C escaper: any str survives

from .errors import CorruptValue
from .interface import Mapping

_dumps = json.JSONEncoder(separators=(",", ":")).encode
_loads = json.loads


def encode_mapping(m: Mapping) -> bytes:
    """1.4 µs on the usual types, against 2.6 µs through json.dumps."""
    t, parts, rd = m.submitted_at, m.parts, m.registered_delivery
    if m.part:
        return _dumps([m.message_id, m.user, m.source_addr, m.destination_addr,
                       t, parts, rd, m.home, m.reference, m.part]).encode()
    if m.reference:
        return _dumps([m.message_id, m.user, m.source_addr, m.destination_addr,
                       t, parts, rd, m.home, m.reference]).encode()
    if m.home:
        return _dumps([m.message_id, m.user, m.source_addr, m.destination_addr,
                       t, parts, rd, m.home]).encode()
    if type(t) is float and math.isfinite(t) and type(parts) is int and type(rd) is int:
        try:
            return ("[%s,%s,%s,%s,%r,%d,%d]" % (
                _quote(m.message_id), _quote(m.user), _quote(m.source_addr),
                _quote(m.destination_addr), t, parts, rd)).encode()
        except TypeError:   # a field that is not a str: JSON still stores it
            pass
    return _dumps([m.message_id, m.user, m.source_addr, m.destination_addr,
                   t, parts, rd]).encode()


def decode_mapping(raw: bytes) -> Mapping:
    try:
        return Mapping(*_loads(raw))
    except (ValueError, TypeError) as e:
        raise CorruptValue(f"undecodable mapping {raw[:80]!r}: {e}") from None
