"""Delivery-receipt text (SMPP v3.4 appendix B) as SMSCs really send it.

Appendix B is informative, and upstreams take liberties with it: fields
missing or reordered, keys in any case, `submit_date` for `submit date`,
dates with or without seconds (seed 000 even sends nine digits), quoted
text, vendor fields and vendor stat values (seed 002). So the parser scans
for `key:` tokens instead of matching one rigid pattern, and keeps every
value as the raw string it arrived as: the router relays receipts, it does
not reformat them.

The only thing the router changes in a relayed receipt is the id, and
`rewrite_id` does that in place so every other byte reaches the customer
exactly as the upstream sent it. It is on the per-receipt path, so it stops
at the first `id:` key instead of parsing the whole text.

The text field runs to the end of the message: whatever follows `text:` is
message content, however much it looks like more fields. Bytes are decoded
as latin-1 (one byte, one character), so a text in any encoding survives
parse_receipt / format_receipt unchanged.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from .times import RECEIPT_DATE_LENGTHS, format_receipt_date, parse_receipt_date

TEXT_LIMIT = 20
COUNT_DIGITS = 3
ENCODING = "latin-1"

# A key is a word at the start or after whitespace, followed by ':'. The two
# date keys may contain a separator, so they are tried before the generic
# word; the name of the group that matched names the field.
_KEY_PATTERN = (r"(?<!\S)(?:(?P<submit_date>submit[ _]*date)|(?P<done_date>done[ _]*date)"
                r"|(?P<word>[A-Za-z][A-Za-z0-9_-]*))[ \t]*:")
_KEY = re.compile(_KEY_PATTERN, re.IGNORECASE | re.ASCII)
_KEY_BYTES = re.compile(_KEY_PATTERN.encode("ascii"), re.IGNORECASE)
_TOKEN = re.compile(r"[^\s\x00]+", re.ASCII)

# What surrounds a value without being part of it (ASCII only, as bytes
# regexes see it: a latin-1 no-break space in a text is content).
_BLANK = " \t\r\n\x0b\x0c\x00"
_BLANK_BYTES = _BLANK.encode("ascii")
_QUOTES = "\"'"
_QUOTES_BYTES = _QUOTES.encode("ascii")

_TEXT_KEY = "text"
_TEXT_KEY_BYTES = b"text"
_ID_KEY = b"id"

_WORD = "word"
# Lower-cased key word -> Receipt field (the date keys have their own groups).
_FIELDS = {
    "id": "id",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "stat": "stat",
    "err": "err",
}


class MessageState(IntEnum):
    """message_state (v3.4 5.2.28; SKIPPED from v5.0)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9


_STATE_STAT = {
    MessageState.ENROUTE: "ENROUTE",
    MessageState.DELIVERED: "DELIVRD",
    MessageState.EXPIRED: "EXPIRED",
    MessageState.DELETED: "DELETED",
    MessageState.UNDELIVERABLE: "UNDELIV",
    MessageState.ACCEPTED: "ACCEPTD",
    MessageState.UNKNOWN: "UNKNOWN",
    MessageState.REJECTED: "REJECTD",
    MessageState.SKIPPED: "SKIPPED",
}

# States after which no further receipt is expected. ACCEPTED and UNKNOWN
# are "final" in appendix B, but many SMSCs send ACCEPTD as an intermediate
# "accepted by the SMSC" and UNKNOWN is where every unrecognised vendor stat
# lands; calling them final would let the router forget a message whose
# real outcome is still to come.
_FINAL = frozenset({
    MessageState.DELIVERED,
    MessageState.EXPIRED,
    MessageState.DELETED,
    MessageState.UNDELIVERABLE,
    MessageState.REJECTED,
    MessageState.SKIPPED,
})

_U = MessageState.UNDELIVERABLE
_R = MessageState.REJECTED

# Upper-cased stat (underscores read as hyphens) -> state. The standard
# seven and their spelled-out forms, then the vendor stats of seed 002:
# failures of the handset or network are UNDELIVERABLE, refusals by policy,
# account or content filters are REJECTED.
_STAT_STATE = {
    **{stat: state for state, stat in _STATE_STAT.items()},
    "DELIVERED": MessageState.DELIVERED,
    "UNDELIVERABLE": _U,
    "ACCEPTED": MessageState.ACCEPTED,
    "REJECTED": _R,
    "BUFFRED": MessageState.ENROUTE,
    "BUFFERED": MessageState.ENROUTE,
    # seed 002: the handset or the network failed
    "INVALID-SUB": _U, "ABSENT-SUB": _U, "HANDSET-ERR": _U, "HANDSET-BUSY": _U,
    "NET-ERR": _U, "MEMEXEC": _U, "MOB-OFF": _U, "FAILED": _U, "SERVER-ERR": _U,
    "REJ-MULTIPART": _U,
    # seed 002: refused by policy, account, list or content filter
    "BARRED": _R, "SERIES-BLK": _R, "SERIES-BLOCK": _R, "NO-CREDITS": _R,
    "NO-ACCOUNT": _R, "INV-NUMBER": _R, "SPAM": _R, "DNDNUMB": _R, "BLACKLST": _R,
    "SNDR-BLOCK": _R, "TEMPLATE-NOT-FOUND": _R, "INV-TEMPLATE": _R, "INV-SENDER": _R,
    "NOT-OPTIN": _R, "OPTOUT-REJ": _R, "PROMO-TMOUT": _R, "NOTALLOWED": _R,
    "DUPLICATE": _R,
}

