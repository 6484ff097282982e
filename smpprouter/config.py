"""etc/smpprouter.toml, read once into frozen objects the rest of the router can trust.

Everything an operator can get wrong is caught here, before a port is opened
or a bind is attempted, and reported through TomlFile so the message names
the file, the line and the key (a typo'd key included: unknown keys are
errors, with a suggestion). The rest of the code reads plain attributes and
never re-checks a value. Relative paths are resolved against the config
file's directory, so the router behaves the same whatever its working
directory.
"""

import datetime
import difflib
import ipaddress
import os
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from twisted.internet.endpoints import _parseServer

from smpprouter.passwords import is_hash
from smpprouter.policy.numbers import country_code_problem
from smpprouter.tomlfile import ConfigError, TomlFile
from smpprouter.receiptmap import (DATE_LENGTHS, DLVRD, TEXT_KEYS, ReceiptProfile, load_receipt_map,
                                   load_reverse_map)
from smpprouter.smpp.text import AIR_OCTETS, METHODS, MIN_AIR_OCTETS, UDH8

__all__ = ["ConfigError", "load_config", "Config", "RouterConfig", "RedisConfig",
           "SmppConfig", "SecurityConfig", "OutboundConfig", "HttpConfig", "MetricsConfig",
           "LogConfig", "ListenerTLS", "Listener", "Connector",
           "User", "KEYS"]

_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_REQUIRED = object()
# 1.0 and 1.1 only when an operator writes them (seed 002's ESMEs still speak them).
_TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
_ID_FORMS = ("as-is", "hex", "decimal")
RECEIPT_TIMEOUT = 43200   # connectors' default receipt_timeout (s): 12 h
_WINDOW_POLICIES = ("pause", "refuse")
LOG_FORMATS = ("text", "json")
_PROTOCOLS = ("smpp", "http", "metrics")
# A service key's stored form: its SHA-256, hex (passwords.hash_service_key).
_SERVICE_KEY = re.compile(r"sha256\$[0-9a-f]{64}")

# The keys each table accepts (NAME: any listener, connector or user), in the
# order etc/smpprouter.toml shows them; tests/test_config.py checks that the
# shipped file shows every one.
KEYS = {
    "": ("router", "redis", "smpp", "security", "outbound", "http", "metrics", "log",
         "listeners", "connectors",
         "users"),
    "router": ("name", "var_dir", "routing", "routes", "pid_file", "content"),
    "redis": ("url", "max_queue", "dlr_retention", "claim_idle", "spool_max", "ledger_max",
              "sentinels", "master", "sentinel_password", "wait_replicas", "wait_timeout"),
    "smpp": ("window", "max_pdu_length", "session_init_timeout", "enquire_link_interval",
             "inactivity_timeout", "response_timeout", "shutdown_timeout"),
    "security": ("bind_failures", "bind_failure_window", "bind_lockout"),
    "outbound": ("max_queue", "default_validity", "max_validity", "retry_min", "retry_max",
                 "schedule_interval", "batch"),
    "http": ("max_body", "request_timeout", "max_destinations", "websms_get_max",
             "websms_post_max", "status_without_credentials", "templates", "links",
             "link_base", "idempotency_ttl", "webhook_timeout", "webhook_concurrency",
             "webhook_retention", "webhook_allow"),
    "metrics": ("enabled", "publish_interval"),
    "log": ("format", "message_text"),
    "listeners.NAME": ("protocol", "endpoint", "max_connections", "max_connections_per_ip",
                       "tls"),
    "listeners.NAME.tls": ("certificate", "private_key", "min_version", "ca"),
    "connectors.NAME": ("host", "port", "system_id", "password", "system_type",
                        "interface_version", "bind", "binds", "window", "throughput",
                        "enquire_link_interval", "response_timeout", "reconnect_min",
                        "reconnect_max", "hold_unbound", "dlr_expiry", "resp_id", "receipt_id",
                        "receipt_wait", "receipt_timeout",
                        "tls", "tls_ca", "tls_hostname", "tls_min_version",
                        "max_octets", "message_payload", "split", "receipt_map",
                        "mo_parts_timeout"),
    "users.NAME": ("password", "groups", "max_binds", "throughput", "window", "window_policy",
                   "message_id", "dlr_retention", "store_and_forward", "service_key",
                   "dlr_url", "mo_url", "click_url", "webhook_secret", "webhook_retention",
                   "allow_from",
                   "tls_subject", "billing", "low_balance", "sender_ids", "tlv_defaults",
                   "max_receivers", "bind_scope", "system_type", "expires", "doors",
                   "operations", "country_code", "duplicate_window", "traffic",
                   "receipt_dates", "receipt_text", "receipt_codes", "receipt_dlvrd",
                   "mo_reassemble", "templates"),
}
PREPAID, POSTPAID = "prepaid", "postpaid"
_BILLING = (POSTPAID, PREPAID)
# The TLVs a user may give defaults for: seed 002's DLT ids (text).
TLV_DEFAULTS = ("pe_id", "template_id", "tm_id")
# Where a user's limits (max_binds, max_receivers, throughput) hold: across every
# process sharing the Redis, or in each process on its own (seed 002's "per server").
BIND_SCOPES = ("router", "process")
# The ways in (doors) and the requests (operations) a user may be allowed.
DOORS = ("smpp", "rest", "websms")
OPERATIONS = ("submit", "query", "cancel", "replace")
MAX_AMOUNT = 2 ** 50   # minor units: balances stay exact in Redis's Lua numbers (doubles)


@dataclass(frozen=True, slots=True)
class RouterConfig:
    name: str          # the system_id the router answers binds with
    var_dir: str       # absolute
    routing: str       # name of the IRouter plugin
    routes: str        # absolute path of the routing table file
    pid_file: str      # absolute
    content: str | None = None   # absolute path of the content rules (policy/content.py)


