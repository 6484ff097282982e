"""A token bucket with the clock as an argument.

Used for per-bind upstream rates and per-user throughput. The burst is a
short window's worth of tokens (50 ms), not one token: spacing messages one
by one at thousands per second would cost a timer per message, while a 50 ms
burst is invisible to any SMSC that polices a per-second rate.
"""

BURST_SECONDS = 0.05


class TokenBucket:
    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, now: float, burst: float | None = None):
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate * BURST_SECONDS)
        self.tokens = self.burst
        self.stamp = now

    def set_rate(self, rate: float) -> None:
        """A new rate (a process's share of a user's limit changed); tokens kept."""
        self.rate = rate
        self.burst = max(1.0, rate * BURST_SECONDS)
        self.tokens = min(self.tokens, self.burst)

    def take(self, now: float, count: float = 1.0) -> bool:
        """Take count tokens if there are enough; a rate of 0 means unlimited."""
        if not self.rate:
            return True
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens >= count:
            self.tokens = tokens - count
            return True
        self.tokens = tokens
        return False

    def wait(self, now: float, count: float = 1.0) -> float:
        """Seconds until count tokens will be there (0 if they are now)."""
        if not self.rate:
            return 0.0
        tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        return 0.0 if tokens >= count else (count - tokens) / self.rate
