"""smpprouter/sending.py on real TCP over loopback (and one Unix stream
socket, where EAGAIN must last): what goes straight to the socket, what is
left to Twisted's buffer, and that the peer sees one ordered stream either
way (a partial send, a socket that takes nothing, a closed peer, a producer,
TLS)."""

import os
import socket
import struct
import tempfile

from twisted.internet import defer, endpoints, protocol, reactor, ssl
from twisted.internet.interfaces import IPushProducer
from twisted.internet.tcp import Connection
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from smpprouter import sending
from smpprouter.sending import sends_now

from .integration.certs import make_pki


class _Peer(protocol.Protocol):
    """One end: keeps what it reads; `made` fires with itself, `lost` with
    why the connection ended (a Failure, so not as the Deferred's result)."""

    def __init__(self):
        self.made = defer.Deferred()
        self.lost = defer.Deferred()
        self.received = []
        self.size = 0
        self._want = None

    def connectionMade(self):
        self.made.callback(self)

    def dataReceived(self, data):
        self.received.append(data)
        self.size += len(data)
        if self._want is not None and self.size >= self._want[0]:
            want, self._want = self._want, None
            want[1].callback(b"".join(self.received))

    def connectionLost(self, reason):
        self.lost.callback([reason])

    def read(self, size):
        """Deferred: the octets read once there are at least size of them."""
        d = defer.Deferred()
        self._want = (size, d)
        self.dataReceived(b"")
        return d


