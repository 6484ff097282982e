"""The REST API's per-destination codes: what became of each destination.

Seed 004 shows one code, 1001 "Queued". The others are ours; the first
digit says what the client should do (the OpenAPI document lists them too):

    1xxx  queued: the message is durable in the router; its receipt tells the rest
    2xxx  this destination's message is wrong: do not send it again as it is
    3xxx  temporary: nothing was sent; send it again later
    4xxx  the account cannot send it (credit: the billing issue)
    5xxx  the router failed: nothing was sent; send it again later

Every SMPP status the Door can answer maps to one code: the statuses of the
MT core (core/mt.py: admission, routing, the store) and of the Door itself
(door.py: encoding and length). A routing table may reject with any status
(routes.toml `reject`); one without a code of its own is 2099, its SMPP name
in the description, so the client still learns why.
"""

from ..smpp.status import Status

QUEUED = "1001"
INVALID_NUMBER = "2001"    # the parser's own: not a phone number (restparse.py)
NO_ROUTE = "2002"
INVALID_SENDER = "2003"
TOO_LONG = "2004"
INVALID_CHARACTERS = "2005"
INVALID_EXPIRY = "2006"
REJECTED = "2099"
THROTTLED = "3001"
QUEUE_FULL = "3002"
NO_CREDIT = "4001"
SYSTEM_ERROR = "5001"

DESCRIPTIONS = {
    QUEUED: "Queued",
    INVALID_NUMBER: "Invalid number",
    NO_ROUTE: "No route to this number",
    INVALID_SENDER: "Invalid sender id",
    TOO_LONG: "Message too long",
    INVALID_CHARACTERS: "Text cannot be sent in the requested encoding",
    INVALID_EXPIRY: "Expiry already passed",
    REJECTED: "Rejected",
    THROTTLED: "Throttled: send again later",
    QUEUE_FULL: "Queue full: send again later",
    NO_CREDIT: "Insufficient credit",
    SYSTEM_ERROR: "System error: send again later",
}

# Codes after which sending the same request again may succeed (and after
# which nothing was sent): a request none of whose destinations was queued,
# all for such reasons, is answered 503 (rest.py).
TEMPORARY = frozenset((THROTTLED, QUEUE_FULL, SYSTEM_ERROR))

_BY_STATUS = {
    Status.ESME_ROK: QUEUED,
    Status.ESME_RINVDSTADR: NO_ROUTE,
    Status.ESME_RINVDSTTON: NO_ROUTE,
    Status.ESME_RINVDSTNPI: NO_ROUTE,
    Status.ESME_RINVSRCADR: INVALID_SENDER,
    Status.ESME_RINVSRCTON: INVALID_SENDER,
    Status.ESME_RINVSRCNPI: INVALID_SENDER,
    Status.ESME_RINVMSGLEN: TOO_LONG,
    Status.ESME_RINVDCS: INVALID_CHARACTERS,
    Status.ESME_RINVEXPIRY: INVALID_EXPIRY,
    # a schedule at or after the validity: the REST API schedules nothing, so
    # only an expiry too close to now gets here
    Status.ESME_RINVSCHED: INVALID_EXPIRY,
    Status.ESME_RTHROTTLED: THROTTLED,   # the user's throughput, or Redis away
    Status.ESME_RMSGQFUL: QUEUE_FULL,
    Status.ESME_RINVBALANCE: NO_CREDIT,
    Status.ESME_RSYSERR: SYSTEM_ERROR,
    Status.ESME_RX_T_APPN: SYSTEM_ERROR,
}

_ENTRIES = {code: (code, text) for code, text in DESCRIPTIONS.items()}


def entry_of(status: int) -> tuple:
    """(code, description) for an SMPP status of an Outcome."""
    code = _BY_STATUS.get(status)
    if code is not None:
        return _ENTRIES[code]
    try:
        name = Status(status).name
    except ValueError:
        name = "0x%08X" % status
    return REJECTED, "Rejected (%s)" % name
