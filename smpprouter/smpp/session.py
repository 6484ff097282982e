"""The SMPP session core: bind states, permissions, sequence numbers, the
window and the timers, as a state machine with no I/O and no clock.

Why it exists: the ESME-facing server (we are the SMSC) and the SMSC-facing
connectors (we are the ESME) obey the same rules from opposite ends of SMPP
v3.4 table 2-1. Written once, as tables, both faces refuse the same PDUs with
the same status; and because time is an argument (as in aioquic), every timer
is tested by passing `now`, never by waiting. The Twisted protocol is a pump:

    per PDU received     pdu_received(now)                   any PDU is activity
      a request          check_receive(command_id, seq)
                         request_received(seq, command_id)   once accepted
      a response         check_receive(command_id, seq)
                         context = response_received(command_id, seq)
    per request sent     check_send(cid); seq = next_sequence(); request_sent(cid, seq, now, ctx)
    per response sent    check_send(cid, seq); response_sent(seq)
    timers               call poll(now) at next_deadline(); act on each event.

The hot path (a message and its receipt cross eight PDUs) has one call for each pair or
triple above, same rules, same errors: request_arrived (check_receive +
request_received), response_arrived (check_receive + response_received) and
start_request (check_send + next_sequence + request_sent). Each takes the
common case inline and hands anything else to the separate calls.

A StateError from check_receive on a request carries the status to answer it
with; that answer goes out at once and needs neither check_send nor
response_sent (the request was never counted). A response is never
answered: a StateError on one means "drop it".

Rules the tables alone do not say, decided here:
- A bind from a peer that is already bound, unbinding, or whose first bind
  is still unanswered gets ESME_RALYBND, not ESME_RINVBNDSTS (SMSC role; in
  the ESME role the same goes for our own second bind).
- In a v3.3 session bind_transceiver and data_sm (and their responses) get
  ESME_RINVCMDID: the command does not exist in v3.3, the bind state is not
  the problem. So does a command id SMPP does not define.
- A response that answers a request still outstanding is accepted in every
  state, UNBINDING and CLOSED included: a late submit_sm_resp ROK is better
  news than a failure, and response_received checks that it is the right
  kind. Likewise we may always send the answer to a request the peer sent
  and we accepted (the answers still owed while UNBINDING, a bind_resp sent
  after bound()), except once CLOSED.
- enquire_link and its response are allowed in OPEN too (SMPP v5.0 section
  4.1.2 says so, and v3.4 peers do send it before binding). Crossing unbinds are accepted: an
  unbind received while UNBINDING is answered, not refused.
- enquire_link and unbind are tracked like any request (matched, timed out,
  returned on loss) but never count against the window: a full window must
  not stop the keep-alive or the goodbye.
- A response with no outstanding request, or of the wrong kind for it, is a
  StateError (ESME_RINVBNDSTS): the PDU decoded fine, it is the session that
  has no place for it. A wrong-kind answer leaves the request outstanding,
  so it still ends exactly once (its response, a timeout or the loss).
- outbind and alert_notification are never answered: request_sent ignores
  them rather than time them out.

Deadlines: requests sent are kept in a plain dict in sending order, so with
one response timeout the first entry expires first: no heap, no scan. (A
plain dict beats OrderedDict per request; its first-entry peek slows with
deleted slots only in poll/next_deadline, not per PDU.) If `now` goes
backwards a request can expire late, never early. Deadlines move only
later, except after bound() (the enquire_link timer starts) and after the
first request into an empty window: a pump that keeps one timer re-arms it
then if next_deadline() is earlier than the one it holds. A timer that fires
early is harmless (poll returns []).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .commands import (
    CommandId as C, RESPONSE_BIT, UNANSWERED, V34_ONLY, INTERFACE_V33, INTERFACE_V34,
)
from .errors import StateError
from .status import Status

__all__ = [
    "Role", "State", "Mode", "Timers", "Session", "bind_mode", "MAX_SEQUENCE",
    "SessionInitTimeout", "SendEnquireLink", "InactivityTimeout", "ResponseTimeout",
]

MAX_SEQUENCE = 0x7FFFFFFF
_INF = float("inf")


class Role(Enum):
    SMSC = "smsc"   # peers bind to us (the ESME-facing server)
    ESME = "esme"   # we bind to the peer (the SMSC-facing connectors)


class State(Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


class Mode(Enum):
    TX = "tx"
    RX = "rx"
    TRX = "trx"


@dataclass(frozen=True, slots=True)
class Timers:
    """SMPP v3.4 section 7.2 timers, in seconds; None switches one off."""
    session_init: float | None = 30.0
    enquire_link: float | None = 60.0
    inactivity: float | None = 300.0      # seed 002 disconnects after 5 minutes
    response: float | None = 30.0

    def __post_init__(self) -> None:
        for name in ("session_init", "enquire_link", "inactivity", "response"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError("timer %s must be positive or None, not %r" % (name, value))


# Events returned by poll(). The pump acts on each: close, send an
# enquire_link, or fail the request whose answer never came.

@dataclass(frozen=True, slots=True)
class SessionInitTimeout:
    """No bind completed within session_init: close the connection."""


@dataclass(frozen=True, slots=True)
class SendEnquireLink:
    """Nothing received for enquire_link seconds: ask whether the peer lives."""


@dataclass(frozen=True, slots=True)
class InactivityTimeout:
    """Nothing received for inactivity seconds: close the connection."""


@dataclass(frozen=True, slots=True)
class ResponseTimeout:
    """A request we sent went unanswered; it has left the window."""
    command_id: int
    sequence_number: int
    context: Any


Event = SessionInitTimeout | SendEnquireLink | InactivityTimeout | ResponseTimeout


# SMPP v3.4 table 2-1: for each command, the states in which an ESME may send
# it and the states in which an SMSC may send it.
_NEVER: frozenset[State] = frozenset()
_OPEN = frozenset({State.OPEN})
_TX = frozenset({State.BOUND_TX, State.BOUND_TRX})
_RX = frozenset({State.BOUND_RX, State.BOUND_TRX})
_BOUND = _TX | _RX
_CLOSED = State.CLOSED
_ENDING = _BOUND | {State.UNBINDING}          # bound, or still finishing the bind
_LINK = _OPEN | _BOUND
_LIVE = _OPEN | _ENDING

TABLE_2_1: dict[C, tuple[frozenset[State], frozenset[State]]] = {
    #                          sent by an ESME in   sent by an SMSC in
    C.bind_transmitter:       (_OPEN,              _NEVER),
    C.bind_transmitter_resp:  (_NEVER,             _OPEN),
    C.bind_receiver:          (_OPEN,              _NEVER),
    C.bind_receiver_resp:     (_NEVER,             _OPEN),
    C.bind_transceiver:       (_OPEN,              _NEVER),
    C.bind_transceiver_resp:  (_NEVER,             _OPEN),
    C.outbind:                (_NEVER,             _OPEN),
    C.unbind:                 (_ENDING,            _ENDING),
    C.unbind_resp:            (_ENDING,            _ENDING),
    C.generic_nack:           (_LIVE,              _LIVE),
    C.enquire_link:           (_LINK,              _LINK),
    C.enquire_link_resp:      (_LINK,              _LINK),
    C.submit_sm:              (_TX,                _NEVER),
    C.submit_sm_resp:         (_NEVER,             _TX),
    C.submit_multi:           (_TX,                _NEVER),
    C.submit_multi_resp:      (_NEVER,             _TX),
    C.query_sm:               (_TX,                _NEVER),
    C.query_sm_resp:          (_NEVER,             _TX),
    C.cancel_sm:              (_TX,                _NEVER),
    C.cancel_sm_resp:         (_NEVER,             _TX),
    C.replace_sm:             (_TX,                _NEVER),
    C.replace_sm_resp:        (_NEVER,             _TX),
    C.data_sm:                (_TX,                _RX),
    C.data_sm_resp:           (_RX,                _TX),
    C.deliver_sm:             (_NEVER,             _RX),
    C.deliver_sm_resp:        (_RX,                _NEVER),
    C.alert_notification:     (_NEVER,             _RX),
}

_BINDS = frozenset({C.bind_transmitter, C.bind_receiver, C.bind_transceiver})
_KNOWN = frozenset(C)

# Who sends with which column of TABLE_2_1: (we send, the peer sends).
_COLUMNS = {Role.ESME: (0, 1), Role.SMSC: (1, 0)}


def _build_permissions() -> dict[tuple, tuple[frozenset[int], frozenset[int]]]:
    """(role, state, v33, bind in progress) -> (peer may send, we may send)."""
    table = {}
    for role, (ours, theirs) in _COLUMNS.items():
        for state in State:
            for v33 in (False, True):
                for binding in (False, True):
                    drop = (V34_ONLY if v33 else _NEVER) | (_BINDS if binding else _NEVER)
                    # plain ints: the codec hands us raw command ids
                    receive = frozenset(int(c) for c, row in TABLE_2_1.items()
                                        if state in row[theirs] and c not in drop)
                    send = frozenset(int(c) for c, row in TABLE_2_1.items()
                                     if state in row[ours] and c not in drop)
                    table[role, state, v33, binding] = (receive, send)
    return table


_PERMISSIONS = _build_permissions()

_TRANSITIONS: dict[State, frozenset[State]] = {
    State.OPEN: frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX, State.CLOSED}),
    State.BOUND_TX: frozenset({State.UNBINDING, State.CLOSED}),
    State.BOUND_RX: frozenset({State.UNBINDING, State.CLOSED}),
    State.BOUND_TRX: frozenset({State.UNBINDING, State.CLOSED}),
    State.UNBINDING: frozenset({State.UNBINDING, State.CLOSED}),   # crossing unbinds
    State.CLOSED: frozenset({State.CLOSED}),
}

_MODE_STATE = {Mode.TX: State.BOUND_TX, Mode.RX: State.BOUND_RX, Mode.TRX: State.BOUND_TRX}

_BIND_MODE = {
    C.bind_transmitter: Mode.TX, C.bind_transmitter_resp: Mode.TX,
    C.bind_receiver: Mode.RX, C.bind_receiver_resp: Mode.RX,
    C.bind_transceiver: Mode.TRX, C.bind_transceiver_resp: Mode.TRX,
}

# How request_sent treats each request: counted in the window, tracked but
# never counted, or not tracked at all (nobody will answer it).
_WINDOWED, _EXEMPT, _UNTRACKED, _BIND = range(4)
_EXEMPT_IDS = frozenset({C.enquire_link, C.unbind})
_REQUEST_KIND = {c: _WINDOWED for c in C if not c & RESPONSE_BIT}
_REQUEST_KIND.update({c: _EXEMPT for c in _EXEMPT_IDS})
_REQUEST_KIND.update({c: _UNTRACKED for c in UNANSWERED})
_REQUEST_KIND.update({c: _BIND for c in _BINDS})
_WINDOWED_IDS = frozenset(int(c) for c, kind in _REQUEST_KIND.items() if kind == _WINDOWED)


def _name(command_id: int) -> str:
    try:
        return C(command_id).name
    except ValueError:
        return "command 0x%08X" % command_id


def bind_mode(command_id: int, interface_version: int = INTERFACE_V34) -> Mode:
    """The mode a bind (or its response) asks for.

    Raises StateError(ESME_RINVCMDID) for bind_transceiver at interface
    version 0x33 or lower, and ValueError for a command that is not a bind.
    """
    mode = _BIND_MODE.get(command_id)
    if mode is None:
        raise ValueError("%s is not a bind" % _name(command_id))
    if mode is Mode.TRX and interface_version <= INTERFACE_V33:
        raise StateError(Status.ESME_RINVCMDID,
                         "bind_transceiver does not exist in SMPP v3.3 "
                         "(interface_version 0x%02X)" % interface_version,
                         command_id=command_id)
    return mode


class Session:
    """One SMPP connection's protocol state, seen from our side.

    `state`, `role`, `window`, `in_window` (requests counted against the
    window), `peer_outstanding` and `interface_version` are read-only to
    callers: change them through the methods.
    """

    def __init__(self, role: Role, now: float, *, window: int = 10,
                 timers: Timers = Timers(), interface_version: int = INTERFACE_V34):
        if window < 1:
            raise ValueError("window must be at least 1, not %r" % (window,))
        self.role = role
        self.state = State.OPEN
        self.window = window
        self.timers = timers
        self.interface_version = interface_version
        self.in_window = 0
        self.peer_outstanding = 0
        self._we_bind = role is Role.ESME
        self._response = _INF if timers.response is None else timers.response
        # seq -> (command_id, deadline, context), in sending order
        self._outstanding: dict[int, tuple[int, float, Any]] = {}
        # seq -> how many requests of the peer with that seq are unanswered
        self._peer_open: dict[int, int] = {}
        self._our_bind_seq: int | None = None
        self._peer_bind_seq: int | None = None
        self._last_sequence = 0
        self._last_rx = now
        self._enquire_at = now          # when SendEnquireLink last fired
        self._idle_reported: float | None = None   # _last_rx when inactivity fired
        self._init_deadline = (None if timers.session_init is None
                               else now + timers.session_init)
        self._refresh()

    # -- permissions --------------------------------------------------------

    def _refresh(self) -> None:
        binding = self._our_bind_seq is not None or self._peer_bind_seq is not None
        self._may_receive, self._may_send = _PERMISSIONS[
            self.role, self.state, self.interface_version <= INTERFACE_V33, binding]
        # what start_request takes in one test: windowed requests we may send now
        self._may_start = self._may_send & _WINDOWED_IDS

    def check_receive(self, command_id: int, sequence_number: int) -> None:
        """Raise StateError unless the peer may send this PDU now."""
        if command_id in self._may_receive:
            return
        if command_id & RESPONSE_BIT and sequence_number in self._outstanding:
            return
        raise self._refusal(command_id, sequence_number, ours=False)

    def check_send(self, command_id: int, sequence_number: int | None = None) -> None:
        """Raise StateError unless we may send this PDU now.

        Give the sequence_number of a response so that an answer still owed
        to the peer is allowed whatever the state (until CLOSED).
        """
        if command_id in self._may_send:
            return
        if (command_id & RESPONSE_BIT and sequence_number in self._peer_open
                and self.state is not State.CLOSED):
            return
        raise self._refusal(command_id, sequence_number, ours=True)

    def _refusal(self, command_id: int, sequence_number: int | None, ours: bool) -> StateError:
        who = "we" if ours else "the peer"
        if command_id in _BINDS and ours == self._we_bind and (
                self.state in _ENDING or self._our_bind_seq is not None
                or self._peer_bind_seq is not None):
            status = Status.ESME_RALYBND
            reason = ("already bound (%s)" % self.state.name if self.state in _ENDING
                      else "a bind is already in progress")
        elif command_id not in _KNOWN:
            status, reason = Status.ESME_RINVCMDID, "%s is not an SMPP command" % _name(command_id)
        elif command_id in V34_ONLY and self.interface_version <= INTERFACE_V33:
            status = Status.ESME_RINVCMDID
            reason = "%s does not exist in SMPP v3.3" % _name(command_id)
        else:
            status = Status.ESME_RINVBNDSTS
            reason = "%s may not send %s in state %s (%s role)" % (
                who, _name(command_id), self.state.name, self.role.name)
        return StateError(status, reason, command_id=command_id,
                          sequence_number=sequence_number)

    # -- transitions --------------------------------------------------------

    def _check_transition(self, target: State) -> None:
        if target not in _TRANSITIONS[self.state]:
            status = (Status.ESME_RALYBND if target in _BOUND and self.state in _ENDING
                      else Status.ESME_RINVBNDSTS)
            raise StateError(status, "cannot go from %s to %s"
                             % (self.state.name, target.name))

    def bound(self, mode: Mode | str, interface_version: int | None = None) -> None:
        """OPEN -> BOUND_TX/RX/TRX, after a bind_*_resp ESME_ROK (sent or received).

        interface_version, when given, is the version the session speaks
        from now on (the bind's field; 0x33 or lower means v3.3).
        """
        target = _MODE_STATE[Mode(mode)]
        self._check_transition(target)
        version = self.interface_version if interface_version is None else interface_version
        if target is State.BOUND_TRX and version <= INTERFACE_V33:
            raise StateError(Status.ESME_RINVCMDID,
                             "a v3.3 session cannot be bound as transceiver")
        self.state = target
        self.interface_version = version
        self._init_deadline = None
        self._our_bind_seq = self._peer_bind_seq = None
        self._refresh()

    def unbinding(self) -> None:
        """BOUND_* -> UNBINDING, once an unbind is sent or received."""
        self._check_transition(State.UNBINDING)
        self.state = State.UNBINDING
        self._refresh()

    def closed(self) -> None:
        """Any state -> CLOSED. The window is kept until connection_lost()."""
        self._check_transition(State.CLOSED)
        self.state = State.CLOSED
        self._init_deadline = None
        self._refresh()

    # -- our requests (the window) -----------------------------------------

    def next_sequence(self) -> int:
        """1..0x7FFFFFFF, wrapping to 1, never a number still outstanding."""
        seq = self._last_sequence
        outstanding = self._outstanding
        while True:
            seq = 1 if seq >= MAX_SEQUENCE else seq + 1
            if seq not in outstanding:
                self._last_sequence = seq
                return seq

    def can_send(self) -> bool:
        """Whether one more windowed request fits (enquire_link and unbind always do)."""
        return self.in_window < self.window

    @property
    def outstanding(self) -> int:
        """Requests we sent still waiting for an answer, exempt ones included."""
        return len(self._outstanding)

    def request_sent(self, command_id: int, sequence_number: int, now: float,
                     context: Any = None) -> None:
        """Record a request we sent; its answer is due by now + timers.response.

        Raises StateError(ESME_RTHROTTLED) when the window is full (never for
        enquire_link and unbind, which are tracked but not counted), and
        ValueError for a response id or a sequence number already outstanding.
        """
        kind = _REQUEST_KIND.get(command_id)
        if kind is None:
            raise ValueError("%s is not a request" % _name(command_id))
        if kind == _UNTRACKED:
            return
        if sequence_number in self._outstanding:
            raise ValueError("sequence number %d is already outstanding" % sequence_number)
        if kind != _EXEMPT:
            if self.in_window >= self.window:
                raise StateError(Status.ESME_RTHROTTLED,
                                 "window full (%d outstanding)" % self.in_window,
                                 command_id=command_id, sequence_number=sequence_number)
            self.in_window += 1
            if kind == _BIND:
                self._our_bind_seq = sequence_number
                self._refresh()
        self._outstanding[sequence_number] = (command_id, now + self._response, context)

    def response_received(self, command_id: int, sequence_number: int) -> Any:
        """Match a response to the request it answers; return that request's context.

        generic_nack answers whatever request has its sequence number.
        """
        request = self._outstanding.get(sequence_number)
        if request is None:
            raise StateError(Status.ESME_RINVBNDSTS,
                             "%s %d answers no outstanding request"
                             % (_name(command_id), sequence_number),
                             command_id=command_id, sequence_number=sequence_number)
        request_id = request[0]
        if command_id != request_id | RESPONSE_BIT and command_id != C.generic_nack:
            raise StateError(Status.ESME_RINVBNDSTS,
                             "%s %d cannot answer %s"
                             % (_name(command_id), sequence_number, _name(request_id)),
                             command_id=command_id, sequence_number=sequence_number)
        del self._outstanding[sequence_number]
        self._forget(request_id, sequence_number)
        return request[2]

    def start_request(self, command_id: int, now: float, context: Any = None) -> int:
        """check_send(command_id), next_sequence(), request_sent(...): the
        sequence number of the request now counted, or the StateError (or
        ValueError) one of them raises."""
        if command_id not in self._may_start:
            self.check_send(command_id)
            seq = self.next_sequence()
            self.request_sent(command_id, seq, now, context)
            return seq
        outstanding = self._outstanding
        seq = self._last_sequence
        while True:
            seq = 1 if seq >= MAX_SEQUENCE else seq + 1
            if seq not in outstanding:
                break
        self._last_sequence = seq
        if self.in_window >= self.window:
            raise StateError(Status.ESME_RTHROTTLED,
                             "window full (%d outstanding)" % self.in_window,
                             command_id=command_id, sequence_number=seq)
        self.in_window += 1
        outstanding[seq] = (command_id, now + self._response, context)
        return seq

    def response_arrived(self, command_id: int, sequence_number: int) -> Any:
        """check_receive then response_received, for a response: the context of
        the request it answers, or the StateError either raises."""
        request = self._outstanding.get(sequence_number)
        if request is None or (command_id != request[0] | RESPONSE_BIT
                               and command_id != C.generic_nack):
            self.check_receive(command_id, sequence_number)
            return self.response_received(command_id, sequence_number)
        del self._outstanding[sequence_number]
        # _forget, inline: two responses per message
        if request[0] not in _EXEMPT_IDS:
            self.in_window -= 1
        if sequence_number == self._our_bind_seq:
            self._our_bind_seq = None
            self._refresh()
        return request[2]

    def _forget(self, command_id: int, sequence_number: int) -> None:
        if command_id not in _EXEMPT_IDS:
            self.in_window -= 1
        if sequence_number == self._our_bind_seq:
            self._our_bind_seq = None
            self._refresh()

    # -- the peer's requests -----------------------------------------------

    def request_received(self, sequence_number: int, command_id: int | None = None) -> None:
        """Count a request the peer sent, once check_receive accepted it,
        until we answer it.

        Pass command_id so that a bind in progress refuses a second bind
        with ESME_RALYBND. A sequence number the peer reuses is counted twice.
        """
        peer_open = self._peer_open
        peer_open[sequence_number] = peer_open.get(sequence_number, 0) + 1
        self.peer_outstanding += 1
        if (command_id in _BINDS and not self._we_bind and self.state is State.OPEN
                and self._peer_bind_seq is None):
            self._peer_bind_seq = sequence_number
            self._refresh()

    def request_arrived(self, command_id: int, sequence_number: int) -> None:
        """check_receive then request_received, for a request the peer sent."""
        if command_id not in self._may_receive or command_id in _BINDS:
            self.check_receive(command_id, sequence_number)
            self.request_received(sequence_number, command_id)
            return
        peer_open = self._peer_open
        peer_open[sequence_number] = peer_open.get(sequence_number, 0) + 1
        self.peer_outstanding += 1

    def response_sent(self, sequence_number: int) -> bool:
        """Count an answer sent; False if no request of the peer had that number
        (a generic_nack to a PDU whose header could not be read, say)."""
        peer_open = self._peer_open
        count = peer_open.get(sequence_number)
        if count is None:
            return False
        if count == 1:
            del peer_open[sequence_number]
        else:
            peer_open[sequence_number] = count - 1
        self.peer_outstanding -= 1
        if sequence_number == self._peer_bind_seq:
            self._peer_bind_seq = None
            self._refresh()
        return True

    # -- time ---------------------------------------------------------------

    def pdu_received(self, now: float) -> None:
        """Any PDU at all is activity: it re-arms enquire_link and inactivity."""
        self._last_rx = now

    def next_deadline(self) -> float | None:
        """The earliest time poll() has something to report, or None."""
        # the pump asks once per chunk read: min() and max() written out, the
        # state compared with a module constant (an Enum member is a 0.1 us lookup)
        best = _INF
        outstanding = self._outstanding
        if outstanding:
            best = outstanding[next(iter(outstanding))][1]
        state = self.state
        if state is _CLOSED:
            return None if best == _INF else best
        init = self._init_deadline
        if init is not None and init < best:
            best = init
        timers = self.timers
        last_rx = self._last_rx
        inactivity = timers.inactivity
        if inactivity is not None and self._idle_reported != last_rx:
            at = last_rx + inactivity
            if at < best:
                best = at
        enquire_link = timers.enquire_link
        if enquire_link is not None and state in _BOUND:
            enquire_at = self._enquire_at
            at = (enquire_at if enquire_at > last_rx else last_rx) + enquire_link
            if at < best:
                best = at
        return None if best == _INF else best

    def poll(self, now: float) -> list[Event]:
        """Every event due at `now`, each reported once, response timeouts first."""
        events: list[Event] = []
        outstanding = self._outstanding
        while outstanding:
            seq = next(iter(outstanding))
            command_id, deadline, context = outstanding[seq]
            if deadline > now:
                break
            del outstanding[seq]
            self._forget(command_id, seq)
            events.append(ResponseTimeout(command_id, seq, context))
        if self.state is State.CLOSED:
            return events
        closing = False
        if self._init_deadline is not None and self._init_deadline <= now:
            self._init_deadline = None
            events.append(SessionInitTimeout())
            closing = True
        timers = self.timers
        if (timers.inactivity is not None and self._idle_reported != self._last_rx
                and self._last_rx + timers.inactivity <= now):
            self._idle_reported = self._last_rx
            events.append(InactivityTimeout())
            closing = True
        if (not closing and timers.enquire_link is not None and self.state in _BOUND
                and max(self._last_rx, self._enquire_at) + timers.enquire_link <= now):
            self._enquire_at = now
            events.append(SendEnquireLink())
        return events

    def connection_lost(self) -> list[tuple[int, int, Any]]:
        """CLOSED; return (command_id, sequence_number, context) of every request
        still unanswered, in sending order, and forget them all."""
        lost = [(command_id, seq, context)
                for seq, (command_id, _, context) in self._outstanding.items()]
        self._outstanding.clear()
        self._peer_open.clear()
        self.in_window = self.peer_outstanding = 0
        self._our_bind_seq = self._peer_bind_seq = None
        self.closed()
        return lost