@dataclass(frozen=True, slots=True)
class RedisConfig:
    """Where the store lives. With no url the service runs an embedded Redis under
    var_dir; then `embedded` is True and the connection fields are None."""
    url: str                   # as written ("" when embedded)
    host: str | None
    port: int | None
    unix_socket: str | None    # set instead of host/port for unix:// urls
    db: int
    username: str | None
    password: str | None = field(repr=False)
    max_queue: int             # bound of each user's delivery queue
    dlr_retention: int         # seconds a user's undelivered receipts are kept
    claim_idle: int            # seconds before a dead process's taken deliveries are reclaimed
    spool_max: int = 100_000_000   # bytes of receipts and MOs kept on local disk while
                                   # Redis is away; 0: none (the upstream keeps them)
    ledger_max: int = 1_000_000    # entries of each user's credit ledger (XADD MAXLEN ~)
    sentinels: tuple = ()          # ((host, port), ...): the primary is found through them
    master: str | None = None      # the sentinels' name of the primary
    sentinel_password: str | None = field(default=None, repr=False)
    wait_replicas: int = 0         # replicas that must have a write before it is answered
    wait_timeout: float = 1.0      # seconds WAIT gives them
    cluster: tuple = ()            # redis+cluster:// urls: the seed nodes, ((host, port), ...)

    @property
    def embedded(self) -> bool:
        return not self.url and not self.sentinels


@dataclass(frozen=True, slots=True)
class SmppConfig:
    """Defaults of ESME-facing sessions. Timers in seconds, 0 = off."""
    window: int
    max_pdu_length: int
    session_init_timeout: int
    enquire_link_interval: int
    inactivity_timeout: int
    response_timeout: int
    shutdown_timeout: int      # how long a graceful stop waits for sessions to unbind


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """Password guessing: after bind_failures failed binds within
    bind_failure_window seconds from one source IP, or for one system_id,
    binds from that IP (as that system_id) are refused for bind_lockout
    seconds, in every router process sharing the Redis. bind_failures = 0: off."""
    bind_failures: int = 5
    bind_failure_window: int = 60
    bind_lockout: int = 300


@dataclass(frozen=True, slots=True)
class OutboundConfig:
    """The store-and-forward path: each connector's outbound queue in Redis and
    the scheduler feeding it. Times in seconds. A validity is how long a queued
    or scheduled message may wait before it expires; the back-off (retry_min
    doubling up to retry_max) follows an upstream ESME_RTHROTTLED or
    ESME_RMSGQFUL, or a lost bind."""
    max_queue: int = 1000000        # messages queued per connector; beyond, ESME_RMSGQFUL
    default_validity: int = 172800  # when the submit gives no validity_period
    max_validity: int = 604800      # a longer validity_period is cut to this
    retry_min: float = 1.0
    retry_max: float = 60.0
    schedule_interval: float = 1.0  # how often due scheduled messages are queued
    batch: int = 100                # entries read from a queue at once


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """The HTTP face ([listeners.http]): seed 004's REST API, seed 003's
    query-string API, and the webhooks that carry receipts and MOs to users'
    URLs. Times in seconds."""
    max_body: int = 4 * 1024 * 1024   # bytes; a longer request body is refused (413)
    request_timeout: float = 30.0     # a request must arrive whole within this (slow clients)
    max_destinations: int = 1000      # REST: destinations per request, in all
    websms_get_max: int = 100         # seed 003: numbers per GET
    websms_post_max: int = 10000      # seed 003: numbers per POST
    status_without_credentials: bool = False  # seed 003's websmsstatus as written: no user/pass
    templates: str | None = None      # absolute path of the REST API's message templates
    links: str | None = None          # absolute path of the REST API's smart links
    link_base: str = ""               # the public URL the short links start with (ends in /)
    idempotency_ttl: int = 86400      # how long an Idempotency-Key's first answer is kept
    webhook_timeout: float = 10.0     # one webhook request, connect to last byte
    webhook_concurrency: int = 8      # webhook requests in flight per receiving host
    webhook_retention: int = 259200   # undelivered webhooks are retried this long (72 h)
    webhook_allow: tuple = ()         # networks (CIDR) a notifyurl may reach despite being
                                      # loopback, link-local or private


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """Prometheus metrics (/metrics on the HTTP listeners and [listeners.metrics])."""
    enabled: bool = True            # false: no /metrics, and no counts kept only for it
    publish_interval: float = 5.0   # seconds between a worker's snapshots in Redis, which
                                    # a scrape of any worker adds up (smpprouter/metrics)


@dataclass(frozen=True, slots=True)
class LogConfig:
    """How the router logs (smpprouter/logs.py)."""
    format: str = "text"            # "json": one JSON object per line (twisted.logger's)
    message_text: bool = False      # true: lines about one message show its text (debug)


@dataclass(frozen=True, slots=True)
class ListenerTLS:
    certificate: str           # absolute paths, checked to exist
    private_key: str           # the certificate file itself when not given
    min_version: str           # "1.2" | "1.3"
    ca: str | None             # set: client certificates signed by it are required


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    endpoint: str              # a Twisted server endpoint string, tcp: or unix:
    tls: ListenerTLS | None
    protocol: str = "smpp"     # "smpp" | "http" | "metrics"; by default a listener named
                               # http or metrics speaks that, any other smpp
    max_connections: int = 0   # connections at once; beyond, closed at once; 0 = unlimited
    max_connections_per_ip: int = 0   # the same per source address

    @property
    def loopback_only(self) -> bool:
        """Only this machine can connect (unix sockets, or a loopback interface)."""
        return _loopback_only(self.endpoint)


