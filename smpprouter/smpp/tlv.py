"""Optional parameters (TLVs): every SMPP v3.4 tag and the DLT tags, typed.

A decoded PDU keeps its TLVs in one dict, in wire order: known tags under
their spec name with a typed value (int, str, bytes), unknown tags under the
integer tag with the raw value bytes.  Unknown tags therefore pass through
the router byte-exact, and known ones re-encode canonically.

Two deliberate tolerances, both for what upstream SMSCs send in the field:
a C-string TLV that lacks its NUL terminator is accepted (receipted_message_id
is the usual culprit and losing a receipt over it is worse than the
non-conformance), and alert_on_message_delivery may carry the one-octet v5.0
value.  The DLT tags of seed 002 are text whose NUL convention differs per
operator, so their value is kept verbatim as text (a trailing NUL included).
"""

import struct
from typing import NamedTuple

from .errors import DecodeError, EncodeError
from .status import Status

_TLV_HEADER = struct.Struct(">HH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class NetworkErrorCode(NamedTuple):
    """network_error_code: the network type (1 ANSI-136, 2 IS-95, 3 GSM...) and its code."""
    network_type: int
    error_code: int


# kind, and for each kind its limits: U8/U16/U32 fixed; CSTR max length with
# the NUL; OCTETS (min, max); TEXT max; NETERR fixed 3; FLAG 0 or 1 octet.
U8, U16, U32, CSTR, OCTETS, TEXT, NETERR, FLAG = range(8)

# name: (tag, kind, limit)
SPECS = {
    "dest_addr_subunit": (0x0005, U8, None),
    "dest_network_type": (0x0006, U8, None),
    "dest_bearer_type": (0x0007, U8, None),
    "dest_telematics_id": (0x0008, U16, None),
    "source_addr_subunit": (0x000D, U8, None),
    "source_network_type": (0x000E, U8, None),
    "source_bearer_type": (0x000F, U8, None),
    "source_telematics_id": (0x0010, U8, None),
    "qos_time_to_live": (0x0017, U32, None),
    "payload_type": (0x0019, U8, None),
    "additional_status_info_text": (0x001D, CSTR, 256),
    "receipted_message_id": (0x001E, CSTR, 65),
    "ms_msg_wait_facilities": (0x0030, U8, None),
    "privacy_indicator": (0x0201, U8, None),
    "source_subaddress": (0x0202, OCTETS, (2, 23)),
    "dest_subaddress": (0x0203, OCTETS, (2, 23)),
    "user_message_reference": (0x0204, U16, None),
    "user_response_code": (0x0205, U8, None),
    "source_port": (0x020A, U16, None),
    "destination_port": (0x020B, U16, None),
    "sar_msg_ref_num": (0x020C, U16, None),
    "language_indicator": (0x020D, U8, None),
    "sar_total_segments": (0x020E, U8, None),
    "sar_segment_seqnum": (0x020F, U8, None),
    "sc_interface_version": (0x0210, U8, None),
    "callback_num_pres_ind": (0x0302, U8, None),
    "callback_num_atag": (0x0303, OCTETS, (0, 65)),
    "number_of_messages": (0x0304, U8, None),
    "callback_num": (0x0381, OCTETS, (4, 19)),
    "dpf_result": (0x0420, U8, None),
    "set_dpf": (0x0421, U8, None),
    "ms_availability_status": (0x0422, U8, None),
    "network_error_code": (0x0423, NETERR, None),
    "message_payload": (0x0424, OCTETS, (0, 0xFFFF)),
    "delivery_failure_reason": (0x0425, U8, None),
    "more_messages_to_send": (0x0426, U8, None),
    "message_state": (0x0427, U8, None),
    "ussd_service_op": (0x0501, U8, None),
    "display_time": (0x1201, U8, None),
    "sms_signal": (0x1203, U16, None),
    "ms_validity": (0x1204, U8, None),
    "alert_on_message_delivery": (0x130C, FLAG, None),
    "its_reply_type": (0x1380, U8, None),
    "its_session_info": (0x1383, U16, None),
    # DLT (India) registration TLVs, seed 002.
    "pe_id": (0x1400, TEXT, 0xFFFF),
    "template_id": (0x1401, TEXT, 0xFFFF),
    "tm_id": (0x1402, TEXT, 0xFFFF),
}

TAGS = {name: tag for name, (tag, _, _) in SPECS.items()}
_FIXED_LENGTH = {U8: 1, U16: 2, U32: 4, NETERR: 3}


def _fail(status, reason):
    return DecodeError(status, reason)


def _value_decoder(name, kind, limit):
    """A decoder specialised to one tag: (buf, pos, length) -> typed value.

    Built once per tag so the per-TLV cost is one call with no kind dispatch.
    """
    fixed = _FIXED_LENGTH.get(kind)

    def wrong_length(length):
        return _fail(Status.ESME_RINVTLVLEN,
                     "TLV %s must be %d octet(s), not %d" % (name, fixed, length))

    if kind == U8:
        def decode(buf, pos, length):
            if length != 1:
                raise wrong_length(length)
            return buf[pos]
    elif kind in (U16, U32):
        unpack_from = (_U16 if kind == U16 else _U32).unpack_from

        def decode(buf, pos, length):
            if length != fixed:
                raise wrong_length(length)
            return unpack_from(buf, pos)[0]
    elif kind == NETERR:
        def decode(buf, pos, length):
            if length != 3:
                raise wrong_length(length)
            return NetworkErrorCode(buf[pos], _U16.unpack_from(buf, pos + 1)[0])
    elif kind == CSTR:
        def decode(buf, pos, length):
            if length == 0 or length > limit:
                raise _fail(Status.ESME_RINVTLVLEN,
                            "TLV %s must be 1 to %d octets, not %d" % (name, limit, length))
            stop = pos + length
            nul = buf.find(0, pos, stop)
            if nul == -1:  # tolerated: see the module docstring
                if length >= limit:  # ...but only if the text would fit with its NUL
                    raise _fail(Status.ESME_RINVTLVLEN,
                                "TLV %s without its NUL must be under %d octets" % (name, limit))
                nul = stop
            elif nul != stop - 1:
                raise _fail(Status.ESME_RINVTLVVAL, "TLV %s has a NUL inside its text" % name)
            return buf[pos:nul].decode("latin-1")
    elif kind == OCTETS:
        low, high = limit

        def decode(buf, pos, length):
            if not low <= length <= high:
                raise _fail(Status.ESME_RINVTLVLEN,
                            "TLV %s must be %d to %d octets, not %d" % (name, low, high, length))
            return buf[pos:pos + length]
    elif kind == TEXT:
        def decode(buf, pos, length):
            return buf[pos:pos + length].decode("latin-1")
    else:  # FLAG
        def decode(buf, pos, length):
            if length == 0:
                return True
            if length == 1:
                return buf[pos]
            raise _fail(Status.ESME_RINVTLVLEN,
                        "TLV %s must be 0 or 1 octet, not %d" % (name, length))
    return decode


_RMID_TAG_OCTETS = SPECS["receipted_message_id"][0].to_bytes(2, "big")
_STATE_HEAD = _TLV_HEADER.pack(SPECS["message_state"][0], 1)


BY_TAG = {tag: (name, _value_decoder(name, kind, limit))
          for name, (tag, kind, limit) in SPECS.items()}


def decode_tlvs(buf: bytes, pos: int, end: int, tlvs: dict) -> None:
    """Decode buf[pos:end] into tlvs; raise DecodeError with the status to answer."""
    # a receipt's usual pair (receipted_message_id with its one NUL at its end,
    # then message_state) read without the loop; any other stream takes it
    if end - pos >= 10 and not tlvs and buf[pos:pos + 2] == _RMID_TAG_OCTETS:
        stop = pos + 4 + ((buf[pos + 2] << 8) | buf[pos + 3])
        if (stop + 5 == end and pos + 4 < stop <= pos + 4 + _RMID_LIMIT
                and buf[stop - 1] == 0 and buf[stop:stop + 4] == _STATE_HEAD
                and buf.find(0, pos + 4, stop - 1) == -1):
            tlvs["receipted_message_id"] = buf[pos + 4:stop - 1].decode("latin-1")
            tlvs["message_state"] = buf[stop + 4]
            return
    _decode_tlvs(buf, pos, end, tlvs)


def _decode_tlvs(buf, pos, end, tlvs):
    """decode_tlvs without its receipt shortcut: what the tests hold it to."""
    unpack_from = _TLV_HEADER.unpack_from
    by_tag = BY_TAG
    while pos < end:
        if end - pos < 4:
            raise _fail(Status.ESME_RINVTLVSTREAM,
                        "%d stray octet(s) after the last TLV" % (end - pos))
        tag, length = unpack_from(buf, pos)
        pos += 4
        stop = pos + length
        if stop > end:
            raise _fail(Status.ESME_RINVTLVSTREAM,
                        "TLV 0x%04X declares %d octets, %d remain" % (tag, length, end - pos))
        spec = by_tag.get(tag)
        if spec is None:
            key, value = tag, buf[pos:stop]
        else:
            key = spec[0]
            value = spec[1](buf, pos, length)
        if key in tlvs:
            raise _fail(Status.ESME_RINVTLVSTREAM, "TLV 0x%04X appears twice" % tag)
        tlvs[key] = value
        pos = stop


def _fast_encoder(tag, kind, limit):
    """(value) -> the TLV's octets, header included, for the values a receipt
    usually carries; None for anything else (the general path then encodes it,
    or raises its error)."""
    pack = _TLV_HEADER.pack
    if kind == U8:
        head = pack(tag, 1)

        def encode(value):
            if type(value) is int and 0 <= value <= 0xFF:
                return head + _OCTET[value]
            return None
    elif kind == CSTR:
        def encode(value):
            if type(value) is str and len(value) < limit and value.isascii() \
                    and "\0" not in value:
                return pack(tag, len(value) + 1) + value.encode("ascii") + b"\0"
            return None
    else:
        return None
    return encode


_OCTET = [bytes((n,)) for n in range(256)]
_FAST = {name: encoder for name, (tag, kind, limit) in SPECS.items()
         if (encoder := _fast_encoder(tag, kind, limit)) is not None}


# a receipt's usual TLVs, receipted_message_id then message_state, as one
# join of precomputed headers (half the loop's cost); any other dict, value
# or order takes the loop
_RMID_TAG, _, _RMID_LIMIT = SPECS["receipted_message_id"]
_RMID_HEADS = [_TLV_HEADER.pack(_RMID_TAG, n + 1) for n in range(_RMID_LIMIT)]
_STATE_OCTETS = [_TLV_HEADER.pack(SPECS["message_state"][0], 1) + _OCTET[n] for n in range(256)]
# the same, for a caller that joins the pair into its own octets (adapt.deliver_octets)
RMID_HEADS, STATE_TLVS = _RMID_HEADS, _STATE_OCTETS


def receipt_pair_id(tlvs: dict):
    """The receipted_message_id of a TLV dict that is exactly a receipt's usual
    pair, receipted_message_id then message_state, with values the pair's
    precomputed octets can carry; else None (the loop encodes it)."""
    if len(tlvs) == 2:
        rmid = tlvs.get("receipted_message_id")
        state = tlvs.get("message_state")
        if (type(rmid) is str and type(state) is int and 0 <= state <= 0xFF
                and len(rmid) < _RMID_LIMIT and rmid.isascii() and "\0" not in rmid
                and next(iter(tlvs)) == "receipted_message_id"):
            return rmid
    return None


def encode_tlvs(tlvs: dict) -> bytes:
    """Encode a TLV dict in its order; raise EncodeError naming the bad TLV."""
    rmid = receipt_pair_id(tlvs)
    if rmid is not None:
        return b"".join((_RMID_HEADS[len(rmid)], rmid.encode("ascii"), b"\0",
                         _STATE_OCTETS[tlvs["message_state"]]))
    out = []
    append = out.append
    fast = _FAST
    for key, value in tlvs.items():
        encoder = fast.get(key)
        if encoder is not None:   # one call per U8 or C-string TLV (a receipt's)
            raw = encoder(value)
            if raw is not None:
                append(raw)
                continue
        _encode_one(key, value, append)
    return b"".join(out)


def _encode_tlvs(tlvs: dict) -> bytes:
    """encode_tlvs without its fast encoders: what the tests hold it to."""
    out = []
    for key, value in tlvs.items():
        _encode_one(key, value, out.append)
    return b"".join(out)


def _encode_one(key, value, append):
    """One TLV's header and value through append; EncodeError naming it."""
    pack = _TLV_HEADER.pack
    if type(key) is int:
        if not 0 <= key <= 0xFFFF:
            raise EncodeError(Status.ESME_RINVTLVSTREAM, "TLV tag %r out of range" % key)
        raw = bytes(value)
    else:
        spec = SPECS.get(key)
        if spec is None:
            raise EncodeError(Status.ESME_RINVTLVSTREAM, "unknown TLV name %r" % key)
        raw = _encode_value(key, spec[1], spec[2], value)
        key = spec[0]
    if len(raw) > 0xFFFF:
        raise EncodeError(Status.ESME_RINVTLVLEN, "TLV 0x%04X longer than 65535" % key)
    append(pack(key, len(raw)))
    append(raw)


def _encode_value(name, kind, limit, value) -> bytes:
    try:
        if kind == U8:
            return bytes((value,))
        if kind == U16:
            return _U16.pack(value)
        if kind == U32:
            return _U32.pack(value)
        if kind == NETERR:
            return bytes((value[0],)) + _U16.pack(value[1])
        if kind == CSTR:
            raw = value.encode("latin-1")
            if len(raw) >= limit or 0 in raw:
                raise ValueError("at most %d characters, no NUL" % (limit - 1))
            return raw + b"\0"
        if kind == OCTETS:
            raw = bytes(value)
            if not limit[0] <= len(raw) <= limit[1]:
                raise ValueError("%d to %d octets" % limit)
            return raw
        if kind == TEXT:
            return value.encode("latin-1")
        if value is True:
            return b""
        return bytes((value,))
    except (ValueError, TypeError, struct.error, UnicodeEncodeError, IndexError) as e:
        raise EncodeError(Status.ESME_RINVTLVVAL,
                          "TLV %s cannot carry %r: %s" % (name, value, e)) from None
