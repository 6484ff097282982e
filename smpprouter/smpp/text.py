"""Text encodings of short_message and the part counts they imply.

Every submitted message is encoded, counted (balances are charged per part)
and often split, so this module sits on the per-message hot path: the GSM
03.38 codec runs as precomputed translation tables in C (bytes.translate,
str.translate, codecs.charmap_decode), and the slow per-character paths run
only to name the character or octet that caused an error.

GSM 7-bit text is held in the *unpacked* form SMPP uses in short_message:
one septet per octet, 0x00-0x7F, the extension table reached through the
escape 0x1B (so ``€`` is ``1B 65`` and costs two septets). Packing septets
into octets is the SMSC's job, not ours.

One function, alphabet_of(), turns any data_coding into one of four
alphabets, and everything else (encoding, decoding, counting, splitting)
dispatches on the alphabet, never on the raw value. It honours SMPP's own
values 0x00-0x0F first and the GSM 03.38 coding groups for the rest, the
way platforms send them (0x10-0x1F with a message class, 0xF0-0xFF).
The national codings SMPP lists (JIS, Cyrillic, Hebrew, pictogram, ISO-2022-JP,
extended Kanji, KS C 5601) and 03.38-compressed data are "binary" here:
octets we carry and count but never decode. "binary" never decodes to str
either: decode_text() refuses it (ESME_RINVDCS) so that no caller turns
octets into mojibake by accident; check alphabet_of() and keep the bytes.
"""

from __future__ import annotations

import codecs
import re

from .errors import DecodeError, EncodeError
from .status import Status

DC_DEFAULT = 0x00   # SMSC default alphabet: GSM 03.38 for us
DC_IA5 = 0x01       # IA5/ASCII in SMPP 3.4; platforms treat it as GSM 03.38
DC_BINARY = 0x02    # octet unspecified (8-bit binary)
DC_LATIN1 = 0x03
DC_BINARY_8BIT = 0x04
DC_UCS2 = 0x08

GSM7 = "gsm7"
LATIN1 = "latin1"
UCS2 = "ucs2"
BINARY = "binary"
ALPHABETS = (GSM7, LATIN1, UCS2, BINARY)

# --- data_coding -> alphabet -------------------------------------------------

# SMPP 3.4 section 5.2.19 (values 0x00-0x0F). 0x0B, 0x0C and 0x0F are reserved.
_SMPP_CODINGS = {
    0x00: GSM7, 0x01: GSM7, 0x02: BINARY, 0x03: LATIN1, 0x04: BINARY,
    0x05: BINARY,   # JIS X 0208
    0x06: BINARY,   # ISO-8859-5 Cyrillic
    0x07: BINARY,   # ISO-8859-8 Latin/Hebrew
    0x08: UCS2,
    0x09: BINARY,   # pictogram encoding
    0x0A: BINARY,   # ISO-2022-JP
    0x0D: BINARY,   # extended Kanji JIS X 0212
    0x0E: BINARY,   # KS C 5601
}
# GSM 03.38 general data coding groups 00xx and 01xx: bits 3-2 pick the
# alphabet (11 is reserved); bit 5 set means compressed, which we only carry.
_GENERAL_GROUP = (GSM7, BINARY, UCS2, None)


def _alphabet_table() -> tuple:
    table = [None] * 256
    for dc in range(0x00, 0x80):
        alphabet = _GENERAL_GROUP[(dc >> 2) & 0x03]
        if alphabet is not None and dc & 0x20:
            alphabet = BINARY
        table[dc] = alphabet
    # 0x80-0xBF: reserved coding groups.
    for dc in range(0xC0, 0xE0):
        table[dc] = GSM7    # message waiting indication, discard/store, GSM 7-bit
    for dc in range(0xE0, 0xF0):
        table[dc] = UCS2    # message waiting indication, store, UCS2
    for dc in range(0xF0, 0x100):
        table[dc] = BINARY if dc & 0x04 else GSM7   # data coding/message class
    for dc in range(0x00, 0x10):
        table[dc] = _SMPP_CODINGS.get(dc)            # SMPP's own values win
    return tuple(table)


