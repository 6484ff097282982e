"""SMPP time strings (v3.4 section 7.1.1) and delivery-receipt dates.

schedule_delivery_time and validity_period arrive as 16-character strings in
one of two forms, told apart by the last character:

  absolute  YYMMDDhhmmsstnnp   local wall-clock time; t = tenths of a second,
                               nn = quarter hours between local time and UTC
                               (00-48), p = '+' if local time is ahead of UTC,
                               '-' if behind.
  relative  YYMMDDhhmmss000R   a duration added to the SMSC's current time.

Everything is turned into an aware UTC datetime at the edge, so the rest of
the router compares instants and never offsets. The current time is always
an argument (`now`), never read from a clock, so every result is
reproducible under test.

Conventions the specification leaves open, chosen here:
- YY is 2000 + YY (SMPP was born in the 1990s, but no SMSC sends 19xx now).
- In the relative form the fields are units, not calendar fields: a year is
  365 days, a month 30 days (the common SMSC convention). Each field may
  hold any two digits (an ESME may write 48 hours as hh=48), since a
  duration has no calendar to violate.
- A naive datetime given to a formatter is taken to be UTC.
- Receipt dates (appendix B, YYMMDDhhmm or YYMMDDhhmmss) carry no zone; they
  are read and written as UTC.

Malformed input raises ValueError with the precise reason; the session layer
answers with the status of the field (parse_schedule / parse_validity).
"""

from datetime import datetime, timedelta, timezone

from .errors import SMPPError
from .status import Status

UTC = timezone.utc
CENTURY = 2000
TIME_LENGTH = 16
RELATIVE_MARK = "R"
RELATIVE_PADDING = "000"
MAX_OFFSET_QUARTERS = 48
QUARTER_HOUR = timedelta(minutes=15)
MICROSECONDS_PER_TENTH = 100_000
DAYS_PER_RELATIVE_YEAR = 365
DAYS_PER_RELATIVE_MONTH = 30
MAX_RELATIVE_YEARS = 99
RECEIPT_DATE_LENGTHS = (10, 12)

# UTC = local + direction * offset: '+' means local time runs ahead of UTC.
_UTC_DIRECTION = {"+": -1, "-": 1}

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# (name, lowest, highest) of the six leading two-digit fields; the day's
# upper bound depends on the month and is checked separately.
_CIVIL_FIELDS = (
    ("month", 1, 12),
    ("day", 1, 31),
    ("hour", 0, 23),
    ("minute", 0, 59),
    ("second", 0, 59),
)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _require_digits(s: str, what: str) -> None:
    if s.isascii() and s.isdigit():
        return
    for position, char in enumerate(s):
        if not "0" <= char <= "9":
            raise ValueError("%s %r: non-digit %r at position %d" % (what, s, char, position))


def _civil(s: str, what: str, seconds: bool) -> datetime:
    """Validate the YYMMDDhhmm[ss] prefix of `s` and return it as UTC."""
    year = CENTURY + int(s[0:2])
    values = [int(s[i:i + 2]) for i in range(2, 12 if seconds else 10, 2)]
    for (name, low, high), value in zip(_CIVIL_FIELDS, values):
        if not low <= value <= high:
            raise ValueError("%s %r: %s %02d out of range %02d-%02d"
                             % (what, s, name, value, low, high))
    month, day = values[0], values[1]
    last_day = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
    if day > last_day:
        raise ValueError("%s %r: day %02d out of range for %04d-%02d (last day %02d)"
                         % (what, s, day, year, month, last_day))
    return datetime(year, month, day, values[2], values[3],
                    values[4] if seconds else 0, tzinfo=UTC)


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _check_century(dt: datetime, what: str) -> None:
    if not CENTURY <= dt.year < CENTURY + 100:
        raise ValueError("%s: year %d cannot be written as YY (%d-%d)"
                         % (what, dt.year, CENTURY, CENTURY + 99))


