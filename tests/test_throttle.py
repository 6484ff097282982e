from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.throttle import TokenBucket


class TokenBucketTests(SynchronousTestCase):
    def test_zero_rate_is_unlimited(self):
        bucket = TokenBucket(0, now=0.0)
        self.assertTrue(all(bucket.take(0.0) for _ in range(10000)))
        self.assertEqual(bucket.wait(0.0), 0.0)

    def test_burst_then_refill(self):
        bucket = TokenBucket(100, now=0.0)   # burst 5 (50 ms worth)
        taken = sum(bucket.take(0.0) for _ in range(20))
        self.assertEqual(taken, 5)
        self.assertAlmostEqual(bucket.wait(0.0), 0.01)
        self.assertFalse(bucket.take(0.009))
        self.assertTrue(bucket.take(0.0101))

    def test_a_burst_of_a_given_length_and_its_share(self):
        bucket = TokenBucket(50, now=0.0, burst_seconds=1.0)
        self.assertEqual(sum(bucket.take(0.0) for _ in range(60)), 50)
        bucket.set_rate(20)   # a share of the limit: the burst follows
        self.assertEqual(bucket.burst, 20)
        self.assertEqual(sum(bucket.take(10.0) for _ in range(60)), 20)

    @settings(deadline=None)
    @given(st.floats(1, 10000), st.lists(st.floats(0, 0.5), min_size=1, max_size=200),
           st.sampled_from((0.05, 1.0)))
    def test_never_exceeds_rate_plus_burst(self, rate, gaps, seconds):
        bucket = TokenBucket(rate, now=0.0, burst_seconds=seconds)
        now = taken = 0.0
        for gap in gaps:
            now += gap
            while bucket.take(now):
                taken += 1
        self.assertLessEqual(taken, bucket.burst + rate * now + 1e-6)
