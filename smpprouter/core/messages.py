"""The values that cross between the faces (SMPP, HTTP) and the core.

A face turns what its protocol received into a Submission and renders the
Outcome back; the core never sees a PDU or a request. What leaves the core
for a user (a receipt, an MO) is a Receipt or an Inbound, kept in the user's
delivery queue as data and rendered by whichever face delivers it (a
deliver_sm now, a webhook later). They are treated as immutable: a face
adapting a message to a peer makes a new one (dataclasses.replace), so
nothing shared changes under another reader. They are not frozen
dataclasses only because a frozen one's __init__ costs three times as much
(2.8 against 0.9 µs for a Submission), and one or two are made per message.

Text is never decoded here: `body` is the user data as it goes on air (the
UDH first when `esm_class` has UDHI), in the `data_coding` it came with.
"""

from dataclasses import dataclass, field


def _tlvs():
    return field(default_factory=dict)


@dataclass(slots=True)
class Submission:
    """One message to one destination, as a user handed it to the router."""
    user: str
    source: str
    destination: str
    body: bytes = b""
    data_coding: int = 0
    esm_class: int = 0             # the messaging mode bits stay the upstream's business;
                                   # UDHI (0x40) and reply path (0x80) pass through
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 0
    dest_npi: int = 0
    service_type: str = ""
    protocol_id: int = 0
    priority: int = 0              # priority_flag 0-3
    registered_delivery: int = 0
    replace_if_present: int = 0
    sm_default_msg_id: int = 0
    schedule: float | None = None  # unix time it is to be sent; None: now
    validity: float | None = None  # unix time it expires unsent; None: the default
    tlvs: dict = _tlvs()           # other optional parameters by name (never message_payload)
    reference: str = ""            # the caller's own reference, echoed with its receipts
    datagram: bool = False         # came as data_sm: goes upstream as data_sm where it can
    # The ESME's submit_sm as received, when an upstream speaking v3.4 would get
    # these very bytes (smpp/adapt.py relay_form): sent with only the sequence
    # number patched. init=False: dataclasses.replace() and every constructor
    # leave it None, so a Submission changed on its way (a rewrite, a default
    # TLV, an E.164 destination) is always encoded anew.
    wire: bytes | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(slots=True)
class Outcome:
    """What the core answers a Submission: ESME_ROK with the router's id, or why not."""
    status: int
    message_id: str = ""
    parts: int = 1
    # ESME_RINVDSTADR because the destination is not a number the router could
    # normalise (a user's country_code, a route's e164 or rewrite), not because
    # no route takes it: the HTTP APIs tell the two apart (HTTP09 / HTTP23)
    bad_number: bool = False


@dataclass(slots=True)
class QueryAnswer:
    """query_sm's answer, protocol-neutral: message_state and its final time."""
    status: int
    state: int = 0           # SMPP message_state
    final_date: float = 0.0  # unix time; 0 while not final
    error_code: int = 0


@dataclass(slots=True)
class Receipt:
    """A delivery receipt for a message the router accepted, ids already the router's.

    `text` is the receipt text the user sees (the upstream's, with its id:
    rewritten, or one the router wrote); source and destination are the
    receipt's (the handset, then the original sender). `tlvs` holds the
    optional parameters to pass on (receipted_message_id, message_state,
    network_error_code, ...)."""
    message_id: str
    state: int
    text: bytes
    source: str = ""
    destination: str = ""
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 0
    dest_npi: int = 0
    data_coding: int = 0
    esm_class: int = 0x04          # 0x04 receipt, 0x20 intermediate notification
    tlvs: dict = _tlvs()
    reference: str = ""
    # The upstream's deliver_sm octets from service_type to data_coding, when
    # they are what smpp/adapt.py deliver_pdu would write for this receipt: the
    # queued form reuses them (adapt.deliver_octets). The core changes a
    # receipt's text, state and TLVs, never these fields; init=False: replace()
    # and every constructor leave it None.
    wire: bytes | None = field(default=None, init=False, repr=False, compare=False)


@dataclass(slots=True)
class Inbound:
    """A mobile-originated message routed to a user."""
    connector: str
    source: str
    destination: str
    body: bytes = b""
    data_coding: int = 0
    esm_class: int = 0
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 0
    dest_npi: int = 0
    service_type: str = ""
    protocol_id: int = 0
    tlvs: dict = _tlvs()


@dataclass(slots=True)
class Click:
    """A click on a smart link of a user's message (the HTTP face's short links):
    it only ever goes to the user's webhook queue, never to an SMPP session."""
    message_id: str
    link_id: str
    target: str
    destination: str               # the handset the message went to
    clicks: int                    # the link's clicks, this one counted
    at: float                      # unix time of the click
    reference: str = ""            # the message's, as a receipt's
