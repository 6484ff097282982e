from hypothesis import given, strategies as st
from twisted.trial.unittest import TestCase

from smpprouter.metrics.histogram import BUCKETS, Latency, cumulative


class LatencyTests(TestCase):
    def test_a_value_on_a_bound_counts_in_that_bucket(self):
        # Prometheus buckets are "less than or equal": le="0.001" holds 0.001
        h = Latency()
        h.observe(0.001)
        h.observe(0.0011)
        buckets, total = cumulative(h.snapshot())
        self.assertEqual(buckets[0], ("0.001", 1))
        self.assertEqual(buckets[1], ("0.0025", 2))
        self.assertAlmostEqual(total, 0.0021)

    def test_beyond_a_day_only_in_inf(self):
        h = Latency()
        h.observe(86400.5)
        buckets, _ = cumulative(h.snapshot())
        self.assertEqual(buckets[-2], ("86400.0", 0))
        self.assertEqual(buckets[-1], ("+Inf", 1))

    def test_buckets_run_from_a_millisecond_to_a_day(self):
        self.assertEqual((BUCKETS[0], BUCKETS[-1]), (0.001, 86400.0))
        self.assertEqual(list(BUCKETS), sorted(BUCKETS))

    @given(st.lists(st.floats(min_value=0, max_value=2e5, allow_nan=False)))
    def test_cumulative_counts_match_a_naive_count(self, values):
        h = Latency()
        for v in values:
            h.observe(v)
        buckets, total = cumulative(h.snapshot())
        for (le, count), bound in zip(buckets, BUCKETS + (float("inf"),)):
            self.assertEqual(count, sum(1 for v in values if v <= bound), le)
        self.assertAlmostEqual(total, sum(values), delta=1e-6 * max(1.0, sum(values)))
