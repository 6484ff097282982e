"""RedisStore on a Redis Cluster: each command goes to the primary serving its
key's hash slot, over one txredisapi connection per primary.

Why this and not redis-py's asyncio cluster client under Twisted's asyncio
reactor: measured on the store's batched workload (DESIGN.md, "Scaling
Redis"), this costs what the single-Redis store costs, and needs nothing of
the rest of the code; the asyncio reactor would have to be installed first in
every process, test run and tool.

It works because every batch already touches one hash tag (keys.py): a
connector's or a user's keys live in one slot, so a command's first key names
its node. What is routed and how:

- start: CLUSTER SLOTS from the first seed node that answers gives the map of
  the 16384 slots to their primaries; one connection per primary, connected,
  version-checked and loaded with the scripts as RedisStore does with its one.
- a command goes to the node of its first key's slot; keyless ones (PING,
  TIME, INFO, DBSIZE) to the first primary. Commands for one slot share one
  connection, so they reach Redis in the order they were asked for, as on a
  single Redis (a redirected command may pass later ones; the receipt path
  looks a mapping up again, receipt_wait, for that kind of race anyway).
- MOVED <slot> <host:port>: that node owns the slot from now on (connected to
  at once if new), the command is sent there, and the whole map is read again
  (at most once a second): a resharding or a failover moved more than this.
- ASK <slot> <host:port>: the slot is being moved; ASKING and the command, on
  that node, for this command only.
- TRYAGAIN (a multi-key command while its slot is half moved), CLUSTERDOWN,
  and a script's "non local key" (a key it builds from ARGV has moved while
  the ones it declares have not): sent again every 50 ms until the store's
  timeout, which then fails the callers with StoreUnavailable as on a single
  Redis. A script stopped that way may have done its first writes: ours set
  values, states and expiries (the same again is harmless); see DESIGN.md.
- a primary without a connection: its commands fail at once (StoreUnavailable)
  and the map is read again from any node we reach (at most once a second),
  so the replica a failover promotes takes its slots over.
- pub/sub: a PUBLISH on a cluster reaches the subscribers of every node, so
  the one subscriber connection stays on one node (the first primary; on
  another primary, with every channel subscribed again, once a map read says
  that node is no longer one). Redis
  7's SPUBLISH would keep notifications inside a shard at the cost of one
  subscriber connection per primary, and the bundled Redis (6.2) has none.

`available` is true while every primary has its connection (and no batch
failed since the last answered one): a message whose record would land on a
node that is away is refused before it is sent, as on a single Redis.
"""

from binascii import crc_hqx

import txredisapi
from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint
from twisted.logger import Logger

from . import scripts
from .errors import CommandRefused, StoreError, StoreUnavailable
from .notify import _SubscriberFactory
from .redis import RedisStore, _DataFactory, _disconnected_within, _Flight, _start_error

log = Logger()

SLOTS = 16384
RETRY_DELAY = 0.05     # s between tries of a command Redis asked to try again
REFRESH_EVERY = 1.0    # s: at most one CLUSTER SLOTS per this, however many MOVED
MAX_REDIRECTS = 5      # MOVED/ASK followed per command before it fails
_KEYLESS = frozenset((b"PING", b"TIME", b"INFO", b"DBSIZE", b"SCRIPT", b"CLUSTER"))
_NOT_NOW = ("TRYAGAIN", "CLUSTERDOWN")


def slot_of(key) -> int:
    """Redis Cluster's HASH_SLOT: CRC16 (XMODEM, which binascii.crc_hqx is) of
    the key's {tag} if it has a non-empty one, else of the key, mod 16384."""
    if type(key) is str:
        key = key.encode("utf-8", "surrogatepass")
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc_hqx(key, 0) & (SLOTS - 1)


def command_key(args):
    """The key that routes a command (its first), or None for a keyless one."""
    name = args[0]
    if name == b"EVALSHA" or name == b"EVAL":
        return args[3] if int(args[2]) else None
    if name in _KEYLESS:
        return None
    return args[1]


def _address(host, port):
    return "%s:%d" % (host, port)


def _live(factory):
    if factory is not None:
        for conn in factory.pool:
            if conn.connected:
                return conn
    return None


