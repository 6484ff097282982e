"""Tests for smpprouter.smpp.times."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.smpp.errors import SMPPError
from smpprouter.smpp.status import Status
from smpprouter.smpp.times import (
    format_absolute, format_receipt_date, format_relative, parse_receipt_date,
    parse_schedule, parse_time, parse_validity,
)

UTC = timezone.utc
NOW = datetime(2024, 3, 10, 8, 0, 0, tzinfo=UTC)

MALFORMED = {
    "too short": "23061512304520+",
    "too long": "2306151230452040+",
    "letter in date": "2306A5123045204+",
    "space": "230615 23045204+",
    "non-ascii digit": "2306151230452\u0664+",
    "month 13": "231315123045204+",
    "month 00": "230015123045204+",
    "day 32": "230132123045204+",
    "day 00": "230100123045204+",
    "Feb 30": "240230123045204+",
    "Feb 29 of a common year": "230229123045204+",
    "Apr 31": "230431000000000+",
    "hour 24": "230615243045204+",
    "minute 60": "230615126045204+",
    "second 60": "230615123060204+",
    "offset 49": "230615123045249+",
    "offset 99": "230615123045999-",
    "bad sign": "230615123045204x",
    "digit as sign": "2306151230452040",
    "relative with tenths": "000001000000100R",
    "relative with offset": "000001000000004R",
    "relative with letter": "00000A000000000R",
    "lower-case r": "000001000000000r",
}


class ParseTimeTests(SynchronousTestCase):

    def test_empty_is_none(self):
        self.assertIsNone(parse_time("", NOW))
        self.assertIsNone(parse_time(b"", NOW))

    def test_absolute_utc(self):
        self.assertEqual(parse_time("230615123045200+", NOW),
                         datetime(2023, 6, 15, 12, 30, 45, 200000, tzinfo=UTC))

    def test_absolute_ahead_of_utc(self):
        # 12:30:45.2 at UTC+1 (04 quarter hours) is 11:30:45.2 UTC.
        self.assertEqual(parse_time("230615123045204+", NOW),
                         datetime(2023, 6, 15, 11, 30, 45, 200000, tzinfo=UTC))

    def test_absolute_behind_utc(self):
        # 12:30:45.2 at UTC-2 (08 quarter hours) is 14:30:45.2 UTC.
        self.assertEqual(parse_time("230615123045208-", NOW),
                         datetime(2023, 6, 15, 14, 30, 45, 200000, tzinfo=UTC))

    def test_offset_crosses_into_next_year(self):
        self.assertEqual(parse_time("231231233000008-", NOW),
                         datetime(2024, 1, 1, 1, 30, tzinfo=UTC))

    def test_offset_crosses_into_previous_day(self):
        # 05:00 at UTC+12 (48 quarter hours) is 17:00 the day before.
        self.assertEqual(parse_time("240301050000048+", NOW),
                         datetime(2024, 2, 29, 17, 0, tzinfo=UTC))

    def test_odd_quarter_offset(self):
        # India, UTC+5:30 = 22 quarter hours.
        self.assertEqual(parse_time("240310140000022+", NOW),
                         datetime(2024, 3, 10, 8, 30, tzinfo=UTC))

    def test_result_is_utc(self):
        self.assertIs(parse_time("240310140000022+", NOW).tzinfo, UTC)
        self.assertIs(parse_time("000000010000000R", NOW).tzinfo, UTC)

    def test_years_are_2000_to_2099(self):
        self.assertEqual(parse_time("000101000000000+", NOW).year, 2000)
        self.assertEqual(parse_time("991231000000000+", NOW).year, 2099)

    def test_leap_day(self):
        self.assertEqual(parse_time("240229000000000+", NOW),
                         datetime(2024, 2, 29, tzinfo=UTC))
        self.assertEqual(parse_time("000229000000000+", NOW),
                         datetime(2000, 2, 29, tzinfo=UTC))

    def test_relative(self):
        self.assertEqual(parse_time("000001020304000R", NOW),
                         NOW + timedelta(days=1, hours=2, minutes=3, seconds=4))

    def test_relative_years_and_months_are_units(self):
        self.assertEqual(parse_time("010200000000000R", NOW),
                         NOW + timedelta(days=365 + 2 * 30))

    def test_relative_fields_are_durations(self):
        self.assertEqual(parse_time("000000480000000R", NOW), NOW + timedelta(hours=48))

    def test_relative_with_non_utc_now(self):
        now = datetime(2024, 3, 10, 10, 0, tzinfo=timezone(timedelta(hours=2)))
        result = parse_time("000000010000000R", now)
        self.assertEqual(result, NOW + timedelta(hours=1))
        self.assertIs(result.tzinfo, UTC)

    def test_relative_with_naive_now_is_utc(self):
        self.assertEqual(parse_time("000000010000000R", datetime(2024, 3, 10, 8, 0)),
                         NOW + timedelta(hours=1))

    def test_bytes(self):
        self.assertEqual(parse_time(b"230615123045200+", NOW),
                         datetime(2023, 6, 15, 12, 30, 45, 200000, tzinfo=UTC))

    def test_non_ascii_bytes(self):
        self.assertRaises(ValueError, parse_time, b"23061512304520\xff+", NOW)

    def test_malformed(self):
        for case, text in MALFORMED.items():
            with self.subTest(case=case):
                self.assertRaises(ValueError, parse_time, text, NOW)

    def test_reasons_are_precise(self):
        expected = {
            "too short": "length 15",
            "letter in date": "non-digit 'A' at position 4",
            "month 13": "month 13",
            "day 32": "day 32",
            "Feb 30": "day 30 out of range for 2024-02",
            "hour 24": "hour 24",
            "offset 49": "49 quarter hours",
            "bad sign": "'x'",
            "relative with tenths": "'100'",
        }
        for case, fragment in expected.items():
            with self.subTest(case=case):
                e = self.assertRaises(ValueError, parse_time, MALFORMED[case], NOW)
                self.assertIn(fragment, str(e))


class FieldParserTests(SynchronousTestCase):

    def test_schedule(self):
        self.assertEqual(parse_schedule("000000010000000R", NOW), NOW + timedelta(hours=1))
        self.assertIsNone(parse_schedule("", NOW))

    def test_validity(self):
        self.assertEqual(parse_validity("240310140000022+", NOW),
                         datetime(2024, 3, 10, 8, 30, tzinfo=UTC))
        self.assertIsNone(parse_validity("", NOW))

    def test_malformed_schedule(self):
        for case, text in MALFORMED.items():
            with self.subTest(case=case):
                e = self.assertRaises(SMPPError, parse_schedule, text, NOW)
                self.assertEqual(e.status, Status.ESME_RINVSCHED)
                self.assertIn("schedule_delivery_time", e.reason)

    def test_malformed_validity(self):
        for case, text in MALFORMED.items():
            with self.subTest(case=case):
                e = self.assertRaises(SMPPError, parse_validity, text, NOW)
                self.assertEqual(e.status, Status.ESME_RINVEXPIRY)
                self.assertIn("validity_period", e.reason)


class FormatTests(SynchronousTestCase):

    def test_absolute_utc(self):
        self.assertEqual(format_absolute(datetime(2023, 6, 15, 12, 30, 45, 270000, tzinfo=UTC)),
                         "230615123045200+")

    def test_absolute_converts_to_utc(self):
        dt = datetime(2024, 1, 1, 1, 30, tzinfo=timezone(timedelta(hours=3)))
        self.assertEqual(format_absolute(dt), "231231223000000+")

    def test_absolute_naive_is_utc(self):
        self.assertEqual(format_absolute(datetime(2024, 3, 10, 8, 0, 0, 999999)),
                         "240310080000900+")

    def test_absolute_out_of_century(self):
        self.assertRaises(ValueError, format_absolute, datetime(2100, 1, 1, tzinfo=UTC))
        self.assertRaises(ValueError, format_absolute, datetime(1999, 12, 31, tzinfo=UTC))

    def test_relative(self):
        self.assertEqual(format_relative(timedelta(days=1, hours=2, minutes=3, seconds=4)),
                         "000001020304000R")
        self.assertEqual(format_relative(timedelta(days=365 + 2 * 30 + 3)), "010203000000000R")
        self.assertEqual(format_relative(timedelta(0)), "000000000000000R")
        self.assertEqual(format_relative(timedelta(seconds=1, microseconds=999999)),
                         "000000000001000R")

    def test_relative_limits(self):
        self.assertRaises(ValueError, format_relative, timedelta(seconds=-1))
        self.assertRaises(ValueError, format_relative, timedelta(days=100 * 365))
        self.assertEqual(format_relative(timedelta(days=100 * 365 - 1)), "991204000000000R")


class ReceiptDateTests(SynchronousTestCase):

    def test_minutes(self):
        self.assertEqual(parse_receipt_date("2306151230"), datetime(2023, 6, 15, 12, 30, tzinfo=UTC))

    def test_seconds(self):
        self.assertEqual(parse_receipt_date("230615123045"),
                         datetime(2023, 6, 15, 12, 30, 45, tzinfo=UTC))

    def test_malformed(self):
        for text in ("", "170100935", "23061512304", "2306151230451", "2313151230",
                     "2306151260", "230615123060", "230231000", "2302310000", "23061512a0",
                     "2306151230 "):
            with self.subTest(text=text):
                self.assertRaises(ValueError, parse_receipt_date, text)

    def test_format(self):
        dt = datetime(2023, 6, 15, 12, 30, 45, tzinfo=UTC)
        self.assertEqual(format_receipt_date(dt), "2306151230")
        self.assertEqual(format_receipt_date(dt, seconds=True), "230615123045")

    def test_format_converts_to_utc(self):
        dt = datetime(2023, 6, 15, 12, 30, tzinfo=timezone(timedelta(hours=-5)))
        self.assertEqual(format_receipt_date(dt), "2306151730")

    def test_format_out_of_century(self):
        self.assertRaises(ValueError, format_receipt_date, datetime(2100, 1, 1))


OFFSETS = st.sampled_from([timezone(timedelta(minutes=15 * q)) for q in range(-48, 49)])
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30),
                        timezones=OFFSETS)


def tenths(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 100000 * 100000)


class PropertyTests(SynchronousTestCase):

    @settings(max_examples=300, deadline=None)
    @given(INSTANTS)
    def test_absolute_round_trip(self, dt):
        parsed = parse_time(format_absolute(dt), NOW)
        self.assertEqual(parsed, tenths(dt))
        self.assertIs(parsed.tzinfo, UTC)

    @settings(max_examples=300, deadline=None)
    @given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
           st.integers(0, 48), st.sampled_from("+-"))
    def test_absolute_with_offset_is_same_instant(self, local, quarters, sign):
        text = "%02d%02d%02d%02d%02d%02d%d%02d%s" % (
            local.year - 2000, local.month, local.day, local.hour, local.minute,
            local.second, local.microsecond // 100000, quarters, sign)
        offset = timedelta(minutes=15 * quarters) * (1 if sign == "+" else -1)
        expected = tenths(local).replace(tzinfo=timezone(offset))
        self.assertEqual(parse_time(text, NOW), expected)

    @settings(max_examples=300, deadline=None)
    @given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=100 * 365 - 1)))
    def test_relative_round_trip(self, delta):
        self.assertEqual(parse_time(format_relative(delta), NOW),
                         NOW + timedelta(days=delta.days, seconds=delta.seconds))

    @settings(max_examples=200, deadline=None)
    @given(INSTANTS, st.booleans())
    def test_receipt_date_round_trip(self, dt, seconds):
        expected = dt.astimezone(UTC).replace(microsecond=0, **({} if seconds else {"second": 0}))
        self.assertEqual(parse_receipt_date(format_receipt_date(dt, seconds)), expected)

    @settings(max_examples=500, deadline=None)
    @given(st.one_of(st.text(max_size=20), st.text(alphabet="0123456789+-R", min_size=16,
                                                    max_size=16)))
    def test_arbitrary_text_only_raises_value_error(self, text):
        try:
            result = parse_time(text, NOW)
        except ValueError:
            return
        if text == "":
            self.assertIsNone(result)
        else:
            self.assertIsInstance(result, datetime)
            self.assertIs(result.tzinfo, UTC)

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=20))
    def test_arbitrary_bytes_only_raise_value_error(self, data):
        try:
            parse_time(data, NOW)
        except ValueError:
            pass

    @settings(max_examples=200, deadline=None)
    @given(st.text(alphabet="0123456789", min_size=10, max_size=12))
    def test_receipt_date_only_raises_value_error(self, text):
        try:
            result = parse_receipt_date(text)
        except ValueError:
            return
        self.assertEqual(format_receipt_date(result, seconds=len(text) == 12), text)
