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
_scan = json.JSONDecoder().scan_once   # the C scanner json.loads ends in


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
    """1 µs through the C scanner, against 2.7 µs through json.loads (which
    checks the type, guesses the encoding and skips whitespace first); what
    the scanner does not take whole goes the json.loads way, errors included."""
    try:
        text = raw.decode()
        fields, end = _scan(text, 0)
        if end == len(text) and type(fields) is list:
            return Mapping(*fields)
    except (ValueError, TypeError, StopIteration):
        pass
    try:
        return Mapping(*_loads(raw))
    except (ValueError, TypeError) as e:
        raise CorruptValue(f"undecodable mapping {raw[:80]!r}: {e}") from None
