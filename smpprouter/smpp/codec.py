"""The SMPP codec: bytes <-> PDU objects, no I/O (as h11 and h2 are sans-IO).

Speed is the point of this module's shape.  Generic field-object codecs cost
50-110 us per PDU in CPython; each PDU type here gets a decoder and an
encoder compiled once, at import, from the class's LAYOUT into straight-line
code: precompiled structs for runs of integers, ``bytes.find(0, ...)`` for
C-strings, one ``cls(...)`` call per PDU.  The generated source of any type is
kept in ``SOURCES`` for reading and debugging.

Every malformed input raises DecodeError carrying the command_status to answer
with, the command_id and the sequence_number (when the header could be read);
FramingError when the command_length itself cannot be trusted.
"""

import struct

from . import pdu as _pdu
from .commands import INTERFACE_V34, V34_ONLY, CommandId
from .errors import DecodeError, EncodeError, FramingError
from .pdu import CSTR, DESTS, SM, U8, UNSUCCESS, DistributionList, SmeDest, UnsuccessSme
from .status import Status
from .tlv import decode_tlvs, encode_tlvs

HEADER = struct.Struct(">IIII")
_EMPTY_ID_RESPONSE = struct.Struct(">IIIIx")   # a header and an empty C-string
_LENGTH = struct.Struct(">I")
HEADER_SIZE = 16
# A data_sm may carry a message_payload of up to 64 KiB; anything larger is
# an error or an attack, and the session's configuration can lower it.
DEFAULT_MAX_LENGTH = 70000
SHORT_MESSAGE_MAX = 254

_STRUCTS = {n: struct.Struct(">" + "B" * n) for n in range(2, 16)}

# Shared helpers the generated code calls only on its error paths.


def _short(cls_name, field):
    return DecodeError(Status.ESME_RINVCMDLEN,
                       "%s ends before its field %s" % (cls_name, field))


def _cstr_error(buf, pos, end, size, status, field):
    if buf.find(0, pos, end) == -1:
        reason = "field %s is not NUL-terminated within the PDU" % field
    else:
        reason = "field %s is longer than %d octets" % (field, size - 1)
    return DecodeError(status, reason)


def _extra(cls_name, count):
    return DecodeError(Status.ESME_RINVCMDLEN,
                       "%s has %d octet(s) after its last field" % (cls_name, count))


def _decode_dests(buf, pos, end, size):
    """submit_multi's number_of_dests and dest_address list."""
    if pos >= end:
        raise _short("SubmitMulti", "number_of_dests")
    count = buf[pos]
    pos += 1
    if count == 0 or count > 254:
        raise DecodeError(Status.ESME_RINVNUMDESTS, "number_of_dests is %d" % count)
    dests = []
    for _ in range(count):
        if pos >= end:
            raise _short("SubmitMulti", "dest_address")
        flag = buf[pos]
        if flag == 1:
            if pos + 3 > end:
                raise _short("SubmitMulti", "dest_address")
            ton, npi = buf[pos + 1], buf[pos + 2]
            pos += 3
            status = Status.ESME_RINVDSTADR
        elif flag == 2:
            pos += 1
            status = Status.ESME_RINVDLNAME
        else:
            raise DecodeError(Status.ESME_RINVDESTFLAG, "dest_flag %d is neither 1 nor 2" % flag)
        nul = buf.find(0, pos, min(end, pos + size))
        if nul == -1:
            raise _cstr_error(buf, pos, end, size, status, "dest_address")
        text = buf[pos:nul].decode("latin-1")
        dests.append(SmeDest(ton, npi, text) if flag == 1 else DistributionList(text))
        pos = nul + 1
    return tuple(dests), pos


