"""ICorrelationStore (and, through outbound.py, IOutboundStore) on Redis
(txredisapi), batched per reactor turn.

Why batching: txredisapi costs ~150 µs per command awaited alone and most of
that is Python spent per command, not per key. So every call made during one
reactor turn is queued, and one `callLater(0)` flushes the turn's calls as a
handful of commands written together on one connection:

    save_mapping   one EVALSHA per connector (SAVE_MAPPINGS: SET key value EX ttl
                   for each key) -- measured faster than a pipeline of SETs
    get_mapping    one MGET per connector
    enqueue        one EVALSHA per user (ENQUEUE: bound check, XADD each,
                   PEXPIRE retention, PUBLISH once; or, for a user this process
                   delivers to (deliver_here), the read of its new entries
                   instead of the notification)
    ack            one EVALSHA per user (ACK: XACK + XDEL of all the ids)
    allocate_id_block  one INCRBY for all callers of the turn
    claim, pending, reclaim   one command each (READ script / XAUTOCLAIM)
    outbound calls (outbound.py)  one script per connector per turn for the
                   hot ones, one command each for the others
    idempotency keys (idempotency.py)  one EVAL per call: one per HTTP request
                   that carries an Idempotency-Key
    charge, refund (credits.py)  one script per prepaid user per turn
    in_list, first_seen (lists.py)  one SMISMEMBER per number list per turn, one
                   FIRST_SEEN script per user with a duplicate_window
    smart links (links.py)  one command per link and call (a token is its own slot)

Each caller still gets its own Deferred and its own result. Batches touch the
keys of one connector or one user, i.e. one hash slot (keys.py), so they stay
valid on Redis Cluster. One connection carries everything, so the commands of
successive turns reach Redis in the order they were asked for (a get_mapping
sees a save_mapping of the same or an earlier turn).

Failure: while the connection is down every call errbacks StoreUnavailable at
the end of its turn; a batch not answered within `timeout` seconds errbacks
StoreUnavailable and drops the connection (so the next calls fail at once
instead of queueing behind a hung server). txredisapi reconnects by itself,
backing off from 0.1 s to `reconnect_max_delay` (0.5 s: traffic resumes soon
after Redis is back). `available` tells the core, with no round trip, whether
to expect Redis to take a write now.

txredisapi 1.6 uses the global reactor for its connections; `reactor` here
drives the batching and the timeouts.
"""

import os
import socket
import time

import txredisapi
from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, UNIXClientEndpoint
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from . import keys, scripts, timeouts
from .batching import chunks as _chunks, reject as _reject, resolve as _resolve
from .codec import decode_mapping, encode_mapping
from .credits import CreditsMixin
from .errors import CommandRefused, CorruptValue, QueueFull, StoreError, StoreUnavailable
from .idempotency import RedisIdempotencyMixin
from .multipart import MultipartMixin
from .timeouts import TimeoutsMixin
from .interface import Delivery, ICorrelationStore, ICreditStore, IOutboundStore
from .lease import ILeases, LeaseMixin
from .notify import Notifier, _SubscriberFactory
from .links import LinksMixin
from .lists import ListsMixin
from .lockout import LockoutMixin
from .moparts import MOPartsMixin
from .outbound import RECORD_SLACK, OutboundMixin
from .protocol import FastProtocol

log = Logger()

MIN_VERSION = (6, 2)   # XAUTOCLAIM


class _DataFactory(txredisapi.RedisFactory):
    protocol = FastProtocol


def _default_instance():
    return f"{socket.gethostname()}-{os.getpid()}"