def parse_time(s: str | bytes, now: datetime) -> datetime | None:
    """An SMPP absolute or relative time as an aware UTC datetime; '' is None.

    `now` (naive means UTC) anchors relative times.
    """
    if isinstance(s, (bytes, bytearray)):
        try:
            s = s.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("time %r is not ASCII" % (bytes(s),)) from None
    if not s:
        return None
    if len(s) != TIME_LENGTH:
        raise ValueError("time %r: length %d, expected %d" % (s, len(s), TIME_LENGTH))
    mark = s[15]
    if mark == RELATIVE_MARK:
        _require_digits(s[:15], "relative time")
        if s[12:15] != RELATIVE_PADDING:
            raise ValueError("relative time %r: characters 13-15 are %r, must be %r"
                             % (s, s[12:15], RELATIVE_PADDING))
        years, months, days, hours, minutes, seconds = (
            int(s[i:i + 2]) for i in range(0, 12, 2))
        return _as_utc(now) + timedelta(
            days=years * DAYS_PER_RELATIVE_YEAR + months * DAYS_PER_RELATIVE_MONTH + days,
            hours=hours, minutes=minutes, seconds=seconds)
    direction = _UTC_DIRECTION.get(mark)
    if direction is None:
        raise ValueError("time %r: last character %r is not '+', '-' or 'R'" % (s, mark))
    _require_digits(s[:15], "absolute time")
    quarters = int(s[13:15])
    if quarters > MAX_OFFSET_QUARTERS:
        raise ValueError("absolute time %r: UTC offset of %d quarter hours exceeds %d"
                         % (s, quarters, MAX_OFFSET_QUARTERS))
    local = _civil(s, "absolute time", seconds=True)
    return local.replace(microsecond=int(s[12]) * MICROSECONDS_PER_TENTH) \
        + direction * quarters * QUARTER_HOUR


def parse_schedule(s: str | bytes, now: datetime) -> datetime | None:
    """schedule_delivery_time; SMPPError(ESME_RINVSCHED) when malformed."""
    try:
        return parse_time(s, now)
    except ValueError as e:
        raise SMPPError(Status.ESME_RINVSCHED, "schedule_delivery_time: %s" % (e,)) from None


def parse_validity(s: str | bytes, now: datetime) -> datetime | None:
    """validity_period; SMPPError(ESME_RINVEXPIRY) when malformed."""
    try:
        return parse_time(s, now)
    except ValueError as e:
        raise SMPPError(Status.ESME_RINVEXPIRY, "validity_period: %s" % (e,)) from None


def format_absolute(dt: datetime) -> str:
    """`dt` as an absolute time in UTC ('...t00+'); tenths are truncated."""
    u = _as_utc(dt)
    _check_century(u, "absolute time")
    return "%02d%02d%02d%02d%02d%02d%d00+" % (
        u.year - CENTURY, u.month, u.day, u.hour, u.minute, u.second,
        u.microsecond // MICROSECONDS_PER_TENTH)


def format_relative(delta: timedelta) -> str:
    """`delta` as a relative time (365-day years, 30-day months).

    Sub-second parts are truncated; negative durations and durations of 100
    years or more raise ValueError.
    """
    if delta < timedelta(0):
        raise ValueError("relative time cannot be negative: %s" % (delta,))
    years, days = divmod(delta.days, DAYS_PER_RELATIVE_YEAR)
    if years > MAX_RELATIVE_YEARS:
        raise ValueError("relative time %s exceeds %d years" % (delta, MAX_RELATIVE_YEARS))
    months, days = divmod(days, DAYS_PER_RELATIVE_MONTH)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return "%02d%02d%02d%02d%02d%02d%s%s" % (
        years, months, days, hours, minutes, seconds, RELATIVE_PADDING, RELATIVE_MARK)


def parse_receipt_date(s: str) -> datetime:
    """A receipt date, YYMMDDhhmm or YYMMDDhhmmss, as an aware UTC datetime."""
    if len(s) not in RECEIPT_DATE_LENGTHS:
        raise ValueError("receipt date %r: length %d, expected 10 or 12" % (s, len(s)))
    _require_digits(s, "receipt date")
    return _civil(s, "receipt date", seconds=len(s) == 12)


def format_receipt_date(dt: datetime, seconds: bool = False) -> str:
    """`dt` in UTC as YYMMDDhhmm, or YYMMDDhhmmss when `seconds`."""
    u = _as_utc(dt)
    _check_century(u, "receipt date")
    text = "%02d%02d%02d%02d%02d" % (u.year - CENTURY, u.month, u.day, u.hour, u.minute)
    return text + "%02d" % u.second if seconds else text
