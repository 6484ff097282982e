"""Latency histograms the hot paths can afford: a list of bucket counts.

A prometheus_client Histogram takes a lock and walks its buckets per
observation; this is one bisect and two additions (about 0.3 µs), and the
collector turns it into a HistogramMetricFamily only when scraped. No
prometheus_client import here: the core keeps these without knowing who
exports them.
"""

from bisect import bisect_left

# Seconds, from a millisecond to a day: submit_sm_resp and upstream round trips
# live in the first half, submit-to-final-receipt delays in the whole range.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
           30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0)


class Latency:
    """Observations in seconds; counts[i] holds those <= BUCKETS[i] and above
    the bound before it (not cumulative); counts[-1] those above the last."""

    __slots__ = ("counts", "sum")

    def __init__(self):
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, seconds):
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.sum += seconds

    def snapshot(self):
        """[count per bucket..., sum]: what a worker publishes (merge.py adds them)."""
        return self.counts + [self.sum]


def cumulative(snapshot):
    """[(le, cumulative count)...] with "+Inf" last, and the sum, of a snapshot."""
    counts, total = snapshot[:-1], snapshot[-1]
    buckets, running = [], 0
    for bound, count in zip(BUCKETS + (float("inf"),), counts):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return buckets, total
