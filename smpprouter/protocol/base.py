"""The one Twisted protocol both faces share: a thin pump between the
transport, the reactor's clock and the sans-IO session core.

It frames and decodes bytes, asks the session whether each PDU is allowed,
answers what the protocol itself must answer (enquire_link, unbind,
malformed and refused PDUs), matches responses to the requests we sent, and
turns the session's timer events into actions. What a PDU *means* (a bind's
credentials, a submit_sm's route) is the subclass's business: it implements
``request_received(pdu)`` and answers with ``send_response``.

Requests we send carry a Deferred as their session context, or a Then (smpprouter/then.py) where
the sender alone waits (a Deferred and its callback pairs cost several times
as much, and the hot path sends two requests per message). Either gets the response PDU, whatever its command_status (a
generic_nack included), or fails with ResponseTimeout or ConnectionLost, so
nothing in flight waits forever.

Why a connection ends is kept in `close_reason` (the first reason given to
close(): "unbind received", "enquire_link unanswered", ...), so a face can
log one honest line when it is gone. A face that stops reading from its
transport (backpressure) sets `reading_paused`: silence is then our doing,
not the peer's, and the inactivity and enquire_link timers count the
session as active meanwhile.
"""

import struct

from twisted.internet import error, protocol
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorCore
from twisted.logger import Logger

from ..smpp import codec
from ..smpp import pdu as P
from ..smpp.commands import RESPONSE_BIT, CommandId
from ..smpp.errors import DecodeError, FramingError, StateError
from ..smpp.framer import Framer
from ..smpp.session import (InactivityTimeout, ResponseTimeout, SendEnquireLink, Session,
                            SessionInitTimeout, State, Timers)
from ..smpp.status import Status
from ..tcp import set_no_delay


class TurnWriter:
    """A reactor's SMPP writes of one turn: each protocol's joined into one
    transport.write when the turn ends (a message costs four writes, each
    six Twisted calls). The flush is a callLater(0), which runs right after
    the turn's events and before the next poll, where Twisted sends what is
    written: no octet leaves later than it would have."""

    def __init__(self, clock):
        self.clock = clock
        self._waiting = []   # protocols with output this turn
        self._call = None

    def add(self, proto):
        self._waiting.append(proto)
        if self._call is None:
            self._call = self.clock.callLater(0, self.flush)

    def flush(self):
        self._call = None
        waiting, self._waiting = self._waiting, []
        for proto in waiting:
            try:
                proto.flush()
            except Exception:
                _log.failure("{peer}: writing failed", peer=getattr(proto, "peer", "?"))


_WRITERS = {}


def turn_writer(clock):
    """The TurnWriter of a reactor; None for a clock without turns (a
    task.Clock: tests on a StringTransport see each write at once)."""
    if not IReactorCore.providedBy(clock):
        return None
    writer = _WRITERS.get(clock)
    if writer is None:
        writer = _WRITERS[clock] = TurnWriter(clock)
    return writer


class ResponseTimeoutError(Exception):
    """The peer did not answer a request within the response timer."""


class SessionClosed(error.ConnectionLost):
    """The connection ended with the request unanswered."""


_log = Logger()
_RESPONSE_CLASS = {cls.command_id & ~RESPONSE_BIT: cls for cls in P.ALL
                   if cls.command_id & RESPONSE_BIT and cls.command_id != CommandId.generic_nack}


def response_for(command_id: int, sequence_number: int, status: int):
    """The response PDU answering a request with an error status (no body)."""
    cls = _RESPONSE_CLASS.get(command_id)
    if cls is None:
        return P.GenericNack(status, sequence_number)
    return cls(status, sequence_number)


