"""A local webhook receiver for tests and the bench: twisted.web on loopback.

It records every request (path, headers, body) and answers `status` (200 by
default; a test sets 503 or 400, or a function of the request). It can stop
listening and cut every open connection (so the router sees refused
connections, kept connections included) and listen again on the same port.
Tests wait on it with `wait(predicate)`, which fires when a request makes the
predicate true: no polling.

    sink = WebhookSink(); sink.listen()
    url = sink.url("/dlr")
    await sink.wait(lambda s: len(s.requests) >= 10)
    sink.refuse(); ...; sink.listen()      # down, then back on the same port

Run alone (the bench): python -m bench.sink --port 8099 [--ids FILE] prints a
`stats json: {...}` line every --interval seconds (requests, distinct event
ids, duplicates, distinct transids) and, on SIGTERM, writes the transids it
saw to FILE so the bench can match them with the ids the router answered.
"""

import argparse
import collections
import json
import time

from twisted.internet import defer
from twisted.web import resource, server

EVENT = b"x-smpprouter-event-id"


class Recorded:
    __slots__ = ("path", "headers", "body", "at", "status")

    def __init__(self, path, headers, body, at):
        self.status = None       # what the sink answered (None while held)
        self.path = path
        self.headers = headers   # lower-cased bytes name -> bytes value (the last one)
        self.body = body
        self.at = at

    @property
    def event(self):
        return self.headers.get(EVENT, b"").decode()

    def json(self):
        return json.loads(self.body)


class _Receiver(resource.Resource):
    isLeaf = True

    def __init__(self, sink):
        super().__init__()
        self.sink = sink

    def render_POST(self, request):
        return self.sink._received(request)

    render_GET = render_POST


class _Site(server.Site):
    def __init__(self, sink):
        super().__init__(_Receiver(sink))
        self.sink = sink
        self.noisy = False

    def buildProtocol(self, addr):
        proto = super().buildProtocol(addr)
        self.sink.accepted += 1
        self.sink.connections.add(proto)
        lost = proto.connectionLost

        def connectionLost(reason):
            self.sink.connections.discard(proto)
            return lost(reason)
        proto.connectionLost = connectionLost
        return proto

    def log(self, request):   # no access log
        pass


class WebhookSink:
    def __init__(self, reactor=None, status=200, interface="127.0.0.1", tls=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.interface = interface
        self.tls = tls            # server TLS options: https
        self.hold = False         # True: requests wait unanswered until answer_held()
        self.held = []
        self.accepted = 0         # connections accepted
        self.status = status      # an int, or a function(Recorded) -> int
        self.requests = []
        self.answered = collections.Counter()   # status -> count
        self.connections = set()
        self.site = _Site(self)
        self.port = None
        self.port_number = 0
        self._waiters = []        # (predicate, Deferred)

    def listen(self, port=None):
        """Listen (again) on port, by default the one listened on before."""
        if self.port is None:
            number = self.port_number if port is None else port
            if self.tls is None:
                self.port = self.reactor.listenTCP(number, self.site, interface=self.interface)
            else:
                self.port = self.reactor.listenSSL(number, self.site, self.tls,
                                                   interface=self.interface)
            self.port_number = self.port.getHost().port
        return self.port_number

    def url(self, path="/"):
        return "%s://%s:%d%s" % ("http" if self.tls is None else "https", self.interface,
                                 self.port_number, path)

    def refuse(self):
        """Stop listening and cut every connection: the port refuses until listen()."""
        port, self.port = self.port, None
        for proto in list(self.connections):
            # twisted.web's protocol is a proxy for its HTTP/1.1 or HTTP/2 channel
            transport = getattr(proto, "_channel", proto).transport
            if transport is not None:
                transport.abortConnection()
        return defer.maybeDeferred(port.stopListening) if port is not None \
            else defer.succeed(None)

    close = refuse

    def wait(self, predicate, timeout=30.0):
        """Deferred firing once predicate(self) is true (checked at each request)."""
        if predicate(self):
            return defer.succeed(self)
        d = defer.Deferred()
        self._waiters.append((predicate, d))
        return d.addTimeout(timeout, self.reactor)

    def events(self, path=None):
        """The event ids received, in arrival order (duplicates included)."""
        return [r.event for r in self.requests if path is None or r.path == path]

    def _received(self, request):
        headers = {name.lower(): values[-1]
                   for name, values in request.requestHeaders.getAllRawHeaders()}
        recorded = Recorded(request.path.decode(), headers, request.content.read(),
                            time.time())
        self.requests.append(recorded)
        if self.hold:
            self.held.append((request, recorded))
            self.reactor.callLater(0, self._check)
            return server.NOT_DONE_YET
        return self._answer(request, recorded)

    def answer_held(self):
        """Answer the held requests (and stop holding)."""
        self.hold = False
        held, self.held = self.held, []
        for request, recorded in held:
            if not request.finished and not request._disconnected:
                request.write(self._answer(request, recorded))
                request.finish()

    def _answer(self, request, recorded):
        status = self.status(recorded) if callable(self.status) else self.status
        recorded.status = status
        self.answered[status] += 1
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        self.reactor.callLater(0, self._check)   # after the answer is written
        return b'{"ok":%s}' % (b"true" if 200 <= status < 300 else b"false")

    def _check(self):
        waiting, self._waiters = self._waiters, []
        for predicate, d in waiting:
            if d.called:
                continue
            if predicate(self):
                d.callback(self)
            else:
                self._waiters.append((predicate, d))


def transid(recorded):
    """The message id a delivery notification is about, or None."""
    try:
        return recorded.json()["deliveryInfoNotification"]["transid"]
    except (ValueError, KeyError, TypeError):
        return None


def stats(sink):
    events = sink.events()
    transids = {t for t in map(transid, sink.requests) if t is not None}
    return {"requests": len(sink.requests), "events": len(set(events)),
            "duplicate_events": len(events) - len(set(events)), "transids": len(transids)}, \
        transids


def main(argv=None):
    import signal
    from twisted.internet import reactor, task
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="seconds between the `stats json:` lines it prints")
    parser.add_argument("--ids", help="on SIGTERM, write the transids seen to this file")
    args = parser.parse_args(argv)
    sink = WebhookSink(reactor, args.status)
    sink.listen(args.port)
    print("webhook sink on %s" % sink.url(), flush=True)

    def report():
        print("stats json: " + json.dumps(stats(sink)[0]), flush=True)

    def stop(*_):
        if args.ids:
            with open(args.ids, "w") as f:
                f.writelines(t + "\n" for t in stats(sink)[1])
        report()
        reactor.callFromThread(reactor.stop)
    signal.signal(signal.SIGTERM, stop)
    task.LoopingCall(report).start(args.interval, now=False)
    reactor.run(installSignalHandlers=False)


if __name__ == "__main__":
    main()