@dataclass(frozen=True, slots=True)
class Connector:
    """An upstream SMSC and how to bind to it."""
    name: str
    host: str
    port: int
    system_id: str
    password: str = field(repr=False)
    system_type: str
    interface_version: int     # 0x33 | 0x34
    bind: str                  # "transceiver" | "transmitter+receiver"
    binds: int                 # sessions (pairs for transmitter+receiver)
    window: int
    throughput: float          # messages/s per bind, 0 = unlimited
    enquire_link_interval: int
    response_timeout: int
    reconnect_min: float
    reconnect_max: float
    hold_unbound: float        # seconds submissions wait for a bind while none is up; 0 = fail
    dlr_expiry: int            # seconds a submitted message's mapping is kept
    receipt_wait: float        # seconds a receipt that beat its mapping is looked up again
    resp_id: str               # id form in submit_sm_resp: "as-is" | "hex" | "decimal"
    receipt_id: str            # id form in receipts: same choices
    tls: bool
    tls_ca: str | None         # absolute; None = the system trust store
    tls_hostname: str          # the host when not given
    tls_min_version: str
    # What the upstream takes (core/multipart.py): one SMS of max_octets on air; a
    # longer message (or a data_sm) the router splits by `split`, unless it takes
    # message_payload (then it goes whole, as before).
    max_octets: int = 140
    message_payload: bool = False
    split: str = "udh8"        # "udh8" | "udh16" | "sar"
    receipt_map: tuple = ()    # receiptmap.load_receipt_map() of its `receipt_map` file
    # seconds after which a message still without a final receipt gets the router's
    # own (UNKNOWN, err 099; core/timeouts.py); 0 = never
    receipt_timeout: int = 0
    # seconds the parts of a concatenated MO wait for the rest (core/moparts.py)
    mo_parts_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class User:
    """An ESME account; name is its SMPP system_id."""
    name: str
    password: str = field(repr=False)  # a passwords.hash_password() value
    groups: frozenset
    max_binds: int             # across the whole router
    throughput: float          # messages/s across the user's sessions, 0 = unlimited
    window: int                # effective: [smpp].window when the file says 0
    message_id: str            # "hex" | "decimal"
    dlr_retention: int = 0     # seconds its undelivered queue is kept; 0 = [redis] dlr_retention
    # Beyond its window: "pause" stops reading the session until answers drain,
    # "refuse" answers ESME_RTHROTTLED.
    window_policy: str = "pause"
    # True: ESME_ROK means stored durably in Redis; the message goes later from the
    # connector's outbound queue and receipts report what became of it.
    store_and_forward: bool = False
    # The HTTP face: the REST API's `key` header, as passwords.hash_service_key()
    # stores it ("" = no REST access); seed 003's API authenticates with the password.
    service_key: str = field(default="", repr=False)
    dlr_url: str = ""          # receipts go here (webhook) unless a message names its own
    mo_url: str = ""           # MOs go here (webhook); "" = to its SMPP receivers
    click_url: str = ""        # clicks on its messages' smart links go here (webhook)
    webhook_secret: str = field(default="", repr=False)  # HMAC-SHA256 key of its webhooks
    webhook_retention: int = 0  # seconds undelivered webhooks are retried; 0 = [http]'s
    allow_from: tuple = ()     # networks (ip_network) it may bind from; () = anywhere
    # set: it may only bind over TLS with a verified client certificate whose
    # subject common name is this (a listener with tls.ca)
    tls_subject: str = ""
    # "prepaid": each message is charged (price x parts, routes.toml) from bal:{user}
    # before it is sent, refused with ESME_RINVBALANCE when short; "postpaid": metered only.
    billing: str = POSTPAID
    low_balance: int = 0       # prepaid: warn once each time the balance falls below; 0 = off
    sender_ids: tuple = ()     # source addresses it may send from, exact or glob; () = any
    tlv_defaults: tuple = ()   # ((tlv name, text), ...) for messages on routes requiring TLVs
    # Receiver-capable sessions (receiver or transceiver) at once; 0 = max_binds only.
    max_receivers: int = 0
    bind_scope: str = "router"  # BIND_SCOPES: where max_binds, max_receivers, throughput hold
    system_type: str = ""      # the bind's system_type must be this (any case); "" = any
    expires: float = 0.0       # unix time after which it may not bind or send; 0 = never
    doors: frozenset = frozenset(DOORS)            # the ways in it may use
    operations: frozenset = frozenset(OPERATIONS)  # the requests it may make
    # set: its destinations are normalised to E.164 before routing (policy/numbers.py),
    # national ones (trunk prefix 0) getting this country code; "" = as sent
    country_code: str = ""
    # seconds within which the same destination and body is refused as a duplicate; 0 = off
    duplicate_window: int = 0
    # traffic = "promotional": all its messages keep routes' hours (policy/hours.py);
    # "transactional" (the default): only those with service_type "PROMO" do
    promotional: bool = False
    # how its receipts are written (receipt_dates, receipt_text, receipt_codes); None:
    # as today (the upstream's as sent, the router's own YYMMDDhhmm with Text:)
    receipt_profile: ReceiptProfile | None = None
    # True: a concatenated MO reaches its SMPP receivers as one deliver_sm, the whole
    # message in message_payload; False: as the parts the upstream sent
    mo_reassemble: bool = False
    # the REST templates it may name (seed 002's 453 "not allotted"); None: all
    templates: frozenset | None = None

    @property
    def prepaid(self) -> bool:
        return self.billing == PREPAID


@dataclass(frozen=True, slots=True)
class Config:
    path: str                  # the file, as given
    router: RouterConfig
    redis: RedisConfig
    smpp: SmppConfig
    listeners: dict            # name -> Listener, in file order
    connectors: dict           # name -> Connector, in file order
    users: dict                # name -> User, in file order
    outbound: OutboundConfig = field(default_factory=OutboundConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)

    @property
    def routes(self) -> str:
        """Absolute path of the routing table file."""
        return self.router.routes

    def user(self, name: str) -> User | None:
        return self.users.get(name)

    def connector(self, name: str) -> Connector | None:
        return self.connectors.get(name)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


def _shown(value) -> str:
    """The value for a message: short scalars only."""
    if isinstance(value, (dict, list)) or len(repr(value)) > 40:
        return _kind(value)
    return "%s (%r)" % (_kind(value), value)


