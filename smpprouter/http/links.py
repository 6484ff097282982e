"""The short links' redirects: GET <link_base's path><token> -> 302 to the target.

This module only translates HTTP to Door calls (Door.follow; the links
themselves are smartlinks.py's, tokens linktext.py's). The listener serves
the tokens at [http] link_base's path ("https://s.example.com/" -> /<token>,
"https://example.com/l/" -> /l/<token>), so a proxy in front passes paths
as they are. At "/" the tokens share the root with /resources, /websmpp,
/metrics and /openapi.json: a token is 10 base62 characters, which none of
those names is, so neither hides the other.

- GET: 302 with Location the target, counted as a click (and its webhook
  queued) before the answer; Cache-Control no-store, so a browser asks
  again, and each click is seen.
- HEAD: the same answer, not counted (link checkers and previews ask so).
- A token unknown or past its validity: 404, the same for both. Why not 410
  for an expired one: telling "was a link" from "never was" would need the
  record kept past its validity, and would tell a guesser which tokens were
  real; the handset's user learns the same from either ("unknown or
  expired"). Anything not shaped like a token is 404 without asking Redis.
- The store away: 503 with Retry-After, nothing counted.
Answers are short plain text: a person with a phone reads them, not a program.
"""

from urllib.parse import urlsplit

from twisted.logger import Logger
from twisted.web import resource, server

from .linktext import is_token

TEXT = b"text/plain; charset=utf-8"
GONE = b"This link is unknown or has expired.\n"
BUSY = b"This link cannot be followed right now; try again in a moment.\n"

log = Logger()


def resources(door, config, reactor):
    """{path: Resource}: the redirects at link_base's path ("" for the root, which
    site.py makes the root's fallback); none when the router has no smart links."""
    if door.links is None:
        return {}
    return {urlsplit(config.http.link_base).path.strip("/"): Links(door)}


class Links(resource.Resource):
    """The tokens under one path: each child a Follow."""

    def __init__(self, door):
        super().__init__()
        self.door = door

    def getChild(self, name, request):
        return Follow(self.door, name)


class Follow(resource.Resource):
    isLeaf = True

    def __init__(self, door, name: bytes):
        super().__init__()
        self.door = door
        self.name = name

    def render_GET(self, request):
        return self._answer(request, True)

    def render_HEAD(self, request):
        return self._answer(request, False)

    def _answer(self, request, count):
        request.setHeader(b"cache-control", b"no-store")
        token = self.name.decode("latin-1")
        if request.postpath or not is_token(token):
            return _text(request, 404, GONE)
        if not self.door.available:
            request.setHeader(b"retry-after", b"1")
            return _text(request, 503, BUSY)
        self.door.follow(token, count).addCallbacks(
            _followed, _not_followed, (request,), None, (request,))
        return server.NOT_DONE_YET


def _text(request, status, body):
    request.setResponseCode(status)
    request.setHeader(b"content-type", TEXT)
    request.setHeader(b"content-length", b"%d" % len(body))
    return body


def _finish(request, status, body):
    if request.channel is None:   # the connection was lost
        return
    body = _text(request, status, body)
    if request.method != b"HEAD":
        request.write(body)
    request.finish()


def _followed(record, request):
    if record is None:
        _finish(request, 404, GONE)
        return
    if request.channel is None:
        return
    request.setResponseCode(302)
    request.setHeader(b"location", record.target.encode("ascii"))
    request.setHeader(b"content-length", b"0")
    request.finish()


def _not_followed(failure, request):
    log.warn("smart link not followed: {error}", error=failure.getErrorMessage())
    request.setHeader(b"retry-after", b"1")
    _finish(request, 503, BUSY)