def _encode_dests(dests, size):
    if not 1 <= len(dests) <= 254:
        raise EncodeError(Status.ESME_RINVNUMDESTS, "%d destinations" % len(dests))
    out = [bytes((len(dests),))]
    for dest in dests:
        if type(dest) is SmeDest:
            out.append(bytes((1, dest.ton, dest.npi)))
            out.append(_encode_cstr(dest.addr, size, Status.ESME_RINVDSTADR, "dest_address"))
        elif type(dest) is DistributionList:
            out.append(b"\x02")
            out.append(_encode_cstr(dest.name, size, Status.ESME_RINVDLNAME, "dl_name"))
        else:
            raise EncodeError(Status.ESME_RINVDESTFLAG, "destination %r" % (dest,))
    return b"".join(out)


def _decode_unsuccess(buf, pos, end, size):
    """submit_multi_resp's no_unsuccess and unsuccess_sme list."""
    if pos >= end:  # a resp may stop after message_id when all succeeded
        return (), pos
    count = buf[pos]
    pos += 1
    entries = []
    for _ in range(count):
        if pos + 2 > end:
            raise _short("SubmitMultiResp", "unsuccess_sme")
        ton, npi = buf[pos], buf[pos + 1]
        pos += 2
        nul = buf.find(0, pos, min(end, pos + size))
        if nul == -1:
            raise _cstr_error(buf, pos, end, size, Status.ESME_RINVDSTADR, "unsuccess_sme")
        addr = buf[pos:nul].decode("latin-1")
        pos = nul + 1
        if pos + 4 > end:
            raise _short("SubmitMultiResp", "error_status_code")
        entries.append(UnsuccessSme(ton, npi, addr, _LENGTH.unpack_from(buf, pos)[0]))
        pos += 4
    return tuple(entries), pos


def _encode_unsuccess(entries, size):
    if len(entries) > 255:
        raise EncodeError(Status.ESME_RINVNUMDESTS, "%d unsuccess entries" % len(entries))
    out = [bytes((len(entries),))]
    for e in entries:
        out.append(bytes((e.ton, e.npi)))
        out.append(_encode_cstr(e.addr, size, Status.ESME_RINVDSTADR, "unsuccess_sme"))
        out.append(_LENGTH.pack(e.error_status))
    return b"".join(out)


def _encode_cstr(text, size, status, field):
    raw = text.encode("latin-1")
    if len(raw) >= size or 0 in raw:
        raise EncodeError(status, "field %s must be at most %d octets without NUL: %r"
                          % (field, size - 1, text))
    return raw + b"\0"


# --- the layout compiler ---------------------------------------------------

def _runs(layout):
    """Group consecutive U8 fields so one struct call reads or writes them."""
    run = []
    for entry in layout:
        if entry[0] == U8:
            run.append(entry)
            continue
        if run:
            yield (U8, run)
            run = []
        yield (entry[0], entry)
    if run:
        yield (U8, run)


