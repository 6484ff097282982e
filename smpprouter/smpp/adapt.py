"""PDUs to the core's neutral values and back, for each SMPP version.

The one place that knows how a message sits in a PDU: short_message or
message_payload, submit_sm or data_sm, what a v3.3 peer can carry. Both the
ESME-facing server and the upstream connectors go through it, so a rule
(e.g. "v3.3 has no TLVs: a long payload cannot be sent") is written once.

Pure functions: `now` is an argument, errors are SMPPError with the status
to answer.
"""

from dataclasses import replace
from datetime import datetime, timezone

from ..core.messages import Inbound, Receipt, Submission
from . import pdu as P
from .codec import HEADER, HEADER_SIZE, SHORT_MESSAGE_MAX, encode
from .commands import INTERFACE_V34, CommandId
from .errors import SMPPError
from .receipt import MessageState, parse_receipt, stat_to_state
from .segment import with_concat
from .status import Status
from .text import GSM7, alphabet_of
from .tlv import RMID_HEADS, STATE_TLVS, encode_tlvs, receipt_pair_id
from .times import format_absolute, parse_schedule, parse_validity

# plain ints for the per-message tests: an IntEnum member is a 0.1 us lookup on 3.11
_SUBMIT_SM = int(CommandId.submit_sm)
_DATA_SM = int(CommandId.data_sm)
_DELIVER_SM = int(CommandId.deliver_sm)

# esm_class message types that are receipts (delivery receipt, intermediate notification).
RECEIPT_TYPES = frozenset((0x04, 0x20))
UDHI = 0x40
_UTC = timezone.utc


def _datetime(now: float) -> datetime:
    return datetime.fromtimestamp(now, _UTC)


def _times(pdu, now):
    """schedule and validity of a submit_sm as unix times (None when not given)."""
    schedule = validity = None
    when = pdu.schedule_delivery_time
    if when:
        schedule = parse_schedule(when, _datetime(now)).timestamp()
    when = pdu.validity_period
    if when:
        validity = parse_validity(when, _datetime(now)).timestamp()
    return schedule, validity


def submission(pdu, user: str, now: float, destination=None) -> Submission:
    """The Submission a submit_sm, data_sm or submit_multi stands for.

    `destination` (ton, npi, addr) replaces the PDU's for submit_multi's
    fan-out. A message in both short_message and message_payload is
    ambiguous and refused (ESME_RINVMSGLEN), as v3.4 5.2.21 requires.
    """
    tlvs = pdu.tlvs   # the submission takes the PDU's own dict: the PDU is done with
    body = getattr(pdu, "short_message", b"")
    if "message_payload" in tlvs:
        if body:
            raise SMPPError(Status.ESME_RINVMSGLEN,
                            "both short_message and message_payload given")
        if destination is not None:   # submit_multi: one PDU, several submissions
            tlvs = dict(tlvs)
        body = tlvs.pop("message_payload")
    elif destination is not None:
        tlvs = dict(tlvs)
    if pdu.command_id == _DATA_SM:
        return Submission(user, pdu.source_addr, pdu.destination_addr, body, pdu.data_coding,
                          pdu.esm_class, pdu.source_addr_ton, pdu.source_addr_npi,
                          pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.service_type,
                          registered_delivery=pdu.registered_delivery, tlvs=tlvs,
                          datagram=True)
    schedule, validity = _times(pdu, now) if (
        pdu.schedule_delivery_time or pdu.validity_period) else (None, None)
    if destination is None:
        dest_ton, dest_npi, dest = pdu.dest_addr_ton, pdu.dest_addr_npi, pdu.destination_addr
    else:
        dest_ton, dest_npi, dest = destination
    return Submission(user, pdu.source_addr, dest, body, pdu.data_coding, pdu.esm_class,
                      pdu.source_addr_ton, pdu.source_addr_npi, dest_ton, dest_npi,
                      pdu.service_type, pdu.protocol_id, pdu.priority_flag,
                      pdu.registered_delivery, pdu.replace_if_present_flag,
                      pdu.sm_default_msg_id, schedule, validity, tlvs)


