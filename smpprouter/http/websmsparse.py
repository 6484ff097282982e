"""Seed 003's query string, read as its examples are written: what a request asks for, or
the seed's error code.

Pure (no I/O, no twisted.web, `now` given), and it raises nothing but WebSmsError, which
carries the seed's code and, for people, what exactly was wrong.

How the seed's examples read (each one works as written):
- Parameters come from the query string and, for a POST, the form-encoded body too;
  names are matched ignoring case and surrounding spaces, because the seed's own URLs
  say "websms? user=..." (the space reaches us as "%20user"). Unknown names are ignored
  (clients send their own); a known one given twice is HTTP02, as is a field without
  "=": that is what a raw "&" in the text makes of it, and sending the text cut short
  would be worse than refusing it.
- Values are percent-decoded as UTF-8 with "+" as a space (form encoding), and stripped
  of surrounding spaces, the text included: the seed's examples carry stray ones around
  it ("text= اختبار", "text=testing Schedule &gmt=").
- A "+" in a query string is a space, so the seed's gmt=+0530 arrives as " 0530": a gmt
  without a sign is east of Greenwich. gmt is [+-]HHMM or [+-]HH:MM, -12:00 to +14:00;
  absent, schtime is UTC. schtime is yyyyMMddhhmm in that offset; a time not in the
  future (the seed's own example is in 2016) sends now, as an SMSC treats a
  schedule_delivery_time already past. gmt without schtime is ignored.
- mno is a comma-separated list; one trailing comma is ignored, any other empty or bad
  entry is its own HTTP09 line and the rest are sent. A number is its digits, a leading
  "+" (which arrives as a space) or "00" dropped, 3 to 15 digits left. More entries than
  the method's limit: HTTP24, before anything is split.
- type 1 (English) and 3 (special characters, the seed's "$@") are GSM 03.38, which
  has both; a character it lacks is HTTP19, never a silent switch to UCS2. type 2 is
  UTF-16BE in hex, as the seed's example; type 4 (Arabic) is text as sent; both go
  UCS2. "&" and "#" in the text are refused (HTTP02, the seed restricts them); in a
  type 2 text they are only hex digits and carry no risk, so they pass there.
- Parts are counted as they will be split, GSM 03.38's extension characters
  ([ ] { } | \\ ~ ^ and the euro) costing two septets each, as the seed says; an empty
  text or one beyond 255 parts is HTTP17.
- sid: 1-15 digits (a leading "+" dropped), or 1-11 printable ASCII characters (an
  alphanumeric sender, what handsets show), without "&" and "#".
"""

import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote_to_bytes

from ..smpp.errors import EncodeError
from ..smpp.text import DC_DEFAULT, DC_UCS2, MAX_PARTS, count_parts, encode_text
from .door import GSM7, UCS2

WEBSMS_KEYS = frozenset(("user", "pass", "sid", "mno", "type", "text", "gmt", "schtime"))
STATUS_KEYS = frozenset(("user", "pass", "respid"))
RESTRICTED = frozenset("&#")

_SCHTIME = re.compile(r"[0-9]{12}")
_GMT = re.compile(r"([+-]?)([0-9]{2}):?([0-9]{2})")
_MESSAGE_ID = re.compile(r"[0-9A-Za-z]{1,64}")
_DIGITS = re.compile(r"[0-9]+")
_ALPHANUMERIC = re.compile(r"[ -~]{1,11}")
GMT_WEST, GMT_EAST = -12 * 60, 14 * 60    # minutes
NUMBER_MIN, NUMBER_MAX = 3, 15
SENDER_DIGITS_MAX = 15


class WebSmsError(Exception):
    """code: the seed's HTTPnn; detail: what was wrong (for people, never parsed)."""

    def __init__(self, code: str, detail: str):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class WebSms:
    """A /websmpp/websms request: one text to each of `numbers` (None where an entry is
    not a number: its line is HTTP09)."""
    user: str
    password: str
    sender: str
    numbers: list
    text: str
    coding: str            # door.GSM7 or door.UCS2
    parts: int
    schedule: float | None  # unix time, in the future; None: now


@dataclass(frozen=True, slots=True)
class StatusQuery:
    user: str | None       # None: no credentials given
    password: str | None
    message_id: str


# -- the form encoding -----------------------------------------------------------

