"""The webhook sender's HTTP client: twisted.web's Agent, persistent connections,
a deadline per request, a cap per host, and no way into the router's own network.

A URL's host name is resolved here, just before connecting, and every
address it resolves to is checked (urls.address_allowed): one refused
address refuses the host (AddressRefused), since a name that resolves to an
inside address among outside ones is an attack, not a misconfiguration.
The connection then goes to a checked address, not to the name again, so
there is no second lookup for a rebinding DNS server to answer differently.
https verifies the server's certificate against the URL's host name.
Connections are kept (HTTPConnectionPool) per scheme, host and port; a kept
connection goes to the address checked when it was opened.

post() answers (status code, Retry-After) or fails: AddressRefused, or any
connection, DNS, TLS or timeout error. The deadline covers the whole
request, from connecting (or taking a kept connection) to the last byte of
the answer, whose body is read and dropped (at most MAX_ANSWER bytes: a
receiver cannot make the router hold a large answer).
"""

import ipaddress
from urllib.parse import urlsplit

from twisted.internet import defer, error, protocol, ssl
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IResolutionReceiver, IStreamClientEndpoint
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer, UNKNOWN_LENGTH
from zope.interface import implementer

from .urls import address_allowed

MAX_ANSWER = 64 * 1024
USER_AGENT = b"smpprouter-webhooks"


class Refused(Exception):
    """The router will not call this URL: trying again would not change that."""


class AddressRefused(Refused):
    """The host resolved to an address the router may not reach ([http] webhook_allow)."""


def origin(url: str):
    """What the per-host cap and a lane of the sender count by: scheme, host, port."""
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port


@implementer(IResolutionReceiver)
class _Addresses:
    """Collects what a name resolves to into a Deferred(list of IP strings)."""

    def __init__(self):
        self.found = []
        self.done = defer.Deferred()

    def resolutionBegan(self, resolution):
        pass

    def addressResolved(self, address):
        self.found.append(address.host)

    def resolutionComplete(self):
        self.done.callback(self.found)


@implementer(IStreamClientEndpoint)
class _CheckedEndpoint:
    def __init__(self, factory, scheme, host, port):
        self.factory = factory
        self.scheme = scheme
        self.host = host
        self.port = port

    def connect(self, protocol_factory):
        d = self.factory.resolve(self.host, self.port)
        d.addCallback(self._checked)
        d.addCallback(lambda addresses: defer.Deferred.fromCoroutine(
            self._connect(addresses, protocol_factory)))
        return d

    def _checked(self, found):
        if not found:
            raise error.DNSLookupError("%s resolves to no address" % self.host)
        allow = self.factory.allow
        for text in found:
            if not address_allowed(ipaddress.ip_address(text.split("%", 1)[0]), allow):
                raise AddressRefused("%s resolves to %s, which webhooks may not reach "
                                     "(see [http] webhook_allow)" % (self.host, text))
        return list(dict.fromkeys(found))

    async def _connect(self, addresses, protocol_factory):
        last = None
        for address in addresses:   # each checked; the next one if one refuses us
            try:
                return await self.factory.endpoint(self.scheme, self.host, address,
                                                   self.port).connect(protocol_factory)
            except (error.ConnectError, error.TimeoutError) as e:
                last = e
        raise last


@implementer(IAgentEndpointFactory)
class CheckedEndpoints:
    """Endpoints that resolve, check and connect to the checked address."""

    def __init__(self, reactor, allow=(), timeout=10.0, resolver=None, trust_root=None):
        self.reactor = reactor
        self.allow = tuple(allow)
        self.timeout = timeout
        self.resolver = resolver if resolver is not None else reactor.nameResolver
        self.trust_root = trust_root   # None: the platform's CAs (tests give theirs)

    def endpointForURI(self, uri):
        return _CheckedEndpoint(self, uri.scheme, uri.host.decode("idna"), uri.port)

    def resolve(self, host, port):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            receiver = _Addresses()
            self.resolver.resolveHostName(receiver, host, port)
            return receiver.done
        return defer.succeed([host])

    def endpoint(self, scheme, host, address, port):
        kind = TCP6ClientEndpoint if ":" in address else TCP4ClientEndpoint
        endpoint = kind(self.reactor, address, port, timeout=self.timeout)
        if scheme == b"https":
            options = ssl.optionsForClientTLS(host, trustRoot=self.trust_root)
            endpoint = wrapClientTLS(options, endpoint)
        return endpoint


def _timed_out(result, timeout):
    # the Agent reports a cancelled request as ResponseNeverReceived: say why
    raise defer.TimeoutError("no complete answer within %g s" % timeout)


@implementer(IBodyProducer)
class _Body:
    """A body already in memory, written at once."""

    def __init__(self, body):
        self.body = body
        self.length = len(body) if body is not None else UNKNOWN_LENGTH

    def startProducing(self, consumer):
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


class _Drain(protocol.Protocol):
    """Reads an answer's body to its end (so the connection can be kept) and
    drops it; beyond MAX_ANSWER the connection is cut."""

    def __init__(self, finished):
        self.finished = finished
        self.size = 0

    def dataReceived(self, data):
        self.size += len(data)
        if self.size > MAX_ANSWER:
            self.transport.stopProducing()

    def connectionLost(self, reason):
        # the status is what counts: a body cut short or too long changes nothing
        if not self.finished.called:
            self.finished.callback(None)


class WebhookClient:
    def __init__(self, reactor, *, allow=(), timeout=10.0, concurrency=8, resolver=None,
                 trust_root=None, idle=60.0):
        self.reactor = reactor
        self.timeout = timeout
        self.concurrency = concurrency
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = concurrency
        self.pool.cachedConnectionTimeout = idle
        self.pool.retryAutomatically = False   # a retry is the sender's decision
        self.endpoints = CheckedEndpoints(reactor, allow, timeout, resolver, trust_root)
        self.agent = Agent.usingEndpointFactory(reactor, self.endpoints, pool=self.pool)
        self._limits = {}   # origin -> DeferredSemaphore, while requests use it

    def post(self, url: str, headers: dict, body: bytes):
        """Deferred((code, Retry-After or None)): see the module docstring.
        At most `concurrency` requests to one origin run at once; the others
        wait their turn (the deadline starts when a request starts)."""
        key = origin(url)
        limit = self._limits.get(key)
        if limit is None:
            limit = self._limits[key] = defer.DeferredSemaphore(self.concurrency)
        d = limit.run(self._post, url, headers, body)
        d.addBoth(self._released, key, limit)
        return d

    def _released(self, result, key, limit):
        if limit.tokens == limit.limit and not limit.waiting:
            self._limits.pop(key, None)
        return result

    def _post(self, url, headers, body):
        all_headers = Headers(headers)
        all_headers.setRawHeaders(b"Content-Type", [b"application/json"])
        all_headers.setRawHeaders(b"User-Agent", [USER_AGENT])
        try:
            raw_url = url.encode("ascii")
        except UnicodeEncodeError:
            raise Refused("%r is not an ASCII URL (IDNA and %%-escapes make one)" % url)
        d = self.agent.request(b"POST", raw_url, all_headers, _Body(body))
        d.addCallback(self._answered)
        return d.addTimeout(self.timeout, self.reactor, onTimeoutCancel=_timed_out)

    def _answered(self, response):
        finished = defer.Deferred(lambda _: drain.transport.stopProducing())
        drain = _Drain(finished)
        response.deliverBody(drain)
        answer = (response.code, (response.headers.getRawHeaders(b"Retry-After") or [None])[0])
        return finished.addCallback(lambda _: answer)

    def close(self):
        return self.pool.closeCachedConnections()

