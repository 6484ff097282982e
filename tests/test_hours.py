"""policy/hours.py: sending windows in the destination's local time."""

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.policy.hours import parse_hours

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
TIMES = st.floats(1.6e9, 2.2e9)
MINUTES = st.integers(0, 24 * 60 - 1)


def at(zone, *fields):
    return datetime(*fields, tzinfo=zone).timestamp()


class HoursTests(SynchronousTestCase):

    def test_open_and_next_opening_in_kolkata(self):
        hours = parse_hours("09:00-21:00", KOLKATA)
        self.assertIsNone(hours.opening(at(KOLKATA, 2026, 12, 1, 9, 0)))
        self.assertIsNone(hours.opening(at(KOLKATA, 2026, 12, 1, 20, 59)))
        self.assertEqual(hours.opening(at(KOLKATA, 2026, 12, 1, 21, 0)),
                         at(KOLKATA, 2026, 12, 2, 9, 0))
        self.assertEqual(hours.opening(at(KOLKATA, 2026, 12, 1, 3, 0)),
                         at(KOLKATA, 2026, 12, 1, 9, 0))

    def test_a_window_across_midnight(self):
        hours = parse_hours("21:00-06:00", KOLKATA)
        self.assertIsNone(hours.opening(at(KOLKATA, 2026, 12, 1, 23, 0)))
        self.assertIsNone(hours.opening(at(KOLKATA, 2026, 12, 1, 5, 59)))
        self.assertEqual(hours.opening(at(KOLKATA, 2026, 12, 1, 6, 0)),
                         at(KOLKATA, 2026, 12, 1, 21, 0))

    def test_wall_clock_hours_across_a_daylight_saving_change(self):
        hours = parse_hours("09:00-21:00", LONDON)
        # London goes to BST on 2026-03-29: still 09:00 on the clock
        self.assertEqual(hours.opening(at(LONDON, 2026, 3, 28, 22, 0)),
                         at(LONDON, 2026, 3, 29, 9, 0))
        self.assertEqual(at(LONDON, 2026, 3, 29, 9, 0) - at(LONDON, 2026, 3, 28, 22, 0),
                         10 * 3600)

    def test_bad_hours_say_what_is_wrong(self):
        for text in ("9-21", "09:00-25:00", "09:00-09:00", "09:60-10:00", 9, "00:00-24:00x"):
            with self.assertRaises(ValueError):
                parse_hours(text, KOLKATA)
        self.assertEqual(parse_hours("00:00-24:00", KOLKATA).opening(1.9e9), None)

    @given(TIMES, MINUTES, MINUTES, st.sampled_from([KOLKATA, ZoneInfo("UTC")]))
    def test_the_opening_is_the_first_open_minute(self, t, start, end, zone):
        if start == end:
            return
        hours = parse_hours("%02d:%02d-%02d:%02d" % (start // 60, start % 60,
                                                    end // 60, end % 60), zone)
        opening = hours.opening(t)
        if opening is None:
            self.assertTrue(hours.is_open(t))
            return
        self.assertFalse(hours.is_open(t))
        self.assertGreater(opening, t)
        self.assertTrue(hours.is_open(opening))
        self.assertFalse(hours.is_open(opening - 60))
        self.assertLessEqual(opening - t, 24 * 3600)