class SMPPProtocol(protocol.Protocol):
    log = Logger()
    role = None  # Role.SMSC or Role.ESME, set by the face
    # command_id -> the decoder of a v3.4 peer's request (codec.CHECKED); a face
    # may read its hot request straight into the core's value (smpp/reading.py)
    readers = codec.CHECKED

    def __init__(self, clock, timers: Timers, window: int = 10,
                 max_pdu_length: int = codec.DEFAULT_MAX_LENGTH):
        self.clock = clock
        self.timers = timers
        self.window = window
        self.framer = Framer(max_pdu_length)
        self.session = None
        self._timer = None
        self._timer_at = None
        self._idle_waiters = []
        self.peer = "?"
        self.peer_host = None
        self.close_reason = None   # why we closed (the first reason given), else None
        self.reading_paused = False
        # (pdu, buffer, start, end) of the request being dispatched: a face may
        # relay its octets rather than encode it again (smpp/adapt.py relay_form)
        self.frame = None
        self._turn = turn_writer(clock)
        self._out = None   # this turn's octets, while the TurnWriter holds them

    def about(self):
        """The fields of every log line about this connection (the ESME face
        adds its user and session, the connector face its connector)."""
        return {"peer": self.peer}

    # -- connection ---------------------------------------------------------

    def connectionMade(self):
        set_no_delay(self.transport)
        self.session = Session(self.role, self.clock.seconds(), window=self.window,
                               timers=self.timers)
        peer = self.transport.getPeer()
        self.peer = "%s:%s" % (getattr(peer, "host", peer), getattr(peer, "port", ""))
        self.peer_host = getattr(peer, "host", None)   # None for a unix socket
        self._arm()

    def connectionLost(self, reason=protocol.connectionDone):
        self._out = None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        session = self.session
        if session is None:
            return
        lost = session.connection_lost() if session.state is not State.CLOSED else []
        for _, _, deferred in lost:
            if deferred is not None:
                deferred.errback(SessionClosed("connection lost with the request unanswered"))
        self._check_idle()
        self.session_closed(reason)

    def session_closed(self, reason):
        """Hook: the connection is gone and every request in flight has failed."""

    # -- receiving ----------------------------------------------------------

    def dataReceived(self, data):
        session = self.session
        if session.state is _CLOSED:
            return
        session.pdu_received(self.clock.seconds())
        version = session.interface_version
        unpack = _FULL_HEADER.unpack_from
        decode_read = codec.decode_read
        # decode_read's v3.4 lookup made here (a call per PDU saved)
        checked = self.readers if version >= _V34 else _NO_DECODERS
        dispatch = self._dispatch
        try:
            for buf, start, end in self.framer.frames(data):
                _, cid, status, seq = unpack(buf, start)
                if cid in _ID_RESPONSES:
                    message_id = _message_id_of(buf, start, end, status)
                    if message_id is not None:
                        self.frame = None
                        self._id_response(cid, status, seq, message_id)
                        if session.state is _CLOSED:
                            return
                        continue
                decoder = checked.get(cid)
                try:
                    if decoder is not None:
                        pdu = decoder(buf, start + _HEADER_SIZE, end, status, seq)
                    else:
                        pdu = decode_read(buf, start, end, version, cid, status, seq)
                except DecodeError as e:
                    if decoder is not None:   # what decode_read adds to its errors
                        e.command_id = cid
                        e.sequence_number = seq
                    self._undecodable(e)
                    continue
                self.frame = (pdu, buf, start, end)
                dispatch(pdu)
                if session.state is _CLOSED:
                    return
        except FramingError as e:
            self.log.warn("{peer}: {error}; closing", **self.about(), error=e)
            self._send(P.GenericNack(e.status, e.sequence_number or 0))
            self.close("unframeable input")
            return
        finally:
            self.frame = None
        self._arm()

    def _dispatch(self, pdu):
        cid = pdu.command_id
        session = self.session
        seq = pdu.sequence_number
        if cid & RESPONSE_BIT:
            try:
                deferred = session.response_arrived(cid, seq)
            except StateError as e:
                self.log.info("{peer}: ignored {error}", **self.about(), error=e)
                return
            if deferred is not None:
                deferred.callback(pdu)
            if self._idle_waiters:
                self._check_idle()
            return
        unanswered = cid in _UNANSWERED
        try:
            if unanswered:
                session.check_receive(cid, seq)   # never counted: nobody answers it
            else:
                session.request_arrived(cid, seq)
        except StateError as e:
            self._send(response_for(cid, seq, e.status))
            return
        if unanswered or cid in _FACES:
            self.request_received(pdu)
            return
        if cid == CommandId.enquire_link:
            self.send_response(P.EnquireLinkResp(sequence_number=seq))
        elif cid == CommandId.unbind:
            self.unbind_received()
            self.send_response(P.UnbindResp(sequence_number=seq))
            if session.state is not State.UNBINDING:
                session.unbinding()
            self.close("unbind received")
        else:
            self.request_received(pdu)

    def _id_response(self, cid, status, seq, message_id):
        """_dispatch of a submit_sm_resp or deliver_sm_resp read without its
        PDU (codec.message_id_of): a context with id_answered(status,
        message_id) gets the two as they are; any other gets the PDU that
        decode_frame would have made."""
        try:
            context = self.session.response_arrived(cid, seq)
        except StateError as e:
            self.log.info("{peer}: ignored {error}", **self.about(), error=e)
            return
        if context is not None:
            answered = getattr(context, "id_answered", None)
            if answered is not None:
                answered(status, message_id)
            else:
                context.callback(_ID_RESPONSES[cid](status, seq, message_id, {}))
        if self._idle_waiters:
            self._check_idle()

    def _undecodable(self, e: DecodeError):
        cid, seq = e.command_id, e.sequence_number
        if cid is not None and cid & RESPONSE_BIT:
            # A response we cannot read still ends its request, as a failure.
            deferred = None
            try:
                self.session.check_receive(cid, seq)
                deferred = self.session.response_received(cid, seq)
            except StateError:
                pass
            if deferred is not None:
                deferred.errback(e)
            self.log.info("{peer}: undecodable response: {error}", **self.about(), error=e)
            return
        if e.status == Status.ESME_RINVCMDID or cid is None:
            self._send(P.GenericNack(e.status, seq or 0))
        else:
            self._send(response_for(cid, seq, e.status))

    def unbind_received(self):
        """Hook: the peer sent unbind; it is answered and the connection closed next."""

    def request_received(self, pdu):
        """Hook: a request the session allows; answer it with send_response."""
        self.send_response(response_for(pdu.command_id, pdu.sequence_number,
                                        Status.ESME_RINVCMDID))

    # -- sending ------------------------------------------------------------

    def _write(self, data):
        """transport.write(data), or with a TurnWriter at the end of the turn."""
        out = self._out
        if out is not None:
            out.append(data)
            return
        turn = self._turn
        if turn is None:
            self.transport.write(data)
            return
        self._out = [data]
        turn.add(self)

    def flush(self):
        """Hand this turn's octets to the transport (the TurnWriter calls it)."""
        out = self._out
        if out is None:
            return
        self._out = None
        if self.transport is not None:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _send(self, pdu):
        if self.transport is not None:
            self._write(codec.encode(pdu, self.session.interface_version))

    def send_response(self, pdu):
        """Answer a request the peer sent (dropped if the session has since closed)."""
        session = self.session
        if session.state is State.CLOSED:
            return
        session.response_sent(pdu.sequence_number)
        self._send(pdu)
        if self._idle_waiters:
            self._check_idle()

    def send_id_response(self, command_id: int, status: int, sequence_number: int,
                         message_id: str = ""):
        """send_response for the responses made of a message_id alone (submit_sm_resp,
        data_sm_resp, deliver_sm_resp), packed without a PDU object
        (codec.encode_id_response: the octets codec.encode gives). message_id is
        the router's or empty (ids.py), never a peer's."""
        session = self.session
        if session.state is _CLOSED:
            return
        session.response_sent(sequence_number)
        if self.transport is not None:
            self._write(codec.encode_id_response(command_id, status, sequence_number,
                                                 message_id))
        if self._idle_waiters:
            self._check_idle()

    def can_send(self) -> bool:
        session = self.session
        # session.can_send() inline: asked before every request the router sends
        return (session is not None and session.state is not _CLOSED
                and session.in_window < session.window)

    def send_request(self, pdu, deferred=None):
        """Send a request; returns the Deferred that gets its response.

        The caller checks can_send() first: a full window raises StateError
        (ESME_RTHROTTLED), as does a state that forbids the command.
        """
        session = self.session
        cid = pdu.command_id
        session.check_send(cid)
        seq = session.next_sequence()
        pdu.sequence_number = seq
        data = codec.encode(pdu, session.interface_version)
        if deferred is None and cid not in _UNANSWERED:
            deferred = Deferred()
        session.request_sent(cid, seq, self.clock.seconds(), deferred)
        self._write(data)
        if self._timer is None:
            self._arm()
        return deferred

    def send_encoded_request(self, data: bytes, deferred=None):
        """send_request for a request encoded earlier (a queued deliver_sm in its
        v3.4 form, a relayed submit_sm): only the sequence number is patched in,
        nothing is decoded or encoded again."""
        session = self.session
        cid = _HEADER.unpack_from(data, 4)[0]
        if deferred is None:
            deferred = Deferred()
        seq = session.start_request(cid, self.clock.seconds(), deferred)
        self._write(b"".join((data[:12], _HEADER.pack(seq), data[16:])))
        if self._timer is None:
            self._arm()
        return deferred

    def when_idle(self):
        """Deferred firing once nothing is owed either way: every request we sent
        has its answer (or failed) and every request the peer sent is answered."""
        d = Deferred()
        self._idle_waiters.append(d)
        self._check_idle()
        return d

    def _check_idle(self):
        session = self.session
        if session.state is State.CLOSED or (session.outstanding == 0
                                             and session.peer_outstanding == 0):
            waiters, self._idle_waiters = self._idle_waiters, []
            for d in waiters:
                d.callback(self)

    def close(self, reason=None):
        """End the connection once what is written has been sent; `reason`
        (the first one given) is kept in close_reason."""
        if self.close_reason is None:
            self.close_reason = reason
        if self.transport is not None:
            self.flush()   # this turn's octets go before the connection ends
            self.transport.loseConnection()

    # -- timers -------------------------------------------------------------

    def _arm(self):
        deadline = self.session.next_deadline()
        if deadline is None:
            return
        timer = self._timer
        if timer is not None and timer.active():
            if self._timer_at <= deadline:
                return
            timer.cancel()
        self._timer_at = deadline
        self._timer = self.clock.callLater(max(0.0, deadline - self.clock.seconds()),
                                           self._fire)

    def _fire(self):
        self._timer = None
        session = self.session
        now = self.clock.seconds()
        if self.reading_paused:
            # The peer's bytes wait unread because we paused: not inactivity.
            session.pdu_received(now)
        for event in session.poll(now):
            kind = type(event)
            if kind is ResponseTimeout:
                if event.context is not None:
                    event.context.errback(ResponseTimeoutError(
                        "no response to %s %d" % (CommandId(event.command_id).name,
                                                  event.sequence_number)))
                if self._idle_waiters:
                    self._check_idle()
            elif kind is SendEnquireLink:
                self.send_request(P.EnquireLink()).addErrback(self._enquire_failed)
            elif kind in (InactivityTimeout, SessionInitTimeout):
                reason = ("inactivity timeout" if kind is InactivityTimeout
                          else "no bind within session_init")
                self.closing(reason)
                self.close(reason)
        if session.state is not State.CLOSED:
            self._arm()

    def _enquire_failed(self, failure):
        # Any other failure is the connection's loss, already handled.
        if failure.check(ResponseTimeoutError):
            self.closing("enquire_link timeout")
            self.close("enquire_link timeout")

    def closing(self, reason):
        """Hook: a timer is about to close the connection (logged here by default)."""
        self.log.info("{peer}: {reason}; closing", **self.about(), reason=reason)


_UNANSWERED = frozenset((CommandId.outbind, CommandId.alert_notification))
# requests the faces answer (binds, messages): all but enquire_link and unbind,
# which the pump answers itself (plain ints: the codec gives raw command ids)
_FACES = frozenset(int(c) for c in CommandId if not c & RESPONSE_BIT) - _UNANSWERED - {
    CommandId.enquire_link, CommandId.unbind}
_CLOSED = State.CLOSED
_HEADER = struct.Struct(">I")
_FULL_HEADER = codec.HEADER
_HEADER_SIZE = codec.HEADER_SIZE
_NO_DECODERS = {}
_V34 = codec.INTERFACE_V34
_ID_RESPONSES = codec.ID_RESPONSES
_message_id_of = codec.message_id_of
