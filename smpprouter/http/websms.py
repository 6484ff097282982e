"""Seed 003's query-string API: /websmpp/websms, websmsstatus, and the billing paths to come.

These resources only translate: the request's fields go to websmsparse (pure), the
messages to the Door, and its Outcomes back into the seed's lines (websmscodes, where
the code table is). An answer is "Response: <id>" or "ERROR - HTTPnn --> text" per
destination, in the order of mno, one per line ("\\n", none after the last), or a
single ERROR line for a request wrong as a whole.

HTTP status codes:
- 200 for every answer in the seed's format, errors included: the vendor answers so,
  and clients written against it read the body only then (Java's HttpURLConnection
  throws on a 4xx before the body can be read, PHP's file_get_contents returns false).
- 503 with Retry-After: 1 and the HTTP11 line while the router cannot store a message
  (Door.available false), checked before anything else: nothing was done, and a retry
  in a second is the right thing for a client to do.
- 404 with the HTTP01 line for a /websmpp/ path the API does not have (a wrong base URL,
  never a call a vendor's client makes), 405 with Allow and the HTTP16 line for a method
  other than GET and POST (HEAD included: a GET here sends messages).
- balanceReport?userid=&password= answers "Response: <balance>", the prepaid user's
  balance as an integer of the router's minor unit (the unit of routes.toml's prices;
  never converted or rounded). userid and password are mandatory: both missing HTTP15,
  one HTTP05 / HTTP04, wrong HTTP05 / HTTP04 as for websms. A postpaid user has no
  balance (metered, billed afterwards): HTTP15, "Not Authorized for the request", with
  X-Error-Detail saying so; a number would be a lie, 0 a false alarm.
- downloadcoverage?userid=&password=&format= serves the user's coverage (the prefixes it
  can reach, priced per part; routing/coverage.py) as an attachment: format 1 (the
  default) as XLSX, in place of the seed's XLS (a format no well-kept writer makes any
  more, and every spreadsheet program that opens XLS opens XLSX); 3 as CSV; 2, blank in
  the seed, and anything else: HTTP16 "Invalid Request". It needs no Redis.
Every ERROR answer made here carries an X-Error-Detail header saying exactly what was
wrong, for people; the body stays the seed's text, which clients compare.

Scheduled messages (gmt, schtime in the future) are held by the core's store and
forward until their time; their validity runs from that time ([outbound]
default_validity), so a schedule beyond max_validity is refused (HTTP22) rather than
expiring unsent. Past schedules send now (see websmsparse).

websmsstatus asks for user and pass (an id alone would let anyone read anyone's
traffic) unless [http] status_without_credentials is set, for seed-exact clients; given
anyway, they are checked and the answer is limited to that user's messages.
"""

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web import resource, server

from ..policy import accounts
from . import sheets
from .door import HttpMessage, Login
from .websmscodes import LINES, line_of, status_name
from .websmsparse import (
    ACCOUNT_KEYS, STATUS_KEYS, WEBSMS_KEYS, WebSmsError, fields, parse_account, parse_status,
    parse_websms,
)

log = Logger()
TEXT_PLAIN = b"text/plain; charset=utf-8"
FORM = b"application/x-www-form-urlencoded"
METHODS = (b"GET", b"POST")
_BAD_NUMBER = LINES["HTTP09"]
_RESPONSE = b"Response: "


def resources(door, config, reactor):
    """{path: Resource} this API serves: all of /websmpp/."""
    if reactor is None:
        from twisted.internet import reactor
    children = {
        b"websms": WebSmsResource(door, config, reactor),
        b"websmsstatus": StatusResource(door, config),
        b"balancereport": BalanceResource(door),
        b"downloadcoverage": CoverageResource(door),
    }
    return {"websmpp": WebSmpp(children)}


class WebSmpp(resource.Resource):
    """/websmpp/: its paths by name, ignoring case and surrounding spaces (the seed
    writes "websmpp/ downloadcoverage"); any other is HTTP01."""

    def __init__(self, children):
        super().__init__()
        self._by_name = children

    def getChild(self, name, request):
        return self._by_name.get(name.strip(b" ").lower(), _UNKNOWN_PATH)

    def render(self, request):
        return _UNKNOWN_PATH.render(request)