@implementer(ICorrelationStore, IOutboundStore, ICreditStore, ILeases)
class RedisStore(OutboundMixin, RedisIdempotencyMixin, LockoutMixin, LeaseMixin, CreditsMixin,
                 ListsMixin, MultipartMixin, LinksMixin, TimeoutsMixin, MOPartsMixin):
    """The shared store of every router process: see the module docstring."""

    def __init__(self, host, port, db=0, password=None, *, reactor=None, instance=None,
                 max_queue=100_000, retention=259_200, timeout=5.0, max_batch=1000,
                 reconnect_max_delay=0.5, username=None, unix_socket=None, retentions=None,
                 max_outbound=1_000_000, clock=time.time, ledger_max=1_000_000,
                 sentinels=None, wait_replicas=0, wait_timeout=1.0):
        """sentinels: a sentinel.Sentinels; then the data nodes are its master's
        primary (host and port unused). wait_replicas > 0: see replication.py."""
        if reactor is None:
            from twisted.internet import reactor
        self.host, self.port, self.db = host, port, db
        self.unix_socket = unix_socket
        self._username = username
        self._sentinels = sentinels
        self.address = sentinels.address if sentinels else unix_socket or f"{host}:{port}"
        self.instance = instance or _default_instance()
        self.max_queue = int(max_queue)
        self.retention_ms = int(retention * 1000)
        # users whose queue is kept longer or shorter than the default
        self._retention_ms = {u: int(s * 1000) for u, s in (retentions or {}).items()}
        self.timeout = timeout
        self.max_batch = max_batch
        self._password = password
        self._reconnect_max_delay = reconnect_max_delay
        self._reactor = reactor
        self._factory = None
        self._notifier = Notifier(reactor, timeout, self.address)
        self._running = False
        self._flights = set()
        self._flush_call = None
        # this turn's hot calls, in the lists their commands are made of
        self._saves = {}      # connector -> _Saves
        self._gets = {}       # connector -> _Gets
        self._enqueues = {}   # user -> _Calls (payloads)
        self._here = {}       # user -> who delivers its queue in this process (deliver_here)
        self._plain_users = {}   # user -> whether JSON leaves the name unescaped
        self._acks = {}       # user -> _Calls (entry ids)
        self._ids = []        # [(d,)]
        self._commands = []   # [(args, d)]
        self._init_outbound(max_outbound, clock)   # outbound.py: its batches
        self._init_credits(ledger_max)             # credits.py: its batches
        self._init_lists()                         # lists.py: its batches
        self._init_timeouts()                      # timeouts.py: receipt_timeout
        #: counters for tests and benchmarks: flushes run, commands written
        self.flushes = 0
        self.commands = 0
        #: failures, for the metrics: batches unanswered in time, commands that
        #: met a lost (or no) connection, commands Redis refused
        self.errors = {"timeout": 0, "connection": 0, "refused": 0, "unreplicated": 0}
        self._impaired = False   # a batch failed or timed out: see available
        self._conn = None        # available's memory of the connection
        self._probing = False
        self.wait_replicas, self.wait_timeout_ms = wait_replicas, int(wait_timeout * 1000)
        self._flight_class = _Flight
        if wait_replicas:
            from .replication import WaitingFlight
            self._flight_class = WaitingFlight

    # -- lifecycle

    @defer.inlineCallbacks
    def start(self):
        if self._factory is not None:
            raise StoreError("RedisStore.start() called twice")
        self._factory = self._connect(_DataFactory, self.db or None)
        ready = [self._ready(self._factory)]
        sub = self._connect(_SubscriberFactory, None)
        self._notifier.attach(sub)
        ready.append(self._ready(sub))
        try:
            yield defer.gatherResults(ready, consumeErrors=True)
            yield self._prepare(self._connection())
        except Exception as e:
            yield self._disconnect()
            self._factory = None
            raise _start_error(e, f"Redis at {self.address}")
        self._running = True
        log.info("store connected to Redis at {address} as {instance}",
                 address=self.address, instance=self.instance)

    @defer.inlineCallbacks
    def stop(self):
        """Flush what was asked, wait for the answers (bounded by timeout), disconnect."""
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush()
        self._running = False
        if self._flights:
            yield defer.DeferredList([f.done for f in list(self._flights)])
        yield self._disconnect()
        self._factory = None

    def _connect(self, factory_class, dbid):
        options = dict(isLazy=True, charset=None, password=self._password,
                       convertNumbers=False, username=self._username)
        if self._sentinels:
            factory = self._sentinels.connect(factory_class, dbid, **options)
        else:
            factory = factory_class(self.address, dbid, 1, **options)
        factory.reconnect = True
        factory.initialDelay = 0.1
        factory.maxDelay = self._reconnect_max_delay
        if self._sentinels:
            endpoint = self._sentinels.endpoint(factory)
        elif self.unix_socket:
            endpoint = UNIXClientEndpoint(self._reactor, self.unix_socket, timeout=self.timeout)
        else:
            endpoint = HostnameEndpoint(self._reactor, self.host, self.port,
                                        timeout=self.timeout)
        factory.startConnecting(endpoint)
        return factory

    def _ready(self, factory):
        """Fires when the factory's connection is usable; fails at the first failed
        attempt (refused, auth), or after timeout, rather than retrying forever."""
        result = defer.Deferred()

        def failed(f):
            _reject(result, f)
        factory.deferred.addCallbacks(lambda _: _resolve(result, None), failed)
        slots = getattr(factory, "slots", None)   # txredisapi 1.6 internals, if there
        if slots:
            slot = slots[0]
            # fires from inside a ClientService transition: stopping the service
            # (which the caller does on failure) must wait for the next turn
            slot.service.whenConnected(failAfterFailures=1).addErrback(
                lambda f: self._reactor.callLater(0, failed, f))
        timer = self._reactor.callLater(self.timeout, _reject, result, StoreUnavailable(
            f"no connection to Redis at {self.address} within {self.timeout}s"))
        return result.addBoth(_cancel_timer, timer)

    @defer.inlineCallbacks
    def _prepare(self, conn):
        """Checks the server's version and loads every script (on each primary
        of a cluster)."""
        info = yield conn.execute_command(b"INFO", b"server")
        self._check_version(info)
        yield defer.gatherResults(
            [conn.execute_command(b"SCRIPT", b"LOAD", s.source) for s in scripts.ALL],
            consumeErrors=True)

    def _check_version(self, info):
        for line in info.splitlines():
            if line.startswith(b"redis_version:"):
                version = tuple(int(x) for x in line[14:].split(b".")[:2])
                if version < MIN_VERSION:
                    raise StoreError(f"Redis at {self.address} is {line[14:].decode()}; "
                                     f"the store needs {'.'.join(map(str, MIN_VERSION))}+")

    def _disconnect(self):
        """Close both connections; a peer that stopped reading (a hung server)
        can't hold a close back for longer than timeout."""
        factories = [f for f in (self._factory, self._notifier.factory) if f is not None]
        ds = [self._notifier.stop()]
        if self._sentinels:
            ds.append(self._sentinels.stop())
        if self._factory is not None:
            ds.append(self._factory.disconnect())
        return _disconnected_within(self._reactor, self.timeout, ds, factories)

    @property
    def available(self) -> bool:
        """Whether Redis can be expected to take a write now: connected, and no
        batch failed or timed out since the last answered one. While it is not,
        the core refuses work it would have to record (before sending anything
        upstream); a reconnected connection is probed at once, so this turns
        true again within a round trip of Redis being back."""
        if not self._impaired:
            conn = self._conn   # the last connection seen: no pool walk per message
            if conn is not None and conn.connected:
                return self._running
            conn = self._conn = self._connection()
            return self._running and conn is not None
        if self._running and not self._probing and self._connection() is not None:
            self._probing = True
            self._command(b"PING").addBoth(self._probed)
        return False

    def _probed(self, result):
        self._probing = False
        return None   # a failure marks the store impaired again by itself

    def _connection(self):
        if self._factory is not None:
            for conn in self._factory.pool:
                if conn.connected:
                    return conn
        return None

    # -- ICorrelationStore

    def allocate_id_block(self):
        if not self._running:
            return self._not_running()
        d = defer.Deferred()
        self._ids.append((d,))
        self._schedule()
        return d

    def save_mapping(self, connector, upstream_id, mapping, ttl, record=False):
        d = defer.Deferred()
        self.save_mapping_then(d, connector, upstream_id, mapping, ttl, record)
        return d

    def save_mapping_then(self, then, connector, upstream_id, mapping, ttl, record=False):
        """save_mapping answering then (then.py). record: also create the
        message's record (state SENT) for query_sm, in the same script
        (record_sent without a Deferred of its own)."""
        if not self._running:
            then.errback(self._stopped())
            return
        ttl = int(ttl)
        if ttl <= 0:
            then.errback(ValueError(f"mapping TTL must be >= 1 s, got {ttl}"))
            return
        batch = self._saves.get(connector)
        if batch is None:
            batch = self._saves[connector] = _Saves(keys.mapping_prefix(connector), ttl,
                                                    connector in self._timeouts)
        ttls = batch.ttls
        if ttls is not None:
            ttls.append(ttl)
        elif ttl != batch.ttl:   # one ttl for the whole batch until one differs
            batch.ttls = [batch.ttl] * len(batch.keys) + [ttl]
        batch.keys.append(batch.prefix + upstream_id.encode("utf-8", "surrogatepass"))
        batch.values.append(encode_mapping(mapping, record))
        batch.thens.append(then)
        if batch.watch and mapping.registered_delivery & 0x13:
            # due:{c} gets it in the script that SETs it (timeouts.py)
            dues = batch.dues
            if dues is None:
                dues = batch.dues = []
            dues.append(upstream_id)
        if record:
            user = mapping.user
            plain = self._plain_users.get(user)
            if plain is None:
                plain = self._plain_users[user] = _plain_json(user)
            message_id = mapping.message_id
            if plain and message_id.isascii() and message_id.isalnum():
                # the script reads id and user off the mapping (scripts.SAVE_SENT)
                own = batch.own
                if own is None:
                    own = batch.own = []
                own.append(len(batch.keys))
            else:
                sents = self._sents.get(connector)
                if sents is None:
                    sents = self._sents[connector] = []
                sents.append((b"sent", *keys.record(connector, message_id),
                              user.encode("utf-8", "surrogatepass"), ttl, None))
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(0, self._flush)

    def get_mapping(self, connector, upstream_id, state=None):
        d = defer.Deferred()
        self.get_mapping_then(d, connector, upstream_id, state)
        return d

    def get_mapping_then(self, then, connector, upstream_id, state=None):
        """get_mapping answering then (then.py). state (a final state's digit):
        also record it as the outcome of the mapped message, if its record
        exists, in the same command (a receipt's set_state without a command
        of its own)."""
        if not self._running:
            then.errback(self._stopped())
            return
        batch = self._gets.get(connector)
        if batch is None:
            batch = self._gets[connector] = _Gets(keys.mapping_prefix(connector))
        batch.keys.append(batch.prefix + upstream_id.encode("utf-8", "surrogatepass"))
        batch.thens.append(then)
        if state:
            batch.stated = True
            batch.states.append(state)
        else:
            batch.states.append("")
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(0, self._flush)

    def enqueue(self, user, payload):
        """Deferred(entry id); errbacks QueueFull if dlv:{user} holds max_queue entries."""
        d = defer.Deferred()
        self.enqueue_then(d, user, payload)
        return d

    def enqueue_then(self, then, user, payload):
        self._batch_call(self._enqueues, user, payload, then)

    def ack(self, user, entry_id):
        d = defer.Deferred()
        self.ack_then(d, user, entry_id)
        return d

    def ack_then(self, then, user, entry_id):
        self._batch_call(self._acks, user, entry_id, then)

    def _batch_call(self, batches, user, arg, then):
        """One call of a user's batch of this turn (enqueue, ack): one command
        per user at the flush."""
        if not self._running:
            then.errback(self._stopped())
            return
        batch = batches.get(user)
        if batch is None:
            batch = batches[user] = _Calls()
        batch.args.append(arg)
        batch.thens.append(then)
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(0, self._flush)

    def claim(self, user, consumer=None, count=100):
        """New entries of dlv:{user} (XREADGROUP ... >), now pending for consumer."""
        return self._read(user, consumer, count, b">")

    def pending(self, user, consumer=None, count=1000):
        """consumer's delivered-but-unacknowledged entries (XREADGROUP ... 0): what a
        restarted process with the same consumer name must deliver again."""
        return self._read(user, consumer, count, b"0")

    def reclaim(self, user, consumer=None, min_idle_ms=60_000, count=100):
        """Take over up to count entries left pending by any consumer for at least
        min_idle_ms (XAUTOCLAIM, following its cursor): a dead process's entries."""
        consumer = consumer or self.instance
        key = keys.queue(user)
        out = []

        def step(cursor):
            d = self._command(b"XAUTOCLAIM", key, keys.GROUP, consumer, int(min_idle_ms),
                              cursor, b"COUNT", count - len(out))
            return d.addCallback(got)

        def got(reply):
            cursor, entries = reply[0], reply[1]
            out.extend(self._deliveries(user, entries))
            if cursor == b"0-0" or len(out) >= count:
                return out
            return step(cursor)

        def nogroup(f):
            f.trap(CommandRefused)
            if not f.value.reply.startswith("NOGROUP"):
                return f
            return out
        return step(b"0-0").addErrback(nogroup)

    # -- sessions across processes (max_binds)

    def open_session(self, user, member, max_binds, ttl, max_receivers=0, scope=""):
        """Deferred(bool): register a bound session of user unless it already has
        max_binds (or, for a receiver-capable member ending in ":rx",
        max_receivers of those; 0 = no such limit) among the sessions whose
        member starts with scope ("": all processes); the entry lives ttl
        seconds unless refreshed."""
        now = time.time()
        d = self._command(b"EVALSHA", scripts.OPEN_SESSION.sha, 1, keys.sessions(user),
                          repr(now), repr(now + ttl), member, int(max_binds),
                          int(max_receivers), scope)
        return d.addCallback(lambda reply: int(reply) == 1)

    def refresh_sessions(self, user, members, ttl):
        """Deferred(int): keep these sessions registered for ttl more seconds; the
        user's number of sessions in all processes."""
        now = time.time()
        d = self._command(b"EVALSHA", scripts.REFRESH_SESSIONS.sha, 1, keys.sessions(user),
                          repr(now), repr(now + ttl), *members)
        return d.addCallback(int)

    def close_session(self, user, member):
        return self._command(b"ZREM", keys.sessions(user), member)

    def subscribe(self, user, callback):
        """callback(user) on each new entry of dlv:{user}, from any process, and once
        each time the subscription takes effect (entries may have come meanwhile).
        One callback per user: a second subscribe replaces it. Deferred fires once
        Redis confirms; on StoreUnavailable the subscription is still kept and made
        when Redis is back."""
        if not self._running:
            return self._not_running()
        return self._notifier.subscribe(keys.channel(user), user, callback)

    def unsubscribe(self, user):
        return self._notifier.unsubscribe(keys.channel(user))

    def deliver_here(self, user, taker):
        """taker: this process delivers user's queue now (None: no longer). Each
        turn's enqueue for user then asks taker.room() how many entries it can
        take at once; if any, the enqueue's own script reads them for
        taker.consumer (as claim would: pending for it) and hands them to
        taker.take([Delivery]) with no notification and no read of its own.
        Other processes still hear of whatever is left unread."""
        if taker is None:
            self._here.pop(user, None)
        else:
            self._here[user] = taker

    # -- metrics (smpprouter/metrics): one flush per scrape or publish

    def exchange_metrics(self, field, snapshot):
        """Deferred({field: snapshot}) of every process's metrics snapshot, ours
        (bytes) written first: HSET and HGETALL go in one flush, in order."""
        self._command(b"HSET", keys.METRICS, field, snapshot).addErrback(lambda _: None)
        return self._command(b"HGETALL", keys.METRICS).addCallback(_hash_pairs)

    def publish_metrics(self, field, snapshot):
        return self._command(b"HSET", keys.METRICS, field, snapshot)

    def read_metrics(self, field):
        """Deferred(bytes or None): what field last published."""
        return self._command(b"HGET", keys.METRICS, field)

    def queue_lengths(self, queues, connectors):
        """Deferred(({queue: entries}, {connector: (queued, priority, scheduled)})):
        XLEN of each delivery queue (a user, or a webhook queue's name) and of
        each connector's streams, ZCARD of its schedule, all in one flush."""
        commands = [self._command(b"XLEN", keys.queue(q)) for q in queues]
        for c in connectors:
            commands.append(self._command(b"XLEN", keys.outbound(c)))
            commands.append(self._command(b"XLEN", keys.outbound(c, True)))
            commands.append(self._command(b"ZCARD", keys.schedule(c)))
        d = defer.gatherResults(commands, consumeErrors=True)

        def split(replies):
            replies = [int(r) for r in replies]
            n = len(queues)
            by_connector = {c: tuple(replies[n + 3 * i:n + 3 * i + 3])
                            for i, c in enumerate(connectors)}
            return dict(zip(queues, replies[:n])), by_connector
        return d.addCallback(split)

    def read_status(self, users, queues, connectors):
        """Deferred(dict) of what `smpprouter status` shows, read in one flush:
        "time" (Redis's, s), "metrics" {field: snapshot}, "sessions" {user:
        [(member, expiry)]}, "queues" {queue: (length, oldest entry id or None)},
        "outbound" {connector: ((length, oldest id) of out, of outp, (ZCARD of
        sched, its earliest due time in ms or None))}, "redis" {INFO memory's
        fields, "keys": DBSIZE}."""
        commands = [self._command(b"TIME"), self._command(b"HGETALL", keys.METRICS),
                    self._command(b"INFO", b"memory"), self._command(b"DBSIZE")]
        for user in users:
            commands.append(self._command(b"ZRANGE", keys.sessions(user), 0, -1, b"WITHSCORES"))
        streams = [keys.queue(q) for q in queues]
        for c in connectors:
            streams += [keys.outbound(c), keys.outbound(c, True)]
        for key in streams:
            commands.append(self._command(b"XLEN", key))
            commands.append(self._command(b"XRANGE", key, b"-", b"+", b"COUNT", 1))
        for c in connectors:
            commands.append(self._command(b"ZCARD", keys.schedule(c)))
            commands.append(self._command(b"ZRANGE", keys.schedule(c), 0, 0, b"WITHSCORES"))
        d = defer.gatherResults(commands, consumeErrors=True)

        def split(replies):
            seconds, micros = replies[0]
            info = _text(replies[2])
            memory = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
            memory["keys"] = int(replies[3])
            out = {"time": int(seconds) + int(micros) / 1e6,
                   "metrics": _hash_pairs(replies[1]), "sessions": {}, "queues": {},
                   "outbound": {}, "redis": memory}
            rest = iter(replies[4:])
            for user in users:
                pairs = next(rest)
                out["sessions"][user] = [(_text(m), float(e))
                                         for m, e in zip(pairs[::2], pairs[1::2])]
            heads = []
            for _ in streams:
                length, first = next(rest), next(rest)
                heads.append((int(length), _text(first[0][0]) if first else None))
            for q, head in zip(queues, heads):
                out["queues"][q] = head
            heads = heads[len(queues):]
            for i, c in enumerate(connectors):
                count, first = next(rest), next(rest)
                out["outbound"][c] = (heads[2 * i], heads[2 * i + 1],
                                      (int(count), float(first[1]) if first else None))
            return out
        return d.addCallback(split)

    # -- queueing

    def _not_running(self):
        return defer.fail(self._stopped())

    @staticmethod
    def _stopped():
        return StoreUnavailable("the store is not started (or stopped)")

    def _schedule(self):
        if self._flush_call is None:
            self._flush_call = self._reactor.callLater(0, self._flush)

    def _command(self, *args):
        """One raw command in the next flush; Deferred(reply)."""
        if not self._running:
            return self._not_running()
        d = defer.Deferred()
        self._commands.append((args, d))
        self._schedule()
        return d

    def _read(self, user, consumer, count, start):
        consumer = consumer or self.instance
        d = self._command(b"EVALSHA", scripts.READ.sha, 1, keys.queue(user),
                          consumer, int(count), start)
        return d.addCallback(self._read_reply, user)

    def _read_reply(self, reply, user):
        if not reply:
            return []
        return self._deliveries(user, reply[0][1])

    def _deliveries(self, user, entries):
        out = []
        gone = []
        for entry_id, fields in entries:
            if fields is None:            # deleted while pending (by hand?)
                gone.append(entry_id)
                continue
            for i in range(0, len(fields) - 1, 2):
                if fields[i] == keys.FIELD:
                    out.append(Delivery(entry_id.decode(), fields[i + 1]))
                    break
            else:
                gone.append(entry_id)
        for entry_id in gone:   # nothing to deliver: don't keep it pending forever
            self.ack(user, entry_id.decode()).addErrback(lambda _: None)
        return out

    def _handed(self, user, entries, payloads):
        """The entries an ENQUEUE handed over: one it added comes as (id, the
        1-based position of its payload in payloads), the payload not echoed."""
        out = []
        for entry in entries:
            at = entry[1]
            if type(at) is int:
                payload = payloads[at - 1]
                if type(payload) is not bytes:   # as Redis would have stored it
                    payload = str(payload).encode()
                out.append(Delivery(entry[0].decode(), payload))
            else:
                out.extend(self._deliveries(user, (entry,)))
        return out

    # -- flushing

    def _flush(self):
        self._flush_call = None
        saves, gets, enqueues = self._saves, self._gets, self._enqueues
        acks, ids, commands = self._acks, self._ids, self._commands
        self._saves, self._gets, self._enqueues = {}, {}, {}
        self._acks, self._ids, self._commands = {}, [], []
        self.flushes += 1
        flight = self._flight_class(self)
        sents = self._sents
        if saves or sents:
            self._sents = {}
            self._flush_saves(flight, saves, sents)
        self._flush_outbound(flight)
        self._flush_credits(flight)
        self._flush_lists(flight)
        size = self.max_batch
        sha = scripts.ENQUEUE.sha
        here = self._here
        for user, batch in enqueues.items():
            taker = here.get(user) if here else None
            room = taker.room() if taker is not None else 0
            head = [b"EVALSHA", sha, 1, keys.queue(user), self.max_queue,
                    self._retention_ms.get(user, self.retention_ms), keys.channel(user)]
            for payloads, thens in batch.chunks(size):
                if room > 0:   # the first chunk's script hands entries to this process
                    args = head + [taker.consumer, room]
                    ctx = (user, taker, payloads)
                    room = 0
                else:
                    args = head + [b"", 0]
                    ctx = (user, None, payloads)
                args += payloads
                flight.send(args, thens, self._enqueued, ctx)
        sha = scripts.ACK.sha
        for user, batch in acks.items():
            head = [b"EVALSHA", sha, 1, keys.queue(user)]
            for entry_ids, thens in batch.chunks(size):
                flight.send(head + entry_ids, thens, _acked)
        now = None
        sha = scripts.GET_MAPPINGS.sha
        for connector, batch in gets.items():
            n = len(batch.keys)
            for start in range(0, n, size):
                if n <= size:   # the usual case: the lists as they are
                    keys_, states, thens, stated = batch.keys, batch.states, batch.thens, \
                        batch.stated
                else:
                    end = start + size
                    keys_, states, thens = (batch.keys[start:end], batch.states[start:end],
                                            batch.thens[start:end])
                    stated = any(states)
                if stated:
                    if now is None:
                        now = repr(self._clock())
                    args = [b"EVALSHA", sha, len(keys_)]
                    args += keys_
                    args += (now, keys.message(connector, ""), keys.record_prefix(connector))
                    args += states
                    if connector in self._timeouts:   # final receipts end their wait
                        args += (timeouts.key(connector), len(batch.prefix))
                    flight.send(args, thens, _got)
                else:
                    flight.send([b"MGET"] + keys_, thens, _got)
        if ids:
            flight.send([b"INCRBY", keys.IDS, len(ids)], ids, _allocated)
        for args, d in commands:
            flight.send(args, ((d,),), _replied)
        flight.launch()

    def _flush_saves(self, flight, saves, sents):
        """The turn's save_mapping and record_sent calls: per connector, one
        SAVE_MAPPINGS, or one SAVE_SENT when it also makes records."""
        size = self.max_batch
        sha = scripts.SAVE_MAPPINGS.sha
        for connector, batch in saves.items():
            given = sents.pop(connector, None) if sents else None
            if batch.own or given:
                self._send_sent(flight, connector, batch, given or ())
                continue
            n = len(batch.keys)
            if n <= size:   # the usual case: the lists as they are, every due by its key
                args = [b"EVALSHA", sha, n]
                args += batch.keys
                args += batch.mapping_args(0, n)
                if batch.dues:
                    args += self._due_args(connector, batch.dues, n)
                flight.send(args, batch.thens, _saved)
                continue
            for start in range(0, n, size):
                end = start + size
                args = [b"EVALSHA", sha, len(batch.keys[start:end])]
                args += batch.keys[start:end]
                args += batch.mapping_args(start, end)
                if start == 0 and batch.dues:
                    args += self._due_args(connector, batch.dues, -1)
                flight.send(args, batch.thens[start:end], _saved)
        for connector, given in sents.items():   # record_sent alone
            self._send_sent(flight, connector, None, given)

    def _send_sent(self, flight, connector, batch, given):
        """SAVE_SENT for a connector: its mappings (batch, or None) with the
        records made from them (batch.own), and the records given (record_sent,
        and those of save_mapping(record=True) the script cannot read off their
        mapping). Chunks of max_batch: the mappings' first, then the given."""
        size = self.max_batch
        sha = scripts.SAVE_SENT.sha
        hour = int(self._clock()) // RECORD_SLACK
        n = len(batch.keys) if batch is not None else 0
        prefix = keys.record_prefix(connector)
        if batch is not None and n + len(given) <= size:   # the usual case: one command
            spans, rest = ((0, n),), ()
        else:
            spans = [(start, min(n, start + size)) for start in range(0, n, size)]
            rest = [given[i:i + size] for i in range(0, len(given), size)]
            given = ()
        for start, end in spans:
            args = [b"EVALSHA", sha, end - start + len(given)]
            args += batch.keys[start:end] if n > size else batch.keys
            args += [item[1] for item in given]
            args += (end - start, hour, RECORD_SLACK)
            args += batch.mapping_args(start, end)
            for _, _, field, user, ttl, _ in given:
                args += (field, user, ttl)
            own = batch.own
            if not own:
                args.append(b"")
            elif len(own) == n and n <= size:   # every mapping of the turn
                args += (prefix, b"*")
            else:
                local = [i - start for i in own if start < i <= end]
                args += (prefix, len(local), *local)
            if start == 0 and batch.dues:
                args += self._due_args(connector, batch.dues, n if n <= size else -1)
            thens = batch.thens[start:end] if n > size else batch.thens
            if given:
                thens = thens + [item[-1] for item in given]
                given = ()
            flight.send(args, thens, _saved)
        for chunk in rest:
            args = [b"EVALSHA", sha, len(chunk)]
            args += [item[1] for item in chunk]
            args += (0, hour, RECORD_SLACK, b"")
            for _, _, field, user, ttl, _ in chunk:
                args += (field, user, ttl)
            args.append(b"")
            flight.send(args, [item[-1] for item in chunk], _saved)

    def _enqueued(self, reply, items, ctx):
        user, taker, payloads = ctx
        ids = reply if taker is None else reply[0]
        for d, entry_id in zip(items, ids):
            if entry_id is None:
                _reject(d, QueueFull(f"the delivery queue of {user!r} already holds "
                                     f"{self.max_queue} entries"))
            else:
                _resolve(d, entry_id.decode())
        if taker is not None and reply[1]:
            # after the enqueuers heard (the upstream is answered first, as when
            # the entry was read after a notification)
            try:
                taker.take(self._handed(user, reply[1], payloads))
            except Exception:   # a bug there: still pending for it, never lost
                log.failure("store: handing over new entries of {user} failed", user=user)


