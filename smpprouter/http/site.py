"""The HTTP listener: twisted.web in the router's own processes, bounded against abuse.

One Site per [listeners.http] (plain or TLS, shared by the workers through
SO_REUSEPORT like the SMPP port). What any request may cost is bounded here,
before a resource sees it:
- a body longer than [http] max_body is refused with 413 as soon as its
  Content-Length says so (or, chunked, as soon as it grows past it), and the
  connection closed: nothing of it is buffered beyond the limit;
- a request must arrive whole (request line to the body's last byte) within
  request_timeout, or it gets 408 and the connection is closed: a slow client
  holds a connection for that long at most, never a worker;
- headers are bounded by twisted.web (16 KB in all), and an idle keep-alive
  connection is closed after request_timeout too.
"""

from twisted.web import http, resource, server

from . import links, rest, websms
from .bodies import error_body


def _raw_response(status: int, reason: bytes, message: str) -> bytes:
    body = error_body(status, message)
    return b"".join((b"HTTP/1.1 %d %s\r\n" % (status, reason),
                     b"Content-Type: application/json\r\n",
                     b"Content-Length: %d\r\n" % len(body),
                     b"Connection: close\r\n\r\n", body))


class BoundedRequest(server.Request):
    """A request whose body may not exceed the site's max_body.

    Form bodies are not parsed into request.args: the APIs read the body
    themselves (seed 003's parser once, the REST API as JSON), so twisted.web
    parsing every POST a second time would be wasted."""

    def __init__(self, channel, *args, **kwargs):
        kwargs.setdefault("parsePOSTFormSubmission", False)
        super().__init__(channel, *args, **kwargs)

    def setHeader(self, name, value):
        # twisted.web names itself and its version in every answer; a public
        # listener need not tell scanners which version to try.
        if name == b"Server":
            value = b"smpprouter"
        super().setHeader(name, value)

    def gotLength(self, length):
        limit = self.channel.site.max_body
        if length is not None and length > limit:
            self.channel.refuse(413, b"Payload Too Large",
                                "the request body is %d bytes; at most %d are accepted"
                                % (length, limit))
            self.content = _Discard()
            return
        self._received = 0
        super().gotLength(length)

    def handleContentChunk(self, data):
        self._received += len(data)
        limit = self.channel.site.max_body
        if self._received > limit:
            self.channel.refuse(413, b"Payload Too Large",
                                "the request body is longer than %d bytes" % limit)
            return
        super().handleContentChunk(data)


class _Discard:
    def write(self, data):
        pass

    def seek(self, *args):
        pass

    def read(self, *args):
        return b""

    def close(self):
        pass


class DeadlineChannel(http.HTTPChannel):
    """An HTTP/1.1 channel that gives each request request_timeout to arrive."""

    _deadline = None
    _refused = False

    def lineReceived(self, line):
        if self._deadline is None and not self._refused:
            self._deadline = self.callLater(self.site.request_timeout, self._too_slow)
        super().lineReceived(line)

    def allContentReceived(self):
        self._cancel_deadline()
        super().allContentReceived()

    def _cancel_deadline(self):
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None

    def _too_slow(self):
        self._deadline = None
        self.refuse(408, b"Request Timeout", "the request did not arrive within %g s"
                    % self.site.request_timeout)

    def refuse(self, status, reason, message):
        """Answer status and close: nothing more of this connection is read."""
        if self._refused:
            return
        self._refused = True
        self._cancel_deadline()
        self.dataReceived = self.lineReceived = self.rawDataReceived = lambda *a: None
        if self.transport is not None:
            self.transport.write(_raw_response(status, reason, message))
            self.transport.loseConnection()

    def timeoutConnection(self):
        # twisted.web's idle timer (also request_timeout, reset by the same
        # octets that started the deadline) can fire a moment before it: a
        # request under way still gets its 408, not a silent close
        if self._deadline is not None:
            self._too_slow()
            return
        super().timeoutConnection()

    def connectionLost(self, reason):
        self._cancel_deadline()
        super().connectionLost(reason)


class NotFound(resource.Resource):
    isLeaf = True

    def render(self, request):
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"application/json")
        return error_body(404, "no such resource: %s" % request.path.decode("latin-1"))


class Root(resource.Resource):
    fallback = None   # serves the names no child has (smart links at "/": links.py)

    def getChild(self, name, request):
        if self.fallback is not None:
            return self.fallback.getChild(name, request)
        return NotFound()


class Site(server.Site):
    requestFactory = BoundedRequest
    protocol = DeadlineChannel

    def __init__(self, root, http_config, reactor=None):
        super().__init__(root, logPath=None, timeout=http_config.request_timeout,
                         reactor=reactor)
        self.max_body = http_config.max_body
        self.request_timeout = http_config.request_timeout
        self.displayTracebacks = False

    def log(self, request):
        """No access log line per request: the hot path (issue: structured logs)."""


def make_site(door, config, reactor=None, metrics=None):
    """The Site of the HTTP face: REST under /resources/v1/, seed 003 under /websmpp/,
    the smart links' redirects at [http] link_base's path; metrics (a Resource,
    smpprouter/metrics) at /metrics when given."""
    root = Root()
    if metrics is not None:
        root.putChild(b"metrics", metrics)
    for path, child in rest.resources(door, config, reactor).items():
        _mount(root, path, child)
    for path, child in websms.resources(door, config, reactor).items():
        _mount(root, path, child)
    for path, child in links.resources(door, config, reactor).items():
        if path:
            _mount(root, path, child)
        else:
            root.fallback = child
    return Site(root, config.http, reactor)


def _mount(root, path: str, child):
    """Put child at path ("a/b/c"), making the intermediate nodes."""
    node = root
    names = path.strip("/").split("/")
    for name in names[:-1]:
        key = name.encode("ascii")
        nxt = node.children.get(key)
        if nxt is None:
            nxt = Root()
            node.putChild(key, nxt)
        node = nxt
    node.putChild(names[-1].encode("ascii"), child)