class _Table:
    """One TOML table being read: allow() names its keys, typed getters read them."""

    def __init__(self, tf: TomlFile, key: tuple, data: dict):
        self.tf, self.key, self.data = tf, key, data
        self.allowed = ()

    def error(self, name, message: str) -> ConfigError:
        key = self.key + ((name,) if name is not None else ())
        error = self.tf.error(key, message)
        if error.line is None:
            # A table only defined through its sub-tables ([user.esme2] defines
            # "user" on no line of its own): point at its first line.
            line = _first_line(self.tf, key, self.data.get(name) if name else self.data)
            if line is not None:
                error = ConfigError(error.path, line, error.key, error.message)
        return error

    def allow(self, *names) -> None:
        """The keys this table may hold; any other is reported now, before a
        missing key its typo would explain."""
        self.allowed = names
        for name in self.data:
            if name not in names:
                message = "unknown key %r" % name
                close = difflib.get_close_matches(name, names, n=1)
                if close:
                    message += "; did you mean %r?" % close[0]
                else:
                    message += " (known keys: %s)" % ", ".join(names)
                raise self.error(name, message)

    def _get(self, name, default):
        assert name in self.allowed, name
        if name in self.data:
            return self.data[name]
        if default is _REQUIRED:
            raise self.error(name, "required key is missing")
        return default

    def string(self, name, default=_REQUIRED, *, min_len=0, max_len=None,
               choices=None, printable=False) -> str:
        value = self._get(name, default)
        if not isinstance(value, str):
            raise self.error(name, "must be a string, not %s" % _shown(value))
        if choices is not None and value not in choices:
            message = "must be one of %s, not %r" % (", ".join(map(repr, choices)), value)
            close = difflib.get_close_matches(value, choices, n=1)
            if close:
                message += "; did you mean %r?" % close[0]
            raise self.error(name, message)
        if len(value) < min_len:
            raise self.error(name, "must not be empty" if min_len == 1
                             else "must be at least %d characters" % min_len)
        if max_len is not None and len(value) > max_len:
            raise self.error(name, "must be at most %d characters, not %d"
                             % (max_len, len(value)))
        if printable and not _PRINTABLE.fullmatch(value):
            raise self.error(name, "must be printable ASCII")
        return value

    def integer(self, name, default=_REQUIRED, lo=None, hi=None) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, "must be an integer, not %s" % _shown(value))
        self._check_range(name, value, lo, hi)
        return value

    def number(self, name, default=_REQUIRED, lo=None, hi=None) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(name, "must be a number, not %s" % _shown(value))
        if value != value or value in (float("inf"), float("-inf")):
            raise self.error(name, "must be a finite number")
        self._check_range(name, value, lo, hi)
        return float(value)

    def _check_range(self, name, value, lo, hi):
        if lo is not None and hi is not None and not lo <= value <= hi:
            raise self.error(name, "must be between %s and %s, not %s" % (lo, hi, value))
        if lo is not None and value < lo:
            raise self.error(name, "must be at least %s, not %s" % (lo, value))
        if hi is not None and value > hi:
            raise self.error(name, "must be at most %s, not %s" % (hi, value))

    def boolean(self, name, default=_REQUIRED) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false, not %s" % _shown(value))
        return value

    def strings(self, name, default=_REQUIRED) -> list:
        value = self._get(name, default)
        if not isinstance(value, list):
            raise self.error(name, "must be an array of strings, not %s" % _shown(value))
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self.tf.error(self.key + (name, index),
                                    "must be a non-empty string, not %s" % _shown(item))
        return value

    def table(self, name):
        """The sub-table as a _Table, or None when absent."""
        value = self._get(name, None)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(name, "must be a table, not %s" % _shown(value))
        return _Table(self.tf, self.key + (name,), value)

    def section(self, name) -> "_Table":
        """The sub-table, empty when absent."""
        return self.table(name) or _Table(self.tf, self.key + (name,), {})

    def named_tables(self, what: str, max_len=None):
        """(name, _Table) for each sub-table of this table, in file order."""
        if not self.data:
            raise self.error(None, "at least one %s is required ([%s.NAME])"
                             % (what, ".".join(self.key)))
        for name, value in self.data.items():
            if not _NAME.fullmatch(name):
                raise self.error(name, "%s names may only use letters, digits, '_', '.' "
                                 "and '-'" % what)
            if max_len is not None and len(name) > max_len:
                raise self.error(name, "%s names must be at most %d characters"
                                 % (what, max_len))
            if not isinstance(value, dict):
                raise self.error(name, "must be a table ([%s.%s]), not %s"
                                 % (".".join(self.key), name, _shown(value)))
            yield name, _Table(self.tf, self.key + (name,), value)


def _first_line(tf: TomlFile, key: tuple, value) -> int | None:
    """The line of the first key defined under key, if any."""
    while isinstance(value, dict) and value:
        name = next(iter(value))
        key, value = key + (name,), value[name]
        line = tf.line_of(*key)
        if line is not None:
            return line
    return None


def _resolve(base: str, path: str) -> str:
    return os.path.normpath(os.path.join(base, path))


def _existing_file(t: _Table, name: str, base: str, value: str) -> str:
    path = _resolve(base, value)
    if not os.path.isfile(path):
        raise t.error(name, "file not found: %s" % path)
    if not os.access(path, os.R_OK):
        raise t.error(name, "file not readable: %s" % path)
    return path


def _router(t: _Table, base: str) -> RouterConfig:
    t.allow(*KEYS["router"])
    name = t.string("name", "smpprouter", min_len=1, max_len=15, printable=True)
    var_dir = _resolve(base, t.string("var_dir", "../var", min_len=1))
    routing = t.string("routing", "table", min_len=1)
    routes = _resolve(base, t.string("routes", "routes.toml", min_len=1))
    pid_file = t.string("pid_file", "")
    pid_file = _resolve(base, pid_file) if pid_file else os.path.join(var_dir, "smpprouter.pid")
    content = t.string("content", "")
    content = _existing_file(t, "content", base, content) if content else None
    return RouterConfig(name, var_dir, routing, routes, pid_file, content)


def _parse_redis_url(t: _Table, url: str, note: str) -> dict:
    """host/port/unix_socket/db/username/password of a redis:// or unix:// url."""
    def bad(message):
        return t.error("url", message + note)

    if url.startswith(CLUSTER_SCHEME):
        return _parse_cluster_url(url[len(CLUSTER_SCHEME):], bad)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise bad("is not a valid url (%s)" % e) from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if parts.fragment:
        raise bad("must not have a fragment ('#...')")
    if parts.scheme == "redis":
        if not parts.hostname:
            raise bad("has no host (redis://[[user]:password@]host[:port][/db])")
        if query:
            raise bad("query parameters are not supported in redis:// urls")
        db = parts.path.lstrip("/") or "0"
        host, port, socket = parts.hostname, port or 6379, None
    elif parts.scheme == "unix":
        if parts.hostname or not parts.path.startswith("/"):
            raise bad("must name an absolute socket path (unix:///path/to/redis.sock?db=0)")
        options = dict(query)
        unknown = set(options) - {"db", "password"}
        if unknown or len(options) != len(query):
            raise bad("unix:// urls take only the query parameters db and password")
        db = options.get("db", "0")
        password = options.get("password", password)
        host, port, socket = None, None, parts.path
    elif parts.scheme == "rediss":
        raise bad("TLS to Redis (rediss://) is not supported; use redis:// or unix://")
    else:
        raise bad("must start with redis://, unix:// or redis+cluster://")
    if not db.isdigit() or not db.isascii():
        raise bad("database %r is not a number" % db)
    return dict(host=host, port=port, unix_socket=socket, db=int(db),
                username=username, password=password or None)


CLUSTER_SCHEME = "redis+cluster://"


