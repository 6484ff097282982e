"""TLS on both sides: an ESME listener with our certificate, and a connector
that verifies its upstream's certificate (and refuses one it cannot trust)."""

import tempfile

from twisted.internet import defer, endpoints, protocol, reactor, ssl
from twisted.trial.unittest import TestCase

from bench.esme import ESMEClient
from smpprouter.protocol.smsc import client_endpoint
from smpprouter.service import server_tls_options
from smpprouter.smpp.status import Status

from .certs import make_pki
from .harness import RouterHarness, run
from .test_router import MESSAGE


class _TLS:
    def __init__(self, paths, min_version="1.2", ca=None):
        self.certificate = paths["server.pem"]
        self.private_key = paths["server.key"]
        self.min_version = min_version
        self.ca = ca


class TLSTests(TestCase):
    timeout = 30

    def setUp(self):
        self.pki_dir = tempfile.mkdtemp(prefix="smpprouter-pki-")
        self.pki = make_pki(self.pki_dir)
        self.other = make_pki(tempfile.mkdtemp(prefix="smpprouter-pki-"))
        # The upstream SMSC speaks TLS with a certificate from our test CA.
        self.h = RouterHarness(
            connector='tls = true\ntls_ca = "%s"\ntls_hostname = "localhost"'
                      % self.pki["ca.pem"],
            extra=''.join('[listeners.%s]\nendpoint = "tcp:0:interface=127.0.0.1"\n'
                          'tls.certificate = "%s"\ntls.private_key = "%s"\n'
                          'tls.min_version = "%s"\n'
                          % (name, self.pki["server.pem"], self.pki["server.key"], version)
                          for name, version in (("smpps", "1.2"), ("smpps13", "1.3"))),
            smsc_tls=server_tls_options(_TLS(self.pki)))
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_esme_over_tls_and_upstream_over_verified_tls(self):
        async def go():
            port = self.h.service.ports["smpps"].getHost().port
            with open(self.pki["ca.pem"], "rb") as f:
                trust = ssl.Certificate.loadPEM(f.read())
            endpoint = endpoints.wrapClientTLS(
                ssl.optionsForClientTLS("localhost", trustRoot=trust),
                endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port))
            client = await endpoints.connectProtocol(endpoint, ESMEClient())
            self.h.clients.append(client)
            resp = await client.bind("transceiver", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            resp = await client.submit(**MESSAGE)
            dlr = await client.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
            self.assertTrue(self.h.core.connectors["smsc"].up)
        return run(go())

    def test_upstream_certificate_from_an_unknown_ca_is_refused(self):
        class Config:
            host, port, tls = "127.0.0.1", self.h.smsc_port, True
            tls_ca, tls_hostname, tls_min_version = self.other["ca.pem"], "localhost", "1.2"

        lost = defer.Deferred()

        class Probe(protocol.Protocol):
            def connectionLost(self, reason):
                lost.callback([reason])

        async def go():
            proto = await endpoints.connectProtocol(client_endpoint(reactor, Config), Probe())
            proto.transport.write(b"\0" * 16)   # makes the handshake happen
            [reason] = await lost
            self.assertIn("certificate verify failed", str(reason.value))
        return run(go())

    def _handshake(self, listener):
        """Connect a TLS 1.2-at-most client; the reason its connection ended."""
        port = self.h.service.ports[listener].getHost().port
        lost = defer.Deferred()

        class Probe(protocol.Protocol):
            def connectionMade(self):
                self.transport.write(b"\0" * 16)   # makes the handshake happen

            def connectionLost(self, reason):
                lost.callback([reason])
        with open(self.pki["ca.pem"], "rb") as f:
            trust = ssl.Certificate.loadPEM(f.read())
        options = ssl.optionsForClientTLS(
            "localhost", trustRoot=trust,
            extraCertificateOptions={"lowerMaximumSecurityTo": ssl.TLSVersion.TLSv1_2})
        endpoint = endpoints.wrapClientTLS(
            options, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port))
        return endpoints.connectProtocol(endpoint, Probe()).addCallback(lambda _: lost)

    def test_tls_version_below_the_minimum_is_refused(self):
        async def go():
            # The same client is fine for a 1.2 listener (the router answers
            # the 16 junk octets and goes on)...
            [reason] = await self._handshake("smpps")
            self.assertNotIn("SSL", repr(reason.value))
            # ...and refused by a listener whose minimum is 1.3.
            [reason] = await self._handshake("smpps13")
            self.assertIn("SSL", repr(reason.value))
        return run(go())
