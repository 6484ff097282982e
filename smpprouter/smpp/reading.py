"""The two requests that carry all the work, read straight into the core's values.

An ESME's submit_sm becomes a Submission and an upstream's receipt deliver_sm
a Receipt without a PDU object between them (codec's checked decoder, then
adapt.submission or adapt.upstream_delivery): the octets are read once, in
their usual form, and the value is what those two steps would have made,
relay octets (Submission.wire) and receipt octets (Receipt.wire) included.
Any other form (a service_type, a schedule, a message_payload, TLVs other
than a receipt's pair, a field a check would refuse, a malformed PDU) goes
to the checked decoder, which gives the PDU, or the DecodeError with the
status, it always gave. tests/smpp/test_reading.py holds both readers to
the path they stand for, on random and malformed octets.

What a reader returns for the usual form is a Read: the command_id and
sequence_number the session's bookkeeping asks of every request, and the
value. A face's pump calls ESME_READERS or UPSTREAM_READERS as it would codec.CHECKED.
"""

import re
import struct

from ..core.messages import Receipt, Submission
from .codec import _NPI_VALID, _TON_MAX, CHECKED, SHORT_MESSAGE_MAX
from .commands import CommandId
from .receipt import parse_receipt, stat_to_state
from .tlv import SPECS

_SUBMIT_SM = int(CommandId.submit_sm)
_DELIVER_SM = int(CommandId.deliver_sm)
_decode_submit_sm = CHECKED[_SUBMIT_SM]
_decode_deliver_sm = CHECKED[_DELIVER_SM]

_ESME_TYPES = frozenset((0x00, 0x08, 0x10))     # codec._ESME_TYPES
_RECEIPT_TYPES = frozenset((0x04, 0x20))        # adapt.RECEIPT_TYPES
_UNKNOWN = 7                                    # MessageState.UNKNOWN


def _octets(test):
    """A regex class of the octets `test` passes."""
    return b"[" + b"".join(re.escape(bytes((v,))) for v in range(256) if test(v)) + b"]"


def _usual(esm_class_test, priority, replace, text):
    """The usual form's fixed fields as one bytes pattern: service_type empty,
    each address a TON, an NPI and up to 20 octets before its NUL (groups 1 and
    2), then esm_class, protocol_id, priority_flag, both times empty,
    registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
    and sm_length, each octet within what codec._check_message passes. One
    match (C) tests what a dozen Python comparisons would."""
    ton = _octets(lambda v: v <= _TON_MAX)
    npi = _octets(lambda v: v in _NPI_VALID)
    return re.compile(
        b"\\x00" + ton + npi + b"([^\\x00]{0,20})\\x00" + ton + npi + b"([^\\x00]{0,20})\\x00"
        + _octets(esm_class_test) + b"." + _octets(priority) + b"\\x00\\x00"
        + _octets(lambda v: not v & 0xE0 and v & 3 != 3) + _octets(replace)
        + _octets(lambda v: v <= 10) + b"." + _octets(text), re.S).match


_usual_submit_sm = _usual(lambda v: v & 0x3C in _ESME_TYPES, lambda v: v <= 3, lambda v: v <= 1,
                          lambda v: v <= SHORT_MESSAGE_MAX)
# deliver_sm's checks leave priority_flag and replace_if_present_flag alone; a receipt has a text
_usual_receipt = _usual(lambda v: v & 0x3C in _RECEIPT_TYPES, lambda v: True, lambda v: True,
                        lambda v: 0 < v <= SHORT_MESSAGE_MAX)
# after the destination's NUL: esm_class, protocol_id, priority_flag, (the two
# empty times), registered_delivery, replace_if_present_flag, data_coding,
# sm_default_msg_id, sm_length
_FIXED = struct.Struct(">BBBxxBBBBB")
_RMID_TAG = SPECS["receipted_message_id"][0].to_bytes(2, "big")
_RMID_LIMIT = SPECS["receipted_message_id"][2]
_STATE_HEAD = struct.pack(">HH", SPECS["message_state"][0], 1)


class Read:
    """A request read into its core value: what the pump and a face ask of its PDU."""

    __slots__ = ("sequence_number", "value")
    command_status = 0

    def __init__(self, sequence_number, value):
        self.sequence_number = sequence_number
        self.value = value

    def __repr__(self):
        return "%s(%d, %r)" % (type(self).__name__, self.sequence_number, self.value)


class SubmitSmRead(Read):
    """An ESME's submit_sm as its Submission (`user` empty: the face knows it)."""
    __slots__ = ()
    command_id = _SUBMIT_SM


