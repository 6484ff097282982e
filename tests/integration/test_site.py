"""What any HTTP request may cost, bounded before a resource sees it: a real
router's HTTP listener and raw TCP clients on loopback."""

import time
from types import SimpleNamespace

from twisted.internet import defer, protocol, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

from smpprouter.http.site import Root, Site

from .harness import RouterHarness, run


class _Raw(protocol.Protocol):
    """Sends what it is told, keeps what comes back; `closed` fires at the end."""

    def __init__(self):
        self.received = b""
        self.closed = defer.Deferred()

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(self.received)


class SiteTests(TestCase):
    timeout = 30

    def setUp(self):
        self.h = RouterHarness(http="max_body = 65536\nrequest_timeout = 0.5\n")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def connect(self):
        port = int(self.h.http_url.rsplit(":", 1)[1])
        return await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), _Raw())

    async def exchange(self, data):
        client = await self.connect()
        client.transport.write(data)
        return await client.closed

    def test_a_body_too_long_is_refused_before_it_is_sent(self):
        async def go():
            answer = await self.exchange(
                b"POST /resources/v1/messaging HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 52428800\r\n\r\n")   # 50 MB announced, none sent
            self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
            self.assertIn(b'"code":413', answer)
        return run(go())

    def test_a_chunked_body_growing_too_long_is_cut(self):
        async def go():
            client = await self.connect()
            client.transport.write(b"POST /resources/v1/messaging HTTP/1.1\r\nHost: x\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n")
            chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
            for _ in range(5):          # 80 KB against a 64 KB limit
                client.transport.write(chunk)
            answer = await client.closed
            self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer)
        return run(go())

    def test_a_slow_request_gets_408_and_others_are_served_meanwhile(self):
        async def go():
            slow = await self.connect()
            started = time.monotonic()
            slow.transport.write(b"GET /websmpp/websms?user=esme1 HTTP/1.1\r\nHost: x\r\n")
            # while it dawdles, another client is answered
            answer = await self.exchange(b"GET /nothing HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n")
            self.assertTrue(answer.startswith(b"HTTP/1.1 404 "), answer)
            slow_answer = await slow.closed
            self.assertTrue(slow_answer.startswith(b"HTTP/1.1 408 "), slow_answer)
            self.assertGreaterEqual(time.monotonic() - started, 0.45)
        return run(go())

    def test_unknown_paths_get_a_json_404_without_naming_the_server_version(self):
        async def go():
            answer = await self.exchange(b"GET /admin HTTP/1.1\r\nHost: x\r\n"
                                         b"Connection: close\r\n\r\n")
            head, _, body = answer.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 404 "), head)
            self.assertIn(b"Server: smpprouter\r\n", head + b"\r\n")
            self.assertNotIn(b"Twisted", head)
            self.assertEqual(body, b'{"error":{"code":404,"message":"no such resource: /admin"}}')
        return run(go())


class IdleTimerTests(SynchronousTestCase):
    """twisted.web's idle timer and the request deadline are both
    request_timeout long, started by the same octets; whichever fires first,
    a request under way is answered 408."""

    def test_the_idle_timer_during_a_request_answers_408(self):
        clock = Clock()
        site = Site(Root(), SimpleNamespace(request_timeout=0.5, max_body=65536),
                    reactor=clock)
        channel = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(b"GET /websmpp/websms?user=esme1 HTTP/1.1\r\nHost: x\r\n")
        channel.timeoutConnection()   # as the idle timer calls it
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 408 "), transport.value())
        self.assertTrue(transport.disconnecting)