def _parse_cluster_url(rest: str, bad) -> dict:
    """redis+cluster://[[user]:password@]host:port[,host:port...]: a Redis
    Cluster's seed nodes (store/cluster.py); all share the credentials."""
    form = " (redis+cluster://[[user]:password@]host:port[,host:port...])"
    auth, _, hosts = rest.rpartition("@")
    username = password = None
    if auth:
        user, colon, secret = auth.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    if any(c in hosts for c in "/?#"):
        raise bad("takes no database, path or query: a cluster has database 0 only" + form)
    nodes = []
    for node in hosts.split(","):
        host, colon, port = node.strip().rpartition(":")
        host = host.strip("[]")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise bad("names the node %r, not host:port" % node + form)
        nodes.append((host, int(port)))
    return dict(host=nodes[0][0], port=nodes[0][1], unix_socket=None, db=0,
                username=username, password=password or None, cluster=tuple(nodes))


def _redis(t: _Table, overrides: dict) -> RedisConfig:
    t.allow(*KEYS["redis"])
    url = t.string("url", "")
    note = ""
    if overrides.get("redis_url"):
        url, note = overrides["redis_url"], " (from the redis_url override)"
    max_queue = t.integer("max_queue", 100000, lo=1)
    dlr_retention = t.integer("dlr_retention", 259200, lo=1)
    claim_idle = t.integer("claim_idle", 60, lo=1)
    spool_max = t.integer("spool_max", 100_000_000, lo=0)
    ledger_max = t.integer("ledger_max", 1_000_000, lo=1000)
    if url:
        where = _parse_redis_url(t, url, note)
    else:
        where = dict(host=None, port=None, unix_socket=None, db=0,
                     username=None, password=None)
    sentinels = tuple(_host_port(t, "sentinels", i, item)
                      for i, item in enumerate(t.strings("sentinels", [])))
    master = t.string("master", "", min_len=0, printable=True)
    sentinel_password = t.string("sentinel_password", "")
    if sentinels:
        if not master:
            raise t.error("sentinels", "needs master (the name the sentinels monitor)")
        if where["unix_socket"]:
            raise t.error("url", "with sentinels must be a redis:// url (its user, password "
                          "and db are the data nodes'; the sentinels name host and port)")
        where["host"], where["port"] = None, None
    else:
        for name in ("master", "sentinel_password"):
            if name in t.data:
                raise t.error(name, "only means something with sentinels")
    wait_replicas = t.integer("wait_replicas", 0, lo=0, hi=100)
    if where.get("cluster"):
        # a cluster promotes its replicas by itself; WAIT per node is not built
        for name in ("sentinels", "wait_replicas"):
            if t.data.get(name):
                raise t.error(name, "does not go with a redis+cluster:// url (a Redis "
                              "Cluster fails over by itself; WAIT on it is not supported)")
    return RedisConfig(url=url, max_queue=max_queue, dlr_retention=dlr_retention,
                       claim_idle=claim_idle, spool_max=spool_max, ledger_max=ledger_max,
                       sentinels=sentinels, master=master or None,
                       sentinel_password=sentinel_password or None,
                       wait_replicas=wait_replicas,
                       wait_timeout=t.number("wait_timeout", 1.0, lo=0.001, hi=4.0),
                       **where)


def _host_port(t: _Table, name: str, index: int, value: str) -> tuple:
    """("host", port) of "host:port" or "[v6]:port", or a file:line error."""
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not port.isascii() \
            or not 1 <= int(port) <= 65535:
        raise t.tf.error(t.key + (name, index),
                         "must be host:port (port 1-65535), not %r" % value)
    return host, int(port)


def _smpp(t: _Table) -> SmppConfig:
    t.allow(*KEYS["smpp"])
    config = SmppConfig(
        window=t.integer("window", 100, 1, 1000),
        max_pdu_length=t.integer("max_pdu_length", 70000, 64, 1048576),
        session_init_timeout=t.integer("session_init_timeout", 30, lo=0),
        enquire_link_interval=t.integer("enquire_link_interval", 60, lo=0),
        inactivity_timeout=t.integer("inactivity_timeout", 300, lo=0),
        response_timeout=t.integer("response_timeout", 30, lo=0),
        shutdown_timeout=t.integer("shutdown_timeout", 10, lo=0))
    return config


def _security(t: _Table) -> SecurityConfig:
    t.allow(*KEYS["security"])
    return SecurityConfig(bind_failures=t.integer("bind_failures", 5, 0, 1000),
                          bind_failure_window=t.integer("bind_failure_window", 60, 1, 86400),
                          bind_lockout=t.integer("bind_lockout", 300, 1, 86400))


def _loopback_only(endpoint: str) -> bool:
    kind = endpoint.split(":", 1)[0]
    if kind == "unix":
        return True
    _, args, kwargs = _parseServer(endpoint, None)
    interface = kwargs.get("interface", "")
    try:
        return ipaddress.ip_address(interface).is_loopback
    except ValueError:
        return False   # "" (every interface) or a name


def _check_endpoint(t: _Table, endpoint: str, note: str) -> None:
    def bad(message):
        return t.error("endpoint", message + note)

    kind = endpoint.split(":", 1)[0]
    if kind not in ("tcp", "unix"):
        raise bad("must start with tcp: or unix:, not %r (TLS is set with the tls table)"
                  % endpoint)
    try:
        _, args, _ = _parseServer(endpoint, None)
    except TypeError:
        raise bad("unknown or repeated option in %r (write ':' inside a value as '\\:', "
                  "as in interface=\\:\\:1)" % endpoint) from None
    except (ValueError, KeyError, IndexError) as e:
        raise bad("is not a valid endpoint string %r: %s" % (endpoint, e)) from None
    if kind == "tcp" and not 0 <= args[0] <= 65535:
        raise bad("port must be between 0 and 65535, not %d" % args[0])
    if kind == "unix" and not args[0]:
        raise bad("unix: needs a socket path")


def _listener_tls(t: _Table, base: str) -> ListenerTLS:
    t.allow(*KEYS["listeners.NAME.tls"])
    certificate = _existing_file(t, "certificate", base, t.string("certificate", min_len=1))
    private_key = t.string("private_key", "")
    private_key = (_existing_file(t, "private_key", base, private_key)
                   if private_key else certificate)
    min_version = t.string("min_version", "1.2", choices=_TLS_VERSIONS)
    ca = t.string("ca", "")
    ca = _existing_file(t, "ca", base, ca) if ca else None
    return ListenerTLS(certificate, private_key, min_version, ca)


def _default_protocol(name: str) -> str:
    return name if name in ("http", "metrics") else "smpp"


