"""Seed 003's answers: its error codes, what each SMPP status reads as, its status names.

The seed's clients compare the answer's text, so the texts are the seed's to the letter
(its capitals and its "Destination" included), and each code is used where it means
what the seed says:

code    text                             used for
HTTP01  Invalid HTTP URL Format          a /websmpp/ path the API does not have
HTTP02  Invalid query string             not form-encoded as it should be: a
                                         field without "=", a percent-escape that is not
                                         UTF-8, a parameter given twice, or "&" / "#" in
                                         the text (the seed restricts them: a raw "&" cuts
                                         the text, a "#" ends the URL; refused rather than
                                         sent cut)
HTTP03  Message Submission Failed        the router failed (ESME_RSYSERR, ESME_RUNKNOWNERR,
                                         an unexpected error): nothing was stored
HTTP04  Invalid Password                 the pass does not match (ESME_RINVPASWD)
HTTP05  Invalid System ID                no user of that name, or no user given
                                         (ESME_RINVSYSID)
HTTP06  Invalid Sender ID                sid missing or not 1-15 digits / 1-11 printable
                                         ASCII characters (ESME_RINVSRCADR, _RINVSRCTON,
                                         _RINVSRCNPI)
HTTP07  Invalid Type                     type missing or not 1-4
HTTP08  Invalid Message ID               websmsstatus: respId missing or not an id the
                                         router makes (1-64 letters and digits)
                                         (ESME_RINVMSGID)
HTTP09  Invalid Destination Address      mno missing; that line's number is not 3-15 digits
                                         after a leading "+" or "00" (ESME_RINVDSTADR is a
                                         routing decision here, HTTP23; ESME_RINVDSTTON,
                                         _RINVDSTNPI)
HTTP10  Invalid number of messages       ESME_RINVNUMMSGS (the router does not give it today)
HTTP11  Requested service is unavailable try again later: the store cannot take a write
                                         (the whole request, 503), the user's throughput or
                                         the connector's queue is full for that line
                                         (ESME_RTHROTTLED, ESME_RMSGQFUL,
                                         ESME_RSERTYPUNAVAIL); balanceReport and
                                         downloadcoverage until the billing issue
HTTP12  Submit Failed                    the router refused the message for a reason with no
                                         code of its own (ESME_RSUBMITFAIL, ESME_RX_*_APPN,
                                         ESME_RDELIVERYFAILURE, any status not in this table)
HTTP13  Query request failed             websmsstatus: the lookup failed (Redis did not
                                         answer) (ESME_RQUERYFAIL)
HTTP14  Bind failed                      ESME_RBINDFAIL (not given by the router today)
HTTP15  Not Authorized for the request   websmsstatus without user/pass (unless [http]
                                         status_without_credentials); a user whose doors
                                         leave out websms, or whose operations leave out
                                         submit (websms) or query (websmsstatus);
                                         ESME_RPROHIBITED, ESME_RSERTYPUNAUTH,
                                         ESME_RSERTYPDENIED
HTTP16  Invalid Request                  a method other than GET/POST (405), a POST body
                                         that is not application/x-www-form-urlencoded
HTTP17  Invalid Message Length           text missing or empty, or longer than 255 parts
                                         (ESME_RINVMSGLEN)
HTTP18  INSUFFICIENT CREDITS/BALANCE     ESME_RINVBALANCE (the billing issue)
HTTP19  Invalid DATA CODING SCHEME       type 1/3 text GSM 03.38 cannot carry; type 2 text
                                         that is not hex of UTF-16BE (ESME_RINVDCS)
HTTP20  Invalid ESM                      ESME_RINVESMCLASS
HTTP21  Invalid HEADER                   the TLV/header statuses (ESME_RINVTLVSTREAM,
                                         _RTLVNOTALLWD, _RINVTLVLEN, _RMISSINGTLV,
                                         _RINVTLVVAL)
HTTP22  Invalid Schedule Time            gmt or schtime malformed, or a schedule beyond the
                                         message's validity (ESME_RINVSCHED,
                                         ESME_RINVEXPIRY)
HTTP23  Routing Error                    the routing table refused the destination: no route
                                         or a reject rule (ESME_RINVDSTADR, the table's
                                         default)
HTTP24  Exceeded number of Destination   more numbers than [http] websms_get_max (GET) or
                                         websms_post_max (POST) (ESME_RINVNUMDESTS)
HTTP25  No Record Found                  websmsstatus: no message of that id (of that user)
HTTP26  Account Expired                  the user's `expires` has passed

A routing rule may reject with any SMPP status the operator names: it reads as the code
the table gives that status, HTTP12 when it has none.

websmsstatus answers the seed's names from MessageStatus.state (http/door.py):
scheduled, queued, sending, expiring and sent are ATES ("Pending": the router holds it,
or the upstream took it and its receipt has not come); the final states read as
themselves: delivered DELIVRD, undeliverable UNDELIV, expired EXPIRED, rejected REJECTD,
accepted ACCEPTD (SMPP's final ACCEPTED, message_state 6, not "the upstream took it"),
deleted DELETED, unknown UNKNOWN; SMPP 5.0's skipped (accepted, never transmitted)
UNDELIV; anything else UNKNOWN.
"""

