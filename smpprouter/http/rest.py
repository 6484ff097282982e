"""Seed 004's REST API: POST /resources/v1/messaging, GET /resources/v1/messaging/<transid>,
and the OpenAPI document of both at GET /openapi.json.

This module only translates HTTP to Door calls and back. What a body may hold
is restparse.py's; the per-destination codes are restcodes.py's; the
idempotency records are the store's (store/idempotency.py); the whole API,
answers included, is openapi.json (tests check the real answers against it).

POST, in this order:
- header `key`, the user's service key: missing or unknown, 401; an account
  expired, or without the REST door or the submit operation, 403;
- content-type application/json (charset, if given, utf-8): else 415;
- the store unavailable: 503 with Retry-After: 1, before the body is parsed;
- Idempotency-Key (optional, at most 255 printable ASCII characters): a
  request with the key of an earlier one of the same user and body gets that
  one's answer (same status and body, header Idempotent-Replayed: true) for
  [http] idempotency_ttl, and nothing is sent again; while the first is in
  progress, 409; the same key with another body, 422. An answer of 5xx
  (nothing was queued) is not kept: a retry goes ahead;
- a body wrong as a whole: 400 naming the field;
- otherwise {"response": [...]}, one entry per destination in order:
  200, whatever became of each destination (its code says), except 503 with
  Retry-After: 1 when none was queued and every one failed for a temporary
  reason (restcodes.TEMPORARY): nothing was sent, and the same request may
  simply be sent again.
GET <transid>: the message's status for its owner; 404 for an id unknown or
another user's (the two are not told apart); 403 as for POST (operation query).
A message with smart links also gets "clicks" (all its links') and
"smartlinks": [{"linkid", "clicks"}] (smartlinks.py).
GET /resources/v1/balance: {"billing": "prepaid", "balance": N, "unit": "minor"},
N in the router's minor unit (routes.toml's prices count it; never converted);
a postpaid user {"billing": "postpaid", "balance": null}: a 200, since asking is
not wrong, and null rather than 0, which would read as "empty".
GET /resources/v1/coverage?format=csv|xlsx (default csv): the user's coverage
(routing/coverage.py) as an attachment; any other format, 400 naming "format".
It needs no Redis, so it answers while the store is away.
"""

import hashlib
import re
from datetime import datetime, timezone
from importlib import resources as package_files

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web import resource, server, static

from ..policy import accounts
from ..store.idempotency import BUSY, DONE, NEW, key_problem
from . import restcodes, sheets
from .bodies import error_body, json_body
from .door import HttpMessage
from .restparse import RequestError, parse
from .templates import load_templates

MESSAGING = "resources/v1/messaging"
BALANCE = "resources/v1/balance"
COVERAGE = "resources/v1/coverage"
COVERAGE_FORMATS = ("csv", "xlsx")
JSON = b"application/json"
RETRY_AFTER = b"1"
_ID = re.compile(r"[0-9A-Za-z]{1,64}")   # router ids: hex or decimal (ids.format_id)

log = Logger()


def resources(door, config, reactor):
    """{path: Resource} this API serves. Reads the templates file: a broken
    one is a ConfigError here, at start."""
    path = config.http.templates
    templates = load_templates(path) if path else {}
    return {MESSAGING: Messaging(door, config.http, templates),
            BALANCE: Balance(door), COVERAGE: Coverage(door),
            "openapi.json": static.Data(openapi_document(), "application/json")}


def openapi_document() -> bytes:
    return package_files.files(__package__).joinpath("openapi.json").read_bytes()


# -- answers --------------------------------------------------------------------

def _error(request, status, message, field=None):
    request.setResponseCode(status)
    request.setHeader(b"content-type", JSON)
    if status == 503:
        request.setHeader(b"retry-after", RETRY_AFTER)
    return error_body(status, message, field)


