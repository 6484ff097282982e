"""Concatenated MOs, pure: which MO is one part of a longer message, and the
message its parts make. No I/O; core/moparts.py keeps the parts in Redis.

An MO is a part when its UDH (esm_class UDHI) carries a concatenation IE
(0x00, 8-bit reference, or 0x08, 16-bit; smpp.segment.parse_udh) or it has
the three sar_* TLVs, with a total above 1. A malformed UDH or out-of-range
sar_* values make it no part: it goes on as one MO, as it came, so bad input
from an upstream is never lost nor refused here.

Joining works on the payload octets, not on text: SMPP's short_message holds
GSM 03.38 unpacked, one septet per octet, with the UDH as plain octets (the
fill bits that align septets after a UDH exist only on air, and the SMSC has
removed them), so the parts' payloads concatenated are the message's. A UCS2
character or a GSM escape cut between two parts is whole again once joined;
the text is decoded once, from the joined octets. Only parts that disagree on
data_coding (no sender does that, but an upstream may recode a part) are
decoded one by one, each by its own data_coding, and the message is UCS2.
"""

from dataclasses import replace

from ..smpp.errors import DecodeError
from ..smpp.segment import IEI_CONCAT_8BIT, IEI_CONCAT_16BIT, Concat, parse_udh
from ..smpp.text import DC_UCS2, MAX_PARTS, alphabet_of, decode_text, encode_text

UDHI = 0x40
SAR_TLVS = ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")
_CONCAT_IES = (IEI_CONCAT_8BIT, IEI_CONCAT_16BIT)


def part_of(inbound) -> Concat | None:
    """The MO's (ref, total, seqnum) when it is one part of several, else None.

    Called only for an MO with UDHI set or a sar_msg_ref_num (MOPath tests
    that), so a plain MO costs nothing here."""
    if inbound.esm_class & UDHI:
        try:
            concat = parse_udh(inbound.body).concat
        except DecodeError:
            return None
        if concat is not None and concat.total > 1:
            return concat
        return None
    tlvs = inbound.tlvs
    ref = tlvs.get("sar_msg_ref_num")
    total = tlvs.get("sar_total_segments")
    seqnum = tlvs.get("sar_segment_seqnum")
    if type(ref) is not int or type(total) is not int or type(seqnum) is not int:
        return None
    if not (1 < total <= MAX_PARTS and 1 <= seqnum <= total and 0 <= ref <= 0xFFFF):
        return None
    return Concat(ref, total, seqnum)


def set_id(inbound, concat: Concat) -> bytes:
    """What names one message's set of parts within its connector: the
    handset, the number it wrote to, the reference and the total (a reference
    reused with another total is another message, as 23.040 has it)."""
    return b"%d:%d:%s:%s" % (concat.ref, concat.total,
                             inbound.source.encode("utf-8", "surrogatepass"),
                             inbound.destination.encode("utf-8", "surrogatepass"))


def payload(inbound) -> bytes:
    """The user data of one MO without its UDH."""
    body = inbound.body
    if inbound.esm_class & UDHI and body:
        return body[body[0] + 1:]
    return body


def text(inbound) -> str:
    """The MO's text for routing and webhooks, best effort ("" when binary)."""
    try:
        if alphabet_of(inbound.data_coding) == "binary":
            return ""
        return decode_text(payload(inbound), inbound.data_coding, errors="replace")
    except DecodeError:
        return ""


def _other_ies(part) -> bytes:
    """The UDH of part without its concatenation IE ("" when nothing is left):
    a port address or the like belongs to the whole message."""
    if not part.esm_class & UDHI:
        return b""
    try:
        elements = parse_udh(part.body).elements
    except DecodeError:
        return b""
    ies = b"".join(bytes((iei, len(data))) + data for iei, data in elements
                   if iei not in _CONCAT_IES)
    return bytes((len(ies),)) + ies if ies else b""


def join(parts):
    """The one MO that parts (Inbounds in seqnum order, each once) make: the
    first part's addresses and TLVs (the sar_* ones left out), the payloads
    joined, no concatenation IE (UDHI only if the first part's UDH has other
    IEs, kept in front)."""
    first = parts[0]
    coding = first.data_coding
    if all(p.data_coding == coding for p in parts):
        body = b"".join([payload(p) for p in parts])
    else:
        coding = DC_UCS2
        body = encode_text("".join([text(p) for p in parts]), DC_UCS2)
    header = _other_ies(first)
    tlvs = first.tlvs
    if "sar_msg_ref_num" in tlvs:
        tlvs = {k: v for k, v in tlvs.items() if k not in SAR_TLVS}
    esm_class = first.esm_class & ~UDHI
    if header:
        body = header + body
        esm_class |= UDHI
    return replace(first, body=body, data_coding=coding, esm_class=esm_class, tlvs=tlvs)


def in_payload(inbound):
    """inbound with its body in message_payload (a user's `mo_reassemble`):
    one deliver_sm whatever its length."""
    tlvs = dict(inbound.tlvs)
    tlvs["message_payload"] = inbound.body
    return replace(inbound, body=b"", tlvs=tlvs)