from ..smpp.status import Status

TEXTS = {
    "HTTP01": "Invalid HTTP URL Format",
    "HTTP02": "Invalid query string",
    "HTTP03": "Message Submission Failed",
    "HTTP04": "Invalid Password",
    "HTTP05": "Invalid System ID",
    "HTTP06": "Invalid Sender ID",
    "HTTP07": "Invalid Type",
    "HTTP08": "Invalid Message ID",
    "HTTP09": "Invalid Destination Address",
    "HTTP10": "Invalid number of messages",
    "HTTP11": "Requested service is unavailable",
    "HTTP12": "Submit Failed",
    "HTTP13": "Query request failed",
    "HTTP14": "Bind failed",
    "HTTP15": "Not Authorized for the request",
    "HTTP16": "Invalid Request",
    "HTTP17": "Invalid Message Length",
    "HTTP18": "INSUFFICIENT CREDITS/BALANCE",
    "HTTP19": "Invalid DATA CODING SCHEME",
    "HTTP20": "Invalid ESM",
    "HTTP21": "Invalid HEADER",
    "HTTP22": "Invalid Schedule Time",
    "HTTP23": "Routing Error",
    "HTTP24": "Exceeded number of Destination",
    "HTTP25": "No Record Found",
    "HTTP26": "Account Expired",
}

# The answer lines, made once: what a request writes is a join of these.
LINES = {code: ("ERROR - %s --> %s" % (code, text)).encode("ascii")
         for code, text in TEXTS.items()}

_BY_STATUS = {
    Status.ESME_RSYSERR: "HTTP03",
    Status.ESME_RUNKNOWNERR: "HTTP03",
    Status.ESME_RINVPASWD: "HTTP04",
    Status.ESME_RINVSYSID: "HTTP05",
    Status.ESME_RINVSRCADR: "HTTP06",
    Status.ESME_RINVSRCTON: "HTTP06",
    Status.ESME_RINVSRCNPI: "HTTP06",
    Status.ESME_RINVMSGID: "HTTP08",
    Status.ESME_RINVDSTTON: "HTTP09",
    Status.ESME_RINVDSTNPI: "HTTP09",
    Status.ESME_RINVNUMMSGS: "HTTP10",
    Status.ESME_RTHROTTLED: "HTTP11",
    Status.ESME_RMSGQFUL: "HTTP11",
    Status.ESME_RSERTYPUNAVAIL: "HTTP11",
    Status.ESME_RSUBMITFAIL: "HTTP12",
    Status.ESME_RQUERYFAIL: "HTTP13",
    Status.ESME_RBINDFAIL: "HTTP14",
    Status.ESME_RPROHIBITED: "HTTP15",
    Status.ESME_RSERTYPUNAUTH: "HTTP15",
    Status.ESME_RSERTYPDENIED: "HTTP15",
    Status.ESME_RINVMSGLEN: "HTTP17",
    Status.ESME_RINVBALANCE: "HTTP18",
    Status.ESME_RINVDCS: "HTTP19",
    Status.ESME_RINVESMCLASS: "HTTP20",
    Status.ESME_RINVTLVSTREAM: "HTTP21",
    Status.ESME_RTLVNOTALLWD: "HTTP21",
    Status.ESME_RINVTLVLEN: "HTTP21",
    Status.ESME_RMISSINGTLV: "HTTP21",
    Status.ESME_RINVTLVVAL: "HTTP21",
    Status.ESME_RINVSCHED: "HTTP22",
    Status.ESME_RINVEXPIRY: "HTTP22",
    Status.ESME_RINVDSTADR: "HTTP23",
    Status.ESME_RINVNUMDESTS: "HTTP24",
}
SUBMIT_FAILED = "HTTP12"
# keyed by the plain int an Outcome carries (an IntEnum key hashes as its value)
_LINE_BY_STATUS = {int(status): LINES[code] for status, code in _BY_STATUS.items()}
_SUBMIT_FAILED_LINE = LINES[SUBMIT_FAILED]


def code_of(status: int) -> str:
    """The seed's code for an SMPP status other than ESME_ROK."""
    return _BY_STATUS.get(status, SUBMIT_FAILED)


def line_of(status: int) -> bytes:
    """The answer line of a refused message (status other than ESME_ROK)."""
    return _LINE_BY_STATUS.get(status, _SUBMIT_FAILED_LINE)


PENDING = "ATES"
_STATUS_NAMES = {
    "scheduled": PENDING, "queued": PENDING, "sending": PENDING, "expiring": PENDING,
    "sent": PENDING,
    "delivered": "DELIVRD", "undeliverable": "UNDELIV", "expired": "EXPIRED",
    "rejected": "REJECTD", "accepted": "ACCEPTD", "deleted": "DELETED",
    "unknown": "UNKNOWN", "skipped": "UNDELIV",
}
STATUS_NAMES = frozenset(_STATUS_NAMES.values()) | {"UNKNOWN"}


def status_name(state: str) -> str:
    """The seed's name for a MessageStatus.state."""
    return _STATUS_NAMES.get(state, "UNKNOWN")
