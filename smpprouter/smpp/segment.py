"""Long messages: splitting into parts, reading UDHs, reassembling parts.

A message longer than one short_message travels as parts that carry a
concatenation reference, either in a user data header (UDH, esm_class
UDHI set) or in the sar_* TLVs. The router splits what it sends upstream
(seed 000 shows the 8-bit-reference UDH byte for byte) and reassembles
what arrives in parts when a route needs the whole text (MO keyword
routing, HTTP webhooks), so both directions live here.

Part boundaries come from text.part_ends(), the same function that
text.count_parts() uses: what a customer is charged for is what we send.

The Reassembler keeps open sets in an OrderedDict in order of their first
part, so expiry pops from the front and never scans; time is the caller's
``now``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable, NamedTuple

from .errors import DecodeError, EncodeError
from .status import Status
from .text import (AIR_OCTETS, GSM7, MAX_PARTS, SAR, UDH8, UDH16, alphabet_of,
                   part_ends)

IEI_CONCAT_8BIT = 0x00    # 03 ref total seq
IEI_CONCAT_16BIT = 0x08   # 04 refhi reflo total seq
_CONCAT_IE_LENGTH = {IEI_CONCAT_8BIT: 3, IEI_CONCAT_16BIT: 4}
_MAX_REF = {UDH8: 0xFF, UDH16: 0xFFFF, SAR: 0xFFFF}


class Concat(NamedTuple):
    ref: int
    total: int
    seqnum: int


@dataclass(frozen=True, slots=True)
class Part:
    """One short_message to send: with a UDH (UDHI set) or with sar_* TLVs."""
    short_message: bytes
    esm_class_udhi: bool
    sar: tuple[int, int, int] | None    # (sar_msg_ref_num, total, seqnum)


@dataclass(frozen=True, slots=True)
class Udh:
    """A parsed user data header.

    ``concat`` is the concatenation IE, None when absent or meaningless
    (total 0, seqnum 0 or above total: 23.040 says to ignore it);
    ``header_length`` counts the UDHL octet itself; ``payload`` is what
    follows the header; ``elements`` lists every IE as (iei, data).
    """
    concat: Concat | None
    header_length: int
    payload: bytes
    elements: tuple[tuple[int, bytes], ...]


def _udh8(ref: int, total: int) -> bytes:
    return bytes((0x05, IEI_CONCAT_8BIT, 0x03, ref, total))


def _udh16(ref: int, total: int) -> bytes:
    return bytes((0x06, IEI_CONCAT_16BIT, 0x04, ref >> 8, ref & 0xFF, total))


_UDH_PREFIX = {UDH8: _udh8, UDH16: _udh16}
# bytes((seq,)) without building a tuple per part
_SEQ_OCTET = tuple(bytes((n,)) for n in range(256))


def split(payload: bytes, alphabet: str, method: str = UDH8,
          ref: int = 0, air_octets: int = AIR_OCTETS) -> list[Part]:
    """Split an encoded message into the parts to send.

    ``payload`` is unpacked GSM 03.38 septets, Latin-1/binary octets or
    UTF-16BE, per ``alphabet``; ``air_octets`` what one SMS of the upstream
    holds, its UDH included (text.capacity()). A message that fits one SMS is
    one Part without UDH or SAR. Raises EncodeError(ESME_RINVMSGLEN) past
    255 parts; ValueError for an unknown method or a ref out of range.
    """
    max_ref = _MAX_REF.get(method)
    if max_ref is None:
        raise ValueError("unknown split method %r" % (method,))
    if not 0 <= ref <= max_ref:
        raise ValueError("%s reference %d out of range 0-%d" % (method, ref, max_ref))
    ends = part_ends(payload, alphabet, method, air_octets)
    total = len(ends)
    if total == 1:
        return [Part(payload, False, None)]
    if total > MAX_PARTS:
        raise EncodeError(Status.ESME_RINVMSGLEN,
                          "message needs %d parts, at most %d allowed"
                          % (total, MAX_PARTS))
    parts = []
    start = 0
    if method == SAR:
        for seq, end in enumerate(ends, 1):
            parts.append(Part(payload[start:end], False, (ref, total, seq)))
            start = end
    else:
        prefix = _UDH_PREFIX[method](ref, total)
        view = memoryview(payload)
        for seq, end in enumerate(ends, 1):
            parts.append(Part(b"".join((prefix, _SEQ_OCTET[seq], view[start:end])),
                              True, None))
            start = end
    return parts


def with_concat(short_message: bytes, udhi: bool, ref: int, total: int,
                seqnum: int) -> bytes:
    """short_message with a concatenation IE in its UDH: how one part that
    came with sar_* TLVs travels to a peer that has no TLVs (v3.3).

    An 8-bit reference IE when ref fits one octet, else a 16-bit one, so the
    reference is kept whole. A message that already has a UDH (udhi) gets the
    IE in front of its own IEs; one whose UDH already carries a concatenation
    IE is returned as it is (the UDH says it already). Raises DecodeError
    (ESME_RINVMSGLEN) for a malformed UDH, EncodeError(ESME_RINVMSGLEN) for
    a reference, total or seqnum out of range.
    """
    if not (0 <= ref <= 0xFFFF and 1 <= total <= MAX_PARTS and 1 <= seqnum <= total):
        raise EncodeError(Status.ESME_RINVMSGLEN,
                          "sar_* out of range: ref %d, part %d of %d" % (ref, seqnum, total))
    if ref <= 0xFF:
        ie = bytes((IEI_CONCAT_8BIT, 3, ref, total, seqnum))
    else:
        ie = bytes((IEI_CONCAT_16BIT, 4, ref >> 8, ref & 0xFF, total, seqnum))
    if not udhi:
        return b"".join((bytes((len(ie),)), ie, short_message))
    udh = parse_udh(short_message)
    if any(iei in _CONCAT_IE_LENGTH for iei, _ in udh.elements):
        return short_message
    return b"".join((bytes((udh.header_length - 1 + len(ie),)), ie,
                     short_message[1:]))


def _malformed(reason: str) -> DecodeError:
    return DecodeError(Status.ESME_RINVMSGLEN, "malformed UDH: " + reason)


def parse_udh(short_message: bytes) -> Udh:
    """Parse the UDH at the start of a short_message whose UDHI is set.

    Raises DecodeError(ESME_RINVMSGLEN) when the header runs past the
    message or an IE runs past the header. Of several concatenation IEs the
    last one counts (23.040 9.2.3.24, mutually exclusive IEs).
    """
    if not short_message:
        raise _malformed("UDHI set but short_message is empty")
    end = short_message[0] + 1
    if end > len(short_message):
        raise _malformed("UDHL %d runs past the %d-octet message"
                         % (short_message[0], len(short_message)))
    elements = []
    concat_ie = None
    index = 1
    while index < end:
        if index + 2 > end:
            raise _malformed("IE header at octet %d runs past the UDH" % index)
        iei = short_message[index]
        data_end = index + 2 + short_message[index + 1]
        if data_end > end:
            raise _malformed("IE 0x%02X at octet %d runs past the UDH" % (iei, index))
        data = short_message[index + 2:data_end]
        elements.append((iei, data))
        if iei in _CONCAT_IE_LENGTH:
            concat_ie = (iei, data)
        index = data_end
    return Udh(_concat(concat_ie), end, short_message[end:], tuple(elements))


def _concat(concat_ie: tuple[int, bytes] | None) -> Concat | None:
    if concat_ie is None:
        return None
    iei, data = concat_ie
    if len(data) != _CONCAT_IE_LENGTH[iei]:
        return None
    if iei == IEI_CONCAT_8BIT:
        ref, total, seqnum = data
    else:
        ref, total, seqnum = (data[0] << 8) | data[1], data[2], data[3]
    if total == 0 or not 1 <= seqnum <= total:
        return None
    return Concat(ref, total, seqnum)


# --- reassembly ---------------------------------------------------------------------

TIMEOUT = "timeout"
OVERFLOW = "overflow"


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A set given up on: ``parts`` maps seqnum -> payload of what arrived.

    ``reason`` is "timeout" (expired) or "overflow" (evicted, oldest first,
    to admit a new set when max_pending were open).
    """
    key: Hashable
    ref: int
    total: int
    parts: dict[int, bytes]
    first_seen: float
    reason: str


