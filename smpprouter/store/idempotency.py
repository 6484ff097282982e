"""Idempotency keys: a retried HTTP request gets the first one's answer, once.

A client that sent a request and heard nothing (a timeout, a dropped
connection) cannot know whether it was done; with the same Idempotency-Key
it may send it again and be sure nothing is sent twice, whichever router
process each attempt reaches. The record lives in Redis, one hash per key:

    idem:{user}:<key>   f  the request's fingerprint (sha256 of its body)
                        s  the answer's HTTP status  } once answered
                        b  the answer's body         }

A claim (CLAIM, one script) makes the record when there is none: the caller
goes ahead (NEW). Otherwise it answers what the record says: DONE with the
stored answer, BUSY while the first attempt is still in progress, MISMATCH
when the key was used for another body. An attempt in progress holds its
claim for `lease` seconds only: a process that dies mid-request does not
lock the key for the whole TTL (a retry after the lease sends again: the one
window where a request can be done twice). finish() stores the answer for
`ttl`; release() drops the claim of an attempt that did nothing, so a retry
goes ahead.

The mixin needs one thing of its store, `_script(script, key, *args)` ->
Deferred(reply): RedisStore runs it on Redis (EVAL: these are rare, one per
request with a key), the in-memory test store with the same logic in Python
(tests/core/memory_store.py), and the same contract tests run on both.
"""

from dataclasses import dataclass

from twisted.internet import defer

NEW, DONE, BUSY, MISMATCH = "new", "done", "busy", "mismatch"
MAX_KEY = 255

# KEYS: idem:{u}:<key>   ARGV: fingerprint, lease (s)
# Returns {'new'}, {'mismatch'}, {'busy'} or {'done', status, body}.
CLAIM = b"""
local f = redis.call('HGET', KEYS[1], 'f')
if not f then
  redis.call('HSET', KEYS[1], 'f', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if f ~= ARGV[1] then return {'mismatch'} end
local r = redis.call('HMGET', KEYS[1], 's', 'b')
if not r[1] then return {'busy'} end
return {'done', r[1], r[2]}
"""

# KEYS: idem:{u}:<key>   ARGV: fingerprint, status, body, ttl (s)
# Stores the answer if the claim is still this request's; returns 1, else 0.
FINISH = b"""
if redis.call('HGET', KEYS[1], 'f') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'b', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

# KEYS: idem:{u}:<key>   ARGV: fingerprint
# Drops an unanswered claim of this request; returns 1, else 0.
RELEASE = b"""
if redis.call('HGET', KEYS[1], 'f') ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[1], 's') == 1 then return 0 end
return redis.call('DEL', KEYS[1])
"""


def key(user: str, idempotency_key: str) -> bytes:
    """idem:{user}:<key>: the user's tag, so each script touches one slot."""
    return b"idem:{" + user.encode("utf-8", "surrogatepass") + b"}:" \
        + idempotency_key.encode("utf-8", "surrogatepass")


def key_problem(idempotency_key: str):
    """Why a header value cannot be an idempotency key, or None."""
    if not idempotency_key:
        return "must not be empty"
    if len(idempotency_key) > MAX_KEY:
        return "must be at most %d characters" % MAX_KEY
    if not idempotency_key.isascii() or not idempotency_key.isprintable():
        return "must be printable ASCII"
    return None


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim found: NEW (go ahead), DONE (status and body: the first
    answer), BUSY (the first attempt is in progress) or MISMATCH (another body)."""
    state: str
    status: int = 0
    body: bytes = b""


_CLAIMS = {NEW.encode(): Claim(NEW), BUSY.encode(): Claim(BUSY),
           MISMATCH.encode(): Claim(MISMATCH)}


def _claimed(reply):
    found = _CLAIMS.get(reply[0])
    if found is not None:
        return found
    return Claim(DONE, int(reply[1]), reply[2])


class IdempotencyMixin:
    """claim_request / finish_request / release_request (see the module docstring)."""

    def claim_request(self, user, idempotency_key, fingerprint, lease):
        """Deferred(Claim)."""
        problem = key_problem(idempotency_key)
        if problem:
            return defer.fail(ValueError("idempotency key " + problem))
        return self._script(CLAIM, key(user, idempotency_key), fingerprint,
                            max(1, int(lease))).addCallback(_claimed)

    def finish_request(self, user, idempotency_key, fingerprint, status, body, ttl):
        """Deferred(bool): the answer is stored (False: the claim was lost)."""
        return self._script(FINISH, key(user, idempotency_key), fingerprint, int(status), body,
                            max(1, int(ttl))).addCallback(lambda r: int(r) == 1)

    def release_request(self, user, idempotency_key, fingerprint):
        """Deferred(bool): the unanswered claim is dropped."""
        return self._script(RELEASE, key(user, idempotency_key), fingerprint).addCallback(
            lambda r: int(r) == 1)


class RedisIdempotencyMixin(IdempotencyMixin):
    """RedisStore's: each call one EVAL in the next flush (Redis caches the
    script; no EVALSHA fallback to keep for a command this rare)."""

    def _script(self, script, redis_key, *args):
        return self._command(b"EVAL", script, 1, redis_key,
                             *[a.encode() if type(a) is str else a for a in args])