def fields(keys, *sources: bytes) -> dict:
    """{name: value} of the known keys in form-encoded sources (query string, body)."""
    found = {}
    for source in sources:
        if not source:
            continue
        for field in source.split(b"&"):
            name, equals, value = field.partition(b"=")
            if not equals:
                if field.strip(b" "):
                    raise WebSmsError("HTTP02", "field %s has no '=' (a '&' in a value "
                                      "must be sent as %%26)" % _show(_decode(field)))
                continue
            name = _decode(name).strip(" ").lower()
            if name not in keys:
                continue
            if name in found:
                raise WebSmsError("HTTP02", "parameter %s given twice" % name)
            found[name] = _decode(value).strip(" ")
    return found


def _decode(octets: bytes) -> str:
    try:
        return unquote_to_bytes(octets.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as e:
        raise WebSmsError("HTTP02", "not UTF-8 once percent-decoded (%s)" % e.reason) \
            from None


def _show(text: str) -> str:
    """text quoted for a detail: ASCII, short."""
    return ascii(text if len(text) <= 40 else text[:40] + "...")


# -- /websmpp/websms -------------------------------------------------------------

def parse_websms(params: dict, limit: int, now: float) -> WebSms:
    """The request params (fields(WEBSMS_KEYS, ...)) ask for; limit: numbers allowed."""
    user = params.get("user", "")
    if not user:
        raise WebSmsError("HTTP05", "user is missing")
    password = params.get("pass", "")
    if not password:
        raise WebSmsError("HTTP04", "pass is missing")
    sender = sender_of(params.get("sid", ""))
    numbers = numbers_of(params.get("mno", ""), limit)
    text, coding = text_of(params.get("type", ""), params.get("text", ""))
    try:
        body = encode_text(text, DC_DEFAULT if coding == GSM7 else DC_UCS2)
    except EncodeError as e:
        raise WebSmsError("HTTP19", "type %s: %s" % (params["type"], e.reason)) from None
    parts = count_parts(payload=body, data_coding=DC_DEFAULT if coding == GSM7 else DC_UCS2)
    if parts > MAX_PARTS:
        raise WebSmsError("HTTP17", "text takes %d parts; at most %d are sent"
                          % (parts, MAX_PARTS))
    schedule = schedule_of(params.get("gmt", ""), params.get("schtime", ""), now)
    return WebSms(user, password, sender, numbers, text, coding, parts, schedule)


def sender_of(sid: str) -> str:
    if not sid:
        raise WebSmsError("HTTP06", "sid is missing")
    digits = sid[1:] if sid[0] == "+" else sid
    if _DIGITS.fullmatch(digits):
        if len(digits) > SENDER_DIGITS_MAX:
            raise WebSmsError("HTTP06", "a numeric sid has at most %d digits"
                              % SENDER_DIGITS_MAX)
        return digits
    if not _ALPHANUMERIC.fullmatch(sid) or RESTRICTED.intersection(sid):
        raise WebSmsError("HTTP06", "sid %s is neither 1-%d digits nor 1-11 printable "
                          "ASCII characters without '&' and '#'"
                          % (_show(sid), SENDER_DIGITS_MAX))
    return sid


def numbers_of(mno: str, limit: int) -> list:
    """The normalised numbers of mno, None for an entry that is not one."""
    if mno.endswith(","):
        mno = mno[:-1]
    if not mno:
        raise WebSmsError("HTTP09", "mno is missing")
    count = mno.count(",") + 1
    if count > limit:
        raise WebSmsError("HTTP24", "%d numbers; at most %d in one request of this method"
                          % (count, limit))
    return [number_of(entry) for entry in mno.split(",")]


def number_of(entry: str) -> str | None:
    """A destination's digits (international form), or None."""
    number = entry.strip(" ")
    if number[:1] == "+":
        number = number[1:]
    elif number[:2] == "00":
        number = number[2:]
    if NUMBER_MIN <= len(number) <= NUMBER_MAX and _DIGITS.fullmatch(number):
        return number
    return None


_CODINGS = {"1": GSM7, "2": UCS2, "3": GSM7, "4": UCS2}


def text_of(kind: str, text: str):
    """(text, coding) of the type and text parameters."""
    coding = _CODINGS.get(kind)
    if coding is None:
        raise WebSmsError("HTTP07", "type %s is not 1, 2, 3 or 4" % _show(kind)
                          if kind else "type is missing")
    if not text:
        raise WebSmsError("HTTP17", "text is missing or empty")
    if kind == "2":
        return unicode_of(text), coding
    restricted = RESTRICTED.intersection(text)
    if restricted:
        raise WebSmsError("HTTP02", "text contains %s, which the API restricts"
                          % " and ".join(sorted(map(repr, restricted))))
    return text, coding


def unicode_of(hex_text: str) -> str:
    """Type 2's text: hex digits of UTF-16BE, four per code unit."""
    try:
        octets = binascii.a2b_hex(hex_text)
    except (binascii.Error, ValueError):
        bad = next((i for i, c in enumerate(hex_text) if c not in _HEX), None)
        raise WebSmsError("HTTP19", "type 2 text is not hex: %s" % (
            "odd number of digits" if bad is None
            else "%s at index %d" % (ascii(hex_text[bad]), bad))) from None
    try:
        return octets.decode("utf-16-be")
    except UnicodeDecodeError as e:
        raise WebSmsError("HTTP19", "type 2 text is not UTF-16BE at hex digit %d: %s"
                          % (e.start * 2, e.reason)) from None


_HEX = frozenset("0123456789abcdefABCDEF")


def schedule_of(gmt: str, schtime: str, now: float) -> float | None:
    """The unix time schtime names in gmt's offset; None when absent or not after now."""
    if not schtime:
        return None
    if not _SCHTIME.fullmatch(schtime):
        raise WebSmsError("HTTP22", "schtime %s is not yyyyMMddhhmm" % _show(schtime))
    offset = offset_of(gmt)
    try:
        at = datetime(int(schtime[0:4]), int(schtime[4:6]), int(schtime[6:8]),
                      int(schtime[8:10]), int(schtime[10:12]), tzinfo=offset).timestamp()
    except (ValueError, OverflowError) as e:
        raise WebSmsError("HTTP22", "schtime %s is not a time: %s" % (schtime, e)) from None
    return at if at > now else None


def offset_of(gmt: str) -> timezone:
    if not gmt:
        return timezone.utc
    match = _GMT.fullmatch(gmt)
    if match is None:
        raise WebSmsError("HTTP22", "gmt %s is not +HHMM" % _show(gmt))
    sign, hours, minutes = match.groups()
    minutes = int(hours) * 60 + int(minutes)
    if int(match.group(3)) >= 60:
        raise WebSmsError("HTTP22", "gmt %s has more than 59 minutes" % gmt)
    if sign == "-":
        minutes = -minutes
    if not GMT_WEST <= minutes <= GMT_EAST:
        raise WebSmsError("HTTP22", "gmt %s is not between -1200 and +1400" % gmt)
    return timezone(timedelta(minutes=minutes))


# -- /websmpp/websmsstatus --------------------------------------------------------

def parse_status(params: dict, credentials_required: bool) -> StatusQuery:
    """The query of params (fields(STATUS_KEYS, ...)); credentials are checked for
    presence here, for truth by the Door."""
    user = params.get("user") or None
    password = params.get("pass") or None
    if credentials_required or user is not None or password is not None:
        if user is None and password is None:
            raise WebSmsError("HTTP15", "user and pass are required")
        if user is None:
            raise WebSmsError("HTTP05", "user is missing")
        if password is None:
            raise WebSmsError("HTTP04", "pass is missing")
    message_id = params.get("respid", "")
    if not message_id:
        raise WebSmsError("HTTP08", "respId is missing")
    if not _MESSAGE_ID.fullmatch(message_id):
        raise WebSmsError("HTTP08", "respId %s is not 1-64 letters and digits"
                          % _show(message_id))
    return StatusQuery(user, password, message_id)


# -- balanceReport and downloadcoverage --------------------------------------------

ACCOUNT_KEYS = frozenset(("userid", "password", "format"))
# downloadcoverage's format: the seed's 1 (XLS, served as XLSX: see websms.py) and
# 3 (CSV); its 2 is blank in the seed, so it is refused like any unknown value.
FORMATS = {"1": "xlsx", "3": "csv"}
DEFAULT_FORMAT = "1"


@dataclass(frozen=True, slots=True)
class AccountQuery:
    user: str
    password: str
    format: str = ""       # downloadcoverage: "xlsx" or "csv"


def parse_account(params: dict, with_format: bool = False) -> AccountQuery:
    """The query of params (fields(ACCOUNT_KEYS, ...)): userid and password are
    mandatory (seed 003: "failing any would result in a negative response")."""
    user = params.get("userid") or None
    password = params.get("password") or None
    if user is None and password is None:
        raise WebSmsError("HTTP15", "userid and password are required")
    if user is None:
        raise WebSmsError("HTTP05", "userid is missing")
    if password is None:
        raise WebSmsError("HTTP04", "password is missing")
    kind = ""
    if with_format:
        value = params.get("format") or DEFAULT_FORMAT
        kind = FORMATS.get(value)
        if kind is None:
            raise WebSmsError("HTTP16", "format %s: give 1 (XLSX) or 3 (CSV)%s"
                              % (_show(value), "; 2 has no file in this API"
                                 if value == "2" else ""))
    return AccountQuery(user, password, kind)
