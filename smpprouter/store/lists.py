"""Number lists and duplicate fingerprints for RedisStore (core/hygiene.py decides).

A mixin, like credits.py, sharing the connection and the per-turn batching:
every membership question asked during one reactor turn of one list goes out
as one SMISMEMBER (all the turn's destinations), so a list costs a command per
turn, not per message. Each list is its own set in its own slot (keys.py);
`lists:{router}` names the lists that are not empty, so a process learns with
one SMEMBERS which lists exist and asks nothing at all of a message no list
applies to. The CLI keeps that index: a list is added to it when numbers are
added, and removed when its last number is.

Duplicates: SET dup:{user}:<digest> NX EX window, one FIRST_SEEN script per
user per turn (scripts.py); the first of two equal messages sets it, the
second finds it taken.
"""

from twisted.internet import defer

from . import keys, scripts
from .batching import chunks as _chunks, resolve as _resolve

CLI_CHUNK = 1000   # numbers per SADD / SREM from the CLI


class ListsMixin:
    """The number-list half of RedisStore: needs its _command and _schedule."""

    def _init_lists(self):
        self._members = {}   # list key -> [(number, d)]
        self._seen = {}      # (user, ttl) -> [(duplicate key, d)]

    def in_list(self, key, number):
        """Deferred(bool): whether number is in the set key (batched per turn)."""
        if not self._running:
            return self._not_running()
        d = defer.Deferred()
        items = self._members.get(key)
        if items is None:
            items = self._members[key] = []
        items.append((number.encode("utf-8", "surrogatepass"), d))
        self._schedule()
        return d

    def _flush_lists(self, flight):
        if not (self._members or self._seen):
            return
        members, self._members = self._members, {}
        seen, self._seen = self._seen, {}
        for key, items in members.items():
            for chunk in _chunks(items, self.max_batch):
                flight.send([b"SMISMEMBER", key] + [item[0] for item in chunk], chunk,
                            _membered)
        sha = scripts.FIRST_SEEN.sha
        for (_, ttl), items in seen.items():
            for chunk in _chunks(items, self.max_batch):
                flight.send([b"EVALSHA", sha, len(chunk)] + [item[0] for item in chunk]
                            + [ttl], chunk, _membered)

    def lists_present(self):
        """Deferred(set of list keys, bytes): the lists that are not empty."""
        return self._command(b"SMEMBERS", keys.LIST_INDEX).addCallback(set)

    def first_seen(self, user, key, ttl):
        """Deferred(bool): True when key (one of user's) was not set; it is now, for
        ttl seconds. One FIRST_SEEN script per user and ttl per turn."""
        if not self._running:
            return self._not_running()
        d = defer.Deferred()
        batch = (user, int(ttl))
        items = self._seen.get(batch)
        if items is None:
            items = self._seen[batch] = []
        items.append((key, d))
        self._schedule()
        return d

    def forget(self, key):
        return self._command(b"DEL", key)

    # -- the CLI's

    async def list_add(self, key, numbers):
        """How many of numbers were new to the list."""
        added = 0
        for chunk in _chunks(list(numbers), CLI_CHUNK):
            added += int(await self._command(b"SADD", key, *chunk))
        if numbers:
            await self._command(b"SADD", keys.LIST_INDEX, key)
        return added

    async def list_remove(self, key, numbers):
        """How many of numbers were in the list; an emptied list leaves the index."""
        removed = 0
        for chunk in _chunks(list(numbers), CLI_CHUNK):
            removed += int(await self._command(b"SREM", key, *chunk))
        if not int(await self._command(b"SCARD", key)):
            await self._command(b"SREM", keys.LIST_INDEX, key)
        return removed

    async def list_count(self, key):
        return int(await self._command(b"SCARD", key))


def _membered(reply, items):
    for (_, d), member in zip(items, reply):
        _resolve(d, bool(member))
