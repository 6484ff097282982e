"""TLS hardening with real TLS on loopback: the 1.2 floor and a configured
legacy one, client certificates required per user, and certificates
reloaded (SIGHUP's reload()) without dropping the sessions already open."""

import shutil
import tempfile

from twisted.internet import defer, endpoints, protocol, reactor, ssl
from twisted.internet._sslverify import ClientTLSOptions
from twisted.trial.unittest import TestCase

from bench.esme import ESMEClient
from smpprouter.smpp.status import Status

from .certs import make_pki
from .harness import RouterHarness, run
from .test_router import MESSAGE


def _trust(path):
    with open(path, "rb") as f:
        return ssl.Certificate.loadPEM(f.read())


def _client_options(ca, certificate=None, version=None):
    """A client verifying the router against ca; with a client certificate
    file (certificate and key), and/or pinned to one TLS version."""
    kwargs = {}
    if certificate is not None:
        with open(certificate, "rb") as f:
            private = ssl.PrivateCertificate.loadPEM(f.read())
        kwargs.update(privateKey=private.privateKey.original, certificate=private.original)
    if version is not None:
        v = getattr(ssl.TLSVersion, "TLSv" + version.replace(".", "_"))
        kwargs.update(insecurelyLowerMinimumTo=v, lowerMaximumSecurityTo=v)
    options = ssl.CertificateOptions(trustRoot=_trust(ca), **kwargs)
    if version in ("1.0", "1.1"):
        options.getContext().set_cipher_list(b"DEFAULT:@SECLEVEL=0")
    return ClientTLSOptions(options._makeTLSConnection, "localhost")


class TLSHardeningTests(TestCase):
    timeout = 30

    def setUp(self):
        self.pki = make_pki(tempfile.mkdtemp(prefix="smpprouter-pki-"),
                            clients=("esme1-client", "intruder"))
        # The listener's own copy of the server files, so a test can replace them.
        self.files = tempfile.mkdtemp(prefix="smpprouter-tls-")
        for name in ("server.pem", "server.key"):
            shutil.copy(self.pki[name], self.files)
        listener = ('[listeners.%s]\nendpoint = "tcp:0:interface=127.0.0.1"\n'
                    'tls.certificate = "%s/server.pem"\ntls.private_key = "%s/server.key"\n')
        extra = (listener % ("smpps", self.files, self.files)
                 + listener % ("legacy", self.files, self.files) + 'tls.min_version = "1.1"\n'
                 + listener % ("legacy10", self.files, self.files) + 'tls.min_version = "1.0"\n'
                 + listener % ("mtls", self.files, self.files)
                 + 'tls.ca = "%s"\n' % self.pki["ca.pem"])
        self.h = RouterHarness(users={"esme1": 'tls_subject = "esme1-client"', "esme2": ""},
                               extra=extra)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def connect(self, listener, options):
        port = self.h.service.ports[listener].getHost().port
        endpoint = endpoints.wrapClientTLS(
            options, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port))
        client = await endpoints.connectProtocol(endpoint, ESMEClient())
        self.h.clients.append(client)
        return client

    async def handshake_fails(self, listener, options):
        """True when the TLS handshake is refused (the connection ends in an SSL error)."""
        port = self.h.service.ports[listener].getHost().port
        lost = defer.Deferred()

        class Probe(protocol.Protocol):
            def connectionMade(self):
                self.transport.write(b"\0" * 16)   # makes the handshake happen

            def connectionLost(self, reason):
                lost.callback([reason])
        endpoint = endpoints.wrapClientTLS(
            options, endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port))
        await endpoints.connectProtocol(endpoint, Probe())
        [reason] = await lost
        return "SSL" in repr(reason.value)

    def test_tls_1_1_only_where_configured(self):
        async def go():
            old = _client_options(self.pki["ca.pem"], version="1.1")
            self.assertTrue(await self.handshake_fails("smpps", old))
            client = await self.connect("legacy", _client_options(self.pki["ca.pem"],
                                                                 version="1.1"))
            resp = await client.bind("transceiver", "esme2", "pw2")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
        return run(go())

    def test_tls_1_0_only_where_configured(self):
        """Seed 002: "TLS1.0 or better", for the ESMEs that still need it."""
        async def go():
            oldest = _client_options(self.pki["ca.pem"], version="1.0")
            self.assertTrue(await self.handshake_fails("smpps", oldest))
            self.assertTrue(await self.handshake_fails("legacy", oldest))
            client = await self.connect("legacy10", _client_options(self.pki["ca.pem"],
                                                                   version="1.0"))
            resp = await client.bind("transceiver", "esme2", "pw2")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
        return run(go())

    def test_a_user_with_tls_subject_needs_its_certificate(self):
        async def go():
            ca = self.pki["ca.pem"]
            # No client certificate: the mTLS listener refuses the handshake.
            self.assertTrue(await self.handshake_fails("mtls", _client_options(ca)))
            # Another valid certificate: TLS is fine, the bind as esme1 is not.
            client = await self.connect("mtls", _client_options(ca, self.pki[
                "client-intruder.pem"]))
            resp = await client.bind("transceiver", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_RBINDFAIL)
            # Over TLS without a client certificate: refused too.
            client = await self.connect("smpps", _client_options(ca))
            resp = await client.bind("transceiver", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_RBINDFAIL)
            self.assertEqual(self.h.core.counters["binds_refused_certificate"], 2)
            # Its own certificate (and its password): bound.
            client = await self.connect("mtls", _client_options(ca, self.pki[
                "client-esme1-client.pem"]))
            resp = await client.bind("transceiver", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            # A user without tls_subject binds with any certificate the CA signed.
            client = await self.connect("mtls", _client_options(ca, self.pki[
                "client-intruder.pem"]))
            resp = await client.bind("transceiver", "esme2", "pw2")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
        return run(go())

    def test_certificates_reload_without_dropping_sessions(self):
        async def go():
            before = await self.connect("smpps", _client_options(self.pki["ca.pem"]))
            resp = await before.bind("transceiver", "esme2", "pw2")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            renewed = make_pki(tempfile.mkdtemp(prefix="smpprouter-pki-"))
            for name in ("server.pem", "server.key"):
                shutil.copy(renewed[name], self.files)
            self.assertTrue(self.h.service.reload())
            # New connections get the new certificate (from another CA here)...
            self.assertTrue(await self.handshake_fails("smpps",
                                                       _client_options(self.pki["ca.pem"])))
            after = await self.connect("smpps", _client_options(renewed["ca.pem"]))
            resp = await after.bind("transceiver", "esme2", "pw2")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            # ...and the session made before still works.
            resp = await before.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertTrue(before.connected)
        return run(go())

    def test_a_broken_certificate_file_keeps_the_old_one(self):
        async def go():
            with open(self.files + "/server.pem", "w") as f:
                f.write("not a certificate")
            self.h.service.reload()
            client = await self.connect("smpps", _client_options(self.pki["ca.pem"]))
            resp = await client.bind("transceiver", "esme2", "pw2")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.flushLoggedErrors()
        return run(go())
