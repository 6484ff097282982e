"""TLS for listeners and connectors: versions, reloadable certificates, peers.

Versions: 1.2 is the floor unless the operator writes "1.1" or "1.0" (seed
002's ESMEs still offer them). OpenSSL 3 refuses those at its default
security level whatever the protocol range says, so a legacy floor also
lowers the cipher list's security level; nothing changes for 1.2 and up.

Listeners take their certificate through ServerTLS, which TLSMemoryBIOFactory
asks for a connection each time one arrives: reload() swaps in a context made
from the files as they are now, so after a SIGHUP new connections get the
new certificate while sessions already open keep theirs.
"""

from OpenSSL import SSL
from twisted.internet import ssl
from twisted.internet._sslverify import ClientTLSOptions
from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
from zope.interface import implementer

VERSIONS = {"1.0": ssl.TLSVersion.TLSv1_0, "1.1": ssl.TLSVersion.TLSv1_1,
            "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
_LEGACY = ("1.0", "1.1")
_LEGACY_CIPHERS = b"DEFAULT:@SECLEVEL=0"


def version_options(min_version: str) -> dict:
    """CertificateOptions arguments for a floor of min_version."""
    if min_version in _LEGACY:
        return {"insecurelyLowerMinimumTo": VERSIONS[min_version]}
    return {"raiseMinimumTo": VERSIONS[min_version]}


def _allow_legacy(context, min_version):
    if min_version in _LEGACY:
        context.set_cipher_list(_LEGACY_CIPHERS)
    return context


def server_tls_options(tls):
    """CertificateOptions of a listener's [tls] table (config.ListenerTLS)."""
    with open(tls.certificate, "rb") as f:
        cert_pem = f.read()
    with open(tls.private_key, "rb") as f:
        key_pem = f.read()
    private = ssl.PrivateCertificate.loadPEM(key_pem + b"\n" + cert_pem)
    kwargs = version_options(tls.min_version)
    if tls.ca:
        with open(tls.ca, "rb") as f:
            kwargs["trustRoot"] = ssl.Certificate.loadPEM(f.read())
    return ssl.CertificateOptions(privateKey=private.privateKey.original,
                                  certificate=private.original, **kwargs)


@implementer(IOpenSSLServerConnectionCreator)
class ServerTLS:
    """A listener's TLS, reloadable; raises (and keeps nothing) on a bad file."""

    def __init__(self, tls):
        self.tls = tls
        self._context = self._load(tls)

    @staticmethod
    def _load(tls):
        return _allow_legacy(server_tls_options(tls).getContext(), tls.min_version)

    def reload(self):
        """Read the certificate, key and CA files again; on an error the old
        context stays and the error is raised."""
        self._context = self._load(self.tls)

    def serverConnectionForTLS(self, protocol):
        return SSL.Connection(self._context, None)


def client_tls_options(hostname, trust, min_version):
    """The connection creator of a connector verifying its upstream's certificate
    and host name: optionsForClientTLS's, but with the context's security level
    lowered for a legacy floor, which must happen before a connection is made
    of it (pyOpenSSL then freezes the context), hence built here as
    optionsForClientTLS builds it."""
    options = ssl.CertificateOptions(trustRoot=trust, **version_options(min_version))
    _allow_legacy(options.getContext(), min_version)
    return ClientTLSOptions(options._makeTLSConnection, hostname)


def peer_name(transport):
    """The common name of a TLS peer's verified certificate; None without one."""
    get = getattr(transport, "getPeerCertificate", None)
    if get is None:
        return None
    try:
        certificate = get()
    except Exception:   # not a TLS transport after all, or the handshake is not done
        return None
    if certificate is None:
        return None
    return certificate.get_subject().commonName