def _compile_decoder(cls, env, fast=True, check=None, guard=None):
    name = cls.__name__
    has_tlvs = "tlvs" in cls.__dataclass_fields__
    fields = [e[1] for e in cls.LAYOUT]
    lines = ["def decode_%s(buf, pos, end, status, seq):" % name]
    w = lines.append
    if fields and cls.command_id & 0x80000000:
        # Error responses usually carry no body (SMPP v3.4 4.1.x): accept both.
        w("    if status and pos == end:")
        w("        return cls(status, seq)")
    for kind, item in _runs(cls.LAYOUT):
        if kind == U8:
            names = [e[1] for e in item]
            n = len(names)
            w("    if pos + %d > end: raise _short(%r, %r)" % (n, name, names[0]))
            if n == 1:
                w("    f_%s = buf[pos]" % names[0])
            else:
                w("    %s = _S%d.unpack_from(buf, pos)" % (", ".join("f_" + x for x in names), n))
            w("    pos += %d" % n)
        elif kind == CSTR:
            _, field, size, status = item
            env["_st_" + field] = status
            # an empty field (the usual service_type, schedule, validity) costs
            # one index instead of a find, a slice and a decode
            pad = "    "
            if fast:
                w("    if pos < end and not buf[pos]:")
                w("        f_%s = ''" % field)
                w("        pos += 1")
                w("    else:")
                pad = "        "
            w(pad + "stop = pos + %d" % size)
            w(pad + "nul = buf.find(0, pos, stop if stop < end else end)")
            w(pad + "if nul == -1: raise _cstr_error(buf, pos, end, %d, _st_%s, %r)"
              % (size, field, field))
            w(pad + "f_%s = buf[pos:nul].decode('latin-1')" % field)
            w(pad + "pos = nul + 1")
        elif kind == SM:
            field = item[1]
            w("    if pos >= end: raise _short(%r, 'sm_length')" % name)
            w("    stop = pos + 1 + buf[pos]")
            w("    if stop > end: raise DecodeError(_RINVMSGLEN, "
              "'sm_length %d runs past the PDU' % buf[pos])")
            w("    f_%s = buf[pos + 1:stop]" % field)
            w("    pos = stop")
        elif kind == DESTS:
            w("    f_%s, pos = _decode_dests(buf, pos, end, %d)" % (item[1], item[2]))
        elif kind == UNSUCCESS:
            w("    f_%s, pos = _decode_unsuccess(buf, pos, end, %d)" % (item[1], item[2]))
    args = ["status", "seq"] + ["f_" + f for f in fields]
    if has_tlvs:
        w("    tlvs = {}")
        w("    if pos < end: decode_tlvs(buf, pos, end, tlvs)")
        args.append("tlvs")
    else:
        w("    if pos != end: raise _extra(%r, end - pos)" % name)
    if check is None:
        w("    return cls(%s)" % ", ".join(args))
    else:   # the field checks called here, not by decode_frame
        env["_check"] = check
        lines[0] = lines[0].replace("def decode_", "def decode_checked_")
        w("    p = cls(%s)" % ", ".join(args))
        if guard is None:
            w("    _check(p, %d)" % cls.command_id)
        else:   # the usual fields pass on the locals; any other case asks _check
            w("    if not (%s):" % guard)
            w("        _check(p, %d)" % cls.command_id)
        w("    return p")
    return "\n".join(lines)


def _compile_encoder(cls, env):
    name = cls.__name__
    has_tlvs = "tlvs" in cls.__dataclass_fields__
    lines = ["def encode_%s(p, with_tlvs):" % name]
    w = lines.append
    if cls.LAYOUT and cls.command_id & 0x80000000:
        w("    if p.command_status and p == cls(p.command_status, p.sequence_number):")
        w("        return b''")
    parts = []
    for kind, item in _runs(cls.LAYOUT):
        if kind == U8:
            names = [e[1] for e in item]
            if len(names) == 1:
                parts.append("_B(p.%s)" % names[0])
            else:
                parts.append("_S%d.pack(%s)" % (len(names), ", ".join("p." + x for x in names)))
        elif kind == CSTR:
            _, field, size, status = item
            env["_st_" + field] = status
            w("    v_%s = p.%s.encode('latin-1')" % (field, field))
            w("    if len(v_%s) >= %d or 0 in v_%s: raise _encode_cstr(p.%s, %d, _st_%s, %r)"
              % (field, size, field, field, size, field, field))
            parts.extend(("v_" + field, "b'\\0'"))
        elif kind == SM:
            field = item[1]
            w("    v_%s = p.%s" % (field, field))
            w("    if len(v_%s) > %d: raise EncodeError(_RINVMSGLEN, "
              "'short_message of %%d octets (at most %d)' %% len(v_%s))"
              % (field, SHORT_MESSAGE_MAX, SHORT_MESSAGE_MAX, field))
            parts.extend(("_B(len(v_%s))" % field, "v_" + field))
        elif kind == DESTS:
            parts.append("_encode_dests(p.%s, %d)" % (item[1], item[2]))
        elif kind == UNSUCCESS:
            parts.append("_encode_unsuccess(p.%s, %d)" % (item[1], item[2]))
    if has_tlvs:
        parts.append("(encode_tlvs(p.tlvs) if with_tlvs and p.tlvs else b'')")
    if not parts:
        w("    return b''")
    else:
        w("    return b''.join((%s,))" % ", ".join(parts))
    return "\n".join(lines)


