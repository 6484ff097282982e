"""Connections per listener, in total and per source address, on real sockets:
beyond a limit a new connection is closed at once; a closed one frees its slot."""

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.trial.unittest import TestCase

from bench.esme import connect
from tests.store.support import wait_for

from .harness import RouterHarness, run


class Raw(protocol.Protocol):
    def __init__(self):
        self.made = defer.Deferred()
        self.lost = defer.Deferred()

    def connectionMade(self):
        self.made.callback(self)

    def connectionLost(self, reason):
        self.lost.callback(None)


def dial(port, source):
    """A raw connection from source (any 127.x address reaches the listener)."""
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port,
                                            bindAddress=(source, 0))
    return endpoints.connectProtocol(endpoint, Raw())


class ConnectionLimitTests(TestCase):
    timeout = 20

    def setUp(self):
        self.h = RouterHarness(extra='[listeners.public]\nendpoint = "tcp:0:interface=127.0.0.1"'
                                     '\nmax_connections = 4\nmax_connections_per_ip = 2\n')
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_limits_per_address_and_in_total(self):
        async def go():
            port = self.h.service.ports["public"].getHost().port
            limits = self.h.service.limits["public"]
            first = [await dial(port, "127.0.0.1") for _ in range(2)]
            extra = await dial(port, "127.0.0.1")
            await extra.lost                       # closed at once: a third from one address
            others = [await dial(port, "127.0.0.2") for _ in range(2)]
            over = await dial(port, "127.0.0.3")
            await over.lost                        # the fifth in all
            self.assertEqual(limits.counters, {"accepted": 4, "refused_total": 1,
                                               "refused_per_ip": 1})
            for p in first + others:
                self.assertFalse(p.lost.called)
            # One goes: a new one from a third address fits, and binds.
            first[0].transport.loseConnection()
            await first[0].lost
            # The router sees the close a moment later; no event tells the test.
            await wait_for(lambda: limits.open == 3)
            client = await connect("127.0.0.1", port, "transceiver", "esme1", "pw1")
            self.h.clients.append(client)
            self.assertTrue(client.connected)
            for p in first[1:] + others:
                p.transport.loseConnection()
                await p.lost
        return run(go())
