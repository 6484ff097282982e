"""IOutboundStore for RedisStore: the outbound queue and message states.

A mixin, not a class of its own, because it shares everything with the
correlation side: the connection, the per-turn batching and its flush, the
timeouts, the notifier. What it adds, per call (see interface.py for the
contract, scripts.py for the scripts):

    enqueue_outbound  one EVALSHA per connector per turn (ENQUEUE_OUT: bound
                      check, HSET + EXPIRE, XADD or ZADD each, PUBLISH once)
    finish_outbound   one EVALSHA per connector per turn (FINISH_OUT)
    set_state         one EVALSHA per connector per turn (SET_STATES)
    record_sent       one EVALSHA per connector per turn, together with that
                      connector's save_mapping calls (SAVE_SENT)
    the others        one command each: they are rare (a bind, a poll, a
                      query_sm/cancel_sm/replace_sm)

Every script touches one connector's keys ({c}: msg, out, outp, sched) or one
user's (dlv), so each is atomic and valid on Redis Cluster. Times written to
Redis (final dates, schedule scores) come from the store's clock, passed in
ARGV, never from Redis TIME inside a script that writes.
"""

from twisted.internet import defer

from . import keys, scripts
from .batching import chunks as _chunks, reject as _reject, resolve as _resolve
from .errors import QueueFull
from .interface import MessageRecord, Outbound, SENT

# A block of records gets its EXPIRE at its first write of each such period,
# for the records' ttl and this much more (scripts.SAVE_SENT).
RECORD_SLACK = 3600

_STREAMS = {b"p": "outp", b"n": "out"}
_FLAGS = {"outp": b"p", "out": b"n"}
FINAL = frozenset("23456789")   # the final states' digits (interface.py)
_STATES = frozenset({"S", "Q", "T", "U"}) | FINAL


def _b(text: str) -> bytes:
    """A name or an id as Redis gets it: UTF-8, any str (see keys.py)."""
    return text.encode("utf-8", "surrogatepass")


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogatepass")


def _ttl(ttl):
    ttl = int(ttl)
    if ttl <= 0:
        raise ValueError(f"message TTL must be >= 1 s, got {ttl}")
    return ttl


def _batch(table, connector, item):
    items = table.get(connector)
    if items is None:
        items = table[connector] = []
    items.append(item)