def _single_byte(value):
    return bytes((value,))


SOURCES = {}
_DECODERS = {}
_ENCODERS = {}


def _base_env():
    env = {
        "_short": _short, "_cstr_error": _cstr_error, "_extra": _extra,
        "_decode_dests": _decode_dests, "_encode_dests": _encode_dests,
        "_decode_unsuccess": _decode_unsuccess, "_encode_unsuccess": _encode_unsuccess,
        "_encode_cstr": _encode_cstr, "decode_tlvs": decode_tlvs, "encode_tlvs": encode_tlvs,
        "DecodeError": DecodeError, "EncodeError": EncodeError,
        "_RINVMSGLEN": Status.ESME_RINVMSGLEN, "_B": _single_byte,
    }
    env.update({"_S%d" % n: s for n, s in _STRUCTS.items()})
    return env


def reference_decoder(cls):
    """cls's decoder compiled without its fast paths: what the tests hold the
    real one to."""
    env = dict(_base_env(), cls=cls)
    source = _compile_decoder(cls, env, fast=False)
    exec(compile(source, "<smpp reference codec %s>" % cls.__name__, "exec"), env)
    return env["decode_" + cls.__name__]


def _build():
    base_env = _base_env()
    for cls in _pdu.ALL:
        for compile_, table in ((_compile_decoder, _DECODERS), (_compile_encoder, _ENCODERS)):
            env = dict(base_env, cls=cls)
            source = compile_(cls, env)
            exec(compile(source, "<smpp codec %s>" % cls.__name__, "exec"), env)
            fn_name = source.split("(", 1)[0][4:]
            SOURCES[fn_name] = source
            table[cls.command_id] = (cls, env[fn_name])


_build()

# --- field validation (strict, with the precise status) --------------------

_TON_MAX = 6
_NPI_VALID = frozenset((0, 1, 3, 4, 6, 8, 9, 10, 14, 18))
# esm_class message-type bits (2-5) each direction may use (SMPP v3.4 5.2.12).
_ESME_TYPES = frozenset((0x00, 0x08, 0x10))
_SMSC_TYPES = frozenset((0x00, 0x04, 0x08, 0x10, 0x18, 0x20))
_ESM_TYPES = {
    CommandId.submit_sm: _ESME_TYPES, CommandId.submit_multi: _ESME_TYPES,
    CommandId.deliver_sm: _SMSC_TYPES, CommandId.data_sm: _ESME_TYPES | _SMSC_TYPES,
}


def data_coding_valid(dc: int) -> bool:
    """SMPP's own values (11, 12 reserved) and the GSM 03.38 coding groups
    platforms actually send (0x10-0x7F general / auto-delete, 0xC0-0xFF
    message waiting and class); 0x80-0xBF are reserved in 03.38 too."""
    return dc <= 10 or dc in (13, 14) or 0x10 <= dc <= 0x7F or dc >= 0xC0


def time_format_valid(text: str) -> bool:
    """The cheap shape check of an SMPP time (YYMMDDhhmmsstnn[+-R]); the
    calendar check is times.parse_time's, where the time is used."""
    return text == "" or (len(text) == 16 and text[15] in "+-R"
                          and text[:15].isascii() and text[:15].isdigit())


def _check_message(p, cid):
    esm = p.esm_class
    if (esm & 0x3C) not in _ESM_TYPES.get(cid, _ESME_TYPES):
        raise DecodeError(Status.ESME_RINVESMCLASS, "esm_class 0x%02X" % esm)
    _check_common(p)
    if cid != CommandId.deliver_sm:
        if p.priority_flag > 3:
            raise DecodeError(Status.ESME_RINVPRTFLG, "priority_flag %d" % p.priority_flag)
        if p.replace_if_present_flag > 1:
            raise DecodeError(Status.ESME_RINVREPFLAG,
                              "replace_if_present_flag %d" % p.replace_if_present_flag)
        _check_times(p)
    if not data_coding_valid(p.data_coding):
        raise DecodeError(Status.ESME_RINVDCS, "data_coding 0x%02X" % p.data_coding)
    if len(p.short_message) > SHORT_MESSAGE_MAX:
        raise DecodeError(Status.ESME_RINVMSGLEN,
                          "sm_length %d (at most %d)" % (len(p.short_message), SHORT_MESSAGE_MAX))