def _write(answer, request, replayed=False):
    """Send (status, body) unless the client has gone."""
    if request.channel is None:   # the connection was lost
        return
    status, body = answer
    request.setResponseCode(status)
    request.setHeader(b"content-type", JSON)
    if status == 503:
        request.setHeader(b"retry-after", RETRY_AFTER)
    if replayed:
        request.setHeader(b"idempotent-replayed", b"true")
    # the whole body is at hand: its length, not chunked encoding
    request.setHeader(b"content-length", b"%d" % len(body))
    request.write(body)
    request.finish()


def _user(door, request):
    """The config.User the request's `key` header names, else None."""
    raw = request.getHeader(b"key")
    if not raw:
        return None
    try:
        return door.user_by_key(raw.decode("ascii"))
    except UnicodeDecodeError:
        return None


def _unauthorised(request):
    if request.getHeader(b"key"):
        return _error(request, 401, "unknown service key", "key")
    return _error(request, 401, "the service key (header key) is missing", "key")


_FORBIDDEN = {
    accounts.EXPIRED: "the account has expired",
    accounts.DOOR: "the account may not use the REST API",
    accounts.OPERATION: "the account may not make this request",
}


def _forbidden(request, why):
    """403 naming why: the key is right, the account does not allow it (policy/accounts.py)."""
    return _error(request, 403, _FORBIDDEN[why], "key")


def _json_type(value) -> bool:
    """Is this content-type application/json (with no charset but utf-8)?"""
    if not value:
        return False
    media, _, parameters = value.partition(b";")
    if media.strip().lower() != JSON:
        return False
    for parameter in parameters.split(b";"):
        name, _, charset = parameter.partition(b"=")
        if name.strip().lower() == b"charset" \
                and charset.strip().strip(b'"').lower() not in (b"utf-8", b"utf8"):
            return False
    return True


def answer_of(outcomes, parsed):
    """(HTTP status, body) of a sent request: an entry per destination."""
    entries = []
    queued = temporary = 0
    outcome_of = iter(outcomes)
    entry_of, queued_code, temporary_codes = restcodes.entry_of, restcodes.QUEUED, \
        restcodes.TEMPORARY
    for item in parsed.items:
        if type(item) is HttpMessage:
            outcome = next(outcome_of)
            code, description = entry_of(outcome.status) if not outcome.bad_number else \
                (restcodes.INVALID_NUMBER, restcodes.DESCRIPTIONS[restcodes.INVALID_NUMBER])
            entry = {"code": code, "description": description}
            if code == queued_code:
                entry["transid"] = outcome.message_id
                queued += 1
            elif code in temporary_codes:
                temporary += 1
            correlationid = item.meta.get("correlationid")
        else:
            entry = {"code": restcodes.INVALID_NUMBER,
                     "description": restcodes.DESCRIPTIONS[restcodes.INVALID_NUMBER]}
            correlationid = item.correlationid
        if correlationid:
            entry["correlationid"] = correlationid
        entries.append(entry)
    status = 503 if not queued and temporary == len(entries) else 200
    return status, json_body({"response": entries})


# -- resources ------------------------------------------------------------------

class _JsonResource(resource.Resource):
    """A resource whose every answer is JSON, a method it has no render_ for too."""

    def render(self, request):
        method = getattr(self, "render_" + request.method.decode("ascii", "replace"), None)
        if method is None:
            request.setHeader(b"allow", self.allowed)
            return _error(request, 405, "method %s not allowed here"
                          % request.method.decode("ascii", "replace")[:20])
        return method(request)