_ALPHABET_OF = _alphabet_table()


def _lookup_alphabet(data_coding: int) -> str | None:
    if 0 <= data_coding <= 0xFF:
        return _ALPHABET_OF[data_coding]
    return None


def alphabet_of(data_coding: int) -> str:
    """The alphabet ("gsm7", "latin1", "ucs2" or "binary") of a data_coding.

    Raises DecodeError(ESME_RINVDCS) for reserved values: data_coding
    almost always comes from a peer's PDU.
    """
    alphabet = _lookup_alphabet(data_coding)
    if alphabet is None:
        raise DecodeError(Status.ESME_RINVDCS,
                          "reserved data_coding 0x%02X" % (data_coding,))
    return alphabet


# --- GSM 03.38 -----------------------------------------------------------------

GSM_ESCAPE = 0x1B

# The default alphabet, indexed by septet. 0x1B is the escape, not a character.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: septet after the escape -> character.
GSM_EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}
GSM_EXTENSION_CHARS = frozenset(GSM_EXTENSION.values())

_NOT_GSM = "\x80"   # marks an ASCII character GSM 03.38 lacks (` and controls)

# str.translate table: every ASCII code point mapped (to its septet, its
# escape sequence or _NOT_GSM), non-ASCII only where GSM has them; anything
# left untranslated is >= 0x80 and makes the final .encode("ascii") fail.
_ENCODE_STR = {}
for _septet, _char in enumerate(GSM_BASIC):
    if _septet != GSM_ESCAPE:
        _ENCODE_STR[ord(_char)] = chr(_septet)
for _septet, _char in GSM_EXTENSION.items():
    _ENCODE_STR[ord(_char)] = "\x1b" + chr(_septet)
for _code in range(0x80):
    _ENCODE_STR.setdefault(_code, _NOT_GSM)

# bytes.translate table for text that is Latin-1 and has no escaped
# character (nearly all traffic): one octet in, one septet out; everything
# else becomes 0x80 and sends the text down the str.translate path.
_ENCODE_LATIN1 = bytes(
    ord(_ENCODE_STR[_code]) if len(_ENCODE_STR.get(_code, "..")) == 1 else 0x80
    for _code in range(256)
)

_UNDEFINED = "\ufffe"   # charmap_decode's "no character here"
_DECODE_BASIC = GSM_BASIC  # 0x1B decodes to "\x1b", resolved by _ESCAPED
_DECODE_STRICT = _DECODE_BASIC + _UNDEFINED * 128
_DECODE_REPLACE = _DECODE_BASIC + "?" * 128
# Escape pairs in decoded text: the escape and the (basic-decoded) septet
# after it; a trailing lone escape matches with an empty group.
_ESCAPED = re.compile("\x1b(.?)", re.DOTALL)
# basic-table character of the escaped septet -> extension character
_EXTENSION_BY_BASIC = {GSM_BASIC[s]: c for s, c in GSM_EXTENSION.items()}
# 03.38: an escape followed by an unknown septet shows that septet's basic
# character; 1B 1B is reserved for a further table and shows as a space.
_EXTENSION_BY_BASIC["\x1b"] = " "


def _not_gsm(text: str) -> EncodeError:
    for index, char in enumerate(text):
        if _ENCODE_STR.get(ord(char), _NOT_GSM) == _NOT_GSM:
            return EncodeError(
                Status.ESME_RINVDCS,
                "GSM 03.38 cannot carry %r (U+%04X) at index %d"
                % (char, ord(char), index))
    raise AssertionError("no unencodable character in %r" % (text,))


def _gsm7_encode_or_none(text: str) -> bytes | None:
    try:
        septets = text.encode("latin-1").translate(_ENCODE_LATIN1)
        if septets.isascii():
            return septets
    except UnicodeEncodeError:
        pass
    try:
        return text.translate(_ENCODE_STR).encode("ascii")
    except UnicodeEncodeError:
        return None