def _check_common(p):
    rd = p.registered_delivery
    if (rd & 3) == 3 or rd & 0xE0:
        raise DecodeError(Status.ESME_RINVREGDLVFLG, "registered_delivery 0x%02X" % rd)
    if p.source_addr_ton > _TON_MAX:
        raise DecodeError(Status.ESME_RINVSRCTON, "source_addr_ton %d" % p.source_addr_ton)
    if p.source_addr_npi not in _NPI_VALID:
        raise DecodeError(Status.ESME_RINVSRCNPI, "source_addr_npi %d" % p.source_addr_npi)
    dest_ton = getattr(p, "dest_addr_ton", 0)
    if dest_ton > _TON_MAX:
        raise DecodeError(Status.ESME_RINVDSTTON, "dest_addr_ton %d" % dest_ton)
    if getattr(p, "dest_addr_npi", 0) not in _NPI_VALID:
        raise DecodeError(Status.ESME_RINVDSTNPI, "dest_addr_npi %d" % p.dest_addr_npi)


def _check_times(p):
    if not time_format_valid(p.schedule_delivery_time):
        raise DecodeError(Status.ESME_RINVSCHED,
                          "schedule_delivery_time %r" % p.schedule_delivery_time)
    if not time_format_valid(p.validity_period):
        raise DecodeError(Status.ESME_RINVEXPIRY, "validity_period %r" % p.validity_period)


def _check_data_sm(p, cid):
    esm = p.esm_class
    if (esm & 0x3C) not in _ESM_TYPES[cid]:
        raise DecodeError(Status.ESME_RINVESMCLASS, "esm_class 0x%02X" % esm)
    _check_common(p)
    if not data_coding_valid(p.data_coding):
        raise DecodeError(Status.ESME_RINVDCS, "data_coding 0x%02X" % p.data_coding)


def _check_replace(p, cid):
    _check_common(p)
    _check_times(p)


def _check_multi(p, cid):
    for dest in p.dest_addresses:
        if type(dest) is SmeDest:
            if dest.ton > _TON_MAX:
                raise DecodeError(Status.ESME_RINVDSTTON, "dest_addr_ton %d" % dest.ton)
            if dest.npi not in _NPI_VALID:
                raise DecodeError(Status.ESME_RINVDSTNPI, "dest_addr_npi %d" % dest.npi)
    _check_message(p, cid)


_CHECKS = {
    # the guards below take the common case; what they do not pass is checked in full
    CommandId.submit_sm: _check_message,
    CommandId.deliver_sm: _check_message,
    CommandId.submit_multi: _check_multi,
    CommandId.data_sm: _check_data_sm,
    CommandId.replace_sm: _check_replace,
}


# the common case of _CHECKS' submit_sm and deliver_sm as one expression on the
# decoder's locals (~0.3 us a PDU saved): true only where every check passes
# (the time and data_coding shapes narrowed to the usual ones); false hands the
# PDU to the full check, which raises the precise error or passes it
_COMMON_FIELDS = ("not f_registered_delivery & 0xE0 and f_registered_delivery & 3 != 3"
                  " and f_source_addr_ton <= %d >= f_dest_addr_ton"
                  " and f_source_addr_npi in _NPI_VALID and f_dest_addr_npi in _NPI_VALID"
                  " and f_data_coding <= 10 and len(f_short_message) <= %d" % (_TON_MAX, SHORT_MESSAGE_MAX))
