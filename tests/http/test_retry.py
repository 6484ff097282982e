"""What a webhook's answer means, and the backoff."""

from hypothesis import given, strategies as st
from twisted.trial.unittest import TestCase

from smpprouter.http.retry import CAP, DELIVERED, FIRST, PERMANENT, RETRY, backoff, expired, \
    retry_after, verdict


class VerdictTests(TestCase):
    def test_the_table(self):
        for code in (200, 201, 204, 299):
            self.assertEqual(verdict(code), DELIVERED, code)
        for code in (301, 302, 400, 401, 403, 404, 410, 422, 499):
            self.assertEqual(verdict(code), PERMANENT, code)
        for code in (408, 429, 500, 502, 503, 504, 100, 600):
            self.assertEqual(verdict(code), RETRY, code)

    def test_retry_after(self):
        self.assertEqual(retry_after(b"7"), 7.0)
        self.assertEqual(retry_after(b"100000"), CAP)
        self.assertEqual(retry_after(b"Wed, 21 Oct 2015 07:28:00 GMT"), 0.0)
        self.assertEqual(retry_after(None), 0.0)
        self.assertEqual(retry_after(b"-3"), 0.0)

    def test_expired_counts_from_the_queue_time(self):
        self.assertFalse(expired(100.0, 100.0 + 3600, 3600))
        self.assertTrue(expired(100.0, 100.0 + 3601, 3600))


class BackoffTests(TestCase):
    def test_doubles_from_one_second_to_five_minutes(self):
        top = [backoff(n, lambda: 1.0) for n in range(12)]
        self.assertEqual(top[:4], [FIRST, 2 * FIRST, 4 * FIRST, 8 * FIRST])
        self.assertEqual(top[-1], CAP)
        self.assertEqual(backoff(3, lambda: 0.0), 0.0)

    @given(st.integers(0, 10 ** 6), st.floats(0, 1, exclude_max=True))
    def test_full_jitter_stays_within_its_bound(self, attempt, r):
        delay = backoff(attempt, lambda: r)
        self.assertGreaterEqual(delay, 0.0)
        self.assertLessEqual(delay, min(CAP, FIRST * 2.0 ** min(attempt, 64)))