class _Endpoint(resource.Resource):
    """A leaf of /websmpp/ answering GET and POST."""
    isLeaf = True

    def render(self, request):
        if request.postpath not in ([], [b""]):
            return _UNKNOWN_PATH.render(request)
        if request.method not in METHODS:
            request.setHeader(b"allow", b"GET, POST")
            return _error(request, WebSmsError(
                "HTTP16", "method %s is not allowed; use GET or POST"
                % ascii(request.method.decode("latin-1"))), 405)
        return self.answer(request)

    def answer(self, request):
        raise NotImplementedError


class WebSmsResource(_Endpoint):
    def __init__(self, door, config, clock):
        super().__init__()
        self.door = door
        self.clock = clock
        self.get_max = config.http.websms_get_max
        self.post_max = config.http.websms_post_max
        self.validity = config.outbound.default_validity

    def answer(self, request):
        if not self.door.available:
            return _unavailable(request)
        try:
            if request.method == b"POST":
                params = fields(WEBSMS_KEYS, _query(request), _form_body(request))
                ask = parse_websms(params, self.post_max, self.clock.seconds())
            else:
                ask = parse_websms(fields(WEBSMS_KEYS, _query(request)), self.get_max,
                                   self.clock.seconds())
        except WebSmsError as e:
            return _error(request, e)
        return _later(request, self._send(ask), "HTTP03")

    async def _send(self, ask):
        user = await _login(self.door, ask.user, ask.password)
        _permitted(self.door, user, accounts.SUBMIT)
        text, sender, coding, schedule = ask.text, ask.sender, ask.coding, ask.schedule
        validity = None if schedule is None else schedule + self.validity
        messages = [HttpMessage(number, text, sender, coding, schedule, validity)
                    for number in ask.numbers if number is not None]
        outcomes = iter(await self.door.send(user, messages))
        lines = []
        add = lines.append
        for number in ask.numbers:
            if number is None:
                add(_BAD_NUMBER)
                continue
            outcome = next(outcomes)
            if outcome.status:
                add(_BAD_NUMBER if outcome.bad_number else line_of(outcome.status))
            else:
                add(_RESPONSE + outcome.message_id.encode("ascii"))
        return b"\n".join(lines)


class StatusResource(_Endpoint):
    def __init__(self, door, config):
        super().__init__()
        self.door = door
        self.credentials_required = not config.http.status_without_credentials

    def answer(self, request):
        if not self.door.available:
            return _unavailable(request)
        try:
            sources = (_query(request),)
            if request.method == b"POST":
                sources += (_form_body(request),)
            query = parse_status(fields(STATUS_KEYS, *sources), self.credentials_required)
        except WebSmsError as e:
            return _error(request, e)
        return _later(request, self._status(query), "HTTP13")

    async def _status(self, query):
        if query.user is not None:
            user = await _login(self.door, query.user, query.password)
            _permitted(self.door, user, accounts.QUERY)
            lookup = self.door.status(user.name, query.message_id)
        else:
            lookup = self.door.status_of_anyone(query.message_id)
        try:
            status = await lookup
        except Exception as e:
            log.failure("websmsstatus: the lookup of {id} failed", id=query.message_id)
            raise WebSmsError("HTTP13", "the lookup failed") from e
        if status is None:
            raise WebSmsError("HTTP25", "no message %s" % query.message_id)
        return status_name(status.state).encode("ascii")


def _account(request, with_format=False):
    sources = (_query(request),)
    if request.method == b"POST":
        sources += (_form_body(request),)
    return parse_account(fields(ACCOUNT_KEYS, *sources), with_format)


class BalanceResource(_Endpoint):
    def __init__(self, door):
        super().__init__()
        self.door = door

    def answer(self, request):
        if not self.door.available:
            return _unavailable(request)
        try:
            query = _account(request)
        except WebSmsError as e:
            return _error(request, e)
        return _later(request, self._balance(query), "HTTP13")

    async def _balance(self, query):
        user = await _login(self.door, query.user, query.password)
        _permitted(self.door, user, None)
        if not user.prepaid:
            raise WebSmsError("HTTP15", "%s is postpaid: metered, no balance" % user.name)
        try:
            balance = await self.door.balance(user)
        except Exception as e:
            log.failure("balanceReport: the balance of {user} was not read", user=user.name)
            raise WebSmsError("HTTP13", "the balance could not be read") from e
        return _RESPONSE + b"%d" % balance