def relay_form(pdu, buf, start: int, end: int) -> bytes | None:
    """The octets buf[start:end] of a submit_sm an ESME sent, when submit_pdu
    of its submission would encode them again exactly (for an upstream speaking
    v3.4, sequence number aside); else None.

    That holds when no field goes through a conversion: a request's
    command_status of 0, no optional parameters (a message_payload would move
    to short_message, and a TLV's bytes are not kept as received), and no
    schedule_delivery_time or validity_period (the router keeps the schedule
    and passes a validity on as an absolute time). The C-strings decode and
    encode within the same bounds, so every other field comes out as it went
    in. Call it before submission(), which takes the PDU's TLV dict."""
    if (pdu.command_id != _SUBMIT_SM or pdu.tlvs or pdu.command_status
            or pdu.schedule_delivery_time or pdu.validity_period):
        return None
    return buf[start:end]


def submit_pdu(s: Submission, version: int = INTERFACE_V34, now: float | None = None):
    """The request that carries s to an upstream speaking `version`.

    v3.4: data_sm for a data_sm (its body in message_payload), else submit_sm
    with the body in short_message, or in message_payload beyond 254 octets.
    v3.3: always submit_sm, no TLVs; a body beyond 254 octets cannot be sent
    (ESME_RINVMSGLEN), rather than an empty message be accepted. What the
    TLVs said is not silently lost (see _for_v33): a part with sar_* TLVs
    gets a concatenation UDH instead, a message with DLT TLVs is refused.
    The schedule is the router's business (it holds the message until then);
    a validity is passed on as an absolute time, once `now` is given.
    """
    body = s.body
    esm_class = s.esm_class
    if version < INTERFACE_V34:
        if s.tlvs:
            body, esm_class = _for_v33(s)
        if len(body) > SHORT_MESSAGE_MAX:
            raise SMPPError(Status.ESME_RINVMSGLEN,
                            "a v3.3 upstream takes at most %d octets, not %d"
                            % (SHORT_MESSAGE_MAX, len(body)))
        tlvs = {}
    elif s.datagram:
        tlvs = dict(s.tlvs)
        tlvs["message_payload"] = body
        return P.DataSm(0, 0, s.service_type, s.source_ton, s.source_npi, s.source,
                        s.dest_ton, s.dest_npi, s.destination, s.esm_class,
                        s.registered_delivery, s.data_coding, tlvs)
    elif len(body) > SHORT_MESSAGE_MAX:
        tlvs = dict(s.tlvs)
        tlvs["message_payload"] = body
        body = b""
    else:
        tlvs = s.tlvs
    validity = ""
    if s.validity is not None and now is not None:
        validity = format_absolute(_datetime(max(s.validity, now)))
    return P.SubmitSm(0, 0, s.service_type, s.source_ton, s.source_npi, s.source,
                      s.dest_ton, s.dest_npi, s.destination, esm_class, s.protocol_id,
                      s.priority, "", validity, s.registered_delivery, s.replace_if_present,
                      s.data_coding, s.sm_default_msg_id, body, tlvs)


# TLVs that must reach the upstream or the message must not go (India's DLT
# registration, seed 002): a v3.3 peer has no TLVs to carry them.
DLT_TLVS = ("pe_id", "template_id", "tm_id")
SAR_TLVS = ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")
# What one SMS carries on air, UDH included: 140 octets, i.e. 160 septets.
AIR_OCTETS, AIR_SEPTETS = 140, 160


