"""An in-memory store with the store's contract for the synchronous path, so a
whole router (faces and core) can run on a task.Clock with no Redis and no
sockets. Answers come a reactor turn later (callLater(0)), as RedisStore's
batches do, so code that relies on that ordering is exercised as in production.
"""

import collections
import itertools

from twisted.internet import defer

from smpprouter.store import idempotency
from smpprouter.store.errors import QueueFull, StoreUnavailable
from smpprouter.store.interface import Delivery, MessageRecord


class MemoryStore(idempotency.IdempotencyMixin):
    def __init__(self, clock, max_queue=1000):
        self.clock = clock
        self.max_queue = max_queue
        self.mappings = {}                         # (connector, upstream id) -> Mapping
        self.records = {}                          # (connector, router id) -> dict
        self.queues = collections.defaultdict(dict)    # user -> {entry id: payload}
        self.taken = collections.defaultdict(dict)     # user -> {entry id: consumer}
        self.callbacks = {}
        self.sessions = collections.defaultdict(set)
        self.hashes = {}                           # key -> (fields dict, expiry time)
        self.failures = {}   # bind-guard subject -> (failures, window end)
        self.locks = {}      # bind-guard subject -> lock end
        self.leases = {}                           # queue -> (holder, expiry)
        self.available = True
        self.fail_enqueue = False   # Redis went away between a lookup and its enqueue
        self._ids = itertools.count(1)
        self._blocks = itertools.count(1)

    def _later(self, value=None):
        d = defer.Deferred()
        self.clock.callLater(0, d.callback, value)
        return d

    # -- ICorrelationStore (what the synchronous path uses)

    def allocate_id_block(self):
        return self._later(next(self._blocks))

    def save_mapping(self, connector, upstream_id, mapping, ttl, record=False):
        self.mappings[connector, upstream_id] = mapping
        if record:
            self.records[connector, mapping.message_id] = {"u": mapping.user, "s": "U",
                                                           "f": 0.0}
        return self._later()

    def watch_receipts(self, connector, timeout):
        pass   # no router-made receipts here: tests/store and integration test them

    def take_overdue(self, connector, now, lease, count):
        return self._later([])

    def get_mapping(self, connector, upstream_id, state=None):
        mapping = self.mappings.get((connector, upstream_id))
        if mapping is not None and state:
            record = self.records.get((connector, mapping.message_id))
            if record is not None:
                record.update(s=state, f=self.clock.seconds())
        return self._later(mapping)

    def get_message(self, connectors, message_id):
        for c in connectors:
            r = self.records.get((c, message_id))
            if r is not None:
                return self._later(MessageRecord(message_id, r["u"], r["s"], r["f"], 0, c,
                                                 None))
        return self._later(None)

    def enqueue(self, user, payload):
        if self.fail_enqueue:
            return defer.fail(StoreUnavailable("Redis went away"))
        queue = self.queues[user]
        if len(queue) >= self.max_queue:
            return defer.fail(QueueFull(user))
        entry_id = "%d-0" % next(self._ids)
        queue[entry_id] = payload
        d = self._later(entry_id)
        callback = self.callbacks.get(user)
        if callback is not None:
            self.clock.callLater(0, callback, user)
        return d

    def subscribe(self, user, callback):
        self.callbacks[user] = callback
        self.clock.callLater(0, callback, user)
        return self._later()

    def unsubscribe(self, user):
        self.callbacks.pop(user, None)
        return defer.succeed(None)

    def claim(self, user, consumer, count):
        taken = self.taken[user]
        fresh = [i for i in self.queues[user] if i not in taken][:count]
        for i in fresh:
            taken[i] = consumer
        return self._later([Delivery(i, self.queues[user][i]) for i in fresh])

    def pending(self, user, consumer, count):
        mine = [i for i, c in self.taken[user].items() if c == consumer][:count]
        return self._later([Delivery(i, self.queues[user][i]) for i in mine])

    def reclaim(self, user, consumer, min_idle_ms, count):
        return self._later([])

    def touch(self, user, consumer, entry_ids):
        return self._later()

    def ack(self, user, entry_id):
        self.queues[user].pop(entry_id, None)
        self.taken[user].pop(entry_id, None)
        return self._later()

    def open_session(self, user, member, max_binds, ttl, max_receivers=0, scope=""):
        sessions = [m for m in self.sessions[user] if m.startswith(scope)]
        receiving = member.endswith(":rx")
        if len(sessions) >= max_binds or (
                receiving and max_receivers
                and sum(m.endswith(":rx") for m in sessions) >= max_receivers):
            return self._later(False)
        sessions = self.sessions[user]
        sessions.add(member)
        return self._later(True)

    def refresh_sessions(self, user, members, ttl):
        return self._later(len(self.sessions[user]))

    def close_session(self, user, member):
        self.sessions[user].discard(member)
        return self._later()

    # -- the bind lockout (store/lockout.py's contract, on the store's clock)

    def lockout(self, subjects):
        now = self.clock.seconds()
        return self._later([max(0.0, self.locks.get(s, 0.0) - now) for s in subjects])

    def bind_failed(self, subject, max_failures, window, lockout):
        now = self.clock.seconds()
        if self.locks.get(subject, 0.0) > now:
            return self._later(False)
        count, ends = self.failures.get(subject, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + window
        count += 1
        if count < max_failures:
            self.failures[subject] = (count, ends)
            return self._later(False)
        self.failures.pop(subject, None)
        self.locks[subject] = now + lockout
        return self._later(True)

    def bind_succeeded(self, subject):
        self.failures.pop(subject, None)
        return self._later()

    # -- ILeases (store/lease.py), on the clock

    def lease(self, queue, holder, ttl_ms):
        now = self.clock.seconds()
        current = self.leases.get(queue)
        if current is None or current[1] <= now or current[0] == holder:
            self.leases[queue] = (holder, now + ttl_ms / 1000.0)
            return self._later(True)
        return self._later(False)

    def release(self, queue, holder):
        if self.leases.get(queue, (None,))[0] == holder:
            del self.leases[queue]
        return self._later()

    # -- IOutboundStore: nothing is queued in these tests

    def subscribe_outbound(self, connector, callback):
        return self._later()

    def unsubscribe_outbound(self, connector):
        return defer.succeed(None)

    def pending_outbound(self, connector, consumer, count):
        return self._later([])

    take_outbound = reclaim_outbound = lambda self, *args: self._later([])

    def move_due(self, connector, now, count):
        return self._later(0)

    def expire_due(self, connector, now, lease, count):
        return self._later([])

    def touch_outbound(self, connector, consumer, entries):
        return self._later()

    # -- the idempotency scripts, in Python (store/idempotency.py has them in Lua)

    def _script(self, script, key, *args):
        now = self.clock.seconds()
        held = self.hashes.get(key)
        record = held[0] if held is not None and held[1] > now else None
        fingerprint = args[0]
        if script is idempotency.CLAIM:
            if record is None:
                self.hashes[key] = ({"f": fingerprint}, now + args[1])
                return self._later([b"new"])
            if record["f"] != fingerprint:
                return self._later([b"mismatch"])
            if "s" not in record:
                return self._later([b"busy"])
            return self._later([b"done", str(record["s"]).encode(), record["b"]])
        if record is None or record["f"] != fingerprint:
            return self._later(0)
        if script is idempotency.FINISH:
            record.update(s=args[1], b=args[2])
            self.hashes[key] = (record, now + args[3])
            return self._later(1)
        if script is idempotency.RELEASE:
            if "s" in record:
                return self._later(0)
            del self.hashes[key]
            return self._later(1)
        raise AssertionError("unknown script")