_GUARDS = {
    CommandId.submit_sm: "f_esm_class & 0x3C in _ESME_TYPES and " + _COMMON_FIELDS
    + " and f_priority_flag <= 3 and f_replace_if_present_flag <= 1"
      " and not f_schedule_delivery_time and not f_validity_period",
    CommandId.deliver_sm: "f_esm_class & 0x3C in _SMSC_TYPES and " + _COMMON_FIELDS,
}


def _build_checked():
    """command_id -> the decoder decode_frame calls for a v3.4 peer: the plain
    one, or for a request with field checks one that runs them itself."""
    table = {}
    base_env = _base_env()
    for command_id, (cls, decoder) in _DECODERS.items():
        check = _CHECKS.get(command_id)
        if check is None:
            table[command_id] = decoder
            continue
        env = dict(base_env, cls=cls, _NPI_VALID=_NPI_VALID, _ESME_TYPES=_ESME_TYPES,
                   _SMSC_TYPES=_SMSC_TYPES)
        source = _compile_decoder(cls, env, check=check, guard=_GUARDS.get(command_id))
        exec(compile(source, "<smpp codec %s>" % cls.__name__, "exec"), env)
        fn_name = source.split("(", 1)[0][4:]
        SOURCES[fn_name] = source
        table[command_id] = env[fn_name]
    return table


_CHECKED = _build_checked()
# command_id -> the checked decoder of a v3.4 peer's PDU, (buf, body start,
# end, status, sequence) -> PDU: decode_read's first lookup, for the pump to
# make itself; its DecodeError lacks command_id and sequence_number (decode_read sets them)
CHECKED = _CHECKED

# --- the public API --------------------------------------------------------


def frame_length(buf, pos: int = 0, max_length: int = DEFAULT_MAX_LENGTH) -> int:
    """The length of the PDU starting at buf[pos], or 0 if more bytes are needed.

    Raises FramingError for a command_length below 16 or above max_length:
    the stream cannot be resynchronised after that.
    """
    if len(buf) - pos < 4:
        return 0
    length = _LENGTH.unpack_from(buf, pos)[0]
    if length < HEADER_SIZE or length > max_length:
        command_id = sequence = None
        if len(buf) - pos >= HEADER_SIZE:
            _, command_id, _, sequence = HEADER.unpack_from(buf, pos)
        raise FramingError("command_length %d outside %d..%d" % (length, HEADER_SIZE, max_length),
                           command_id, sequence)
    return length if len(buf) - pos >= length else 0


def decode_frame(buf, pos: int, end: int, version: int = INTERFACE_V34, checked: bool = True):
    """Decode the one PDU occupying buf[pos:end] (as found by frame_length).

    checked=False leaves out the field checks (data_coding, esm_class, TON/NPI
    ranges, ...): for PDUs the router encoded itself and stored, which must
    come back as they were, whatever a peer sent in them."""
    _, command_id, status, sequence = HEADER.unpack_from(buf, pos)
    if checked:
        return decode_read(buf, pos, end, version, command_id, status, sequence)
    return _decode_frame(buf, pos, end, version, False, command_id, status, sequence)


def decode_read(buf, pos: int, end: int, version: int, command_id: int, status: int,
                sequence: int):
    """decode_frame (checked) of a PDU whose header the caller has read: the
    protocol reads it first to see whether message_id_of will do."""
    if version >= INTERFACE_V34:
        # what a peer sends a v3.4 session: one lookup, one call (checks included)
        decoder = _CHECKED.get(command_id)
        if decoder is not None:
            try:
                return decoder(buf, pos + HEADER_SIZE, end, status, sequence)
            except DecodeError as e:
                e.command_id = command_id
                e.sequence_number = sequence
                raise
    return _decode_frame(buf, pos, end, version, True, command_id, status, sequence)


# the responses message_id_of reads: the hot path gets two per message (the
# upstream's submit_sm_resp, the ESME's deliver_sm_resp) and needs only
# their status and message_id
ID_RESPONSES = {CommandId.submit_sm_resp: _pdu.SubmitSmResp,
                CommandId.deliver_sm_resp: _pdu.DeliverSmResp}


