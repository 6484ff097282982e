"""The core's values as compact Redis strings: queued messages and delivery entries.

A delivery entry (Receipt or Inbound) is stored as the deliver_sm that an
SMPP v3.4 session gets for it, followed by a short JSON array of what a
deliver_sm has no field for (the router's id and state, the caller's
reference; an MO's connector). Why that form: nearly every entry is delivered
to a v3.4 session, which then sends the stored bytes with only the sequence
number patched in (rendering at each delivery cost the receipt path a tenth
of its CPU); any other face decodes the entry back to data. An entry a
deliver_sm cannot carry (an address too long, a character beyond Latin-1)
is stored as a JSON array instead, starting with "[".

Queued messages and the JSON form are JSON arrays, as for mappings
(store/codec.py): free text from ESMEs and upstreams survives the C json
module, which encodes and decodes in a few microseconds; arrays leave the
field names out of every entry. Octets travel as Latin-1 strings, one
character per octet; optional parameters as a JSON object when every value
is text or a number, else as their SMPP wire encoding, so every TLV, known or
not, comes back exactly as it was. The first element says what an entry is
and is the place to version the layout.

Entries written by earlier versions (the deliver_sm alone) are still read.
"""

import json
from json.encoder import encode_basestring_ascii as _quote  # the C escaper
import struct
from dataclasses import dataclass

from ..smpp import codec as pdu_codec
from ..smpp.adapt import deliver_octets, upstream_delivery
from ..smpp.errors import DecodeError, SMPPError
from ..smpp.tlv import decode_tlvs, encode_tlvs
from .messages import Click, Inbound, Receipt, Submission

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads

RECEIPT, INBOUND, QUEUED, CLICK = "r", "m", "q", "k"


class CorruptEntry(ValueError):
    """A stored entry that is not one of ours."""


@dataclass(frozen=True, slots=True)
class Queued:
    """A store-and-forward message as the outbound queue holds it."""
    message_id: str
    submitted_at: float
    routes: tuple          # connector names to try, in order
    submission: Submission
    parts: int = 1
    charged: int = 0       # minor units a prepaid user paid for it (refunded if it fails)


def _tlv_text(tlvs):
    """TLVs for JSON: as they are when every value is text or a number (a
    receipt's usually are: no second encoding), else their wire encoding."""
    if not tlvs:
        return ""
    for key, value in tlvs.items():
        kind = type(value)
        if type(key) is not str or (kind is not int and kind is not str):
            return encode_tlvs(tlvs).decode("latin-1")
    return tlvs


def _tlv_dict(value):
    if type(value) is dict:
        return value
    tlvs = {}
    if value:
        raw = value.encode("latin-1")
        decode_tlvs(raw, 0, len(raw), tlvs)
    return tlvs


_LENGTH = struct.Struct(">I")
_MIN_PDU = 16


def encode_entry(entry) -> bytes:
    """A Receipt or an Inbound for a user's delivery queue: its v3.4 deliver_sm
    and the rest, or (when a deliver_sm cannot carry it) its JSON form."""
    if type(entry) is Receipt:
        state = entry.state
        if type(state) is int:
            message_id = entry.message_id
            if not entry.reference and message_id.isascii() and message_id.isalnum():
                # an SMPP user's receipt, the router's own id: nothing to escape
                # (a third of the quoting version's cost)
                tail = b'["r","%b",%d,""]' % (message_id.encode(), state)
            else:
                tail = ('["r",%s,%d,%s]' % (_quote(message_id), state,
                                            _quote(entry.reference))).encode()
        else:
            tail = _dumps([RECEIPT, entry.message_id, state, entry.reference]).encode()
    else:
        tail = _dumps([INBOUND, entry.connector]).encode()
    try:
        return deliver_octets(entry, tail)   # the deliver_sm and its tail in one join
    except (SMPPError, UnicodeEncodeError, ValueError, TypeError):
        return _json_entry(entry)


def encode_click(click: Click) -> bytes:
    """A Click for a user's webhook queue (never an SMPP one): always JSON. Apart
    from encode_entry so the receipt path pays no test for it."""
    return _dumps([CLICK, click.message_id, click.link_id, click.target, click.destination,
                   click.clicks, click.at, click.reference]).encode()


def rendering(raw: bytes) -> bytes | None:
    """The stored deliver_sm of an entry, as an SMPP v3.4 session gets it; None
    for an entry kept in JSON form (or not one of ours)."""
    if len(raw) < _MIN_PDU or raw[:1] == b"[":
        return None
    length = _LENGTH.unpack_from(raw)[0]
    if not _MIN_PDU <= length <= len(raw):
        return None
    return raw if length == len(raw) else raw[:length]