class Messaging(_JsonResource):
    """POST: send; its children are the messages' statuses."""
    allowed = b"POST"

    def __init__(self, door, http_config, templates):
        super().__init__()
        self.door = door
        self.templates = templates
        self.max_destinations = http_config.max_destinations
        self.allow = http_config.webhook_allow

    def getChild(self, name, request):
        if name == b"":
            return self
        return TransactionStatus(self.door, name)

    def render_POST(self, request):
        door = self.door
        user = _user(door, request)
        if user is None:
            return _unauthorised(request)
        refused = door.refusal(user, accounts.REST, accounts.SUBMIT)
        if refused is not None:
            return _forbidden(request, refused)
        if not _json_type(request.getHeader(b"content-type")):
            return _error(request, 415, "the body must be JSON (content-type: "
                          "application/json, charset utf-8)", "content-type")
        if not door.available:
            return _error(request, 503, "the router cannot take messages right now; "
                          "send the request again in a moment")
        body = request.content.read()
        raw_key = request.getHeader(b"idempotency-key")
        if raw_key is None:
            self._send(user, body).addCallback(_write, request)
            return server.NOT_DONE_YET
        key = raw_key.decode("latin-1")
        problem = key_problem(key)
        if problem:
            return _error(request, 400, "Idempotency-Key " + problem, "Idempotency-Key")
        fingerprint = hashlib.sha256(body).hexdigest()
        door.claim(user.name, key, fingerprint).addCallbacks(
            self._claimed, self._not_claimed, (request, user, key, fingerprint, body), None,
            (request,))
        return server.NOT_DONE_YET

    def _send(self, user, body):
        """Deferred((status, body)) of a request."""
        links = self.door.links   # its table is swapped on reload: read it per request
        try:
            if links is None:
                parsed = parse(body, self.templates, self.max_destinations, self.allow,
                               allotted=user.templates)
            else:
                parsed = parse(body, self.templates, self.max_destinations, self.allow,
                               links.table, links.link_length, user.templates)
        except RequestError as e:
            return defer.succeed((400, error_body(400, e.message, e.field or None)))
        send = self.door.send_with_links if parsed.links else self.door.send
        return send(user, parsed.messages).addCallbacks(answer_of, _send_failed, (parsed,))

    def _claimed(self, claim, request, user, key, fingerprint, body):
        state = claim.state
        if state == NEW:
            self._send(user, body).addCallback(self._keep, user.name, key, fingerprint) \
                .addCallback(_write, request)
        elif state == DONE:
            _write((claim.status, claim.body), request, replayed=True)
        elif state == BUSY:
            _write((409, error_body(
                409, "a request with this Idempotency-Key is in progress; send it again "
                "once it is answered", "Idempotency-Key")), request)
        else:
            _write((422, error_body(
                422, "this Idempotency-Key was used for a request with another body",
                "Idempotency-Key")), request)

    def _keep(self, answer, user_name, key, fingerprint):
        """Keep the answer for the key's retries (5xx: free the key), then answer."""
        status, body = answer
        if status >= 500:
            d = self.door.release(user_name, key, fingerprint)
        else:
            d = self.door.finish(user_name, key, fingerprint, status, body)
        d.addErrback(_not_kept, user_name, status)
        return d.addCallback(lambda _: answer)

    def _not_claimed(self, failure, request):
        log.warn("REST: idempotency key not claimed: {error}", error=failure.getErrorMessage())
        _write((503, error_body(503, "the router cannot take messages right now; "
                                      "send the request again in a moment")), request)


def _send_failed(failure):
    log.failure("REST: sending failed", failure)
    return 500, error_body(500, "internal error; nothing was sent")


def _not_kept(failure, user_name, status):
    # The answer goes out all the same; a retry within the claim's lease
    # gets 409, after it the request is done again.
    log.warn("REST: the answer of {user}'s request ({status}) was not kept for its "
             "Idempotency-Key: {error}", user=user_name, status=status,
             error=failure.getErrorMessage())


class TransactionStatus(_JsonResource):
    """GET: one message's status, for its owner."""
    isLeaf = True
    allowed = b"GET"

    def __init__(self, door, transid: bytes):
        super().__init__()
        self.door = door
        self.transid = transid

    def render_GET(self, request):
        door = self.door
        user = _user(door, request)
        if user is None:
            return _unauthorised(request)
        refused = door.refusal(user, accounts.REST, accounts.QUERY)
        if refused is not None:
            return _forbidden(request, refused)
        transid = self.transid.decode("latin-1")
        if request.postpath or not _ID.fullmatch(transid):
            return _error(request, 404, "no message %r" % transid[:80], "transid")
        if not door.available:
            return _error(request, 503, "the router cannot answer right now; "
                          "ask again in a moment")
        door.status(user.name, transid, clicks=True).addCallbacks(
            _status_answer, _status_failed, (transid,)).addCallback(_write, request)
        return server.NOT_DONE_YET


