"""What a webhook request proves about itself: which event, when, and from us. Pure.

Every webhook request carries:

    X-Smpprouter-Event-Id   <user>:<stream entry id>, e.g. "esme1:1733040000123-0".
                            The same on every retry and from every router process
                            (it names the entry in the user's webhook queue), so a
                            receiver drops duplicates by it: delivery is at least once.
    X-Smpprouter-Timestamp  unix seconds when this attempt was made (a retry has a
                            new one).
    X-Smpprouter-Signature  v1=<hex HMAC-SHA256 of timestamp + "." + body under the
                            user's webhook_secret>; only when the user has a secret.
                            Several comma-separated v1= values may come (a secret
                            being rotated); one matching is enough.

To verify a request: take the raw body bytes as received (before any JSON
parsing), compute hex(HMAC-SHA256(secret, timestamp + "." + body)), compare it
in constant time with a v1= value of the signature header, and refuse a
timestamp more than 5 minutes from your clock (an old request replayed). Then
drop a request whose event id you have already processed. In Python:

    expected = hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    ok = any(hmac.compare_digest("v1=" + expected, v.strip()) for v in sig.split(","))
    ok = ok and abs(time.time() - int(ts)) <= 300

`verify` below is that check.
"""

import hashlib
import hmac

EVENT_ID = b"X-Smpprouter-Event-Id"
TIMESTAMP = b"X-Smpprouter-Timestamp"
SIGNATURE = b"X-Smpprouter-Signature"
VERSION = "v1="
TOLERANCE = 300.0   # seconds a receiver should accept a timestamp off its clock


def event_id(user: str, entry_id: str) -> str:
    """The stable id of a webhook: its user and its entry in the user's queue."""
    return user + ":" + entry_id


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return VERSION + digest.hexdigest()


def headers(event: str, timestamp: str, body: bytes, secret: bytes = b"") -> dict:
    """The proof headers of one attempt (bytes -> [bytes], as twisted.web's Headers)."""
    out = {EVENT_ID: [event.encode("utf-8", "surrogatepass")],
           TIMESTAMP: [timestamp.encode("ascii")]}
    if secret:
        out[SIGNATURE] = [signature(secret, timestamp, body).encode("ascii")]
    return out


def verify(secret: bytes, timestamp: str, body: bytes, header: str, now: float,
           tolerance: float = TOLERANCE) -> bool:
    """The receiver's check: a v1 signature matches and the timestamp is recent."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected.encode(), value.strip().encode())
               for value in header.split(",") if value.isascii())