def gsm7_encode(text: str) -> bytes:
    """Encode to unpacked GSM 03.38 septets, escaping the extension table.

    Raises EncodeError(ESME_RINVDCS) naming the first character that GSM
    03.38 cannot carry.
    """
    septets = _gsm7_encode_or_none(text)
    if septets is None:
        raise _not_gsm(text)
    return septets


def _resolve_escape(match: re.Match) -> str:
    following = match.group(1)
    if not following:
        return " "      # trailing lone escape (strict mode rejects it first)
    return _EXTENSION_BY_BASIC.get(following, following)


def gsm7_decode(data: bytes, errors: str = "strict") -> str:
    """Decode unpacked GSM 03.38 septets.

    errors="strict" raises DecodeError(ESME_RINVDCS) for an octet above 0x7F
    or a trailing lone escape; errors="replace" decodes those as "?" and a
    space. An escape before a septet the extension table lacks decodes as
    that septet's basic character (the 03.38 rule) in both modes.
    """
    if errors == "strict":
        try:
            text = codecs.charmap_decode(data, "strict", _DECODE_STRICT)[0]
        except UnicodeDecodeError as e:
            raise DecodeError(
                Status.ESME_RINVDCS,
                "octet 0x%02X at index %d is not a GSM 03.38 septet"
                % (data[e.start], e.start)) from None
        if data.endswith(b"\x1b") and _ends_with_lone_escape(data):
            raise DecodeError(Status.ESME_RINVDCS,
                              "GSM 03.38 text ends with a lone escape")
    elif errors == "replace":
        text = codecs.charmap_decode(data, "strict", _DECODE_REPLACE)[0]
    else:
        raise ValueError("errors must be 'strict' or 'replace', not %r" % (errors,))
    if "\x1b" in text:
        text = _ESCAPED.sub(_resolve_escape, text)
    return text


def _ends_with_lone_escape(data: bytes) -> bool:
    """True when the final escape of ``data`` opens a pair that never closes."""
    run = len(data) - len(data.rstrip(b"\x1b"))
    return run % 2 == 1


def gsm7_septets(text: str) -> int:
    """Septets the text costs in GSM 03.38, escaped characters counting 2.

    Raises EncodeError(ESME_RINVDCS) if GSM 03.38 cannot carry the text.
    """
    return len(gsm7_encode(text))


# --- dispatch on data_coding ----------------------------------------------------