class OutboundMixin:
    """The IOutboundStore half of RedisStore (see the module docstring)."""

    def _init_outbound(self, max_outbound, clock):
        self.max_outbound = int(max_outbound)
        self._clock = clock
        self._outs = {}       # connector -> [(id, user, blob, prio, due_ms, ttl, d)]
        self._finishes = {}   # connector -> [(flag, entry id, id, state, code, upstream, d)]
        self._states = {}     # connector -> [(key, state, code, d)]
        self._sents = {}      # connector -> [(b"sent", block key, field, user, ttl, d)]

    # -- batched: one script per connector per turn

    def enqueue_outbound(self, connector, message_id, user, blob, priority, due, ttl,
                         expires=None):
        if not self._running:
            return self._not_running()
        try:
            ttl = _ttl(ttl)
        except ValueError as e:
            return defer.fail(e)
        if due is None or due <= self._clock():
            due_ms = 0
        else:
            due_ms = int(due * 1000)
        d = defer.Deferred()
        _batch(self._outs, connector, (_b(message_id), _b(user), blob,
                                       1 if priority > 0 else 0, due_ms, ttl,
                                       0 if expires is None else int(expires * 1000), d))
        self._schedule()
        return d

    def finish_outbound(self, connector, entry, state, error_code=0, upstream_id=""):
        if not self._running:
            return self._not_running()
        if state != SENT and state not in FINAL:
            return defer.fail(ValueError(
                f"finish_outbound: state must be SENT or final (2..9), got {state!r}"))
        d = defer.Deferred()
        _batch(self._finishes, connector, (_FLAGS[entry.stream], entry.entry_id,
                                           _b(entry.message_id), state, int(error_code),
                                           _b(upstream_id), d))
        self._schedule()
        return d

    def set_state(self, connector, message_id, state, error_code=0):
        if not self._running:
            return self._not_running()
        if state not in _STATES:
            return defer.fail(ValueError(f"set_state: unknown state {state!r}"))
        d = defer.Deferred()
        _batch(self._states, connector,
               (keys.message(connector, message_id), *keys.record(connector, message_id),
                state, int(error_code), d))
        self._schedule()
        return d

    def record_sent(self, connector, message_id, user, ttl):
        if not self._running:
            return self._not_running()
        try:
            ttl = _ttl(ttl)
        except ValueError as e:
            return defer.fail(e)
        d = defer.Deferred()
        _batch(self._sents, connector,
               (b"sent", *keys.record(connector, message_id), _b(user), ttl, d))
        self._schedule()
        return d

    def _flush_outbound(self, flight):
        """Send this turn's outbound batches (record_sent's go with the
        save_mapping calls of their connector: redis.py _flush_saves)."""
        outs, finishes, states = self._outs, self._finishes, self._states
        self._outs, self._finishes, self._states = {}, {}, {}
        size = self.max_batch
        sha = scripts.ENQUEUE_OUT.sha
        for connector, items in outs.items():
            head = [b"EVALSHA", sha, 4, keys.outbound(connector), keys.outbound(connector, True),
                    keys.schedule(connector), keys.expiry(connector), self.max_outbound,
                    keys.outbound_channel(connector), keys.message(connector, "")]
            for chunk in _chunks(items, size):
                args = list(head)
                for item in chunk:
                    args.extend(item[:-1])
                flight.send(args, chunk, self._enqueued_outbound, connector)
        now = repr(self._clock()) if finishes or states else None   # final dates
        sha = scripts.FINISH_OUT.sha
        for connector, items in finishes.items():
            head = [b"EVALSHA", sha, 2, keys.outbound(connector), keys.outbound(connector, True),
                    now, keys.message(connector, "")]
            for chunk in _chunks(items, size):
                args = list(head)
                for item in chunk:
                    args.extend(item[:-1])
                flight.send(args, chunk, _done)
        sha = scripts.SET_STATES.sha
        for items in states.values():
            for chunk in _chunks(items, size):
                args = [b"EVALSHA", sha, 2 * len(chunk)]
                for key, block, _, _, _, _ in chunk:
                    args += (key, block)
                args.append(now)
                for _, _, field, state, code, _ in chunk:
                    args += (field, state, code)
                flight.send(args, chunk, _done)

    def _enqueued_outbound(self, reply, items, connector):
        for item, stored in zip(items, reply):
            if stored:
                _resolve(item[-1], None)
            else:
                _reject(item[-1], QueueFull(
                    f"the outbound queue of {connector!r} already holds "
                    f"{self.max_outbound} messages"))

    # -- one command each

    def move_due(self, connector, now, count):
        d = self._command(b"EVALSHA", scripts.MOVE_DUE.sha, 3, keys.schedule(connector),
                          keys.outbound(connector), keys.outbound(connector, True),
                          int(now * 1000), int(count), keys.message(connector, ""),
                          keys.outbound_channel(connector))
        return d.addCallback(int)

    def take_outbound(self, connector, consumer, count):
        return self._read_outbound(connector, consumer, count, b">")

    def pending_outbound(self, connector, consumer, count):
        return self._read_outbound(connector, consumer, count, b"0")

    def _read_outbound(self, connector, consumer, count, start):
        d = self._command(b"EVALSHA", scripts.READ_OUT.sha, 2, keys.outbound(connector, True),
                          keys.outbound(connector), consumer or self.instance, int(count),
                          keys.message(connector, ""), start)
        return d.addCallback(_outbounds)

    def reclaim_outbound(self, connector, consumer, min_idle_ms, count):
        d = self._command(b"EVALSHA", scripts.RECLAIM_OUT.sha, 2,
                          keys.outbound(connector, True), keys.outbound(connector),
                          consumer or self.instance, int(min_idle_ms), int(count),
                          keys.message(connector, ""))
        return d.addCallback(_outbounds)

    def touch_outbound(self, connector, consumer, entries):
        by_stream = {}
        for entry in entries:
            by_stream.setdefault(entry.stream, []).append(entry.entry_id)
        consumer = consumer or self.instance
        return self._touch([(keys.outbound(connector, stream == "outp"), keys.OUT_GROUP,
                             consumer, ids) for stream, ids in by_stream.items()])

    def touch(self, user, consumer, entry_ids):
        entry_ids = list(entry_ids)
        return self._touch([(keys.queue(user), keys.GROUP, consumer or self.instance,
                             entry_ids)] if entry_ids else [])

    def _touch(self, streams):
        if not self._running:
            return self._not_running()
        ds = [self._command(b"EVALSHA", scripts.TOUCH.sha, 1, key, group, consumer, *ids)
              for key, group, consumer, ids in streams]
        return _first_error(ds)

    def requeue_outbound(self, connector, entry):
        d = self._command(b"EVALSHA", scripts.REQUEUE_OUT.sha, 2, keys.outbound(connector),
                          keys.outbound(connector, True), _FLAGS[entry.stream], entry.entry_id,
                          _b(entry.message_id), keys.message(connector, ""),
                          keys.outbound_channel(connector))
        return d.addCallback(lambda _: None)

    def cancel_message(self, connector, message_id, user):
        d = self._command(b"EVALSHA", scripts.CANCEL.sha, 4, keys.message(connector, message_id),
                          keys.schedule(connector), keys.outbound(connector),
                          keys.outbound(connector, True), _b(user), _b(message_id),
                          repr(self._clock()))
        return d.addCallback(lambda reply: int(reply) == 1)

    def replace_message(self, connector, message_id, user, blob, due, expires=None):
        due_ms = b"" if due is None else int(due * 1000)
        d = self._command(b"EVALSHA", scripts.REPLACE.sha, 5,
                          keys.message(connector, message_id), keys.schedule(connector),
                          keys.outbound(connector), keys.outbound(connector, True),
                          keys.expiry(connector),
                          _b(user), _b(message_id), blob, due_ms,
                          int(self._clock() * 1000), keys.outbound_channel(connector),
                          b"" if expires is None else int(expires * 1000))
        return d.addCallback(lambda reply: int(reply) == 1)

    def expire_due(self, connector, now, lease, count):
        d = self._command(b"EVALSHA", scripts.EXPIRE_DUE.sha, 4, keys.expiry(connector),
                          keys.schedule(connector), keys.outbound(connector),
                          keys.outbound(connector, True), int(now * 1000), int(lease * 1000),
                          int(count), keys.message(connector, ""))
        return d.addCallback(lambda r: [(_text(r[i]), r[i + 1]) for i in range(0, len(r), 2)])

    def finish_expired(self, connector, message_ids, error_code=0):
        if not message_ids:
            return defer.succeed(None)
        d = self._command(b"EVALSHA", scripts.FINISH_EXPIRED.sha, 1, keys.expiry(connector),
                          repr(self._clock()), keys.message(connector, ""), int(error_code),
                          *[_b(i) for i in message_ids])
        return d.addCallback(lambda _: None)

    def get_message(self, connectors, message_id):
        if not self._running:
            return self._not_running()
        connectors = list(connectors)
        ds = []
        for c in connectors:   # either layout (keys.py record), in one flush
            ds.append(self._command(b"HGETALL", keys.message(c, message_id)))
            ds.append(self._command(b"HGET", *keys.record(c, message_id)))

        def first(replies):
            for i, connector in enumerate(connectors):
                reply, field = replies[2 * i], replies[2 * i + 1]
                if reply:
                    return _record(message_id, connector, reply)
                if field is not None:
                    return _sync_record(message_id, connector, field)
            return None
        return _all(ds).addCallback(first)

    def outbound_depth(self, connector):
        d = self._command(b"EVALSHA", scripts.DEPTH.sha, 3, keys.outbound(connector),
                          keys.outbound(connector, True), keys.schedule(connector))
        return d.addCallback(int)

    # -- notifications

    def subscribe_outbound(self, connector, callback):
        """callback(connector) on each PUBLISH to outn:{connector}, and once each
        time the subscription takes effect; as subscribe()."""
        if not self._running:
            return self._not_running()
        return self._notifier.subscribe(keys.outbound_channel(connector), connector, callback)

    def unsubscribe_outbound(self, connector):
        return self._notifier.unsubscribe(keys.outbound_channel(connector))


