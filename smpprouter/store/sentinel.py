"""The store's connections through Redis Sentinel: always to the current primary.

txredisapi's Sentinel does the finding: its endpoint asks the sentinels for
the primary's address before every connection attempt and drops the factory's
connections when that address changes. What it lacks for the store, and this
module adds:

- its role check (SentinelRedisProtocol) compares ROLE's reply with a str,
  which never matches under charset=None (the store wants bytes), and it is a
  protocol of its own: here the same check is a mixin put in front of the
  store's own protocols (FastProtocol for commands, the notifier's subscriber),
  so both connections land on the primary only. A node that answers ROLE as a
  replica is dropped, and the slot asks again.
- it only asks on a reconnect, and after SENTINEL FAILOVER (or a partition)
  the old primary stays up and a primary until the sentinels convert it,
  seconds after the switch: every write the store makes there meanwhile is
  lost when it resyncs from the new one. So each sentinel's failover events
  are watched (one subscriber per sentinel): at `+selected-slave` (a failover
  starts, before the promotion) the store drops its connections and finds no
  primary until `+switch-master` (or an abort), then connects to the new one.
- its discovery takes the first sentinel's answer; a sentinel that has not
  heard of the switch yet names the old primary, which still says "master".
  Here every connected sentinel is asked and the answer of the highest config
  epoch wins (once all answered, or after `timeout` with what came), so a
  reconnect lands on the newest primary any sentinel knows; none is taken
  while a sentinel flags a failover in progress.

A write a demoted node refuses (READONLY) drops the connection (redis.py), so
the next attempt asks the sentinels again. There is no blocking reader in the
store, so its two connections (commands, notifications) are all of it.
"""

import txredisapi
from twisted.internet import defer, reactor
from twisted.logger import Logger

log = Logger()


class _PrimaryOnly:
    """Protocol mixin: ROLE before anything else; a replica is dropped."""

    def connectionMade(self):
        if self.password is not None:   # ROLE needs it; a wrong one is reported below
            self.auth(self.password, self.username).addErrback(lambda _: None)
        d = self.execute_command(b"ROLE")
        d.addCallbacks(self._role, self._no_role)
        return d

    def _role(self, role):
        if not role or role[0] not in (b"master", "master"):
            log.info("store: {peer} is not the primary ({role}); asking the sentinels again",
                     peer=self.transport.getPeer(), role=role and role[0])
            self.transport.loseConnection()
            return None
        return super().connectionMade()

    def _no_role(self, failure):
        # AUTH refused (the base reports it and stops trying) or ROLE unknown
        return super().connectionMade()


_CLASSES = {}


def primary_factory(base):
    """A subclass of the RedisFactory class `base` whose protocol checks the role
    and whose connections follow the sentinels' primary."""
    cls = _CLASSES.get(base)
    if cls is None:
        protocol = type("Primary" + base.protocol.__name__, (_PrimaryOnly, base.protocol), {})
        cls = _CLASSES[base] = type("Sentinel" + base.__name__, (base,), {"protocol": protocol})
    return cls


class _Manager(txredisapi.Sentinel):
    """discover_master by the highest config epoch among all the sentinels' answers;
    none while a failover is under way."""

    moving = False   # set by Sentinels between a failover's start and its end

    def check_master_state(self, state):
        return (super().check_master_state(state)
                and "failover_in_progress" not in state["flags"].split(","))

    def discover_master(self, service_name):
        if self.moving:
            return defer.fail(txredisapi.MasterNotFoundError(
                "a failover of %s is under way" % service_name))
        result = defer.Deferred()
        best = []          # [(epoch, (ip, port))]
        answered = [0]

        def settle():
            if result.called:
                return
            if best:
                result.callback(max(best)[1])
            else:
                result.errback(txredisapi.MasterNotFoundError(
                    "no sentinel names a primary for %s" % service_name))

        def on_response(response):
            state = response.get(service_name)
            if state and self.check_master_state(state):
                best.append((int(state.get("config-epoch", 0)),
                             (state["ip"], int(state["port"]))))
            done()

        # a sentinel that is down would hold every discovery for the whole
        # timeout (its commands wait for a connection): ask the connected ones
        asked = [s for s in self.sentinels if s._factory.size] or self.sentinels

        def done(_=None):
            answered[0] += 1
            if answered[0] == len(asked):
                settle()

        timer = reactor.callLater(self.discovery_timeout, settle)
        result.addBoth(_cancel, timer)
        for sentinel in asked:
            sentinel.sentinel_masters().addCallbacks(on_response, done)
        return result


def _cancel(result, timer):
    if timer.active():
        timer.cancel()
    return result