def _for_v33(s: Submission):
    """(body, esm_class) of s for a v3.3 upstream, or SMPPError.

    DLT TLVs: refused with ESME_RTLVNOTALLWD ("optional parameter not
    allowed"): the message itself is fine, this route cannot carry what it
    needs, so the attempt fails (Unsendable) and the core tries the next
    route; with none left the ESME hears exactly why.

    sar_* TLVs: the part gets the concatenation UDH a v3.4 SMSC would have
    built from them (UDHI set), so the handset still joins the parts. Only
    while the part and its UDH fit one SMS on air (140 octets; 160 septets for
    the GSM alphabet, its unpacked septets after the UDH's octets rounded up
    to septets): the upstream must send it as one SMS, not split a part again
    (the SMPP field's own 254 octets would let it). Beyond: ESME_RINVMSGLEN,
    the next route. Incomplete sar_*: ESME_RMISSINGTLV. Other TLVs are
    dropped as before: they are hints a v3.3 SMSC has no use for.
    """
    tlvs = s.tlvs
    for name in DLT_TLVS:
        if name in tlvs:
            raise SMPPError(Status.ESME_RTLVNOTALLWD,
                            "a v3.3 upstream cannot carry the DLT TLV %s" % name)
    present = [name for name in SAR_TLVS if name in tlvs]
    if not present:
        return s.body, s.esm_class
    if len(present) < len(SAR_TLVS):
        raise SMPPError(Status.ESME_RMISSINGTLV,
                        "sar_* TLVs incomplete (%s): the part cannot be joined"
                        % ", ".join(present))
    udhi = bool(s.esm_class & UDHI)
    body = with_concat(s.body, udhi, tlvs["sar_msg_ref_num"], tlvs["sar_total_segments"],
                       tlvs["sar_segment_seqnum"])
    header = body[0] + 1
    if alphabet_of(s.data_coding) == GSM7:
        units, limit = -(-header * 8 // 7) + len(body) - header, AIR_SEPTETS
    else:
        units, limit = len(body), AIR_OCTETS
    if units > limit:
        raise SMPPError(Status.ESME_RINVMSGLEN,
                        "a part with its concatenation UDH takes %d of one SMS's %d %s"
                        % (units, limit, "septets" if limit == AIR_SEPTETS else "octets"))
    return body, s.esm_class | UDHI


def deliver_pdu(entry, version: int = INTERFACE_V34):
    """The deliver_sm that hands a Receipt or an Inbound to an ESME.

    Always deliver_sm (an ESME bound as receiver must take it; data_sm is
    optional for it). v3.4: the body in short_message, or message_payload
    beyond 254 octets. v3.3: no TLVs; a longer body cannot be delivered.
    """
    if type(entry) is Receipt:
        body, dc, tlvs, service_type, pid = entry.text, entry.data_coding, entry.tlvs, "", 0
    else:
        body, dc, tlvs = entry.body, entry.data_coding, entry.tlvs
        service_type, pid = entry.service_type, entry.protocol_id
    if version < INTERFACE_V34:
        if len(body) > SHORT_MESSAGE_MAX:
            raise SMPPError(Status.ESME_RINVMSGLEN,
                            "a v3.3 session takes at most %d octets, not %d"
                            % (SHORT_MESSAGE_MAX, len(body)))
        tlvs = {}
    elif len(body) > SHORT_MESSAGE_MAX:
        tlvs = dict(tlvs)
        tlvs["message_payload"] = body
        body = b""
    return P.DeliverSm(0, 0, service_type, entry.source_ton, entry.source_npi, entry.source,
                       entry.dest_ton, entry.dest_npi, entry.destination, entry.esm_class,
                       pid, 0, "", "", 0, 0, dc, 0, body, tlvs)


def deliver_octets(entry, tail: bytes = b"") -> bytes:
    """encode(deliver_pdu(entry)) + tail, for a user's delivery queue (the tail
    is the queue's, core/codec.py: one join instead of a copy). A receipt that
    kept its upstream's octets (Receipt.wire, upstream_delivery) reuses them:
    only its text and TLVs, which the core may have changed, are encoded."""
    if type(entry) is Receipt:
        wire = entry.wire
        text = entry.text
        if wire is not None and len(text) <= SHORT_MESSAGE_MAX:
            tlvs = entry.tlvs
            n = len(text)
            rmid = receipt_pair_id(tlvs)
            if rmid is not None:   # encode_tlvs' receipt pair, inline: one join for all
                return b"".join((
                    HEADER.pack(_PAIR_REST + len(wire) + n + len(rmid), _DELIVER_SM, 0, 0),
                    wire, _LENGTH_OCTET[n], text, RMID_HEADS[len(rmid)], rmid.encode(),
                    _NUL_STATE[tlvs["message_state"]], tail))
            octets = encode_tlvs(tlvs) if tlvs else b""
            return b"".join((HEADER.pack(_WIRE_REST + len(wire) + n + len(octets), _DELIVER_SM,
                                         0, 0), wire, _LENGTH_OCTET[n], text, octets, tail))
    return encode(deliver_pdu(entry)) + tail


_WIRE_REST = HEADER_SIZE + 1   # the header and sm_length, beside the wire, text and TLVs
_PAIR_REST = _WIRE_REST + 4 + 1 + 5   # and the pair's: the id's head and NUL, message_state
_NUL_STATE = [b"\0" + octets for octets in STATE_TLVS]


_LENGTH_OCTET = [bytes((n,)) for n in range(256)]


def _wire(pdu, frame):
    """The octets of a receipt's deliver_sm from service_type to data_coding
    when deliver_pdu of its Receipt would encode them again exactly (the
    fields a router's deliver_sm leaves empty are empty, the esm_class is the
    message type alone, the body is in short_message); else None."""
    if (frame is None or frame[0] is not pdu or pdu.command_id != _DELIVER_SM
            or not pdu.short_message):
        return None
    start = frame[2] + HEADER_SIZE
    # service_type's NUL, 2 + source + NUL, 2 + destination + NUL, 3, two NULs, 4
    wire = frame[1][start:start + 16 + len(pdu.source_addr) + len(pdu.destination_addr)]
    # read as octets (cheaper than the fields): service_type empty, then after the
    # destination esm_class (its type bits alone), protocol_id and priority_flag 0,
    # both times empty, registered_delivery and replace_if_present 0, data_coding
    # any, sm_default_msg_id 0. Each position holds only once those before are empty.
    if wire[0] or wire[-1] or wire[-8:-2] != _SIX_NULS or wire[-9] & 0xC3:
        return None
    return wire


_SIX_NULS = bytes(6)


def upstream_delivery(pdu, connector: str, frame=None):
    """A deliver_sm or data_sm from an upstream as a Receipt (its message_id
    still the upstream's, "" when it names none) or an Inbound.

    The receipt's state is the message_state TLV where the upstream sent one,
    else what its text's stat stands for. `frame` (the protocol's (pdu, buffer,
    start, end) of the PDU as received) lets a receipt keep its octets (Receipt.wire).
    """
    tlvs = pdu.tlvs
    body = getattr(pdu, "short_message", b"")
    if not body and "message_payload" in tlvs:
        tlvs = dict(tlvs)
        body = tlvs.pop("message_payload")
    elif "message_payload" in tlvs:
        tlvs = dict(tlvs)
        del tlvs["message_payload"]
    esm = pdu.esm_class
    if (esm & 0x3C) in RECEIPT_TYPES:
        upstream_id = tlvs.get("receipted_message_id")
        state = tlvs.get("message_state")
        if upstream_id is None or state is None:
            parsed = parse_receipt(body) if body else None
            if parsed is not None:
                if upstream_id is None:
                    upstream_id = parsed.id
                if state is None:
                    state = stat_to_state(parsed.stat, parsed.err)
        receipt = Receipt(upstream_id or "", int(state or MessageState.UNKNOWN), body,
                          pdu.source_addr, pdu.destination_addr, pdu.source_addr_ton,
                          pdu.source_addr_npi, pdu.dest_addr_ton, pdu.dest_addr_npi,
                          pdu.data_coding, esm & 0x3C, tlvs)
        if frame is not None:
            receipt.wire = _wire(pdu, frame)
        return receipt
    return Inbound(connector, pdu.source_addr, pdu.destination_addr, body, pdu.data_coding,
                   esm, pdu.source_addr_ton, pdu.source_addr_npi, pdu.dest_addr_ton,
                   pdu.dest_addr_npi, pdu.service_type, getattr(pdu, "protocol_id", 0), tlvs)


__all__ = ["submission", "submit_pdu", "deliver_pdu", "deliver_octets", "upstream_delivery",
           "replace",
           "RECEIPT_TYPES"]