def message_id_of(buf, pos: int, end: int, status: int):
    """The message_id of the ID_RESPONSES PDU in buf[pos:end] (its header read
    by the caller), in the form nearly all take: an error's bare header, or
    a message_id whose NUL ends the PDU. None for any other form (TLVs, or
    what decode_frame refuses): decode_frame reads that one, with the same
    result where both can (property-tested). No PDU object is made."""
    body = pos + HEADER_SIZE
    if body == end:
        return "" if status else None
    nul = buf.find(0, body, end)
    if nul == end - 1 and nul - body < 65:   # message_id is a C-string of 65 octets
        return buf[body:nul].decode("latin-1")
    return None


def _decode_frame(buf, pos, end, version, checked, command_id, status, sequence):
    """decode_frame's general path (and what tests hold its fast one to)."""
    entry = _DECODERS.get(command_id)
    try:
        if entry is None or (version < INTERFACE_V34 and command_id in V34_ONLY):
            raise DecodeError(Status.ESME_RINVCMDID, "command_id 0x%08X is not supported"
                              % command_id)
        pdu = entry[1](buf, pos + HEADER_SIZE, end, status, sequence)
        check = _CHECKS.get(command_id) if checked else None
        if check is not None:
            check(pdu, command_id)
        if version < INTERFACE_V34 and getattr(pdu, "tlvs", None):
            raise DecodeError(Status.ESME_RINVCMDLEN,
                              "an SMPP v3.3 PDU cannot carry optional parameters")
    except DecodeError as e:
        e.command_id = command_id
        e.sequence_number = sequence
        raise
    return pdu


def decode(buf, pos: int = 0, max_length: int = DEFAULT_MAX_LENGTH,
           version: int = INTERFACE_V34, checked: bool = True):
    """(pdu, consumed) for the PDU at buf[pos:], or (None, 0) when incomplete."""
    length = frame_length(buf, pos, max_length)
    if not length:
        return None, 0
    return decode_frame(buf, pos, pos + length, version, checked), length


def encode(pdu, version: int = INTERFACE_V34) -> bytes:
    """The wire bytes of a PDU; raises EncodeError naming what cannot be sent.

    A v3.3 peer gets no optional parameters: callers that need one (a
    message_payload, say) must have moved it into mandatory fields first.
    """
    cid = pdu.command_id
    try:
        body = _ENCODERS[cid][1](pdu, version >= INTERFACE_V34)
        return HEADER.pack(HEADER_SIZE + len(body), cid, pdu.command_status,
                           pdu.sequence_number) + body
    except EncodeError as e:
        e.command_id, e.sequence_number = cid, pdu.sequence_number
        raise
    except (struct.error, ValueError, TypeError, AttributeError, OverflowError) as e:
        raise EncodeError(Status.ESME_RSYSERR, "%s cannot be encoded: %s"
                          % (type(pdu).__name__, e), cid, pdu.sequence_number) from None


def encode_id_response(command_id: int, status: int, sequence_number: int,
                       message_id: str = "") -> bytes:
    """encode() of a response made of a message_id alone (submit_sm_resp,
    data_sm_resp, deliver_sm_resp; no TLVs) without the PDU object: a third
    of the cost, and two are sent per message. An error with no id is the
    header alone, as encode() writes it. message_id must fit (64 octets of
    Latin-1, no NUL): the router's own ids do."""
    if not message_id:
        if status:
            return HEADER.pack(HEADER_SIZE, command_id, status, sequence_number)
        # the router's deliver_sm_resp to an upstream's receipt: its empty
        # message_id is the struct's pad octet (one call instead of three)
        return _EMPTY_ID_RESPONSE.pack(HEADER_SIZE + 1, command_id, 0, sequence_number)
    data = message_id.encode("latin-1")
    return b"".join((HEADER.pack(HEADER_SIZE + 1 + len(data), command_id, status,
                                 sequence_number), data, b"\0"))
