"""The router under abuse, with real sockets: a bind flood, 100 MB of garbage,
a session that never answers its deliver_sm. Each time the router stays up, memory stays bounded (measured), and another user is
still served while it runs.

Not here yet: the issue's latency bound (another user's p99 within 2x of an
undisturbed run). With the abuser in the test's own process it shares the
router's reactor thread, and the p99 measured so is the test's own load, not
the router's; the abuse has to come from a child process for that figure.
"""

import os
import time

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.internet.interfaces import IPushProducer
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from bench.esme import ESMEClient
from smpprouter.smpp.status import Status
from tests.store.support import wait_for

from .harness import RouterHarness, run

SUBMIT = dict(source_addr="MyBrand", destination_addr="15551234567", short_message=b"hi",
              registered_delivery=0)
PUBLIC = ('[listeners.public]\nendpoint = "tcp:0:interface=127.0.0.1"\n'
          'max_connections = %d\nmax_connections_per_ip = %d\n')


def rss():
    """Resident memory of this process (router and clients alike), bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def p99(client, n=200):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        resp = await client.submit(**SUBMIT)
        times.append(time.perf_counter() - start)
        assert resp.command_status == Status.ESME_ROK, resp
    times.sort()
    return times[int(n * 0.99) - 1]


class Raw(protocol.Protocol):
    def __init__(self):
        self.lost = defer.Deferred()
        self.received = b""

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.lost.callback(None)


def dial(port, source="127.0.0.1", factory=Raw):
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port, bindAddress=(source, 0))
    return endpoints.connectProtocol(endpoint, factory())


@implementer(IPushProducer)
class Garbage(Raw):
    """Writes `total` octets of `chunk` as fast as the socket takes them,
    never buffering more than the transport asks for."""
    chunk = b""
    total = 0

    def connectionMade(self):
        self.sent = 0
        self.paused = False
        self.transport.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.sent < self.total and self.transport.connected:
            self.transport.write(self.chunk)
            self.sent += len(self.chunk)
        if self.sent >= self.total and self.transport.connected:
            self.transport.unregisterProducer()
            self.done.callback(self.sent) if not self.done.called else None

    def stopProducing(self):
        pass

    def connectionLost(self, reason):
        if not self.done.called:
            self.done.callback(self.sent)
        super().connectionLost(reason)


class AbuseTestCase(TestCase):
    timeout = 60
    smpp = "session_init_timeout = 2\n"
    extra = PUBLIC % (500, 0)

    def setUp(self):
        self.h = RouterHarness(smpp=self.smpp, extra=self.extra,
                               users={"esme1": "", "esme2": "", "esme3": ""})
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    @property
    def public(self):
        return self.h.service.ports["public"].getHost().port


class BindFloodTests(AbuseTestCase):
    def test_wrong_passwords_from_one_address(self):
        async def go():
            self.other = await self.h.bind(user="esme2")

            async def guess(i):
                client = await dial_esme(self.public, "127.0.0.2")
                resp = await client.bind("transceiver", "esme3" if i % 2 else "x%d" % i,
                                         "g%d" % i)
                await client.wait_closed()
                return resp.command_status

            async def flood():
                statuses = []
                for wave in range(20):
                    statuses += await defer.gatherResults(
                        [defer.Deferred.fromCoroutine(guess(wave * 10 + i)) for i in range(10)])
                return statuses
            flooding = defer.Deferred.fromCoroutine(flood())
            await p99(self.other, 50)   # another user is served meanwhile
            statuses = await flooding
            self.assertEqual(statuses[-50:], [Status.ESME_RBINDFAIL] * 50)
            counters = self.h.core.counters
            self.assertGreaterEqual(counters["bind_lockouts"], 1)
            self.assertGreaterEqual(counters["binds_refused_locked"], 150)
            # The right user from another address still binds.
            client = await dial_esme(self.public, "127.0.0.3")
            resp = await client.bind("transceiver", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.h.clients.append(client)
        return run(go())


async def dial_esme(port, source):
    return await dial(port, source, ESMEClient)


class GarbageTests(AbuseTestCase):
    def test_unframeable_garbage_is_closed_at_once(self):
        async def go():
            p = await dial(self.public)
            p.transport.write(os.urandom(1 << 16).replace(b"\0", b"\xff"))
            await p.lost
            # a generic_nack (16 octets: length, id 0x80000000, a status, 0)
            self.assertEqual(p.received[4:8], b"\x80\x00\x00\x00")
        return run(go())

    def test_a_hundred_megabytes_of_framed_garbage(self):
        """Frames of 64 KB with a command id that does not exist: each answered
        generic_nack, nothing kept, the session's neighbours unaffected."""
        async def go():
            self.other = await self.h.bind(user="esme2")
            size = 1 << 16
            frame = (size.to_bytes(4, "big") + b"\x00\x00\x0f\xff" + b"\0\0\0\0"
                     + b"\0\0\0\1" + os.urandom(size - 16))

            class Flood(Garbage):
                chunk, total = frame, 100 * 1024 * 1024

                def __init__(self):
                    super().__init__()
                    self.done = defer.Deferred()
            before = rss()
            flood = await dial(self.public, factory=Flood)
            await p99(self.other, 50)   # another user is served meanwhile
            sent = await flood.done
            self.assertGreaterEqual(sent, 100 * 1024 * 1024)
            await wait_for(lambda: len(flood.received) >= 16 * (sent // size), timeout=15)
            self.assertEqual(flood.received[4:8], b"\x80\x00\x00\x00")
            self.assertLess(rss() - before, 60 * 1024 * 1024)
            flood.transport.loseConnection()
        return run(go())


class UnansweredDeliveriesTests(AbuseTestCase):
    def test_ten_thousand_deliveries_to_a_session_that_never_answers(self):
        async def go():
            self.other = await self.h.bind(user="esme2")
            deaf = await self.h.bind(user="esme1", mode="receiver", deliver_resp_status=None)
            before = rss()
            mos = [self.h.smsc.send_mo("15550001111", "12345", b"mo %d" % i)
                   for i in range(10000)]
            await p99(self.other, 50)   # another user is served meanwhile
            await defer.gatherResults(mos)   # all accepted by the router
            window = self.h.core.config.users["esme1"].window
            await wait_for(lambda: len(deaf.deliveries) >= window, timeout=10)
            # The router's window stops it: nothing more is sent while unanswered.
            self.assertEqual(len(deaf.deliveries), window)
            self.assertLess(rss() - before, 60 * 1024 * 1024)
        return run(go())
