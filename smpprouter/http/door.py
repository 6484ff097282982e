"""What the HTTP face asks of the router: who is calling, send, what became of it.

The two APIs (seed 004's REST, seed 003's query string) parse requests into
HttpMessage values and render Outcomes back in their own codes; everything
between is here and is the same for both: users, the text's encoding and
part count, the Submission the MT core takes, and the records query_sm reads
too. HTTP messages always go store and forward (ESME_ROK = durable in Redis),
with a receipt asked for: an HTTP client has no session to wait on, and the
status API and the webhooks need the receipt.

Nothing here knows twisted.web: the resources are in rest.py and websms.py.
"""

import hmac
import time
from dataclasses import dataclass, field

from twisted.internet import defer, threads
from twisted.python import failure

from ..core.messages import Outcome, Submission
from ..core.mt import STORE_DOWN
from ..passwords import hash_service_key
from ..policy import accounts
from ..smpp.errors import EncodeError
from ..smpp.status import Status
from ..smpp.text import DC_UCS2, MAX_PARTS, choose_coding, count_parts, encode_text, \
    DC_DEFAULT
from .meta import encode_meta

AUTO, GSM7, UCS2 = "auto", "gsm7", "ucs2"
REGISTERED_DELIVERY = 0x01   # a receipt for the final outcome, success or failure
# How long a request in progress holds its Idempotency-Key (store/idempotency.py):
# far longer than a send takes (the store's timeout bounds it), short enough
# that a process dying mid-request does not lock the key for its whole TTL.
CLAIM_LEASE = 60

# What a user sees of a message, from its record (store.MessageRecord.state).
# Phases the router holds a message in, then SMPP's final message_state digits.
PHASES = {"S": "scheduled", "Q": "queued", "T": "sending", "X": "expiring", "U": "sent"}
FINAL = {"1": "sent", "2": "delivered", "3": "expired", "4": "deleted", "5": "undeliverable",
         "6": "accepted", "7": "unknown", "8": "rejected", "9": "skipped"}


@dataclass(slots=True)
class HttpMessage:
    """One message to one destination, as an HTTP API parsed it."""
    destination: str             # digits, international form (country code first)
    text: str
    sender: str = ""
    coding: str = AUTO           # AUTO: GSM 03.38 when it can, else UCS2
    schedule: float | None = None  # unix time; None: now
    validity: float | None = None  # unix time; None: [outbound] default_validity
    priority: int = 0            # 0-3
    meta: dict = field(default_factory=dict)  # what its receipt's webhook echoes:
                                 # correlationid, notifyurl, notifydata, callbackData
    tlvs: dict = field(default_factory=dict)  # optional parameters by name (a REST
                                 # template's DLT ids), shared: never changed
    links: tuple = ()            # REST smart links its text's {{link_<id>}} become:
                                 # ((id, target URL, days), ...), shared (smartlinks.py)


@dataclass(slots=True)
class MessageStatus:
    """A message's state as the HTTP face reports it (one of PHASES / FINAL's values)."""
    message_id: str
    state: str
    final_date: float = 0.0     # unix time; 0 while not final
    error_code: int = 0
    clicks: dict | None = None  # smart links: link id -> clicks; None without links


class Login:
    """The answer to a user/password pair: `user` (config.User) or why not."""
    OK, NO_USER, BAD_PASSWORD = "ok", "no-user", "bad-password"
    __slots__ = ("result", "user")

    def __init__(self, result, user=None):
        self.result = result
        self.user = user


def encode_body(message: HttpMessage):
    """(data_coding, octets) of the text, or raise EncodeError (not GSM 03.38 for GSM7)."""
    if message.coding == AUTO:
        return choose_coding(message.text)
    coding = DC_DEFAULT if message.coding == GSM7 else DC_UCS2
    return coding, encode_text(message.text, coding)


def address_of(number: str):
    """(ton, npi) of a sender or destination: international digits, else alphanumeric."""
    if number.isdigit():
        return (1, 1) if len(number) > 8 else (0, 1)   # long: international; short code
    return (5, 0) if number else (0, 0)