class _Pending:
    __slots__ = ("first_seen", "parts", "missing")

    def __init__(self, total: int, now: float):
        self.first_seen = now
        self.parts: list[bytes | None] = [None] * total
        self.missing = total


class Reassembler:
    """Joins the parts of concatenated messages, in any order, once each.

    A set is keyed by (key, ref, total), ``key`` being the caller's notion
    of one conversation, such as (source, destination, connector): a
    reference reused with another total is another message. The first copy
    of a seqnum wins; later copies are ignored. ``now`` must not go
    backwards: sets expire in the order they opened.

    Peers resend parts whose response they missed, so a copy may arrive
    after its set completed. For ``timeout`` after completion the set's
    part hashes are kept (at most max_pending of them): a part identical
    to the one already received for that seqnum is ignored, a different
    one means the reference was reused and opens a new set. A total of 1
    is not a set: its payload is returned at once, every time.

    When max_pending sets are open, a part that opens a new set evicts the
    oldest; add() still answers only for its own part, and the evicted set
    is handed out, with reason "overflow", by the next expire() call
    (next_deadline() then reports a deadline already reached).
    """

    def __init__(self, timeout: float, max_pending: int = 10000):
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.timeout = timeout
        self.max_pending = max_pending
        self._pending: OrderedDict[tuple, _Pending] = OrderedDict()
        self._evicted: list[tuple[Incomplete, float]] = []
        # completed set -> (completed at, hash of each part), oldest first
        self._done: OrderedDict[tuple, tuple[float, tuple[int, ...]]] = OrderedDict()

    def __len__(self) -> int:
        """Sets open now."""
        return len(self._pending)

    def add(self, key: Hashable, ref: int, total: int, seqnum: int,
            payload: bytes, now: float) -> bytes | None:
        """Record one part; the whole payload when this part completes it.

        Raises DecodeError(ESME_RINVTLVVAL) for a total outside 1-255 or a
        seqnum outside 1-total (parse_udh() never yields those, so they come
        from sar_* TLVs).
        """
        if not 1 <= total <= MAX_PARTS:
            raise DecodeError(Status.ESME_RINVTLVVAL,
                              "total segments %d out of range 1-%d" % (total, MAX_PARTS))
        if not 1 <= seqnum <= total:
            raise DecodeError(Status.ESME_RINVTLVVAL,
                              "segment %d out of range 1-%d" % (seqnum, total))
        if total == 1:
            return payload
        set_key = (key, ref, total)
        slot = seqnum - 1
        pending = self._pending.get(set_key)
        if pending is None:
            done = self._done.get(set_key)
            if done is not None:
                if done[0] + self.timeout > now and done[1][slot] == hash(payload):
                    return None             # a resent part of a completed set
                del self._done[set_key]     # reference reused, or forgotten
            if len(self._pending) >= self.max_pending:
                self._evict(now)
            pending = self._pending[set_key] = _Pending(total, now)
        elif pending.parts[slot] is not None:
            return None
        pending.parts[slot] = payload
        pending.missing -= 1
        if pending.missing:
            return None
        del self._pending[set_key]
        self._remember(set_key, pending.parts, now)
        return b"".join(pending.parts)

    def _remember(self, set_key: tuple, parts: list, now: float) -> None:
        done = self._done
        self._forget(now)
        if len(done) >= self.max_pending:
            done.popitem(last=False)
        done[set_key] = (now, tuple(map(hash, parts)))

    def _forget(self, now: float) -> None:
        done = self._done
        while done:
            set_key = next(iter(done))
            if done[set_key][0] + self.timeout > now:
                break
            del done[set_key]

    def _evict(self, now: float) -> None:
        set_key, pending = self._pending.popitem(last=False)
        self._evicted.append((_incomplete(set_key, pending, OVERFLOW), now))

    def expire(self, now: float) -> list[Incomplete]:
        """Drop and return the sets whose first part is ``timeout`` old,
        and the sets evicted for room since the last call."""
        self._forget(now)
        expired = [incomplete for incomplete, _ in self._evicted]
        self._evicted.clear()
        pending = self._pending
        while pending:
            set_key = next(iter(pending))
            if pending[set_key].first_seen + self.timeout > now:
                break
            expired.append(_incomplete(set_key, pending.pop(set_key), TIMEOUT))
        return expired

    def next_deadline(self) -> float | None:
        """When expire() next has something to return, or None."""
        if self._evicted:
            return self._evicted[0][1]
        if not self._pending:
            return None
        return next(iter(self._pending.values())).first_seen + self.timeout