def _listener(name: str, t: _Table, base: str, endpoint_override) -> Listener:
    """endpoint_override: (endpoint, note) replacing the file's, or None."""
    t.allow(*KEYS["listeners.NAME"])
    protocol = t.string("protocol", _default_protocol(name), choices=_PROTOCOLS)
    endpoint = t.string("endpoint", min_len=1)
    note = ""
    if endpoint_override:
        endpoint, note = endpoint_override
    _check_endpoint(t, endpoint, note)
    max_connections = t.integer("max_connections", 10000, lo=0)
    max_connections_per_ip = t.integer("max_connections_per_ip", 100, lo=0)
    tls = t.table("tls")
    return Listener(name, endpoint, None if tls is None else _listener_tls(tls, base),
                    protocol, max_connections, max_connections_per_ip)


def _url(t: _Table, name: str) -> str:
    """An optional webhook URL: http or https, with a host."""
    value = t.string(name, "")
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise t.error(name, "must be an http:// or https:// URL with a host, not %r"
                          % value)
    return value


def _link_base(t: _Table) -> str:
    """[http] link_base: http(s), a host, no query or fragment; ends in "/" (a token
    follows it). Its path is where the HTTP listener serves the links."""
    value = t.string("link_base", "")
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or not value.isascii() or not value.isprintable() \
            or " " in value:
        raise t.error("link_base", "must be an http:// or https:// URL with a host and "
                      "no query, as \"https://s.example.com/\", not %r" % value)
    return value if value.endswith("/") else value + "/"


def _networks(t: _Table, name: str) -> tuple:
    networks = []
    for index, text in enumerate(t.strings(name, [])):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as e:
            raise t.tf.error(t.key + (name, index), "is not a network (CIDR, as "
                             "\"10.0.0.0/8\" or \"::1/128\"): %s" % e) from None
    return tuple(networks)


def _http(t: _Table, base: str) -> HttpConfig:
    t.allow(*KEYS["http"])
    templates = t.string("templates", "")
    links = t.string("links", "")
    link_base = _link_base(t)
    if links and not link_base:
        raise t.error("links", "needs link_base: the public URL the short links start "
                      "with, e.g. \"https://s.example.com/\"")
    return HttpConfig(
        max_body=t.integer("max_body", 4 * 1024 * 1024, 1024, 1 << 30),
        request_timeout=_positive(t, "request_timeout", 30.0),
        max_destinations=t.integer("max_destinations", 1000, 1, 100000),
        websms_get_max=t.integer("websms_get_max", 100, 1, 100000),
        websms_post_max=t.integer("websms_post_max", 10000, 1, 1000000),
        status_without_credentials=t.boolean("status_without_credentials", False),
        templates=_existing_file(t, "templates", base, templates) if templates else None,
        links=_existing_file(t, "links", base, links) if links else None,
        link_base=link_base,
        idempotency_ttl=t.integer("idempotency_ttl", 86400, 1),
        webhook_timeout=_positive(t, "webhook_timeout", 10.0),
        webhook_concurrency=t.integer("webhook_concurrency", 8, 1, 1000),
        webhook_retention=t.integer("webhook_retention", 259200, 1),
        webhook_allow=_networks(t, "webhook_allow"))


def _metrics(t: _Table) -> MetricsConfig:
    t.allow(*KEYS["metrics"])
    return MetricsConfig(enabled=t.boolean("enabled", True),
                         publish_interval=_positive(t, "publish_interval", 5.0))


def _log(t: _Table) -> LogConfig:
    t.allow(*KEYS["log"])
    return LogConfig(format=t.string("format", "text", choices=LOG_FORMATS),
                     message_text=t.boolean("message_text", False))