class ReceiptRead(Read):
    """An upstream's receipt deliver_sm as its Receipt."""
    __slots__ = ()
    command_id = _DELIVER_SM


def read_submit_sm(buf, pos, end, status, seq):
    """CHECKED's submit_sm decoder, or for the usual form a SubmitSmRead of the
    Submission adapt.submission would make (relay octets as relay_form's)."""
    # the usual form: command_status 0, the fixed fields as _usual_submit_sm
    # matches them, sm_length ending the PDU (no TLVs)
    if not status:
        m = _usual_submit_sm(buf, pos, end)
        if m is not None:
            nul = m.end(1)
            dnul = m.end(2)
            esm, pid, prio, rd, rip, dc, smid, length = _FIXED.unpack_from(buf, dnul + 1)
            if dnul + 11 + length == end:
                s = Submission("", buf[pos + 3:nul].decode("latin-1"),
                               buf[nul + 3:dnul].decode("latin-1"), buf[dnul + 11:end], dc, esm,
                               buf[pos + 1], buf[pos + 2], buf[nul + 1], buf[nul + 2], "", pid,
                               prio, rd, rip, smid, None, None, {})
                s.wire = buf[pos - 16:end]
                return SubmitSmRead(seq, s)
    return _decode_submit_sm(buf, pos, end, status, seq)


def read_deliver_sm(buf, pos, end, status, seq):
    """CHECKED's deliver_sm decoder, or for a receipt in the usual form a
    ReceiptRead of the Receipt adapt.upstream_delivery would make (with its
    frame: Receipt.wire as adapt._wire's)."""
    # the usual receipt: command_status 0, the fixed fields as _usual_receipt
    # matches them, then no TLVs (the id and state read off the text) or exactly
    # receipted_message_id (one NUL, at its end) and message_state
    if not status:
        m = _usual_receipt(buf, pos, end)
        if m is not None:
            nul = m.end(1)
            dnul = m.end(2)
            esm, pid, prio, rd, rip, dc, smid, length = _FIXED.unpack_from(buf, dnul + 1)
            text_at = dnul + 11
            tlvs_at = text_at + length
            receipt = None
            if tlvs_at == end:
                text = buf[text_at:end]
                parsed = parse_receipt(text)
                if parsed is not None:
                    receipt = Receipt(parsed.id, int(stat_to_state(parsed.stat, parsed.err)),
                                      text, buf[pos + 3:nul].decode("latin-1"),
                                      buf[nul + 3:dnul].decode("latin-1"), buf[pos + 1],
                                      buf[pos + 2], buf[nul + 1], buf[nul + 2], dc, esm & 0x3C,
                                      {})
            elif end - tlvs_at >= 10 and buf[tlvs_at:tlvs_at + 2] == _RMID_TAG:
                stop = tlvs_at + 4 + ((buf[tlvs_at + 2] << 8) | buf[tlvs_at + 3])
                # decode_tlvs's own shortcut: the pair, and nothing after it
                if (stop + 5 == end and tlvs_at + 4 < stop <= tlvs_at + 4 + _RMID_LIMIT
                        and buf[stop - 1] == 0 and buf[stop:stop + 4] == _STATE_HEAD
                        and buf.find(0, tlvs_at + 4, stop - 1) == -1):
                    rmid = buf[tlvs_at + 4:stop - 1].decode("latin-1")
                    state = buf[stop + 4]
                    receipt = Receipt(rmid, state or _UNKNOWN, buf[text_at:tlvs_at],
                                      buf[pos + 3:nul].decode("latin-1"),
                                      buf[nul + 3:dnul].decode("latin-1"), buf[pos + 1],
                                      buf[pos + 2], buf[nul + 1], buf[nul + 2], dc, esm & 0x3C,
                                      {"receipted_message_id": rmid, "message_state": state})
            if receipt is not None:
                if not (esm & 0xC3 or pid or prio or rd or rip or smid):
                    # adapt._wire: what deliver_pdu would write again
                    receipt.wire = buf[pos:text_at - 1]
                return ReceiptRead(seq, receipt)
    return _decode_deliver_sm(buf, pos, end, status, seq)


# command_id -> the decoder a face's pump calls for a v3.4 peer (codec.CHECKED's
# signature and errors), with the reader of the request it handles per message
ESME_READERS = {**CHECKED, _SUBMIT_SM: read_submit_sm}
UPSTREAM_READERS = {**CHECKED, _DELIVER_SM: read_deliver_sm}