class _Flight:
    """The commands of one flush: writes them on one connection, hands each reply
    to its callers, and fails whatever is unanswered after the store's timeout."""

    __slots__ = ("store", "conn", "batches", "outstanding", "timer", "done")

    def __init__(self, store):
        self.store = store
        self.conn = store._connection()
        self.batches = []
        self.outstanding = 0
        self.timer = None
        self.done = None

    def send(self, args, items, handler, ctx=None):
        self.batches.append(items)
        if self.conn is None:
            return
        self.outstanding += 1
        self.store.commands += 1
        try:
            # no Deferred: the reply comes straight back; written by launch's flush
            self.conn.queue_command(args, self._answered, self._refused,
                                    (args, items, handler, ctx))
        except Exception as e:  # txredisapi.ConnectionError: "Not connected"
            self.outstanding -= 1
            self._fail_items(items, self._unavailable(e))

    def launch(self):
        if self.conn is None:
            if self.batches:
                self.store._impaired = True
                self.store.errors["connection"] += 1
            error = StoreUnavailable(f"no connection to Redis at {self.store.address} "
                                     f"(reconnecting)")
            for items in self.batches:
                self._fail_items(items, error)
            return
        self.conn.flush()   # the batch's commands in one send
        if self.outstanding:
            self.done = defer.Deferred()
            self.store._flights.add(self)
            self.timer = self.store._reactor.callLater(self.store.timeout, self._timed_out)

    def _answered(self, reply, sent):
        self._reply(reply, sent[1], sent[2], sent[3])

    def _refused(self, error, sent):
        self._error(Failure(error), *sent)

    def _reply(self, reply, items, handler, ctx):
        self.store._impaired = False
        try:
            if ctx is None:
                handler(reply, items)
            else:
                handler(reply, items, ctx)
        except Exception as e:
            log.failure("store: handling a Redis reply failed")
            self._fail_items(items, e)
        self._finished()

    def _error(self, failure, args, items, handler, ctx):
        e = failure.value
        if isinstance(e, txredisapi.ResponseError) and args[0] == b"EVALSHA" \
                and str(e).startswith("NOSCRIPT") and self.conn.connected:
            # Redis restarted or SCRIPT FLUSH: EVAL loads the script again
            script = scripts.BY_SHA[args[1]]
            self.send([b"EVAL", script.source] + list(args[2:]), items, handler, ctx)
            self.conn.flush()
        elif isinstance(e, txredisapi.ResponseError) and "READONLY" in str(e):
            # a primary demoted under us (a script's error wraps it): reconnect,
            # through the sentinels if there are any
            self._fail_items(items, self._unavailable(e))
            if self.conn.transport is not None:
                self.conn.transport.loseConnection()
        elif isinstance(e, txredisapi.ResponseError):
            self.store.errors["refused"] += 1
            self._fail_items(items, CommandRefused(args[0], str(e)))
        elif isinstance(e, txredisapi.ConnectionError):
            self._fail_items(items, self._unavailable(e))
        else:
            self._fail_items(items, e)
        self._finished()

    def _finished(self):
        self.outstanding -= 1
        if self.outstanding == 0 and self.done is not None:
            if self.timer.active():
                self.timer.cancel()
            self._land()

    def _land(self):
        self.store._flights.discard(self)
        done, self.done = self.done, None
        if done is not None:
            done.callback(None)

    def _timed_out(self):
        self.store._impaired = True
        self.store.errors["timeout"] += 1
        error = StoreUnavailable(f"no answer from Redis at {self.store.address} "
                                 f"within {self.store.timeout}s")
        for items in self.batches:
            self._fail_items(items, error)
        log.warn("store: {error}; dropping the connection", error=error)
        if self.conn.transport is not None:
            self.conn.transport.abortConnection()
        self._land()

    def _unavailable(self, e):
        self.store._impaired = True
        self.store.errors["connection"] += 1
        return StoreUnavailable(f"lost the connection to Redis at {self.store.address}: {e}")

    @staticmethod
    def _fail_items(items, error):
        for item in items:   # a hot call's Then itself, or a tuple ending in its Deferred
            _reject(item[-1] if type(item) is tuple else item, error)