def _encode_latin1(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as e:
        raise EncodeError(
            Status.ESME_RINVDCS, "Latin-1 cannot carry %r (U+%04X) at index %d"
            % (text[e.start], ord(text[e.start]), e.start)) from None


def _encode_ucs2(text: str) -> bytes:
    try:
        return text.encode("utf-16-be")
    except UnicodeEncodeError as e:
        raise EncodeError(
            Status.ESME_RINVDCS, "lone surrogate U+%04X at index %d cannot be "
            "encoded in UTF-16" % (ord(text[e.start]), e.start)) from None


def _encode_binary(text: str) -> bytes:
    raise EncodeError(Status.ESME_RINVDCS,
                      "binary data_coding carries bytes, not text")


def _decode_latin1(data: bytes, errors: str) -> str:
    return data.decode("latin-1")


def _decode_ucs2(data: bytes, errors: str) -> str:
    try:
        return data.decode("utf-16-be", errors)
    except UnicodeDecodeError as e:
        raise DecodeError(
            Status.ESME_RINVDCS, "invalid UTF-16BE at octet %d: %s"
            % (e.start, e.reason)) from None


def _decode_binary(data: bytes, errors: str) -> str:
    raise DecodeError(Status.ESME_RINVDCS,
                      "binary data_coding carries octets, not text")


_ENCODERS = {GSM7: gsm7_encode, LATIN1: _encode_latin1, UCS2: _encode_ucs2,
             BINARY: _encode_binary}
_DECODERS = {GSM7: gsm7_decode, LATIN1: _decode_latin1, UCS2: _decode_ucs2,
             BINARY: _decode_binary}


def encode_text(text: str, data_coding: int) -> bytes:
    """Encode text for short_message in the given data_coding.

    Raises EncodeError(ESME_RINVDCS) when the coding cannot carry the text,
    is binary, or is a reserved value.
    """
    alphabet = _lookup_alphabet(data_coding)
    if alphabet is None:
        raise EncodeError(Status.ESME_RINVDCS,
                          "reserved data_coding 0x%02X" % (data_coding,))
    return _ENCODERS[alphabet](text)


def decode_text(data: bytes, data_coding: int, errors: str = "strict") -> str:
    """Decode short_message text in the given data_coding.

    Raises DecodeError(ESME_RINVDCS) for invalid data (strict mode), for a
    reserved data_coding and for binary codings. In replace mode GSM 03.38
    puts "?" for bad octets, UCS2 puts U+FFFD; Latin-1 never fails.
    """
    if errors not in ("strict", "replace"):
        raise ValueError("errors must be 'strict' or 'replace', not %r" % (errors,))
    return _DECODERS[alphabet_of(data_coding)](data, errors)


def choose_coding(text: str, allow_latin1: bool = False) -> tuple[int, bytes]:
    """The cheapest (data_coding, encoded) that carries the text.

    GSM 03.38 when it can; Latin-1 only when allowed (seed 002: some
    platforms take data_coding 3 only when told) and it can; else UCS2.
    """
    septets = _gsm7_encode_or_none(text)
    if septets is not None:
        return DC_DEFAULT, septets
    if allow_latin1:
        try:
            return DC_LATIN1, text.encode("latin-1")
        except UnicodeEncodeError:
            pass
    return DC_UCS2, _encode_ucs2(text)


# --- part sizes (seed 000) ------------------------------------------------------

UDH8 = "udh8"   # UDH 05 00 03 ref total seq
UDH16 = "udh16"  # UDH 06 08 04 refhi reflo total seq
SAR = "sar"     # sar_* TLVs; the SMSC builds an 8-bit-reference UDH
METHODS = (UDH8, UDH16, SAR)
MAX_PARTS = 255

# Capacity in units (septets, octets or UTF-16 code units) of one message.
SINGLE_UNITS = {GSM7: 160, LATIN1: 140, BINARY: 140, UCS2: 70}
# Per part of a concatenated message, by method: the 6-octet UDH of an
# 8-bit reference leaves 153/134/67, the 7-octet one of a 16-bit reference
# 152/133/66 (UCS2 wastes the odd octet).
PART_UNITS = {
    UDH8: {GSM7: 153, LATIN1: 134, BINARY: 134, UCS2: 67},
    SAR: {GSM7: 153, LATIN1: 134, BINARY: 134, UCS2: 67},
    UDH16: {GSM7: 152, LATIN1: 133, BINARY: 133, UCS2: 66},
}
UNIT_OCTETS = {GSM7: 1, LATIN1: 1, BINARY: 1, UCS2: 2}
AIR_OCTETS = 140   # one SMS on air, UDH included
MIN_AIR_OCTETS = 16   # the least an upstream may declare: a 16-bit UDH and a few units
_UDH_OCTETS = {UDH8: 6, SAR: 6, UDH16: 7}   # SAR: the UDH the SMSC builds


def capacity(alphabet: str, method: str = UDH8, octets: int = AIR_OCTETS) -> tuple[int, int]:
    """(units of a single message, units of one part) on an upstream whose one SMS
    holds ``octets`` octets on air (GSM 7-bit packs 8 septets into 7 octets).
    For 140 octets: SINGLE_UNITS and PART_UNITS."""
    udh = _UDH_OCTETS[method]
    if alphabet == GSM7:
        return octets * 8 // 7, (octets - udh) * 8 // 7
    if alphabet == UCS2:
        return octets // 2, (octets - udh) // 2
    return octets, octets - udh


def part_count(units: int, alphabet: str, method: str = UDH8) -> int:
    """Parts needed for ``units`` septets/octets/UTF-16 code units.

    Plain arithmetic: it cannot know where escapes and surrogate pairs fall,
    so it may be one short of what split() makes for such text;
    count_parts() is exact.
    """
    if units <= SINGLE_UNITS[alphabet]:
        return 1
    per_part = PART_UNITS[method][alphabet]
    return -(-units // per_part)


def part_ends(payload: bytes, alphabet: str, method: str = UDH8,
              air_octets: int = AIR_OCTETS) -> list[int]:
    """End offsets (in octets) of the parts split() makes of ``payload``, for
    an upstream whose one SMS holds ``air_octets`` (see capacity()).

    A cut never separates an escape from the septet it escapes, nor a
    high surrogate from its low surrogate: the cut moves one unit earlier.
    """
    if alphabet not in UNIT_OCTETS:
        raise ValueError("unknown alphabet %r" % (alphabet,))
    if method not in PART_UNITS:
        raise ValueError("unknown split method %r" % (method,))
    if air_octets == AIR_OCTETS:
        single, per_part = SINGLE_UNITS[alphabet], PART_UNITS[method][alphabet]
    elif MIN_AIR_OCTETS <= air_octets <= AIR_OCTETS:
        single, per_part = capacity(alphabet, method, air_octets)
    else:
        raise ValueError("air_octets %r outside %d-%d" % (air_octets, MIN_AIR_OCTETS,
                                                        AIR_OCTETS))
    size = len(payload)
    unit = UNIT_OCTETS[alphabet]
    if size <= single * unit:
        return [size]
    octets = per_part * unit
    ends = []
    start = 0
    if alphabet == GSM7:
        while size - start > octets:
            end = start + octets
            if (payload[end - 1] == GSM_ESCAPE
                    and _escape_run(payload, start, end) % 2):
                end -= 1
            ends.append(end)
            start = end
    elif alphabet == UCS2:
        while size - start > octets:
            end = start + octets
            if 0xD8 <= payload[end - 2] <= 0xDB:
                end -= 2
            ends.append(end)
            start = end
    else:
        ends.extend(range(octets, size, octets))
    ends.append(size)
    return ends


def _escape_run(payload: bytes, start: int, end: int) -> int:
    """How many escapes end payload[start:end] (pairs never straddle start)."""
    index = end
    while index > start and payload[index - 1] == GSM_ESCAPE:
        index -= 1
    return end - index


def count_parts(text: str | None = None, *, data_coding: int | None = None,
                payload: bytes | None = None, method: str = UDH8,
                air_octets: int = AIR_OCTETS) -> int:
    """Parts the message takes, exactly as split() would make them.

    Give ``text`` (encoded in ``data_coding``, or in choose_coding()'s pick
    when it is None), or an already encoded ``payload`` with its
    ``data_coding``. An empty message is one part. Does not enforce the
    255-part limit (split() does).
    """
    if method not in PART_UNITS:
        raise ValueError("unknown split method %r" % (method,))
    if payload is None:
        if text is None:
            raise ValueError("count_parts needs text or payload")
        if data_coding is None:
            data_coding, payload = choose_coding(text)
        else:
            payload = encode_text(text, data_coding)
    elif text is not None:
        raise ValueError("count_parts takes text or payload, not both")
    elif data_coding is None:
        raise ValueError("count_parts needs the data_coding of a payload")
    alphabet = alphabet_of(data_coding)
    if air_octets != AIR_OCTETS or alphabet in (GSM7, UCS2):
        return len(part_ends(payload, alphabet, method, air_octets))
    if len(payload) <= SINGLE_UNITS[alphabet]:
        return 1
    return part_count(len(payload), alphabet, method)