def _outbounds(reply):
    if not reply:
        return []
    return [Outbound(reply[i + 1].decode(), _STREAMS[reply[i]], _text(reply[i + 2]),
                     reply[i + 3])
            for i in range(0, len(reply), 4)]


def _record(message_id, connector, reply):
    fields = {reply[i]: reply[i + 1] for i in range(0, len(reply) - 1, 2)}
    return MessageRecord(
        message_id=message_id,
        user=_text(fields.get(b"u", b"")),
        state=fields.get(b"s", b"").decode(),
        final_date=float(fields.get(b"f", 0)),
        error_code=int(fields.get(b"e", 0)),
        connector=connector,
        blob=fields.get(b"m"))


def _sync_record(message_id, connector, field):
    """A synchronous message's record from its field of a block (keys.py record)."""
    state, final, code, user = field.split(b",", 3)
    return MessageRecord(message_id=message_id, user=_text(user), state=state.decode(),
                         final_date=float(final or 0), error_code=int(code or 0),
                         connector=connector, blob=None)


def _all(ds):
    """Deferred(list of results) in order, or the first failure's exception
    (not wrapped in FirstError: callers trap StoreUnavailable)."""
    return defer.gatherResults(ds, consumeErrors=True).addErrback(
        lambda f: f.value.subFailure if isinstance(f.value, defer.FirstError) else f)


def _first_error(ds):
    return _all(ds).addCallback(lambda _: None)


def _done(reply, items):
    for item in items:
        _resolve(item[-1], None)