def _saved(reply, thens):
    for then in thens:
        if then is not None and not then.called:   # batching.resolve, inline
            then.callback(None)


_acked = _saved


def _got(reply, thens):
    for then, raw in zip(thens, reply):
        if then.called:
            continue
        if raw is None:
            then.callback(None)
            continue
        try:
            value = decode_mapping(raw)
        except CorruptValue as e:
            then.errback(e)
        else:
            then.callback(value)


class _Saves:
    """A connector's save_mapping calls of one turn, in the lists its script's
    arguments are made of: at the flush they go in whole, no loop per call."""

    __slots__ = ("prefix", "keys", "values", "thens", "ttl", "ttls", "watch", "dues", "own")

    def __init__(self, prefix, ttl, watch):
        self.prefix = prefix    # map:{c}:
        self.keys, self.values, self.thens = [], [], []
        self.ttl = ttl          # every call's ttl, while ttls is None
        self.ttls = None        # each call's, once one differs
        self.watch = watch      # the connector has a receipt_timeout (timeouts.py)
        # (lists made when needed: a turn of few messages pays for each object)
        self.dues = None        # upstream ids saved with a receipt asked for, if watch
        self.own = None         # 1-based positions of the records SAVE_SENT makes from them

    def mapping_args(self, start, end):
        """The scripts' ARGV for the mappings start..end: one ttl then the
        values, or '' then a ttl and a value each."""
        if self.ttls is None:
            if start == 0 and end >= len(self.values):
                return [self.ttl] + self.values
            return [self.ttl] + self.values[start:end]
        args = [b""]
        for ttl, value in zip(self.ttls[start:end], self.values[start:end]):
            args += (ttl, value)
        return args


