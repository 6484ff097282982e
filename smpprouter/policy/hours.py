"""Sending hours: when a route may carry promotional traffic, in the destination's
local time (seed 002's 457 PROMO-TMOUT outside them).

Pure: `parse_hours` reads a route's `hours = "09:00-21:00"`, `Hours.opening(t)`
answers None while the window is open at unix time t, else the unix time it
next opens. A window may cross midnight ("21:00-06:00"); local times follow
the zone's rules (zoneinfo), so a window keeps its wall-clock hours across
daylight-saving changes (see _instant for the hour a change skips or repeats).
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

PROMOTIONAL = "PROMO"   # the service_type that marks one message promotional
_HOURS = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])\Z")
DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Hours:
    start: int       # minutes after local midnight
    end: int         # minutes after local midnight; <= start: the window crosses midnight
    zone: object     # a tzinfo (zoneinfo.ZoneInfo)
    text: str = ""   # as written, for logs

    def is_open(self, t: float) -> bool:
        local = datetime.fromtimestamp(t, self.zone)
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def opening(self, t: float) -> float | None:
        """None when open at t, else the unix time the window next opens."""
        if self.is_open(t):
            return None
        local = datetime.fromtimestamp(t, self.zone)
        for days in (0, 1, 2):
            day = (local + timedelta(days=days)).date()
            wall = datetime(day.year, day.month, day.day, self.start // 60, self.start % 60)
            at = _instant(wall, self.zone)
            if at > t:
                return at
        raise AssertionError("no opening within two days")   # a window opens daily


def _instant(wall, zone) -> float:
    """The unix time of a local wall-clock time: the first of a repeated one
    (fall-back); one skipped (spring-forward) read with the offset before the
    change, i.e. as late after the change as it was after the gap's start."""
    return wall.replace(tzinfo=zone, fold=0).timestamp()


def parse_hours(text: str, zone) -> Hours:
    """Hours of "HH:MM-HH:MM" (24-hour, end 24:00 allowed) in zone; ValueError
    naming what is wrong."""
    m = _HOURS.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError("must be \"HH:MM-HH:MM\" in 24-hour local time, e.g. "
                         "\"09:00-21:00\", not %r" % (text,))
    start = int(m[1]) * 60 + int(m[2])
    end = int(m[3]) * 60 + int(m[4])
    if end > DAY:
        raise ValueError("%r: the window ends at 24:00 at the latest" % text)
    if start == end:
        raise ValueError("%r opens and closes at the same minute: leave hours out to "
                         "send at any time" % text)
    return Hours(start, end, zone, text)
