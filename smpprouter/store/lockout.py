"""Failed binds, counted in Redis so that a lockout holds in every process.

Password guessing is fought per *subject*: a source IP, or a system_id the
router knows. Each subject has two keys in its own {hash tag}, so each script
touches one slot:

    bfail:{ip:<addr>}  / bfail:{id:<system_id>}   failures in the current
                        window (INCR; PEXPIRE window at the first one)
    block:{ip:<addr>}  / block:{id:<system_id>}   present while locked out
                        (PX lockout)

A bind asks `lockout(subjects)` first (one PTTL per subject, in the next
batch), so a locked subject is refused before any scrypt runs. A failed bind
calls `bind_failed`: one script per subject counts it and, at the limit,
sets the lock and drops the count; the script answers 1 only to the failure
that set the lock, so a lockout is logged once, whichever process saw it.
The window is fixed (it starts at a subject's first failure), which is what
INCR + PEXPIRE gives in one round trip; a sliding window would need a sorted
set per subject for no gain against a guesser.
"""

from twisted.internet import defer

from . import scripts


def _key(prefix: bytes, subject: str) -> bytes:
    return prefix + b"{" + subject.encode("utf-8", "surrogatepass") + b"}"


def fail_key(subject: str) -> bytes:
    return _key(b"bfail:", subject)


def lock_key(subject: str) -> bytes:
    return _key(b"block:", subject)


class LockoutMixin:
    """The bind-guard half of RedisStore: needs its _command."""

    def lockout(self, subjects):
        """Deferred([float]): for each subject, the seconds its lock still runs
        (0.0: not locked)."""
        ds = [self._command(b"PTTL", lock_key(s)) for s in subjects]
        d = defer.gatherResults(ds, consumeErrors=True)
        d.addErrback(lambda f: f.value.subFailure)
        return d.addCallback(lambda ttls: [max(int(t), 0) / 1000.0 for t in ttls])

    def bind_failed(self, subject, max_failures, window, lockout):
        """Deferred(bool): count one failed bind of subject; True when this
        failure locked it out (for lockout seconds)."""
        d = self._command(b"EVALSHA", scripts.BIND_FAILED.sha, 2, fail_key(subject),
                          lock_key(subject), int(window * 1000), int(max_failures),
                          int(lockout * 1000))
        return d.addCallback(lambda reply: int(reply) == 1)

    def bind_succeeded(self, subject):
        """Forget subject's failures (a user who mistyped once starts afresh)."""
        return self._command(b"DEL", fail_key(subject))
