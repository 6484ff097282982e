"""Leases: one process at a time does a job for a queue, across all processes.

The webhook sender delivers a user's webhook queue from one process only, so
that the user's receivers get its entries in order and each once while all
processes are alive (a consumer group alone would spread the entries over
every process reading it). The lease is a key holding its holder's name
(the process's stable consumer name), expiring unless renewed: a process
that dies loses it after `ttl`, and another takes it over; the entries the
dead one had taken are then reclaimed after claim_idle, as for deliveries.

    lease(queue, holder, ttl_ms)  one EVALSHA (LEASE): take or renew; Deferred(bool)
    release(queue, holder)        one EVALSHA (RELEASE): give it up if still ours

A holder that cannot renew (Redis away) may go on delivering until it hears
it lost the lease: at least once, a duplicate at worst, never a loss.
"""

from zope.interface import Interface

from . import keys, scripts


class ILeases(Interface):
    def lease(queue, holder, ttl_ms):
        """Deferred(bool): whether holder holds hookl:{queue} now (taken if
        nobody held it, renewed if holder did) for ttl_ms more milliseconds."""

    def release(queue, holder):
        """Deferred(None): hookl:{queue} is free again, if holder held it."""


class LeaseMixin:
    """ILeases for RedisStore (one command each; batched with the turn's others)."""

    def lease(self, queue, holder, ttl_ms):
        d = self._command(b"EVALSHA", scripts.LEASE.sha, 1, keys.lease(queue),
                          holder.encode("utf-8", "surrogatepass"), int(ttl_ms))
        return d.addCallback(lambda reply: int(reply) == 1)

    def release(self, queue, holder):
        d = self._command(b"EVALSHA", scripts.RELEASE.sha, 1, keys.lease(queue),
                          holder.encode("utf-8", "surrogatepass"))
        return d.addCallback(lambda _: None)
