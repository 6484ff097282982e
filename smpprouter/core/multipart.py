"""Router-side splitting: one message to an upstream that cannot take it whole,
as parts, with one router id and one receipt.

An upstream declares one SMS's size (`max_octets`) and whether it takes
message_payload (config.Connector). Where it does not, a message longer than
one SMS (a long text in message_payload, a data_sm, a long HTTP text) goes as
UDH (or SAR) parts made by smpp.segment.split(), cut where text.part_ends()
cuts (never inside a GSM escape or a surrogate pair: what the user was
charged for is what is sent). A data_sm goes as submit_sm, whole when it fits.
A message the user split itself (UDHI set) goes as it came: the user holds an
id per part and gets a receipt per part.

Every part is mapped (map:{c}:<upstream id>) to the one router id the user
got, with its part number; the receipts of the parts are counted in one hash
per message in Redis (store/multipart.py), and the user hears once, when the
last part is final: combine() says what.
"""

import itertools
import random
from dataclasses import replace

from ..smpp.receipt import MessageState
from ..smpp.segment import split
from ..smpp.text import SAR, alphabet_of
from ..store.multipart import BUSY, COMPLETE, RECORDED  # noqa: F401 (what record_part answers)

UDHI = 0x40
_MAX_REF = {"udh8": 0xFF, "udh16": 0xFFFF, SAR: 0xFFFF}

# seed 000's delivery report codes for a message sent in parts
PARTIAL_SUCCESS = 101   # "Multipart delivered to Network - Partial success"
TOTAL_FAILURE = 102     # "Multipart Delivered to Network - Total Failure"
RECEIPT_TIMEOUT = 99    # "SMS delivery receipt timeout": no part reported in time


class References:
    """Concatenation references: a different one for each split message of this
    process, from a random start (another process starts elsewhere)."""

    def __init__(self, start=None):
        self._next = itertools.count(random.randrange(0x10000) if start is None else start)

    def next(self, method):
        return next(self._next) & _MAX_REF[method]


def plan(s, upstream, ref):
    """The Submissions to send for s to upstream, or None when s goes as it is.

    Only called when s may not fit (longer than upstream.splits octets, or a
    data_sm). Raises EncodeError(ESME_RINVMSGLEN) past 255 parts, ValueError
    for a data_coding no alphabet stands for (neither happens to a message
    the faces accepted)."""
    if s.esm_class & UDHI:
        return None   # the user's own parts
    parts = split(s.body, alphabet_of(s.data_coding), upstream.split, ref, upstream.splits)
    if len(parts) == 1:
        return [replace(s, datagram=False)] if s.datagram else None
    out = []
    for part in parts:
        if part.sar is None:
            out.append(replace(s, body=part.short_message, esm_class=s.esm_class | UDHI,
                               datagram=False))
        else:
            tlvs = dict(s.tlvs)
            (tlvs["sar_msg_ref_num"], tlvs["sar_total_segments"],
             tlvs["sar_segment_seqnum"]) = part.sar
            out.append(replace(s, body=part.short_message, tlvs=tlvs, datagram=False))
    return out


def combine(states):
    """(message_state, err, delivered) of a message whose parts ended in states.

    All delivered: DELIVERED, err 0. Some: UNDELIVERABLE with err 101 (partial
    success). None: the parts' common state (EXPIRED, REJECTED, ...) if they
    agree, else UNDELIVERABLE, with err 102 (total failure); UNKNOWN for all
    (none reported within receipt_timeout, core/timeouts.py) is err 099.
    """
    delivered = sum(1 for state in states if state == MessageState.DELIVERED)
    if delivered == len(states):
        return MessageState.DELIVERED, 0, delivered
    if delivered:
        return MessageState.UNDELIVERABLE, PARTIAL_SUCCESS, delivered
    first = states[0]
    same = all(state == first for state in states)
    if same and first == MessageState.UNKNOWN:
        return MessageState.UNKNOWN, RECEIPT_TIMEOUT, 0
    return (MessageState(first) if same else MessageState.UNDELIVERABLE), TOTAL_FAILURE, 0