def _json_entry(entry) -> bytes:
    if type(entry) is Receipt:
        e = entry
        row = [RECEIPT, e.message_id, e.state, e.text.decode("latin-1"), e.source,
               e.destination, e.source_ton, e.source_npi, e.dest_ton, e.dest_npi,
               e.data_coding, e.esm_class, _tlv_text(e.tlvs), e.reference]
    else:
        e = entry
        row = [INBOUND, e.connector, e.source, e.destination, e.body.decode("latin-1"),
               e.data_coding, e.esm_class, e.source_ton, e.source_npi, e.dest_ton,
               e.dest_npi, e.service_type, e.protocol_id, _tlv_text(e.tlvs)]
    return _dumps(row).encode()


def decode_entry(raw: bytes):
    """The Receipt, Inbound or Click of a delivery queue entry; CorruptEntry if
    it is none of them."""
    if raw[:1] != b"[":
        return _from_pdu(raw)
    try:
        row = _loads(raw)
        kind = row[0]
        if kind == RECEIPT:
            return Receipt(row[1], row[2], row[3].encode("latin-1"), row[4], row[5], row[6],
                           row[7], row[8], row[9], row[10], row[11], _tlv_dict(row[12]),
                           row[13])
        if kind == INBOUND:
            return Inbound(row[1], row[2], row[3], row[4].encode("latin-1"), row[5], row[6],
                           row[7], row[8], row[9], row[10], row[11], row[12],
                           _tlv_dict(row[13]))
        if kind == CLICK:
            return Click(row[1], row[2], row[3], row[4], row[5], row[6], row[7])
    except (ValueError, TypeError, IndexError, UnicodeEncodeError, DecodeError) as e:
        raise CorruptEntry("undecodable delivery entry %r: %s" % (raw[:80], e)) from None
    raise CorruptEntry("unknown delivery entry kind %r" % (kind,))


def _from_pdu(raw):
    """An entry stored as its deliver_sm (and its JSON tail, absent in entries of
    earlier versions, whose ids are already the router's)."""
    pdu_bytes = rendering(raw)
    if pdu_bytes is None:
        raise CorruptEntry("undecodable delivery entry %r" % (raw[:80],))
    try:
        pdu, _ = pdu_codec.decode(pdu_bytes, checked=False)
        tail = _loads(raw[len(pdu_bytes):]) if len(pdu_bytes) < len(raw) else None
    except (DecodeError, ValueError) as e:
        raise CorruptEntry("undecodable delivery entry %r: %s" % (raw[:80], e)) from None
    if tail is None:
        return upstream_delivery(pdu, "")
    try:
        return _entry(pdu, tail)
    except (IndexError, TypeError, ValueError) as e:
        raise CorruptEntry("undecodable delivery entry %r: %s" % (raw[:80], e)) from None


def _entry(pdu, tail):
    tlvs = pdu.tlvs
    body = pdu.short_message
    if not body and "message_payload" in tlvs:
        body = tlvs.pop("message_payload")
    if tail[0] == RECEIPT:
        return Receipt(tail[1], tail[2], body, pdu.source_addr, pdu.destination_addr,
                       pdu.source_addr_ton, pdu.source_addr_npi, pdu.dest_addr_ton,
                       pdu.dest_addr_npi, pdu.data_coding, pdu.esm_class, tlvs, tail[3])
    if tail[0] == INBOUND:
        return Inbound(tail[1], pdu.source_addr, pdu.destination_addr, body, pdu.data_coding,
                       pdu.esm_class, pdu.source_addr_ton, pdu.source_addr_npi,
                       pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.service_type,
                       pdu.protocol_id, tlvs)
    raise ValueError("unknown delivery entry kind %r" % (tail[0],))


def encode_queued(q: Queued) -> bytes:
    s = q.submission
    row = [
        QUEUED, q.message_id, q.submitted_at, list(q.routes), q.parts,
        s.user, s.source, s.destination, s.body.decode("latin-1"), s.data_coding,
        s.esm_class, s.source_ton, s.source_npi, s.dest_ton, s.dest_npi, s.service_type,
        s.protocol_id, s.priority, s.registered_delivery, s.replace_if_present,
        s.sm_default_msg_id, s.schedule, s.validity, _tlv_text(s.tlvs), s.reference,
        s.datagram]
    if q.charged:
        row.append(q.charged)   # only then: an older router reads the rest as before
    return _dumps(row).encode()


def decode_queued(raw: bytes) -> Queued:
    try:
        r = _loads(raw)
        if r[0] != QUEUED:
            raise ValueError("not a queued message")
        s = Submission(r[5], r[6], r[7], r[8].encode("latin-1"), r[9], r[10], r[11], r[12],
                       r[13], r[14], r[15], r[16], r[17], r[18], r[19], r[20], r[21], r[22],
                       _tlv_dict(r[23]), r[24], r[25])
        return Queued(r[1], r[2], tuple(r[3]), s, r[4], r[26] if len(r) > 26 else 0)
    except (ValueError, TypeError, IndexError, UnicodeEncodeError, DecodeError) as e:
        raise CorruptEntry("undecodable queued message %r: %s" % (raw[:80], e)) from None