# Vendor families named by prefix (seed 002's DLT-* regulatory rejections).
_STAT_PREFIXES = (
    ("DLT-", _R),
    ("HANDSET-", _U),
)


def stat_to_state(stat: str | None, err: str | int | None = None) -> MessageState:
    """The message state a receipt's stat stands for.

    Unrecognised stats are UNKNOWN. `err` only matters when there is no
    stat at all: a non-zero error code then means the message failed.
    """
    if not stat or not stat.strip():
        return _U if _is_error(err) else MessageState.UNKNOWN
    key = stat.strip().upper().replace("_", "-")
    state = _STAT_STATE.get(key)
    if state is not None:
        return state
    for prefix, prefixed_state in _STAT_PREFIXES:
        if key.startswith(prefix):
            return prefixed_state
    if key.isascii() and key.isdigit() and int(key) in _STATE_STAT:
        return MessageState(int(key))
    return MessageState.UNKNOWN


def _is_error(err: str | int | None) -> bool:
    if err is None:
        return False
    return str(err).strip().strip("0") != ""


def state_to_stat(state: MessageState | int) -> str:
    """The 7-character appendix B name of `state`."""
    return _STATE_STAT[MessageState(state)]


def is_final(state: MessageState | int) -> bool:
    """Whether no further receipt is to be expected after `state`."""
    return state in _FINAL


@dataclass(frozen=True, slots=True)
class Receipt:
    """A parsed receipt; every value is the raw string received, None if absent."""

    id: str
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None

    def submit_datetime(self) -> datetime | None:
        """submit_date as UTC; None if absent, ValueError if malformed."""
        return parse_receipt_date(self.submit_date) if self.submit_date else None

    def done_datetime(self) -> datetime | None:
        """done_date as UTC; None if absent, ValueError if malformed."""
        return parse_receipt_date(self.done_date) if self.done_date else None

    def state(self) -> MessageState:
        """The message state the stat (or, lacking one, the err) stands for."""
        return stat_to_state(self.stat, self.err)


def _value_span(s: str | bytes, start: int, end: int, blank: str | bytes,
                quotes: str | bytes) -> tuple[int, int]:
    """Bounds of the value in s[start:end], without blanks and one quote pair.

    An empty value is the empty span at `start`, right after the key's colon.
    """
    raw = s[start:end]
    stripped = raw.strip(blank)
    if not stripped:
        return start, start
    first = start + len(raw) - len(raw.lstrip(blank))
    last = first + len(stripped)
    if len(stripped) >= 2 and stripped[:1] in quotes and stripped[-1:] == stripped[:1]:
        return first + 1, last - 1
    return first, last


def parse_receipt(data: bytes | str) -> Receipt | None:
    """The receipt in `data`, or None if it has no id field (not a receipt).

    Never raises on any text. The first occurrence of a field wins; unknown
    fields are skipped; empty values are None, except an empty id ('').
    """
    s = data.decode(ENCODING) if isinstance(data, (bytes, bytearray)) else data
    values: dict[str, str | None] = {}
    field = None
    value_start = 0
    text_start = None
    for m in _KEY.finditer(s):
        if field is not None and field not in values:
            values[field] = _value(s, value_start, m.start())
        value_start = m.end()
        field = m.lastgroup
        if field == _WORD:
            key = m.group(_WORD).lower()
            if key == _TEXT_KEY:
                text_start = value_start
                field = None
                break
            field = _FIELDS.get(key)
    if field is not None and field not in values:
        values[field] = _value(s, value_start, len(s))
    if "id" not in values:
        return None
    if values["id"] is None:
        values["id"] = ""
    if text_start is not None:
        first, last = _value_span(s, text_start, len(s), _BLANK, _QUOTES)
        values["text"] = s[first:last]
    return Receipt(**values)


def _value(s: str, start: int, end: int) -> str | None:
    first, last = _value_span(s, start, end, _BLANK, _QUOTES)
    return s[first:last] if last > first else None


