"""What a webhook attempt's answer means, and when to try again. Pure.

2xx: delivered, the entry leaves Redis. 4xx other than 408 and 429: the
receiver refuses it for good (a bad URL, an auth failure); retrying would
not change that, so it is logged, counted and dropped. 3xx too: redirects
are not followed (a receiver's Location could point anywhere the router can
reach). Anything else (5xx, 408, 429, a timeout, a refused connection, a
name that does not resolve) is worth another try, after a backoff with full
jitter (a uniform delay up to FIRST doubling per attempt to CAP), so many
entries of a receiver that comes back are not sent in one burst; a
Retry-After in seconds is honoured up to CAP. Retried for the user's
retention, counted from when the entry was queued; then dropped.
"""

DELIVERED, PERMANENT, RETRY = "delivered", "permanent", "retry"
FIRST = 1.0     # seconds: the first retry's upper bound
CAP = 300.0     # seconds: no retry waits longer (5 min)


def verdict(code: int) -> str:
    if 200 <= code < 300:
        return DELIVERED
    if 300 <= code < 500 and code not in (408, 429):
        return PERMANENT
    return RETRY


def backoff(attempt: int, random, first: float = FIRST, cap: float = CAP) -> float:
    """Seconds to wait before retry number attempt + 1; random() in [0, 1)."""
    return random() * min(cap, first * 2.0 ** min(attempt, 64))


def retry_after(value: bytes | None, cap: float = CAP) -> float:
    """A Retry-After header's delay in seconds (its seconds form), at most cap;
    0 when absent or in another form."""
    if not value:
        return 0.0
    try:
        seconds = int(value.strip())
    except ValueError:
        return 0.0
    return float(min(max(seconds, 0), cap))


def expired(queued_at: float, now: float, retention: float) -> bool:
    return now - queued_at > retention