class _Gets:
    """A connector's get_mapping calls of one turn, as _Saves."""

    __slots__ = ("prefix", "keys", "states", "thens", "stated")

    def __init__(self, prefix):
        self.prefix = prefix
        self.keys, self.states, self.thens = [], [], []
        self.stated = False     # some call records a state: GET_MAPPINGS, not MGET


class _Calls:
    """A user's enqueue or ack calls of one turn: their arguments and Thens."""

    __slots__ = ("args", "thens")

    def __init__(self):
        self.args, self.thens = [], []

    def chunks(self, size):
        args, thens = self.args, self.thens
        if len(args) <= size:
            yield args, thens
        else:
            for i in range(0, len(args), size):
                yield args[i:i + size], thens[i:i + size]


def _allocated(reply, items):
    first = reply - len(items) + 1
    for i, (d,) in enumerate(items):
        _resolve(d, first + i)


def _replied(reply, items):
    for (d,) in items:
        _resolve(d, reply)


def _text(value):
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _plain_json(text):
    """Whether JSON (codec.encode_mapping's escaper) writes text as it is:
    printable ASCII without a quote or a backslash."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def _hash_pairs(reply):
    return dict(zip(reply[::2], reply[1::2]))


def _disconnected_within(reactor, timeout, ds, factories):
    """Fires when every one of ds has: a connection still open after timeout
    (a Redis that hangs) is aborted, so that stopping is always bounded."""
    def abort():
        for factory in factories:
            for conn in list(factory.pool):
                if conn.transport is not None:
                    conn.transport.abortConnection()
    timer = reactor.callLater(timeout, abort)
    return defer.DeferredList(ds, consumeErrors=True).addBoth(_cancel_timer, timer)


def _start_error(e, where) -> StoreError:
    """What start() raises for e: a store error as it is, anything else
    (a refused connection, a timeout) as StoreUnavailable naming where."""
    if isinstance(e, defer.FirstError):
        e = e.subFailure.value
    if isinstance(e, StoreError):
        return e
    error = StoreUnavailable(f"cannot use {where}: {e}")
    error.__cause__ = e
    return error


def _cancel_timer(result, timer):
    if timer.active():
        timer.cancel()
    return result