def rewrite_id(data: bytes, new_id: str) -> bytes:
    """`data` with the value of its id field replaced by `new_id`.

    Every other byte is kept as received. ValueError if `data` has no id
    field before its text, or if `new_id` could not be read back as an id.
    """
    # The router's ids are ASCII letters and digits: a token, unquoted.
    if new_id.isalnum() and new_id.isascii():
        # and so, nearly always, is the upstream's: its receipt starts
        # "id:<letters and digits> <next key>:", spliced with the fewest calls
        space = data.find(b" ", 3)
        if (space > 3 and data.startswith(b"id:") and data[3:space].isalnum()
                and data.startswith(_NEXT_KEYS, space + 1)):
            return b"id:%b%b" % (new_id.encode(), data[space:])
    else:
        _check_token("id", new_id)
    # Nearly every receipt starts "id:<plain value> <next key>:": no search
    # then (the general loop below gives the same octets; tests hold it to that).
    if data.startswith(b"id:"):
        space = data.find(b" ", 3)
        if space > 3 and _PLAIN_VALUE.fullmatch(data, 3, space) and (
                data.startswith(_NEXT_KEYS, space + 1) or _KEY_BYTES.match(data, space + 1)):
            return b"".join((b"id:", new_id.encode(ENCODING), data[space:]))
    return _rewrite_id(data, new_id)


# a value with nothing to strip (blanks, NULs, quotes) and no key inside it
_PLAIN_VALUE = re.compile(rb"[^\s\x00'\"]+")
# keys that usually follow the id, each one _KEY_BYTES matches (a startswith is cheaper)
_NEXT_KEYS = (b"sub:", b"dlvrd:", b"submit date:", b"done date:", b"stat:", b"err:", b"text:")


def _rewrite_id(data: bytes, new_id: str) -> bytes:
    keys = _KEY_BYTES.finditer(data)
    for m in keys:
        key = m.group(_WORD)
        if key is None:
            continue
        key = key.lower()
        if key == _ID_KEY:
            following = next(keys, None)
            end = following.start() if following is not None else len(data)
            first, last = _value_span(data, m.end(), end, _BLANK_BYTES, _QUOTES_BYTES)
            return b"".join((data[:first], new_id.encode(ENCODING), data[last:]))
        if key == _TEXT_KEY_BYTES:
            break
    raise ValueError("no id field in receipt %r" % (bytes(data[:80]),))


def rewrite_fields(data: bytes, values: dict) -> bytes:
    """`data` with the values of the fields named in `values` (lower-case keys
    such as "stat", "err") replaced, each first occurrence before the text;
    every other byte kept as received. A field the receipt lacks is not added."""
    spans = []
    keys = list(_KEY_BYTES.finditer(data))
    for i, m in enumerate(keys):
        key = m.group(_WORD)
        if key is None:
            continue
        key = key.lower()
        if key == _TEXT_KEY_BYTES:
            break
        name = key.decode("ascii")
        if name in values and all(n != name for n, _, _ in spans):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(data)
            first, last = _value_span(data, m.end(), end, _BLANK_BYTES, _QUOTES_BYTES)
            spans.append((name, first, last))
    out, at = [], 0
    for name, first, last in sorted(spans, key=lambda span: span[1]):
        value = values[name]
        _check_token(name, value)
        out += (data[at:first], value.encode(ENCODING))
        at = last
    out.append(data[at:])
    return b"".join(out)


def _check_token(name: str, value: str) -> None:
    if not _TOKEN.fullmatch(value):
        raise ValueError("receipt %s %r must be one word, non-empty" % (name, value))
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] == value[0]:
        raise ValueError("receipt %s %r would be read back without its quotes" % (name, value))
    try:
        value.encode(ENCODING)
    except UnicodeEncodeError:
        raise ValueError("receipt %s %r is not latin-1" % (name, value)) from None


def _count(name: str, value: int | str) -> str:
    """A sub/dlvrd/err value: numbers zero-padded to three digits."""
    if isinstance(value, int):
        if value < 0:
            raise ValueError("receipt %s cannot be negative: %d" % (name, value))
        return "%0*d" % (COUNT_DIGITS, value)
    _check_token(name, value)
    return value.zfill(COUNT_DIGITS) if value.isascii() and value.isdigit() else value


def _date(name: str, value: datetime | str, seconds: bool) -> str:
    if isinstance(value, datetime):
        return format_receipt_date(value, seconds)
    _check_token(name, value)
    return value