class Door:
    def __init__(self, config, core, store, passwords):
        self.config = config
        self.core = core
        self.store = store
        self.passwords = passwords
        # Service keys are looked up by their digest (passwords.hash_service_key).
        self._keys = {u.service_key: u for u in config.users.values() if u.service_key}
        self._checking = {}   # password cache key -> Deferreds waiting on its scrypt
        self.links = None     # smartlinks.Smartlinks when [http] links is set

    @property
    def available(self) -> bool:
        """False while the store cannot be expected to take a write: the face
        answers 503 with Retry-After before parsing further."""
        return self.store.available

    # -- who is calling -------------------------------------------------------

    def user_by_key(self, key: str):
        """The config.User whose service key this is, or None."""
        if not key:
            return None
        user = self._keys.get(hash_service_key(key))
        if user is None:
            return None
        # the dict lookup found it by digest; compare in constant time anyway
        return user if hmac.compare_digest(user.service_key, hash_service_key(key)) else None

    def login(self, name: str, password: str):
        """Deferred(Login). scrypt runs in a thread the first time a pair is seen;
        after that the password cache answers (one HMAC)."""
        user = self.config.users.get(name)
        stored = user.password if user is not None else None
        answer = self.passwords.peek(password, stored)
        if answer is not None:
            return defer.succeed(_login(answer, user))
        # The first requests of a client with many connections all miss the
        # cache at once: one scrypt for them all, not one each (32 connections
        # cost 1.3 s of CPU otherwise).
        key = self.passwords.cache_key(password, stored)
        waiting = self._checking.get(key)
        if waiting is None:
            waiting = self._checking[key] = []
            threads.deferToThread(self.passwords.verify, password, stored).addBoth(
                self._checked, key)
        d = defer.Deferred()
        waiting.append(d)
        return d.addCallback(_login, user)

    def _checked(self, result, key):
        for d in self._checking.pop(key):
            if isinstance(result, failure.Failure):
                d.errback(result)
            else:
                d.callback(result)

    def refusal(self, user, door: str, operation: str):
        """None if the user's account lets it make this request by this door now
        (its expires, doors and operations: policy/accounts.py), else why not:
        accounts.EXPIRED, DOOR or OPERATION, for the API to say in its codes."""
        return accounts.refusal(user, door, time.time(), operation)

    # -- sending --------------------------------------------------------------

    def submission(self, user, message: HttpMessage):
        """(Submission, parts) for message, or an Outcome refusing it."""
        try:
            coding, body = encode_body(message)
        except (EncodeError, UnicodeEncodeError):
            return Outcome(Status.ESME_RINVDCS)
        parts = count_parts(payload=body, data_coding=coding)
        if parts > MAX_PARTS or len(body) > 0xFFFF:
            return Outcome(Status.ESME_RINVMSGLEN)
        source_ton, source_npi = address_of(message.sender)
        dest_ton, dest_npi = address_of(message.destination)
        s = Submission(user.name, message.sender, message.destination, body, coding, 0,
                       source_ton, source_npi, dest_ton, dest_npi, "", 0, message.priority,
                       REGISTERED_DELIVERY, 0, 0, message.schedule, message.validity,
                       dict(message.tlvs) if message.tlvs else {}, encode_meta(message.meta))
        return s, parts

    def send(self, user, messages):
        """Deferred(list of Outcome), one per message in order: ESME_ROK with the
        router's id once the message is durable in Redis, or why not (an SMPP
        status; the face says it in its API's codes)."""
        if not self.store.available:
            return defer.succeed([Outcome(STORE_DOWN) for _ in messages])
        outcomes = [None] * len(messages)
        waiting = [len(messages)]
        done = defer.Deferred()
        if not messages:
            done.callback(outcomes)
            return done
        submit = self.core.mt.submit

        def answered(outcome, index):
            outcomes[index] = outcome
            waiting[0] -= 1
            if not waiting[0]:
                done.callback(outcomes)

        for index, message in enumerate(messages):
            made = self.submission(user, message)
            if type(made) is Outcome:
                answered(made, index)
                continue
            s, parts = made
            submit(s, lambda outcome, i=index: answered(outcome, i), True, parts)
        return done

    def send_with_links(self, user, messages):
        """As send, for messages some of which have smart links (REST): each
        destination's links made first (smartlinks.py)."""
        return self.links.send(self.send, user, messages)

    def follow(self, token: str, count: bool = True):
        """Deferred(store.links.LinkRecord, or None): where a short link leads;
        count: it was clicked (smartlinks.py)."""
        return self.links.follow(token, count)

    # -- idempotency keys (the REST API's Idempotency-Key) -------------------

    def claim(self, user_name, key, fingerprint):
        """Deferred(store.idempotency.Claim) for a request with this key and body."""
        return self.store.claim_request(user_name, key, fingerprint, CLAIM_LEASE)

    def finish(self, user_name, key, fingerprint, status, body):
        """Deferred: the request's answer is kept for [http] idempotency_ttl."""
        return self.store.finish_request(user_name, key, fingerprint, status, body,
                                         self.config.http.idempotency_ttl)

    def release(self, user_name, key, fingerprint):
        """Deferred: the key is free again (the request did nothing)."""
        return self.store.release_request(user_name, key, fingerprint)
    # -- credit ---------------------------------------------------------------

    def balance(self, user):
        """Deferred(int: the prepaid user's balance in the router's minor unit, as
        routes.toml prices count it), or Deferred(None) for a postpaid user, who
        has none (metered, billed afterwards)."""
        if not user.prepaid:
            return defer.succeed(None)
        return self.store.balance(user.name)

    def coverage(self, user):
        """[routing.coverage.CoverageRow]: the prefixes the user reaches and their
        price per part, from the routing table in force (no I/O; [] from a
        routing plugin that cannot tell)."""
        of = getattr(self.core.routes, "coverage", None)
        return of(user.name, user.groups) if of is not None else []

    # -- what became of it ----------------------------------------------------

    async def _status(self, user_name, message_id, clicks=False):
        record = await self.core.mt.record(user_name, message_id)
        if record is None:
            return None
        state = record.state
        name = FINAL.get(state) if state.isdigit() else PHASES.get(state, "unknown")
        counts = None
        if clicks and self.links is not None:
            counts = await self.links.clicks(user_name, message_id) or None
        return MessageStatus(message_id, name or "unknown", record.final_date,
                             record.error_code, counts)

    def status(self, user_name: str, message_id: str, clicks: bool = False):
        """Deferred(MessageStatus, or None for an id unknown or another user's);
        clicks: with its smart links' clicks (one Redis command more, when the
        router has smart links)."""
        return defer.Deferred.fromCoroutine(self._status(user_name, message_id, clicks))

    def status_of_anyone(self, message_id: str):
        """Deferred(MessageStatus or None) whoever owns it: only for the
        operator's seed-exact option (http.status_without_credentials)."""
        return defer.Deferred.fromCoroutine(self._status(None, message_id))


def _login(ok, user):
    if user is None:
        return Login(Login.NO_USER)
    if not ok:
        return Login(Login.BAD_PASSWORD)
    return Login(Login.OK, user)
