"""The webhook client on real loopback sockets: answers, refusals, the address
check at connect time, TLS by host name, deadlines and the per-host cap."""

import ipaddress
import tempfile

from twisted.internet import defer, error, protocol, reactor, ssl
from twisted.trial.unittest import TestCase

from bench.sink import WebhookSink
from smpprouter.http.webclient import AddressRefused, Refused, WebhookClient
from tests.integration.certs import make_pki

from .helpers import TableResolver

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


def run(coroutine):
    return defer.Deferred.fromCoroutine(coroutine)


class ClientTests(TestCase):
    timeout = 20

    def setUp(self):
        self.sink = WebhookSink(reactor)
        self.sink.listen(0)
        self.addCleanup(self.sink.close)

    def client(self, **kwargs):
        kwargs.setdefault("allow", LOOPBACK)
        kwargs.setdefault("timeout", 5.0)
        client = WebhookClient(reactor, **kwargs)
        self.addCleanup(client.close)
        return client

    def test_posts_json_and_answers_the_status(self):
        async def go():
            client = self.client()
            answer = await client.post(self.sink.url("/dlr"), {b"X-Test": [b"1"]}, b'{"a":1}')
            self.assertEqual(answer, (200, None))
            got = self.sink.requests[0]
            self.assertEqual((got.path, got.body), ("/dlr", b'{"a":1}'))
            self.assertEqual(got.headers[b"content-type"], b"application/json")
            self.assertEqual(got.headers[b"x-test"], b"1")
            self.sink.status = 503
            self.assertEqual((await client.post(self.sink.url(), {}, b"{}"))[0], 503)
            # one persistent connection carried both
            self.assertEqual(self.sink.accepted, 1)
        return run(go())

    def test_a_name_resolving_to_a_refused_address_is_not_connected_to(self):
        async def go():
            resolver = TableResolver({"inside.test": ["127.0.0.1"],
                                      "mixed.test": ["93.184.216.34", "127.0.0.1"]})
            client = self.client(allow=(), resolver=resolver)
            port = self.sink.port_number
            for name in ("inside.test", "mixed.test"):
                with self.assertRaises(AddressRefused):
                    await client.post("http://%s:%d/x" % (name, port), {}, b"{}")
            self.assertEqual(self.sink.accepted, 0)
            self.assertEqual(resolver.asked, ["inside.test", "mixed.test"])
        return run(go())

    def test_every_connection_checks_again_no_rebinding(self):
        async def go():
            # allowed the first time, inside the second (a rebinding DNS server)
            resolver = TableResolver({"rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
            client = self.client(allow=(ipaddress.ip_network("127.0.0.2/32"),),
                                 resolver=resolver)
            url = "http://rebind.test:%d/x" % self.sink.port_number
            # the sink listens on 127.0.0.1 only: 127.0.0.2 refuses the connection
            with self.assertRaises(error.ConnectionRefusedError):
                await client.post(url, {}, b"{}")
            with self.assertRaises(AddressRefused):
                await client.post(url, {}, b"{}")
            self.assertEqual(self.sink.accepted, 0)
        return run(go())

    def test_an_allowed_name_connects_to_the_checked_address(self):
        async def go():
            resolver = TableResolver({"hooks.test": ["127.0.0.1"]})
            client = self.client(resolver=resolver)
            answer = await client.post("http://hooks.test:%d/x" % self.sink.port_number, {},
                                       b"{}")
            self.assertEqual(answer[0], 200)
            self.assertEqual(self.sink.requests[0].headers[b"host"],
                             b"hooks.test:%d" % self.sink.port_number)
        return run(go())

    def test_no_address_refused_connection_non_ascii(self):
        async def go():
            client = self.client(resolver=TableResolver({}))
            with self.assertRaises(error.DNSLookupError):
                await client.post("http://nowhere.test/x", {}, b"{}")
            port = self.sink.port_number
            await self.sink.refuse()
            with self.assertRaises(error.ConnectionRefusedError):
                await client.post("http://127.0.0.1:%d/x" % port, {}, b"{}")
            with self.assertRaises(Refused):
                await client.post("http://127.0.0.1:%d/é" % port, {}, b"{}")
        return run(go())

    def test_the_deadline_covers_the_whole_request(self):
        async def go():
            silent = protocol.ServerFactory.forProtocol(protocol.Protocol)  # never answers
            port = reactor.listenTCP(0, silent, interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            client = self.client(timeout=0.3)
            with self.assertRaises(defer.TimeoutError):
                await client.post("http://127.0.0.1:%d/" % port.getHost().port, {}, b"{}")
        return run(go())

    def test_at_most_concurrency_requests_per_host(self):
        async def go():
            client = self.client(concurrency=2)
            self.sink.hold = True
            posts = [client.post(self.sink.url("/%d" % i), {}, b"{}") for i in range(5)]
            await self.sink.wait(lambda s: len(s.requests) >= 2)
            # a round trip on another host's cap proves nothing more was on its way
            other = WebhookSink(reactor)
            other.listen(0)
            self.addCleanup(other.close)
            self.assertEqual((await client.post(other.url(), {}, b"{}"))[0], 200)
            self.assertEqual(len(self.sink.requests), 2)
            while len(self.sink.requests) < 5:
                count = len(self.sink.requests)
                self.sink.answer_held()
                self.sink.hold = True
                await self.sink.wait(lambda s, n=count: len(s.requests) > n)
                self.assertLessEqual(len(self.sink.held), 2)
            self.sink.answer_held()
            answers = await defer.gatherResults(posts)
            self.assertEqual([a[0] for a in answers], [200] * 5)
        return run(go())


class TLSTests(TestCase):
    timeout = 20

    def setUp(self):
        paths = make_pki(tempfile.mkdtemp(), "hooks.test")
        with open(paths["server.key"], "rb") as k, open(paths["server.pem"], "rb") as c:
            server = ssl.PrivateCertificate.loadPEM(k.read() + c.read())
        with open(paths["ca.pem"], "rb") as f:
            self.ca = ssl.Certificate.loadPEM(f.read())
        self.sink = WebhookSink(reactor, tls=server.options())
        self.sink.listen(0)
        self.addCleanup(self.sink.close)
        self.resolver = TableResolver({"hooks.test": ["127.0.0.1"],
                                       "other.test": ["127.0.0.1"]})

    def client(self):
        client = WebhookClient(reactor, allow=LOOPBACK, resolver=self.resolver,
                               trust_root=self.ca, timeout=5.0)
        self.addCleanup(client.close)
        return client

    def test_https_verifies_the_urls_host_name(self):
        async def go():
            client = self.client()
            port = self.sink.port_number
            answer = await client.post("https://hooks.test:%d/x" % port, {}, b"{}")
            self.assertEqual(answer[0], 200)
            # the same server under a name its certificate does not carry
            with self.assertRaises(Exception) as caught:
                await client.post("https://other.test:%d/x" % port, {}, b"{}")
            self.assertNotIsInstance(caught.exception, AddressRefused)
            self.assertEqual(len(self.sink.requests), 1)
        return run(go())