def _again(message):
    """Whether Redis refused for now, not for good (see the module docstring)."""
    return message.startswith(_NOT_NOW) or (
        message.startswith("ERR Error running script") and "non local key" in message)


class ClusterStore(RedisStore):
    """The store on the Redis Cluster whose seed nodes are given as (host, port)."""

    def __init__(self, nodes, password=None, *, username=None, **kwargs):
        if not nodes:
            raise ValueError("a cluster store needs at least one seed node")
        self.seeds = [(host, int(port)) for host, port in nodes]
        super().__init__(self.seeds[0][0], self.seeds[0][1], 0, password,
                         username=username, **kwargs)
        self.address = "cluster " + ",".join(_address(h, p) for h, p in self.seeds)
        self._notifier._address = self.address
        self._flight_class = _ClusterFlight
        self._nodes = {}            # "host:port" -> its data factory
        self._slots = [None] * SLOTS   # slot -> "host:port" of its primary
        self._primaries = ()        # the addresses that own slots
        self._first = None          # where keyless commands go
        self._subscribed_to = None  # the node of the subscriber connection
        self._refreshing = False
        self._refreshed = 0.0
        #: MOVED and ASK redirections followed, commands tried again: for tests
        self.redirects = {"moved": 0, "ask": 0, "again": 0}

    # -- lifecycle

    @defer.inlineCallbacks
    def start(self):
        if self._factory is not None:
            raise StoreError("RedisStore.start() called twice")
        try:
            reply = yield self._discover()
            self._apply_slots(reply)
            self._factory = self._nodes[self._first]
            sub = self._subscriber_to(self._first)
            ready = [self._ready(f) for f in self._nodes.values() if _live(f) is None]
            ready.append(self._ready(sub))
            yield defer.gatherResults(ready, consumeErrors=True)
            for address in self._primaries:
                yield self._prepare(_live(self._nodes[address]))
        except Exception as e:
            yield self._disconnect()
            self._factory = None
            self._nodes = {}
            raise _start_error(e, f"the Redis Cluster at {self.address}")
        self._running = True
        log.info("store connected to the Redis Cluster at {address} ({n} primaries) as "
                 "{instance}", address=self.address, n=len(self._primaries),
                 instance=self.instance)

    @defer.inlineCallbacks
    def _discover(self):
        """CLUSTER SLOTS from the first seed that answers; its connection is kept
        (as that node's) if the node is a primary."""
        errors = []
        for host, port in self.seeds:
            factory = self._connect_node(_DataFactory, host, port)
            try:
                yield self._ready(factory)
                reply = yield _live(factory).execute_command(b"CLUSTER", b"SLOTS")
            except Exception as e:
                errors.append(f"{_address(host, port)}: {e}")
                yield factory.disconnect()
                continue
            self._nodes[_address(host, port)] = factory
            return reply
        raise StoreUnavailable("no seed node answered CLUSTER SLOTS (" + "; ".join(errors) + ")")

    def _connect_node(self, factory_class, host, port):
        """One reconnecting connection to a node, set up as RedisStore's."""
        factory = factory_class(_address(host, port), None, 1, isLazy=True, charset=None,
                                password=self._password, convertNumbers=False,
                                username=self._username)
        factory.reconnect = True
        factory.initialDelay = 0.1
        factory.maxDelay = self._reconnect_max_delay
        factory.startConnecting(HostnameEndpoint(self._reactor, host, port,
                                                 timeout=self.timeout))
        return factory

    def _apply_slots(self, reply):
        """The slot map from a CLUSTER SLOTS reply; connects to new primaries."""
        slots = [None] * SLOTS
        primaries = []
        for entry in reply:
            start, end, primary = int(entry[0]), int(entry[1]), entry[2]
            host = primary[0].decode() if isinstance(primary[0], bytes) else primary[0]
            address = _address(host or self.seeds[0][0], int(primary[1]))
            if address not in primaries:
                primaries.append(address)
            slots[start:end + 1] = [address] * (end - start + 1)
            if address not in self._nodes:
                self._nodes[address] = self._connect_node(_DataFactory, host, int(primary[1]))
        if not primaries:
            raise StoreError(f"the Redis Cluster at {self.address} serves no slots yet")
        self._slots = slots
        self._primaries = tuple(primaries)
        if self._first not in primaries:
            self._first = primaries[0]
        if self._notifier.factory is not None and self._subscribed_to not in primaries:
            # its node failed over (or left): subscribe everything again elsewhere
            log.info("store: notifications move from {old} to {new}",
                     old=self._subscribed_to, new=self._first)
            old = self._notifier.factory
            self._subscriber_to(self._first)
            old.disconnect()

    def _subscriber_to(self, address):
        host, port = address.rsplit(":", 1)
        factory = self._connect_node(_SubscriberFactory, host, int(port))
        self._notifier.attach(factory)
        self._subscribed_to = address
        return factory

    def _disconnect(self):
        factories = list(self._nodes.values())
        if self._notifier.factory is not None:
            factories.append(self._notifier.factory)
        ds = [self._notifier.stop()] + [f.disconnect() for f in self._nodes.values()]
        return _disconnected_within(self._reactor, self.timeout, ds, factories)

    # -- routing

    @property
    def available(self) -> bool:
        """RedisStore's, over every primary (see the module docstring)."""
        up = self._running and self._all_up()
        if not self._impaired:
            return up
        if up and not self._probing:
            self._probing = True
            self._command(b"PING").addBoth(self._probed)
        return False

    def _all_up(self):
        nodes = self._nodes
        for address in self._primaries:
            if _live(nodes.get(address)) is None:
                return False
        return True

    def _connection(self):
        return _live(self._nodes.get(self._first))

    def connection_for(self, args):
        """The connection of the primary serving the command's slot, or None."""
        key = command_key(args)
        address = self._first if key is None else self._slots[slot_of(key)]
        return _live(self._nodes.get(address))

    def node(self, address):
        """The data connection to a node (connecting if new), or None for now."""
        factory = self._nodes.get(address)
        if factory is None:
            host, port = address.rsplit(":", 1)
            factory = self._nodes[address] = self._connect_node(_DataFactory, host, int(port))
        return _live(factory)

    def moved(self, slot, address):
        """Redis said MOVED: the slot is address's now, and more may have moved."""
        self.redirects["moved"] += 1
        self._slots[slot] = address
        if address not in self._primaries:
            self._primaries += (address,)
        self.node(address)
        self._refresh()

    def _refresh(self):
        now = self._reactor.seconds()
        if self._refreshing or now - self._refreshed < REFRESH_EVERY:
            return
        conn = self._connection()
        if conn is None:   # the first primary is away: ask any node we reach
            conn = next(filter(None, map(_live, self._nodes.values())), None)
            if conn is None:
                return
        self._refreshing, self._refreshed = True, now

        def done(result):
            self._refreshing = False
            if isinstance(result, list):
                try:
                    self._apply_slots(result)
                except StoreError as e:
                    log.warn("store: {error}", error=e)
            else:
                log.warn("store: CLUSTER SLOTS failed: {error}", error=result.value)
        conn.execute_command(b"CLUSTER", b"SLOTS").addBoth(done)



