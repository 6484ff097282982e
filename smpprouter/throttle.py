"""A token bucket with the clock as an argument.

Used for per-bind upstream rates and per-user throughput; they differ in
how large a burst they allow, i.e. how many tokens the bucket holds:

- upstream binds: 50 ms' worth (BURST_SECONDS). Spacing messages one by one
  at thousands per second would cost a timer per message, while a 50 ms
  burst is invisible to any SMSC that polices a per-second rate.
- users: one second's worth (USER_BURST_SECONDS). The seeds state a user's
  limit per second ("50 messages per second"), and a client licensed for 50
  may send 50 at once: all are taken, the 51st within that second is not.
  Sustained, the rate is the limit; from a full bucket, any one second may
  see up to twice it (the bucket plus what refills during that second), the
  usual price of a token bucket, and what an SMSC policing per second allows
  across a second's boundary too.
"""

BURST_SECONDS = 0.05
USER_BURST_SECONDS = 1.0


class TokenBucket:
    __slots__ = ("rate", "burst", "burst_seconds", "tokens", "stamp")

    def __init__(self, rate: float, now: float, burst: float | None = None,
                 burst_seconds: float = BURST_SECONDS):
        self.rate = rate
        self.burst_seconds = burst_seconds
        self.burst = burst if burst is not None else max(1.0, rate * burst_seconds)
        self.tokens = self.burst
        self.stamp = now

    def set_rate(self, rate: float) -> None:
        """A new rate (a process's share of a user's limit changed); tokens kept."""
        self.rate = rate
        self.burst = max(1.0, rate * self.burst_seconds)
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