class CoverageResource(_Endpoint):
    def __init__(self, door):
        super().__init__()
        self.door = door

    def answer(self, request):
        try:
            query = _account(request, with_format=True)
        except WebSmsError as e:
            return _error(request, e)
        return _later(request, self._coverage(request, query), "HTTP13")

    async def _coverage(self, request, query):
        user = await _login(self.door, query.user, query.password)
        _permitted(self.door, user, None)
        rows = self.door.coverage(user)
        if query.format == "csv":
            body, kind = sheets.coverage_csv(rows), sheets.CSV_TYPE
        else:
            body, kind = sheets.coverage_xlsx(rows, user.name), sheets.XLSX_TYPE
        return _File(body, kind, sheets.filename(user.name, query.format))


class _File(bytes):
    """A body that is a download: its content type and file name travel with it."""

    def __new__(cls, body, kind, name):
        self = super().__new__(cls, body)
        self.kind, self.name = kind, name
        return self


class _UnknownPath(resource.Resource):
    isLeaf = True

    def render(self, request):
        path = request.path.decode("latin-1")
        return _error(request, WebSmsError(
            "HTTP01", "no such path: %s" % ascii(path if len(path) <= 80 else path[:80] + "...")),
            404)


_UNKNOWN_PATH = _UnknownPath()


# -- helpers -----------------------------------------------------------------------

async def _login(door, name, password):
    login = await door.login(name, password)
    if login.result == Login.OK:
        return login.user
    if login.result == Login.NO_USER:
        raise WebSmsError("HTTP05", "no user %s" % ascii(name))
    raise WebSmsError("HTTP04", "wrong password")


def _permitted(door, user, operation):
    """Raise the seed's HTTP26 for an expired account, HTTP15 for a door or an
    operation its account does not allow (policy/accounts.py)."""
    refused = door.refusal(user, accounts.WEBSMS, operation)
    if refused == accounts.EXPIRED:
        raise WebSmsError("HTTP26", "the account has expired")
    if refused is not None:
        raise WebSmsError("HTTP15", "the account may not make this request here")


def _query(request) -> bytes:
    return request.uri.partition(b"?")[2]


def _form_body(request) -> bytes:
    content = request.content
    content.seek(0)
    body = content.read()
    if not body:
        return b""
    kind = request.getHeader(b"content-type")
    if kind is not None and kind.split(b";", 1)[0].strip().lower() != FORM:
        raise WebSmsError("HTTP16", "a POST body must be application/x-www-form-urlencoded")
    return body


def _answer(request, body: bytes, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", TEXT_PLAIN)
    request.setHeader(b"content-length", b"%d" % len(body))   # not chunked
    return body


def _error(request, error: WebSmsError, status: int = 200) -> bytes:
    request.setHeader(b"x-error-detail", error.detail.encode("ascii", "backslashreplace"))
    return _answer(request, LINES[error.code], status)


def _unavailable(request) -> bytes:
    request.setHeader(b"retry-after", b"1")
    return _error(request, WebSmsError("HTTP11", "the router cannot store messages now"),
                  503)


def _later(request, coroutine, failed_code):
    """Answer with what coroutine returns (the body) or raises (WebSmsError, else
    failed_code), unless the client went away first."""
    gone = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def done(body):
        if gone:
            return
        if type(body) is _File:
            request.setHeader(b"content-type", body.kind)
            request.setHeader(b"content-disposition",
                              b'attachment; filename="%s"' % body.name)
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(bytes(body))
        else:
            request.write(_answer(request, body))
        request.finish()

    def failed(f):
        if f.check(WebSmsError):
            error = f.value
        else:
            log.failure("{path}: unexpected error", f, path=request.path)
            error = WebSmsError(failed_code, "unexpected error")
        if not gone:
            request.write(_error(request, error))
            request.finish()

    Deferred.fromCoroutine(coroutine).addCallbacks(done, failed)
    return server.NOT_DONE_YET
