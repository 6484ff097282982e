"""An HTTP client for the HTTP face's tests: twisted.web.client.Agent on real loopback
sockets, and the quoting a real client applies to a URL "as written".

A seed's URL is written with spaces and Arabic in it; no client sends those raw (a
space would split the request line). What requests (requests.utils.requote_uri),
browsers and curl's --url-query do is what wire() does: percent-encode what a URI may
not carry (spaces, and non-ASCII as UTF-8) and leave every other character as written,
"+" and "$" and "@" included, so the server sees the URL the seed's reader would send.
"""

from io import BytesIO
from urllib.parse import quote

from twisted.internet import reactor
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

URI_SAFE = "!#$%&'()*+,/:;=?@[]~"   # requote_uri's: reserved and unreserved kept as is


def wire(url: str) -> bytes:
    return quote(url, safe=URI_SAFE).encode("ascii")


class Answer:
    def __init__(self, code, headers, body):
        self.code = code
        self.headers = headers
        self.body = body

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None   # a str name: str values

    @property
    def lines(self):
        return self.body.decode("utf-8").split("\n")


async def fetch(url: str, method=b"GET", body: bytes | None = None, headers=None) -> Answer:
    """One request on a fresh connection (nothing outlives the test)."""
    producer = FileBodyProducer(BytesIO(body)) if body is not None else None
    response = await Agent(reactor).request(method, wire(url), Headers(headers or {}),
                                            producer)
    return Answer(response.code, response.headers, await readBody(response))