class _Loopback(TestCase):
    timeout = 20

    def listen(self, factory_protocol, wrap=None, unix=False):
        server = []

        def make():
            p = factory_protocol()
            server.append(p)
            return p
        factory = protocol.Factory.forProtocol(make)
        if wrap is not None:
            factory = wrap(factory)
        if unix:
            path = os.path.join(tempfile.mkdtemp(prefix="smpprouter-sending-"), "s")
            port = reactor.listenUNIX(path, factory)
            self.addCleanup(port.stopListening)
            return path, server
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return port.getHost().port, server

    async def pair(self, unix=False):
        """(router-side protocol, peer protocol) over a real TCP connection
        (or a Unix stream socket: the same tcp.Connection code)."""
        where, server = self.listen(_Peer, unix=unix)
        client = _Peer()
        await endpoints.connectProtocol(
            endpoints.UNIXClientEndpoint(reactor, where) if unix
            else endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", where), client)
        await client.made
        while not server:   # accepted in the same turn or the next
            await _turn()
        await server[0].made
        for end in (server[0], client):
            self.addCleanup(_close, end)
        return server[0], client


def _turn():
    d = defer.Deferred()
    reactor.callLater(0, d.callback, None)
    return d


def _close(end):
    if end.transport.connected:
        end.transport.abortConnection()
        return end.lost


def _fill(sock):
    """Send on sock until it takes nothing more; the octets it took."""
    chunk = bytes(range(256)) * 256
    sent = []
    while True:
        try:
            n = sock.send(chunk)
        except BlockingIOError:
            return b"".join(sent)
        sent.append(chunk[:n])


class TwistedAttributesTests(_Loopback):
    """The attributes sends_now reads are Twisted's: if Twisted renames or
    changes them, these fail."""

    def test_a_fresh_connection_sends_now_and_a_buffered_one_does_not(self):
        async def go():
            server, _ = await self.pair()
            t = server.transport
            self.assertEqual((t.dataBuffer, t._tempDataLen, t.disconnecting,
                              t._writeDisconnecting, t._aborting, t.producer, t.TLS),
                             (b"", 0, 0, False, False, None, False))
            self.assertTrue(sends_now(t))
            t.write(b"x")   # Twisted buffers it until the socket is writable
            self.assertEqual(t._tempDataLen, 1)
            self.assertFalse(sends_now(t))
        return defer.ensureDeferred(go())

    def test_not_while_closing_or_aborted(self):
        async def go():
            server, _ = await self.pair()
            server.transport.loseConnection()
            self.assertTrue(server.transport.disconnecting)
            self.assertFalse(sends_now(server.transport))
            other, _ = await self.pair()
            other.transport.abortConnection()
            self.assertTrue(other.transport._aborting)
            self.assertFalse(sends_now(other.transport))
            third, _ = await self.pair()
            third.transport.loseWriteConnection()
            self.assertTrue(third.transport._writeDisconnecting)
            self.assertFalse(sends_now(third.transport))
        return defer.ensureDeferred(go())

    def test_not_a_test_transport(self):
        self.assertFalse(sends_now(StringTransport()))
        transport = StringTransport()
        sending.write(transport, b"abc")
        self.assertEqual(transport.value(), b"abc")


class OrderingTests(_Loopback):
    def test_a_partial_send_keeps_the_stream_in_order(self):
        async def go():
            server, client = await self.pair()
            client.transport.pauseProducing()   # the peer reads nothing for now
            t = server.transport
            t.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            first = b"".join(struct.pack(">I", i) for i in range(1 << 20))   # 4 MiB
            sending.write(t, first)
            # the socket took a part; Twisted holds the rest
            self.assertGreater(t._tempDataLen, 0)
            self.assertLess(t._tempDataLen, len(first))
            sending.write(t, b"second")
            sending.write(t, b"third")
            client.transport.resumeProducing()
            got = await client.read(len(first) + 11)
            self.assertEqual(got, first + b"secondthird")
        return defer.ensureDeferred(go())

    def test_a_socket_that_takes_nothing_leaves_it_all_to_twisted(self):
        async def go():
            # A Unix stream socket: its send buffer frees only when the peer
            # reads, so EAGAIN lasts (on TCP a late ACK may free it first).
            server, client = await self.pair(unix=True)
            client.transport.pauseProducing()
            t = server.transport
            self.assertIsInstance(t, Connection)
            t.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            filled = _fill(t.socket)
            self.assertTrue(sends_now(t))   # Twisted's buffer is empty: it tries
            sending.write(t, b"after")      # EAGAIN: writeSomeData took nothing
            self.assertEqual(t._tempDataLen, 5)
            sending.write(t, b"-more")
            client.transport.resumeProducing()
            got = await client.read(len(filled) + 10)
            self.assertEqual(got, filled + b"after-more")
        return defer.ensureDeferred(go())

    def test_what_is_sent_now_arrives_without_a_write_event(self):
        async def go():
            server, client = await self.pair()
            t = server.transport
            sending.write(t, b"now")
            self.assertEqual((t.dataBuffer, t._tempDataLen), (b"", 0))
            self.assertNotIn(t, reactor.getWriters())
            self.assertEqual(await client.read(3), b"now")
        return defer.ensureDeferred(go())


class ClosedPeerTests(_Loopback):
    def test_a_reset_peer_ends_the_connection_as_twisted_would(self):
        async def go():
            port, server = self.listen(_Peer)
            raw = socket.create_connection(("127.0.0.1", port))
            while not server:
                await _turn()
            await server[0].made
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw.close()   # a reset, before the router's side has seen anything
            t = server[0].transport
            self.assertTrue(sends_now(t))
            sending.write(t, b"into the void")   # no exception: Twisted gets the error
            [reason] = await server[0].lost
            self.assertIsInstance(reason.value, Exception)
            self.assertFalse(t.connected)
        return defer.ensureDeferred(go())


@implementer(IPushProducer)
class _Producer:
    def __init__(self):
        self.events = []

    def pauseProducing(self):
        self.events.append("pause")

    def resumeProducing(self):
        self.events.append("resume")

    def stopProducing(self):
        self.events.append("stop")


class ProducerTests(_Loopback):
    def test_a_producer_keeps_twisteds_buffer_and_its_pauses(self):
        async def go():
            server, client = await self.pair()
            t = server.transport
            producer = _Producer()
            t.registerProducer(producer, True)
            self.assertFalse(sends_now(t))
            data = b"p" * (t.bufferSize * 2)
            sending.write(t, data)
            self.assertEqual(producer.events, ["pause"])   # Twisted's buffer is full
            got = await client.read(len(data))
            self.assertEqual(got, data)
            while producer.events == ["pause"]:   # resumed once the buffer drains
                await _turn()
            self.assertEqual(producer.events, ["pause", "resume"])
            t.unregisterProducer()
        return defer.ensureDeferred(go())


class TLSTests(_Loopback):
    def test_tls_goes_through_twisteds_tls_layer(self):
        async def go():
            paths = make_pki(tempfile.mkdtemp(prefix="smpprouter-pki-"))
            with open(paths["server.key"], "rb") as k, open(paths["server.pem"], "rb") as c:
                private = ssl.PrivateCertificate.loadPEM(k.read() + c.read())
            with open(paths["ca.pem"], "rb") as f:
                trust = ssl.Certificate.loadPEM(f.read())
            port, server = self.listen(
                _Peer, lambda f: TLSMemoryBIOFactory(private.options(), False, f))
            client = _Peer()
            await endpoints.connectProtocol(endpoints.wrapClientTLS(
                ssl.optionsForClientTLS("localhost", trustRoot=trust),
                endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)), client)
            await client.made
            while not server:
                await _turn()
            await server[0].made
            for end in (server[0], client):
                self.addCleanup(_close, end)
            t = server[0].transport
            self.assertFalse(sends_now(t))   # the TLS protocol, not the socket
            sending.write(t, b"secret")
            self.assertEqual(await client.read(6), b"secret")
        return defer.ensureDeferred(go())
