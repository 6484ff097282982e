"""New-entry notifications over Redis pub/sub: one subscriber connection per process.

Why pub/sub and not a blocking XREADGROUP per user: a process holds sessions
of many users; one connection subscribed to a channel per user (dlvn:{user})
wakes the right sessions without a blocked connection per user (and likewise
one channel per connector, outn:{connector}, for its outbound streams). A
message only says "look at dlv:{user}": the entries themselves stay in the stream, so a lost
notification delays a delivery, never loses it. That is also why the callback
is called once more each time a subscription takes effect (first SUBSCRIBE and
after every reconnect): entries may have arrived while nobody listened.
"""

import txredisapi
from twisted.internet import defer
from twisted.logger import Logger

from .errors import StoreUnavailable
from .protocol import FastProtocol

log = Logger()


def resp(*args: bytes) -> bytes:
    """One command in the Redis protocol, for commands whose replies are pushed."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _SubscriberProtocol(FastProtocol):
    """Pub/sub replies are pushed, not answers to a queued command: route them to
    the notifier. Anything else (AUTH's +OK) goes through txredisapi's queue."""

    def replyReceived(self, reply):
        if type(reply) is list and len(reply) == 3:
            kind = reply[0]
            if kind == b"message":
                self.factory.notifier.message(reply[1])
                return
            if kind == b"subscribe":
                self.factory.notifier.confirmed(reply[1])
                return
            if kind == b"unsubscribe":
                return
        super().replyReceived(reply)


class _SubscriberFactory(txredisapi.RedisFactory):
    protocol = _SubscriberProtocol
    notifier = None

    def addConnection(self, conn):
        super().addConnection(conn)
        if conn in self.pool:
            self.notifier.connected(conn)

    def delConnection(self, conn):
        super().delConnection(conn)
        self.notifier.disconnected()


class Notifier:
    """channel -> callback(name), fed by one subscriber connection that
    resubscribes by itself after a reconnect. The store names what a channel
    announces (a user for dlvn:{user}, a connector for outn:{connector}); the
    notifier only knows channels and the name to call back with."""

    def __init__(self, reactor, timeout, address):
        self._reactor = reactor
        self._timeout = timeout
        self._address = address
        self._subscribed = {}  # channel -> (name, callback)
        self._waiting = {}     # channel -> [Deferred] until SUBSCRIBE is confirmed
        self._conn = None
        self.factory = None

    def attach(self, factory):
        factory.notifier = self
        self.factory = factory

    # -- the store's API

    def subscribe(self, channel, name, callback):
        """callback(name) on each message on channel and each time the
        subscription takes effect; a second subscribe replaces the callback."""
        known = channel in self._subscribed
        self._subscribed[channel] = (name, callback)
        if self._conn is None:
            return defer.fail(StoreUnavailable(
                f"no subscriber connection to Redis at {self._address}; "
                f"{name!r} will be subscribed when it is back"))
        if known and channel not in self._waiting:
            return defer.succeed(None)
        d = defer.Deferred()
        self._waiting.setdefault(channel, []).append(d)
        if not known:
            self._conn.transport.write(resp(b"SUBSCRIBE", channel))
        timer = self._reactor.callLater(self._timeout, self._timed_out, channel, d)
        d.addBoth(self._cancel, timer)
        return d

    def unsubscribe(self, channel):
        if self._subscribed.pop(channel, None) is not None and self._conn is not None:
            self._conn.transport.write(resp(b"UNSUBSCRIBE", channel))
        return defer.succeed(None)

    def stop(self):
        self._subscribed.clear()
        return self.factory.disconnect() if self.factory is not None else defer.succeed(None)

    # -- from the connection

    def connected(self, conn):
        self._conn = conn
        if self._subscribed:
            conn.transport.write(resp(b"SUBSCRIBE", *self._subscribed))

    def disconnected(self):
        if self._conn is not None and self._conn not in self.factory.pool:
            self._conn = None
            waiting, self._waiting = self._waiting, {}
            for ds in waiting.values():
                for d in ds:
                    if not d.called:
                        d.errback(StoreUnavailable(
                            f"lost the subscriber connection to Redis at {self._address}"))

    def confirmed(self, channel):
        for d in self._waiting.pop(channel, ()):
            if not d.called:
                d.callback(None)
        self.message(channel)

    def message(self, channel):
        subscribed = self._subscribed.get(channel)
        if subscribed is None:
            return
        name, callback = subscribed
        try:
            callback(name)
        except Exception:
            log.failure("notification callback for {name!r} ({channel!r}) failed",
                        name=name, channel=channel)

    # --

    def _timed_out(self, channel, d):
        waiting = self._waiting.get(channel)
        if waiting is not None and d in waiting:
            waiting.remove(d)
            if not waiting:
                del self._waiting[channel]
        if not d.called:
            d.errback(StoreUnavailable(
                f"Redis at {self._address} did not confirm SUBSCRIBE {channel!r} "
                f"within {self._timeout}s"))
            if self._conn is not None:
                # a hung server: reconnecting resubscribes every channel
                self._conn.transport.abortConnection()

    @staticmethod
    def _cancel(result, timer):
        if timer.active():
            timer.cancel()
        return result