def build_receipt(id: str, submit_date: datetime | str, done_date: datetime | str,
                  stat: str | MessageState, *, sub: int | str = 1,
                  dlvrd: int | str | None = None, err: int | str = 0,
                  text: str | bytes = "", seconds: bool = False) -> bytes:
    """A receipt in the canonical appendix B form.

    Dates given as datetimes are written in UTC as YYMMDDhhmm (YYMMDDhhmmss
    when `seconds`); strings are written as given. dlvrd defaults to sub for
    a delivered message, else 0. `text` is the original message: its first
    20 characters (bytes) are kept; a str is encoded as latin-1, with '?'
    for characters outside it. The text is quoted as format_receipt does.
    """
    _check_token("id", id)
    stat_text = state_to_stat(stat) if isinstance(stat, MessageState) else stat
    _check_token("stat", stat_text)
    if dlvrd is None:
        dlvrd = sub if stat_to_state(stat_text) is MessageState.DELIVERED else 0
    if isinstance(text, str):
        text = text[:TEXT_LIMIT].encode(ENCODING, "replace")
    return _assemble(id, _count("sub", sub), _count("dlvrd", dlvrd),
                     _date("submit date", submit_date, seconds),
                     _date("done date", done_date, seconds),
                     stat_text, _count("err", err)) + _text_field(text[:TEXT_LIMIT])


def format_receipt(receipt: Receipt) -> bytes:
    """`receipt` in the canonical form, values as held, absent fields left out.

    The text is not shortened: a Receipt's text is already an excerpt. It
    is put in double quotes when it starts or ends with a blank, or is
    itself quoted, so that parse_receipt gives it back unchanged.
    """
    head = _assemble(receipt.id, receipt.sub, receipt.dlvrd, receipt.submit_date,
                     receipt.done_date, receipt.stat, receipt.err)
    if receipt.text is None:
        return head
    return head + _text_field(receipt.text.encode(ENCODING, "replace"))


def _text_field(text: bytes) -> bytes:
    """The text field, quoted when parse_receipt would otherwise trim it."""
    if text.strip(_BLANK_BYTES) != text or (
            len(text) >= 2 and text[:1] in _QUOTES_BYTES and text[-1:] == text[:1]):
        return b' Text:"' + text + b'"'
    return b" Text:" + text


_LABELS = ("id:", "sub:", "dlvrd:", "submit date:", "done date:", "stat:", "err:")


def _assemble(*values: str | None) -> bytes:
    return " ".join(label + value for label, value in zip(_LABELS, values)
                    if value is not None).encode(ENCODING, "replace")


# -- a user's receipt profile (config users.NAME receipt_dates / receipt_text /
# receipt_codes): the same receipt in the form that user's vendor promised.

MINUTES, SECONDS = 10, 12   # receipt date lengths: YYMMDDhhmm, YYMMDDhhmmss
_DATE_GROUPS = ("submit_date", "done_date")
_ERR_KEY = b"err"
_DLVRD_KEY = b"dlvrd"


def restyle(data: bytes, date_length: int = 0, text_key: bytes = b"",
            codes: dict | None = None, drop_dlvrd: bool = False) -> bytes:
    """`data` with its dates written with date_length digits (0: as they are; a
    date gaining seconds gets "00"), its text key spelled text_key (b"": as it
    is) and its err code replaced by codes[int(err)] (None, or a code codes
    lacks: as it is), and with drop_dlvrd its `dlvrd:` field left out (seed
    000's receipts have none). Every other byte is kept; a value that is not a date or a
    number is left alone. Never raises on any text."""
    spans = []   # (first, last, new bytes)
    seen = set()   # each field's first occurrence only, as parse_receipt reads them
    for m in _KEY_BYTES.finditer(data):
        group = m.lastgroup
        if group in seen:
            continue
        if group == _WORD:
            key = m.group(_WORD).lower()
            if key == _TEXT_KEY_BYTES:
                if text_key:
                    spans.append((m.start(_WORD), m.end(_WORD), text_key))
                break
            if key == _DLVRD_KEY and drop_dlvrd:
                seen.add(_DLVRD_KEY)   # the field and the blanks after it, to the next key
                spans.append((m.start(_WORD), _next_key(data, m.end()), b""))
                continue
            if key != _ERR_KEY or codes is None or _ERR_KEY in seen:
                continue
            seen.add(_ERR_KEY)
            first, last = _value_span(data, m.end(), _next_key(data, m.end()),
                                      _BLANK_BYTES, _QUOTES_BYTES)
            value = data[first:last]
            if value.isdigit():
                code = codes.get(int(value))
                if code is not None:
                    spans.append((first, last, code))
        elif date_length:
            seen.add(group)
            first, last = _value_span(data, m.end(), _next_key(data, m.end()),
                                      _BLANK_BYTES, _QUOTES_BYTES)
            value = data[first:last]
            if value.isdigit() and len(value) in RECEIPT_DATE_LENGTHS \
                    and len(value) != date_length:
                spans.append((first, last, (value + b"00")[:date_length]))
    if not spans:
        return data
    out, at = [], 0
    for first, last, new in spans:
        out += (data[at:first], new)
        at = last
    out.append(data[at:])
    return b"".join(out)


def _next_key(data: bytes, start: int) -> int:
    m = _KEY_BYTES.search(data, start)
    return m.start() if m is not None else len(data)