def _connector(name: str, t: _Table, base: str) -> Connector:
    t.allow(*KEYS["connectors.NAME"])
    host = t.string("host", min_len=1)
    port = t.integer("port", lo=1, hi=65535)
    system_id = t.string("system_id", min_len=1, max_len=15, printable=True)
    password = t.string("password", "", max_len=8, printable=True)
    system_type = t.string("system_type", "", max_len=12, printable=True)
    interface_version = t.integer("interface_version", 0x34)
    if interface_version not in (0x33, 0x34):
        raise t.error("interface_version", "must be 0x33 or 0x34, not %#x" % interface_version)
    bind = t.string("bind", "transceiver", choices=("transceiver", "transmitter+receiver"))
    if interface_version == 0x33 and bind == "transceiver":
        raise t.error("bind" if "bind" in t.data else "interface_version",
                      "SMPP v3.3 has no transceiver bind: set bind = \"transmitter+receiver\"")
    binds = t.integer("binds", 1, 1, 64)
    window = t.integer("window", 10, 1, 1000)
    throughput = t.number("throughput", 0, lo=0)
    enquire_link_interval = t.integer("enquire_link_interval", 30, lo=0)
    response_timeout = t.integer("response_timeout", 30, lo=0)
    reconnect_min = t.number("reconnect_min", 1.0, lo=0)
    if reconnect_min <= 0:
        raise t.error("reconnect_min", "must be greater than 0")
    reconnect_max = t.number("reconnect_max", 60.0, lo=0)
    if reconnect_max < reconnect_min:
        raise t.error("reconnect_max", "must be at least reconnect_min (%s), not %s"
                      % (reconnect_min, reconnect_max))
    hold_unbound = t.number("hold_unbound", 5.0, lo=0, hi=60)
    dlr_expiry = t.integer("dlr_expiry", 259200, lo=1)
    receipt_wait = t.number("receipt_wait", 15.0, lo=0)
    # 12 h: a handset off overnight still reports; an operator has an answer the
    # same day. Capped below dlr_expiry, so the mapping is still there to answer.
    receipt_timeout = t.integer("receipt_timeout", min(RECEIPT_TIMEOUT, dlr_expiry // 2), lo=0)
    if receipt_timeout >= dlr_expiry:
        raise t.error("receipt_timeout", "must be less than dlr_expiry (%d), not %d: the "
                      "mapping must outlive it" % (dlr_expiry, receipt_timeout))
    resp_id = t.string("resp_id", "as-is", choices=_ID_FORMS)
    receipt_id = t.string("receipt_id", "as-is", choices=_ID_FORMS)
    tls = t.boolean("tls", False)
    tls_ca = t.string("tls_ca", "")
    tls_ca = _existing_file(t, "tls_ca", base, tls_ca) if tls_ca else None
    tls_hostname = t.string("tls_hostname", "") or host
    tls_min_version = t.string("tls_min_version", "1.2", choices=_TLS_VERSIONS)
    max_octets = t.integer("max_octets", AIR_OCTETS, MIN_AIR_OCTETS, AIR_OCTETS)
    message_payload = t.boolean("message_payload", False)
    if message_payload and interface_version == 0x33:
        raise t.error("message_payload", "SMPP v3.3 has no message_payload: leave it false, "
                      "the router splits long messages for this upstream")
    split = t.string("split", UDH8, choices=METHODS)
    receipt_map = t.string("receipt_map", "")
    receipt_map = load_receipt_map(_existing_file(t, "receipt_map", base, receipt_map)) \
        if receipt_map else ()
    return Connector(
        name=name, host=host, port=port, system_id=system_id, password=password,
        system_type=system_type, interface_version=interface_version, bind=bind,
        binds=binds, window=window, throughput=throughput,
        enquire_link_interval=enquire_link_interval, response_timeout=response_timeout,
        reconnect_min=reconnect_min, reconnect_max=reconnect_max, hold_unbound=hold_unbound,
        dlr_expiry=dlr_expiry,
        receipt_wait=receipt_wait, resp_id=resp_id, receipt_id=receipt_id, tls=tls, tls_ca=tls_ca,
        tls_hostname=tls_hostname, tls_min_version=tls_min_version, max_octets=max_octets,
        message_payload=message_payload, split=split, receipt_map=receipt_map,
        receipt_timeout=receipt_timeout,
        mo_parts_timeout=t.number("mo_parts_timeout", 120.0, lo=1, hi=86400))


def _template_names(path):
    """The names of [http] templates' file (None: no file); the file's own
    mistakes are the REST face's to report (http/templates.py)."""
    if not path:
        return None
    try:
        return frozenset(TomlFile(path).data.get("templates", {}))
    except ConfigError:
        return frozenset()


def _allotted(t: _Table, template_names):
    """A user's `templates`: the names it may use, each one of [http] templates'."""
    if "templates" not in t.data:
        return None
    names = t.strings("templates")
    if template_names is None:
        raise t.error("templates", "needs [http] templates (the file the names are from)")
    for index, name in enumerate(names):
        if name not in template_names:
            close = difflib.get_close_matches(name, sorted(template_names), n=1)
            raise t.tf.error(t.key + ("templates", index), "no template named %r in [http] "
                             "templates%s" % (name, "; did you mean %r?" % close[0]
                                              if close else ""))
    return frozenset(names)


def _user(name: str, t: _Table, smpp: SmppConfig, base: str, template_names=None) -> User:
    t.allow(*KEYS["users.NAME"])
    password = t.string("password")
    if not is_hash(password):
        what = ("is not a valid scrypt hash" if password.startswith("scrypt$")
                else "must be a hash, not a plain-text password")
        raise t.error("password", what + ": run `smpprouter passwd` and put the line "
                      "it prints here")
    groups = frozenset(t.strings("groups", []))
    max_binds = t.integer("max_binds", 3, lo=1)
    throughput = t.number("throughput", 0, lo=0)
    window = t.integer("window", 0, 0, 1000) or smpp.window
    message_id = t.string("message_id", "hex", choices=("hex", "decimal"))
    dlr_retention = t.integer("dlr_retention", 0, lo=0)
    window_policy = t.string("window_policy", "pause", choices=_WINDOW_POLICIES)
    store_and_forward = t.boolean("store_and_forward", False)
    service_key = t.string("service_key", "")
    if service_key and not _SERVICE_KEY.fullmatch(service_key):
        raise t.error("service_key", "must be the stored form of a key (sha256$ and 64 hex "
                      "digits), not the key itself: run `smpprouter passwd --key` and put "
                      "the line it prints here")
    billing = t.string("billing", POSTPAID, choices=_BILLING)
    low_balance = t.integer("low_balance", 0, 0, MAX_AMOUNT)
    if low_balance and billing != PREPAID:
        raise t.error("low_balance", "applies to prepaid users: set billing = \"prepaid\", "
                      "or leave low_balance out")
    sender_ids = tuple(dict.fromkeys(t.strings("sender_ids", [])))
    for index, sender in enumerate(sender_ids):
        if len(sender) > 20 or not _PRINTABLE.fullmatch(sender):
            raise t.tf.error(t.key + ("sender_ids", index), "%r: a sender id (or glob "
                             "pattern) is printable ASCII, at most 20 characters" % sender)
    country_code = t.string("country_code", "")
    if country_code and country_code_problem(country_code):
        raise t.error("country_code", country_code_problem(country_code))
    return User(name=name, password=password, groups=groups, max_binds=max_binds,
                receipt_profile=_receipt_profile(t, base),
                country_code=country_code, billing=billing, low_balance=low_balance, sender_ids=sender_ids,
                tlv_defaults=_tlv_defaults(t),
                duplicate_window=t.integer("duplicate_window", 0, 0, 30 * 86400),
                promotional=t.string("traffic", "transactional",
                                     choices=("transactional", "promotional")) == "promotional",
                throughput=throughput, window=window, message_id=message_id,
                dlr_retention=dlr_retention, window_policy=window_policy,
                store_and_forward=store_and_forward, service_key=service_key,
                dlr_url=_url(t, "dlr_url"), mo_url=_url(t, "mo_url"),
                click_url=_url(t, "click_url"),
                webhook_secret=t.string("webhook_secret", ""),
                webhook_retention=t.integer("webhook_retention", 0, lo=0),
                allow_from=_networks(t, "allow_from"),
                tls_subject=t.string("tls_subject", ""),
                max_receivers=_max_receivers(t, max_binds),
                bind_scope=t.string("bind_scope", "router", choices=BIND_SCOPES),
                system_type=t.string("system_type", "", max_len=12, printable=True),
                expires=_expires(t),
                doors=_choices(t, "doors", DOORS),
                operations=_choices(t, "operations", OPERATIONS),
                mo_reassemble=t.boolean("mo_reassemble", False),
                templates=_allotted(t, template_names))


def _max_receivers(t: _Table, max_binds: int) -> int:
    value = t.integer("max_receivers", 0, lo=0)
    if value > max_binds:
        raise t.error("max_receivers", "must be at most max_binds (%d), not %d"
                      % (max_binds, value))
    return value


def _expires(t: _Table) -> float:
    """A TOML offset date-time (2027-01-01T00:00:00Z) as unix time; 0.0 = never."""
    value = t._get("expires", None)
    if value is None:
        return 0.0
    if not isinstance(value, datetime.datetime):
        raise t.error("expires", "must be a date-time with its offset, as "
                      "2027-01-01T00:00:00Z (unquoted), not %s" % _shown(value))
    if value.tzinfo is None:
        raise t.error("expires", "must say its offset (Z or +hh:mm): %s is a local time"
                      % value.isoformat())
    return value.timestamp()


def _choices(t: _Table, name: str, choices: tuple) -> frozenset:
    values = t.strings(name, list(choices))
    for index, value in enumerate(values):
        if value not in choices:
            message = "must be one of %s, not %r" % (", ".join(map(repr, choices)), value)
            close = difflib.get_close_matches(value, choices, n=1)
            if close:
                message += "; did you mean %r?" % close[0]
            raise t.tf.error(t.key + (name, index), message)
    return frozenset(values)


def _receipt_profile(t: _Table, base: str) -> ReceiptProfile | None:
    dates = t.string("receipt_dates", "as-sent", choices=tuple(DATE_LENGTHS))
    text = t.string("receipt_text", "as-sent", choices=tuple(TEXT_KEYS))
    codes = t.string("receipt_codes", "")
    dlvrd = t.string("receipt_dlvrd", "as-sent", choices=tuple(DLVRD))
    if dates == "as-sent" and text == "as-sent" and not codes and dlvrd == "as-sent":
        return None   # the common case: receipts pay nothing for profiles
    return ReceiptProfile(DATE_LENGTHS[dates], TEXT_KEYS[text], load_reverse_map(
        _existing_file(t, "receipt_codes", base, codes)) if codes else None, DLVRD[dlvrd])


def _tlv_defaults(t: _Table) -> tuple:
    table = t.table("tlv_defaults")
    if table is None:
        return ()
    table.allow(*TLV_DEFAULTS)
    return tuple((name, table.string(name, min_len=1, max_len=255, printable=True))
                 for name in TLV_DEFAULTS if name in table.data)


def _positive(t: _Table, name: str, default: float) -> float:
    value = t.number(name, default, lo=0)
    if value <= 0:
        raise t.error(name, "must be greater than 0")
    return value


def _outbound(t: _Table) -> OutboundConfig:
    t.allow(*KEYS["outbound"])
    max_queue = t.integer("max_queue", 1000000, lo=1)
    default_validity = t.integer("default_validity", 172800, lo=1)
    max_validity = t.integer("max_validity", 604800, lo=1)
    if max_validity < default_validity:
        # Blame the key the operator wrote: with only default_validity set, it
        # is the one beyond the (default) maximum.
        if "max_validity" in t.data:
            raise t.error("max_validity", "must be at least default_validity (%d), not %d"
                          % (default_validity, max_validity))
        raise t.error("default_validity", "must be at most max_validity (%d), not %d"
                      % (max_validity, default_validity))
    retry_min = _positive(t, "retry_min", 1.0)
    retry_max = t.number("retry_max", 60.0, lo=0)
    if retry_max < retry_min:
        raise t.error("retry_max", "must be at least retry_min (%s), not %s"
                      % (retry_min, retry_max))
    schedule_interval = _positive(t, "schedule_interval", 1.0)
    batch = t.integer("batch", 100, 1, 10000)
    return OutboundConfig(max_queue=max_queue, default_validity=default_validity,
                          max_validity=max_validity, retry_min=retry_min, retry_max=retry_max,
                          schedule_interval=schedule_interval, batch=batch)


_OVERRIDES = ("redis_url", "smpp_listen", "http_listen")


def load_config(path: str, overrides: dict | None = None) -> Config:
    """Read and check the config file; raise ConfigError naming file:line: key.

    overrides may hold redis_url (replaces [redis].url), smpp_listen (replaces
    the endpoint of the first SMPP listener) and http_listen (of the first HTTP
    listener); None or "" leaves the file's value.
    """
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(_OVERRIDES)
    if unknown:
        raise ValueError("unknown overrides: %s" % ", ".join(sorted(unknown)))
    tf = TomlFile(path)
    base = os.path.dirname(os.path.abspath(path))
    top = _Table(tf, (), tf.data)
    top.allow(*KEYS[""])
    (router_t, redis_t, smpp_t, security_t, outbound_t, http_t, metrics_t, log_t,
     listeners_t, connectors_t,
     users_t) = (top.section(name) for name in KEYS[""])

    router = _router(router_t, base)
    redis = _redis(redis_t, overrides)
    smpp = _smpp(smpp_t)
    security = _security(security_t)
    outbound = _outbound(outbound_t)
    http = _http(http_t, base)
    metrics = _metrics(metrics_t)
    log = _log(log_t)
    listeners = {}
    smpp_override = overrides.get("smpp_listen")
    http_override = overrides.get("http_listen")
    for name, t in listeners_t.named_tables("listener"):
        protocol = t.data.get("protocol", _default_protocol(name))
        override = None
        if protocol == "http" and http_override:
            override, http_override = (http_override, " (from the http_listen override)"), None
        elif protocol == "smpp" and smpp_override:
            override = (smpp_override, " (from the smpp_listen override)")
            smpp_override = None
        listeners[name] = _listener(name, t, base, override)
        if listeners[name].protocol == "metrics" and not metrics.enabled:
            raise t.error("protocol" if "protocol" in t.data else None,
                          "serves /metrics, but [metrics] enabled = false: remove this "
                          "listener or turn the metrics on")
    if not smpp.session_init_timeout:
        for listener in listeners.values():
            if listener.protocol == "smpp" and not listener.loopback_only:
                # Without it, a connection that never binds is held for ever:
                # anyone who can reach the port can exhaust its connections.
                raise smpp_t.error("session_init_timeout" if "session_init_timeout"
                                   in smpp_t.data else None,
                                   "must not be 0 while listener %r accepts connections "
                                   "from other machines (%s)" % (listener.name,
                                                                listener.endpoint))
    connectors = {name: _connector(name, t, base)
                  for name, t in connectors_t.named_tables("connector")}
    template_names = _template_names(http.templates)
    users = {name: _user(name, t, smpp, base, template_names)
             for name, t in users_t.named_tables("user", max_len=15)}
    keys = {}
    for user in users.values():
        if user.service_key:
            if user.service_key in keys:
                raise users_t.error(user.name, "has the same service_key as user %r: each "
                                    "user needs a key of its own" % keys[user.service_key])
            keys[user.service_key] = user.name
    return Config(path=path, router=router, redis=redis, smpp=smpp,
                  listeners=listeners, connectors=connectors, users=users, outbound=outbound,
                  http=http, metrics=metrics, security=security, log=log)