class _ClusterFlight(_Flight):
    """_Flight over several connections: each command on its slot's node,
    redirections followed, refusals-for-now tried again (module docstring)."""

    __slots__ = ("waiting", "expired", "retries")

    def __init__(self, store):
        self.store = store
        self.conn = None
        self.batches = []
        self.outstanding = 0
        self.timer = None
        self.done = None
        self.waiting = {}      # connection -> commands it has not answered yet
        self.expired = False
        self.retries = []      # the DelayedCalls of commands to try again

    def send(self, args, items, handler, ctx=None):
        self.batches.append(items)
        self._send(args, items, handler, ctx, self.store.connection_for(args), False, 0)

    def _send(self, args, items, handler, ctx, conn, asking, tries):
        store = self.store
        if conn is None:
            store._impaired = True
            store.errors["connection"] += 1
            store._refresh()   # a failover may have given its slots to another node
            self._fail_items(items, StoreUnavailable(
                f"no connection to the node of {command_key(args)!r} in the Redis Cluster "
                f"at {store.address} (reconnecting)"))
            return
        self.outstanding += 1
        store.commands += 1
        try:
            if asking:
                conn.execute_command(b"ASKING").addErrback(lambda _: None)
            d = conn.execute_command(*args)
        except Exception as e:  # txredisapi.ConnectionError: "Not connected"
            self.outstanding -= 1
            self._fail_items(items, self._unavailable(e))
            return
        self.waiting[conn] = self.waiting.get(conn, 0) + 1
        d.addCallbacks(self._answered, self._error, (conn, items, handler, ctx), None,
                       (conn, args, items, handler, ctx, tries))

    def launch(self):
        if self.outstanding:
            self.done = defer.Deferred()
            self.store._flights.add(self)
            self.timer = self.store._reactor.callLater(self.store.timeout, self._timed_out)

    def _answered(self, reply, conn, items, handler, ctx):
        self.waiting[conn] -= 1
        self._reply(reply, items, handler, ctx)

    def _error(self, failure, conn, args, items, handler, ctx, tries):
        self.waiting[conn] -= 1
        e = failure.value
        store = self.store
        if isinstance(e, txredisapi.ResponseError):
            message = str(e)
            if message.startswith(("MOVED ", "ASK ")) and tries < MAX_REDIRECTS:
                kind, slot, address = message.split(" ", 2)
                if kind == "MOVED":
                    store.moved(int(slot), address)
                else:
                    store.redirects["ask"] += 1
                self._later(args, items, handler, ctx, address, kind == "ASK", tries + 1,
                            store.node(address) is None)
            elif _again(message) and not self.expired:
                store.redirects["again"] += 1
                # from the top (the slot's owner, then where it sends us), later
                self._later(args, items, handler, ctx, None, False, 0, True)
            elif args[0] == b"EVALSHA" and message.startswith("NOSCRIPT"):
                # a node restarted, or one new to us: EVAL loads the script there
                script = scripts.BY_SHA[args[1]]
                self._send([b"EVAL", script.source] + list(args[2:]), items, handler, ctx,
                           conn if conn.connected else None, False, tries)
            else:
                store.errors["refused"] += 1
                self._fail_items(items, CommandRefused(args[0], message))
        elif isinstance(e, txredisapi.ConnectionError):
            self._fail_items(items, self._unavailable(e))
        else:
            self._fail_items(items, e)
        self._finished()

    def _later(self, args, items, handler, ctx, address, asking, tries, wait):
        """Send again at once, or after RETRY_DELAY (wait) while the flight lasts."""
        if not wait:
            self._resend(args, items, handler, ctx, address, asking, tries, False)
            return
        self.outstanding += 1
        retries = self.retries
        if len(retries) > 16:
            retries[:] = [c for c in retries if c.active()]
        retries.append(self.store._reactor.callLater(
            RETRY_DELAY, self._resend, args, items, handler, ctx, address, asking, tries, True))

    def _resend(self, args, items, handler, ctx, address, asking, tries, held):
        if held:
            self.outstanding -= 1
        if self.expired:
            return
        store = self.store
        conn = store.node(address) if address else store.connection_for(args)
        if conn is None and address:
            # a node new to us (a MOVED or ASK to it): wait for its connection
            self._later(args, items, handler, ctx, address, asking, tries, True)
            return
        self._send(args, items, handler, ctx, conn, asking, tries)
        if held:
            self._finished_if_idle()

    def _finished_if_idle(self):
        if self.outstanding == 0 and self.done is not None:
            if self.timer.active():
                self.timer.cancel()
            self._land()

    def _timed_out(self):
        self.expired = True
        store = self.store
        store._impaired = True
        store.errors["timeout"] += 1
        error = StoreUnavailable(f"no answer from the Redis Cluster at {store.address} "
                                 f"within {store.timeout}s")
        for items in self.batches:
            self._fail_items(items, error)
        log.warn("store: {error}; dropping the connections that did not answer", error=error)
        for conn, n in self.waiting.items():
            if n and conn.transport is not None:
                conn.transport.abortConnection()
        for call in self.retries:
            if call.active():
                call.cancel()
        self._land()


__all__ = ["ClusterStore", "command_key", "slot_of"]