def _status_answer(status, transid):
    if status is None:
        return 404, error_body(404, "no message %r" % transid, "transid")
    answer = {"transid": status.message_id, "status": status.state,
              "errorcode": status.error_code}
    if status.final_date:
        answer["finaldate"] = iso8601(status.final_date)
    if status.clicks:
        answer["clicks"] = sum(status.clicks.values())
        answer["smartlinks"] = [{"linkid": link_id, "clicks": status.clicks[link_id]}
                                for link_id in sorted(status.clicks)]
    return 200, json_body(answer)


def _status_failed(failure):
    log.warn("REST: status not read: {error}", error=failure.getErrorMessage())
    return 503, error_body(503, "the router cannot answer right now; ask again in a "
                                 "moment")


def iso8601(unix_time: float) -> str:
    """UTC, milliseconds, Z: 2026-12-01T10:00:00.000Z."""
    return datetime.fromtimestamp(unix_time, timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _account_resource(door, request):
    """(user, None) for a GET of an account's resource (balance, coverage) by a
    key its account lets use the REST API, else (None, the answer refusing it)."""
    user = _user(door, request)
    if user is None:
        return None, _unauthorised(request)
    refused = door.refusal(user, accounts.REST, None)
    if refused is not None:
        return None, _forbidden(request, refused)
    if request.postpath not in ([], [b""]):
        return None, _error(request, 404, "no such resource")
    return user, None


class Balance(_JsonResource):
    """GET: the user's credit."""
    isLeaf = True
    allowed = b"GET"

    def __init__(self, door):
        super().__init__()
        self.door = door

    def render_GET(self, request):
        door = self.door
        user, refused = _account_resource(door, request)
        if refused is not None:
            return refused
        if not user.prepaid:
            return _answer_now(request, {"billing": "postpaid", "balance": None})
        if not door.available:
            return _error(request, 503, "the router cannot answer right now; "
                          "ask again in a moment")
        door.balance(user).addCallbacks(_balance_answer, _balance_failed, None, None,
                                        (user.name,)).addCallback(_write, request)
        return server.NOT_DONE_YET


def _answer_now(request, payload):
    body = json_body(payload)
    request.setHeader(b"content-type", JSON)
    request.setHeader(b"content-length", b"%d" % len(body))
    return body


def _balance_answer(balance):
    return 200, json_body({"billing": "prepaid", "balance": balance, "unit": "minor"})


def _balance_failed(failure, user):
    log.warn("REST: the balance of {user} was not read: {error}", user=user,
             error=failure.getErrorMessage())
    return 503, error_body(503, "the router cannot answer right now; ask again in a "
                                 "moment")


class Coverage(_JsonResource):
    """GET: the user's coverage as a CSV or XLSX attachment."""
    isLeaf = True
    allowed = b"GET"

    def __init__(self, door):
        super().__init__()
        self.door = door

    def render_GET(self, request):
        user, refused = _account_resource(self.door, request)
        if refused is not None:
            return refused
        values = request.args.get(b"format", [b"csv"])
        kind = values[0].decode("latin-1").lower() if len(values) == 1 else ""
        if kind not in COVERAGE_FORMATS:
            return _error(request, 400, "format must be one of %s, once"
                          % ", ".join(COVERAGE_FORMATS), "format")
        rows = self.door.coverage(user)
        if kind == "csv":
            body, media = sheets.coverage_csv(rows), sheets.CSV_TYPE
        else:
            body, media = sheets.coverage_xlsx(rows, user.name), sheets.XLSX_TYPE
        request.setHeader(b"content-type", media)
        request.setHeader(b"content-disposition", b'attachment; filename="%s"'
                          % sheets.filename(user.name, kind))
        request.setHeader(b"content-length", b"%d" % len(body))
        return body