# A failover's events (published by the sentinel that leads it), in order
SELECTED = "+selected-slave"   # "slave <ip:port> <ip> <port> @ <master> <ip> <port>"
SWITCHED = "+switch-master"    # "<master> <old ip> <old port> <new ip> <new port>"
ABORTED = ("-failover-abort-not-elected", "-failover-abort-no-good-slave",
           "-failover-abort-slave-timeout", "+failover-end-for-timeout")
MOVING_MAX = 30.0   # seconds without a switch or abort after which we ask again anyway


class _SwitchProtocol(txredisapi.SubscriberProtocol):
    def connectionMade(self):
        d = super().connectionMade()
        return d.addCallback(lambda _: self.subscribe([SELECTED, SWITCHED, *ABORTED]))

    def messageReceived(self, pattern, channel, message):
        self.factory.event(channel, message)


class _SwitchFactory(txredisapi.SubscriberFactory):
    protocol = _SwitchProtocol

    def __init__(self, password, event):
        super().__init__(isLazy=True)
        self.password = password
        self.event = event


class Sentinels:
    """Where the primary of `master` is, from the sentinels at `addresses`
    [(host, port)]; `password` is the sentinels' own (data nodes use the store's)."""

    def __init__(self, addresses, master, password=None, timeout=5.0, reconnect_max_delay=0.5):
        self.addresses = list(addresses)
        self.master = master
        self.manager = _Manager(self.addresses, password=password, connectTimeout=timeout)
        self.manager.discovery_timeout = timeout
        self._password = password
        self._timeout = timeout
        self._max_delay = reconnect_max_delay
        self._factories = []
        self._watchers = []
        self.switches = 0   # +switch-master seen for our master, for tests
        self._moving_timer = None
        self.address = "%s via sentinels %s" % (
            master, ",".join("%s:%d" % a for a in self.addresses))

    def connect(self, factory_class, dbid, **kwargs):
        """A factory of primary_factory(factory_class) (kwargs: RedisFactory's), to be
        started on endpoint(factory)."""
        if not self._watchers:
            self._watch()
        factory = primary_factory(factory_class)(self.address, dbid, 1, **kwargs)
        factory.sentinel_manager = self.manager
        factory.service_name = self.master
        factory.is_master = True
        self._factories.append(factory)
        return factory

    def endpoint(self, factory):
        return txredisapi._SentinelEndpoint(factory)

    def _watch(self):
        for host, port in self.addresses:
            factory = _SwitchFactory(self._password, self._event)
            factory.maxDelay = self._max_delay
            factory.startConnecting(txredisapi._makeEndpoint(host, port, self._timeout))
            self._watchers.append(factory)

    def _event(self, channel, message):
        """From the start of a failover (a replica selected) until its end, the
        store has no connection and asks for none: the old primary still takes
        writes, and loses them at the switch."""
        if channel == SELECTED:
            _, _, master = message.partition(" @ ")
            if master.split(" ")[0] != self.master:
                return
            log.info("store: failover of {master} under way ({event}); writes wait for "
                     "the new primary", master=self.master, event=message)
            self._moving(True)
            self._drop()
            return
        name, _, rest = message.partition(" ")
        if channel == SWITCHED and name == self.master:
            self.switches += 1
            log.info("store: the sentinels moved {master} ({move}); reconnecting",
                     master=name, move=rest)
            self._moving(False)
            self._drop()
        elif channel in ABORTED and f" {self.master} " in f" {message} ":   # "master <name> ..."
            log.info("store: failover of {master} ended without a switch ({event})",
                     master=self.master, event=channel)
            self._moving(False)

    def _moving(self, moving):
        self.manager.moving = moving
        if self._moving_timer is not None and self._moving_timer.active():
            self._moving_timer.cancel()
        self._moving_timer = None
        if moving:
            self._moving_timer = reactor.callLater(MOVING_MAX, self._moving, False)

    def _drop(self):
        for factory in self._factories:
            for conn in list(factory.pool):
                if conn.transport is not None:
                    conn.transport.loseConnection()

    def stop(self):
        self._moving(False)
        factories = self._watchers
        self._watchers = []
        return defer.gatherResults([self.manager.disconnect()]
                                   + [f.disconnect() for f in factories],
                                   consumeErrors=True)


def store_options(redis):
    """RedisStore's keyword arguments for a config.RedisConfig's sentinels and
    WAIT (none of them when it has neither)."""
    options = {}
    if redis.sentinels:
        options["sentinels"] = Sentinels(redis.sentinels, redis.master, redis.sentinel_password)
    if redis.wait_replicas:
        options.update(wait_replicas=redis.wait_replicas, wait_timeout=redis.wait_timeout)
    return options