def _incomplete(set_key: tuple, pending: _Pending, reason: str) -> Incomplete:
    key, ref, total = set_key
    parts = {seq: part for seq, part in enumerate(pending.parts, 1)
             if part is not None}
    return Incomplete(key, ref, total, parts, pending.first_seen, reason)


def part_status(short_message: bytes, data_coding: int) -> int:
    """ESME_ROK (0) when a part the ESME split itself (UDHI set) fits one SMS
    on air, else the status to refuse it with.

    The UDH must be well formed: a message whose esm_class announces a header
    it does not have is ESME_RINVESMCLASS (its esm_class is what is wrong, or
    the header it meant to send). The header and the text must fit one part:
    160 septets in the default alphabet (the UDH's octets rounded up to whole
    septets, as on air), 140 octets in any other, else ESME_RINVMSGLEN.
    """
    try:
        udh = parse_udh(short_message)
    except DecodeError:
        return Status.ESME_RINVESMCLASS
    try:
        alphabet = alphabet_of(data_coding)
    except DecodeError:
        alphabet = None   # a reserved coding: its octets are counted
    if alphabet == GSM7:
        used = -(-udh.header_length * 8 // 7) + len(udh.payload)
        limit = 160
    else:
        used = len(short_message)
        limit = 140
    return Status.ESME_RINVMSGLEN if used > limit else Status.ESME_ROK
