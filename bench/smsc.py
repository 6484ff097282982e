"""A simulated upstream SMSC: the peer the router binds to, in tests and in the bench.

It is written on the sans-IO codec and framer only, never on the router's own
protocol classes, so that it can judge them.  It answers binds (transmitter,
receiver, transceiver) against configured accounts, enquire_link, unbind,
submit_sm and data_sm; it sends delivery receipts and mobile-originated
messages as deliver_sm on the receiver-capable binds of an account, and
counts how they are acknowledged.

As a library (tests)::

    smsc = SimulatedSMSC(system_id="router", password="secret")
    port = smsc.listen(0)                  # 127.0.0.1, a free port
    submit = yield smsc.next_submit()      # a SubmitSm
    resp = yield smsc.send_mo("4477", "100", b"hello")
    yield smsc.close()

As a CLI (the bench's upstream; `make smsc SMSC_ARGS="--receipt-bind other"`)::

    python -m bench.smsc --port 2776 --system-id router --password secret

Behaviour worth knowing:

- Message ids come from one counter per simulator, seeded from the clock so
  a restarted simulator does not reuse the ids of the previous run (the
  router's mappings outlive it).  `id_format` writes the submit_sm_resp id
  as "hex", "HEX" or "decimal"; `receipt_id_format` (None: the resp id as
  is) writes the receipt's `id:` and receipted_message_id from the same
  number, to reproduce upstreams whose receipt ids differ from their resp
  ids (Kannel's msg-id-type).
- A receipt is sent when registered_delivery asks for one (1: always, 2:
  only when `receipt_stat` is a failure).  `receipt_bind` chooses the bind:
  "any" (round-robin over the account's receiver-capable binds, the
  default), "same" (the bind the submit came on, if it can receive), or
  "other" (a different bind; the same one only when it is the only one).
  With no receiver-capable bind, receipts and MOs wait in a queue until one
  binds, as a real SMSC stores them.
- `receipt_first` sends the receipt before the submit_sm_resp (the race
  where the router sees a receipt before it has stored the id mapping).
- A receipt carries its text (`id:... stat:... err:...`) and, on v3.4
  binds, the receipted_message_id and message_state TLVs (message_state
  from `receipt_stat`), as v3.4 SMSCs send them; v3.3 binds get the text
  only.
- `delivery_command` "data_sm" sends receipts and MOs as data_sm (the text
  in message_payload, as seed 002 allows) on v3.4 binds; v3.3 binds, which
  have no data_sm, still get deliver_sm.  "deliver_sm" is the default.
- `receipt_stats` ({n: stat}) gives the receipt of the n-th accepted
  submit (1-based, counted over the simulator's life: `responses_sent`) that
  stat instead of `receipt_stat`, e.g. {2: "UNDELIV"} fails the second part
  of a message the router split.
- `receipts_unasked` sends a receipt for every accepted message, whatever
  its registered_delivery, as some SMSCs do (the router must answer those
  at once, not hold them waiting for a mapping it never stored).
- Every deliver_sm_resp status is counted (`deliver_resp_statuses`); those
  carrying an error (or a generic_nack) in `deliveries_refused`.  By default
  (`retry_deliveries` False) a refused deliver_sm is dropped, never sent
  again; with `retry_deliveries` a deliver_sm answered with an error, or
  left unanswered by a lost connection, is sent again after `retry_delay`.

Fault knobs (default off; set at construction or at any time on a running
simulator, and they take effect from the next submit):

- `throttle_ratio` (0.0-1.0) answers that fraction of submit_sm/data_sm
  ESME_RTHROTTLED (no message id, no receipt), deterministically: the n-th
  submit since the ratio was set is throttled when floor(n * ratio) grows,
  so 0.5 throttles every second one, 0.25 every fourth, 1.0 all of them.
  Counted in `throttled_sent`.  `fail_next` takes precedence.
- `drop_every` N closes a bind (loseConnection, no unbind) right after
  answering its N-th, 2N-th, ... submit, whatever the answer; the rest of
  what the peer sent in the same read is ignored, and the receipt of the
  submit that triggered the drop goes to another bind (or waits for one).
  Counted in `binds_dropped`.
- Duplicate accounting: every accepted message (answered ESME_ROK with a
  message id) is counted by its key (destination_addr, text), the text
  being short_message (UDH included) or else the message_payload TLV, as
  bytes.  `seen(key)` is that count; stats() has `unique_submits` and
  `duplicate_submits` (accepted messages beyond the first of their key), so
  a test can assert that no message reached the SMSC twice.  Throttled and
  failed submits are not counted: the ESME is expected to send them again.
- The hot path (one submit_sm, its resp and its receipt) creates no
  Deferred and logs nothing; `record=False` also stops keeping every PDU.
"""

import argparse
import collections
import json
import sys
import time
from fractions import Fraction

from twisted.internet import defer, error
from twisted.internet.protocol import Factory, Protocol
from twisted.python import failure

from smpprouter.smpp.codec import decode_frame, encode
from smpprouter.smpp.commands import INTERFACE_V33, INTERFACE_V34, CommandId, response_id
from smpprouter.smpp.errors import DecodeError, EncodeError, FramingError
from smpprouter.smpp.framer import Framer
from smpprouter.smpp.pdu import (
    BY_COMMAND_ID, BindReceiverResp, BindTransceiverResp, BindTransmitterResp, DataSm, DataSmResp,
    DeliverSm, EnquireLinkResp, GenericNack, SubmitSmResp, Unbind, UnbindResp,
)
from smpprouter.smpp.receipt import MessageState, build_receipt, stat_to_state
from smpprouter.smpp.status import Status, status_name

TRANSMITTER, RECEIVER, TRANSCEIVER = "transmitter", "receiver", "transceiver"
RECEIPT_ESM_CLASS = 0x04
ID_FORMATS = {"hex": "%x", "HEX": "%X", "decimal": "%d"}
RECEIPT_BINDS = ("any", "same", "other")
TEXT_EXCERPT = 20
SEQUENCE_MAX = 0x7FFFFFFF
DELIVER_ADDR_MAX = 20  # a deliver_sm address holds 20 octets, a data_sm one 64

_BIND_MODES = {
    CommandId.bind_transmitter: (TRANSMITTER, BindTransmitterResp),
    CommandId.bind_receiver: (RECEIVER, BindReceiverResp),
    CommandId.bind_transceiver: (TRANSCEIVER, BindTransceiverResp),
}
_CAN_SUBMIT = frozenset((TRANSMITTER, TRANSCEIVER))
_CAN_RECEIVE = frozenset((RECEIVER, TRANSCEIVER))
# registered_delivery 2 asks for a receipt on failure only: these are not failures.
_SUCCESS_STATES = frozenset((MessageState.DELIVERED, MessageState.ENROUTE, MessageState.ACCEPTED))


def _receipt_date(seconds_since_epoch: float) -> str:
    return time.strftime("%y%m%d%H%M", time.gmtime(seconds_since_epoch))


class _Outbound:
    """A deliver_sm the simulator sends (a receipt or an MO) until it is acknowledged."""

    __slots__ = ("pdu", "system_id", "deferred", "origin", "policy", "attempts")

    def __init__(self, pdu, system_id, deferred=None, origin=None, policy="any"):
        self.pdu = pdu
        self.system_id = system_id
        self.deferred = deferred
        self.origin = origin
        self.policy = policy
        self.attempts = 0


class SMSCSession(Protocol):
    """One ESME connection to the simulator."""

    def __init__(self, factory):
        self.factory = factory
        self.mode = None
        self.system_id = None
        self.version = INTERFACE_V34
        self.received = []          # every PDU decoded on this session (if factory.record)
        self.pending = {}           # sequence_number -> _Outbound awaiting deliver_sm_resp
        self.resp_statuses = collections.Counter()   # deliver_sm_resp statuses on this bind
        self.decode_errors = []     # DecodeErrors raised by what the peer sent
        self.connected = False
        self.closed = defer.Deferred()
        self.dropped = False        # drop_every closed it: ignore whatever else arrives
        self.submits_answered = 0   # submit_sm / data_sm answered on this bind (drop_every)
        self._framer = Framer()
        self._sequence = 0

    # --- state ------------------------------------------------------------

    @property
    def can_submit(self) -> bool:
        return self.mode in _CAN_SUBMIT

    @property
    def can_receive(self) -> bool:
        return self.mode in _CAN_RECEIVE

    def __repr__(self):
        return "<SMSCSession %s %s>" % (self.system_id, self.mode)

    def next_sequence(self) -> int:
        self._sequence = self._sequence % SEQUENCE_MAX + 1
        return self._sequence

    # --- transport --------------------------------------------------------

    def connectionMade(self):
        self.connected = True
        self.transport.setTcpNoDelay(True)   # small PDUs: no Nagle stalls
        self.factory.connections.append(self)

    def connectionLost(self, reason=failure.Failure(error.ConnectionDone())):
        self.connected = False
        self.factory._lost(self, reason)
        self.closed.callback(None)

    def send(self, pdu):
        self.transport.write(encode(pdu, self.version))

    def dataReceived(self, data):
        if self.dropped:
            return
        factory = self.factory
        record = self.received.append if factory.record else None
        handlers = _HANDLERS
        version = self.version
        try:
            for buf, start, end in self._framer.frames(data):
                try:
                    pdu = decode_frame(buf, start, end, version)
                except DecodeError as e:
                    self._decode_error(e)
                    continue
                if record is not None:
                    record(pdu)
                handler = handlers.get(pdu.command_id)
                if handler is None:
                    factory.unexpected.append((self, pdu))
                else:
                    handler(self, pdu)
                    if self.dropped:
                        return
                version = self.version  # a bind may have changed it
        except FramingError as e:
            self.decode_errors.append(e)
            self.transport.write(encode(GenericNack(e.status, e.sequence_number or 0)))
            self.transport.loseConnection()

    def _decode_error(self, e):
        self.decode_errors.append(e)
        cid = e.command_id
        if cid & 0x80000000:  # a response we cannot read: it still settles its request
            out = self.pending.pop(e.sequence_number, None)
            if out is not None:
                self.factory._delivery_answered(self, out, e.status, None)
            return
        resp_cls = BY_COMMAND_ID.get(response_id(cid)) if cid in BY_COMMAND_ID else None
        if resp_cls is None or cid == CommandId.generic_nack:
            self.transport.write(encode(GenericNack(e.status, e.sequence_number)))
        else:
            self.transport.write(encode(resp_cls(e.status, e.sequence_number)))

    # --- handlers ---------------------------------------------------------

    def _on_bind(self, pdu):
        mode, resp_cls = _BIND_MODES[pdu.command_id]
        factory = self.factory
        if self.mode is not None:
            status = Status.ESME_RALYBND
        else:
            status = factory.check_credentials(pdu.system_id, pdu.password)
        if status:
            self.send(resp_cls(status, pdu.sequence_number))
            factory._log("bind refused: %s %s from %s: %s" % (
                mode, pdu.system_id, self._peer(), status_name(status)))
            return
        tlvs = {}
        if pdu.interface_version >= INTERFACE_V34:
            tlvs["sc_interface_version"] = INTERFACE_V34
        self.send(resp_cls(0, pdu.sequence_number, factory.smsc_id, tlvs))
        self.version = INTERFACE_V33 if pdu.interface_version < INTERFACE_V34 else INTERFACE_V34
        self.mode = mode
        self.system_id = pdu.system_id
        factory._bound(self)

    def _on_submit(self, pdu):
        factory = self.factory
        if not self.can_submit:
            resp = (SubmitSmResp if pdu.command_id == CommandId.submit_sm else DataSmResp)
            self.send(resp(Status.ESME_RINVBNDSTS, pdu.sequence_number))
            return
        factory._message(self, pdu)

    def _on_deliver_resp(self, pdu):
        out = self.pending.pop(pdu.sequence_number, None)
        if out is None:
            self.factory.unexpected.append((self, pdu))
            return
        self.factory._delivery_answered(self, out, pdu.command_status, pdu)

    def _on_generic_nack(self, pdu):
        out = self.pending.pop(pdu.sequence_number, None)
        if out is None:
            self.factory.generic_nacks.append((self, pdu))
            return
        self.factory._delivery_answered(self, out, pdu.command_status or Status.ESME_RSYSERR,
                                        pdu)

    def _on_enquire_link(self, pdu):
        self.transport.write(encode(EnquireLinkResp(0, pdu.sequence_number)))

    def _on_unbind(self, pdu):
        self.transport.write(encode(UnbindResp(0, pdu.sequence_number)))
        self.factory._log("unbind: %s %s from %s" % (self.mode, self.system_id, self._peer()))
        self.factory._unbound(self)
        self.transport.loseConnection()

    def _on_unbind_resp(self, pdu):
        self.transport.loseConnection()

    def _on_ignored_resp(self, pdu):
        pass  # enquire_link_resp: the simulator never asks, but a peer may answer anyway

    def _on_other_request(self, pdu):
        """Requests an ESME may send that the simulator does not implement."""
        cls = BY_COMMAND_ID.get(response_id(pdu.command_id))
        if cls is None:
            self.transport.write(encode(GenericNack(Status.ESME_RINVCMDID, pdu.sequence_number)))
        else:
            self.send(cls(Status.ESME_RINVCMDID, pdu.sequence_number))

    # --- actions ----------------------------------------------------------

    def send_unbind(self):
        """Ask the ESME to unbind (an SMSC going down for maintenance)."""
        self.send(Unbind(0, self.next_sequence()))

    def _peer(self):
        peer = self.transport.getPeer()
        return "%s:%s" % (getattr(peer, "host", "?"), getattr(peer, "port", "?"))


_HANDLERS = {
    CommandId.bind_transmitter: SMSCSession._on_bind,
    CommandId.bind_receiver: SMSCSession._on_bind,
    CommandId.bind_transceiver: SMSCSession._on_bind,
    CommandId.submit_sm: SMSCSession._on_submit,
    CommandId.data_sm: SMSCSession._on_submit,
    CommandId.deliver_sm_resp: SMSCSession._on_deliver_resp,
    CommandId.data_sm_resp: SMSCSession._on_deliver_resp,
    CommandId.generic_nack: SMSCSession._on_generic_nack,
    CommandId.enquire_link: SMSCSession._on_enquire_link,
    CommandId.enquire_link_resp: SMSCSession._on_ignored_resp,
    CommandId.unbind: SMSCSession._on_unbind,
    CommandId.unbind_resp: SMSCSession._on_unbind_resp,
    CommandId.submit_multi: SMSCSession._on_other_request,
    CommandId.query_sm: SMSCSession._on_other_request,
    CommandId.cancel_sm: SMSCSession._on_other_request,
    CommandId.replace_sm: SMSCSession._on_other_request,
    CommandId.deliver_sm: SMSCSession._on_other_request,
}


class SimulatedSMSC(Factory):
    """The simulator: a server factory holding every session and every knob.

    Knobs may be changed at any time, between messages of a running test.
    """

    def __init__(self, system_id="router", password="secret", *, accounts=None,
                 smsc_id="SIMSMSC", id_format="hex", receipt_id_format=None,
                 id_start=None, receipt_bind="any", receipt_stat="DELIVRD", receipt_err=0,
                 response_delay=0.0, receipt_delay=0.0, receipt_first=False,
                 retry_deliveries=False, retry_delay=1.0, throttle_ratio=0.0, drop_every=0,
                 delivery_command="deliver_sm", receipts_unasked=False,
                 record=True, log=None, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.accounts = dict(accounts) if accounts else {system_id: password}
        self.default_system_id = system_id if accounts is None else next(iter(self.accounts))
        self.smsc_id = smsc_id
        self.id_format = id_format
        self.receipt_id_format = receipt_id_format
        self.receipt_bind = receipt_bind
        self.receipt_stat = receipt_stat
        self.receipt_stats = {}     # accepted-submit number -> stat of its receipt
        self.receipt_err = receipt_err
        self.response_delay = response_delay
        self.receipt_delay = receipt_delay
        self.receipt_first = receipt_first
        self.retry_deliveries = retry_deliveries
        self.retry_delay = retry_delay
        self.throttle_ratio = throttle_ratio
        self.drop_every = drop_every
        self.delivery_command = delivery_command
        self.receipts_unasked = receipts_unasked
        self.record = record
        self.log = log
        # Seeded from the clock (microseconds), so ids differ across restarts.
        self._next_id = int(time.time() * 1e6) if id_start is None else id_start

        self.port = None            # the IListeningPort, once listen() was called
        self.connections = []       # every open connection, bound or not
        self.sessions = []          # bound sessions, in bind order
        self._receivers = {}        # system_id -> receiver-capable bound sessions
        self._queued = collections.defaultdict(collections.deque)  # system_id -> _Outbound
        self._rr = 0

        self.submits = []           # every submit_sm / data_sm received (if record)
        self.unexpected = []        # (session, pdu) the simulator had no use for
        self.generic_nacks = []     # (session, generic_nack) matching nothing sent
        self.held = []              # (session, pdu) kept unanswered by hold_responses
        self._hold = False
        self._fail_status = 0
        self._fail_count = 0
        self._next_waiters = []     # Deferreds for next_submit()
        self._count_waiters = []    # (count, Deferred) for wait_submits()
        self._has_waiters = False
        self._dates = (0, "")       # (minute, YYMMDDhhmm) cache

        self.message_count = 0      # submit_sm + data_sm received on a transmitting bind
        self.responses_sent = 0     # resps carrying ESME_ROK
        self.failures_sent = 0      # resps carrying an error (fail_next)
        self.receipts_generated = 0
        self.mo_generated = 0
        self.deliver_sm_sent = 0    # deliver_sm written, retries included
        self.deliver_resp_statuses = collections.Counter()
        self.deliveries_lost = 0    # deliver_sm whose connection closed before the resp
        self.deliveries_refused = 0  # deliver_sm answered with an error (or a generic_nack)
        self.throttled_sent = 0     # submits answered ESME_RTHROTTLED by throttle_ratio
        self.binds_dropped = 0      # binds closed by drop_every
        # hash((destination_addr, text)) -> accepted count: the hash, not the key, so that
        # a long CLI run keeps an int per message rather than its text.
        self.accepted = collections.Counter()
        self.first_message_at = self.last_message_at = None   # time.time() of submits

    # --- configuration ------------------------------------------------------

    @property
    def receipt_stat(self) -> str:
        return self._receipt_stat

    @receipt_stat.setter
    def receipt_stat(self, stat):
        self._receipt_stat = stat
        self.receipt_state = stat_to_state(stat)

    @property
    def id_format(self):
        return self._id_format

    @id_format.setter
    def id_format(self, value):
        if value not in ID_FORMATS:
            raise ValueError("id_format %r: one of %s" % (value, ", ".join(ID_FORMATS)))
        self._id_format = value
        self._id_pattern = ID_FORMATS[value]

    @property
    def receipt_id_format(self):
        return self._receipt_id_format

    @receipt_id_format.setter
    def receipt_id_format(self, value):
        if value is not None and value not in ID_FORMATS:
            raise ValueError("receipt_id_format %r: None or one of %s"
                             % (value, ", ".join(ID_FORMATS)))
        self._receipt_id_format = value
        self._receipt_id_pattern = ID_FORMATS.get(value)

    @property
    def receipt_bind(self):
        return self._receipt_bind

    @receipt_bind.setter
    def receipt_bind(self, value):
        if value not in RECEIPT_BINDS:
            raise ValueError("receipt_bind %r: one of %s" % (value, ", ".join(RECEIPT_BINDS)))
        self._receipt_bind = value

    @property
    def hold_responses(self) -> bool:
        return self._hold

    @hold_responses.setter
    def hold_responses(self, hold):
        """True keeps every submit_sm unanswered; False answers the held ones, in order."""
        self._hold = bool(hold)
        if not hold:
            held, self.held = self.held, []
            for session, pdu in held:
                self._answer(session, pdu)

    @property
    def throttle_ratio(self) -> float:
        return float(self._throttle)

    @throttle_ratio.setter
    def throttle_ratio(self, ratio):
        """The fraction of submits answered ESME_RTHROTTLED, counted again from now."""
        ratio = Fraction(ratio).limit_denominator(1000000)
        if not 0 <= ratio <= 1:
            raise ValueError("throttle_ratio %s: between 0.0 and 1.0" % float(ratio))
        self._throttle = ratio
        self._throttle_on = ratio > 0
        self._throttle_seen = 0   # submits considered since the ratio was set

    @property
    def drop_every(self) -> int:
        return self._drop_every

    @drop_every.setter
    def drop_every(self, every):
        """Close a bind after every `every`-th submit answered on it; 0 (or None): never."""
        every = int(every or 0)
        if every < 0:
            raise ValueError("drop_every %d: 0 (off) or more" % every)
        self._drop_every = every

    def seen(self, key) -> int:
        """How many times the message (destination_addr, text) was accepted.

        text is the short_message, else the message_payload (bytes; a str
        is taken as latin-1).
        """
        destination, text = key
        if isinstance(text, str):
            text = text.encode("latin-1")
        return self.accepted[hash((destination, bytes(text)))]

    def fail_next(self, status, count=1):
        """Answer the next `count` submit_sm/data_sm with `status` (no message id, no receipt)."""
        self._fail_status = int(status)
        self._fail_count = count

    def check_credentials(self, system_id, password) -> int:
        expected = self.accounts.get(system_id)
        if expected is None:
            return Status.ESME_RINVSYSID
        if password != expected:
            return Status.ESME_RINVPASWD
        return Status.ESME_ROK

    # --- the Factory --------------------------------------------------------

    def buildProtocol(self, addr):
        return SMSCSession(self)

    def listen(self, port=0, interface="127.0.0.1"):
        """Listen on TCP; the IListeningPort (its getHost().port is the port)."""
        self.port = self.reactor.listenTCP(port, self, interface=interface)
        return self.port

    def close(self):
        """Stop listening and drop every connection; fires once all are gone."""
        stopped = []
        port = self.port
        if port is not None:
            self.port = None
            stopped.append(defer.maybeDeferred(port.stopListening))
        stopped.append(self.disconnect_all())
        return defer.gatherResults(stopped)

    def disconnect_all(self):
        """Abort every connection at once (no unbind); fires once all are closed."""
        waits = []
        for session in list(self.connections):
            waits.append(session.closed)
            session.transport.abortConnection()
        return defer.gatherResults(waits).addCallback(lambda _: None)

    # --- waiting, for tests -------------------------------------------------

    def next_submit(self):
        """A Deferred firing with the next submit_sm or data_sm received."""
        d = defer.Deferred()
        self._next_waiters.append(d)
        self._has_waiters = True
        return d

    def wait_submits(self, count):
        """A Deferred firing once `count` messages in all have been received.

        It fires with the recorded messages (`submits`, empty if not recording).
        """
        if self.message_count >= count:
            return defer.succeed(list(self.submits))
        d = defer.Deferred()
        self._count_waiters.append((count, d))
        self._has_waiters = True
        return d

    def _notify(self, pdu):
        waiters, self._next_waiters = self._next_waiters, []
        ready = [w for w in self._count_waiters if w[0] <= self.message_count]
        if ready:
            self._count_waiters = [w for w in self._count_waiters
                                   if w[0] > self.message_count]
        self._has_waiters = bool(self._next_waiters or self._count_waiters)
        for d in waiters:
            d.callback(pdu)
        for _, d in ready:
            d.callback(list(self.submits))

    # --- counts -------------------------------------------------------------

    @property
    def deliveries_pending(self) -> int:
        """deliver_sm sent and not yet answered."""
        return sum(len(s.pending) for s in self.connections)

    @property
    def deliveries_queued(self) -> int:
        """deliver_sm waiting for a receiver-capable bind (or for a retry)."""
        return sum(len(q) for q in self._queued.values())

    def stats(self) -> dict:
        return {
            "connections": len(self.connections),
            "sessions": len(self.sessions),
            "messages": self.message_count,
            "responses": self.responses_sent,
            "failures": self.failures_sent,
            "held": len(self.held),
            "receipts": self.receipts_generated,
            "mo": self.mo_generated,
            "deliver_sm_sent": self.deliver_sm_sent,
            "deliver_resp": {status_name(k): v for k, v in self.deliver_resp_statuses.items()},
            "pending": self.deliveries_pending,
            "queued": self.deliveries_queued,
            "lost": self.deliveries_lost,
            "refused": self.deliveries_refused,
            "throttled": self.throttled_sent,
            "binds_dropped": self.binds_dropped,
            "unique_submits": len(self.accepted),
            "duplicate_submits": sum(self.accepted.values()) - len(self.accepted),
        }

    # --- session bookkeeping --------------------------------------------------

    def _log(self, text):
        if self.log is not None:
            self.log(text)

    def _bound(self, session):
        self.sessions.append(session)
        self._log("bind: %s %s from %s (v%x), %d bound" % (
            session.mode, session.system_id, session._peer(), session.version,
            len(self.sessions)))
        if session.can_receive:
            self._receivers.setdefault(session.system_id, []).append(session)
            queued = self._queued.pop(session.system_id, None)
            while queued:
                self._dispatch(queued.popleft())

    def _unbound(self, session):
        if session in self.sessions:
            self.sessions.remove(session)
        receivers = self._receivers.get(session.system_id)
        if receivers and session in receivers:
            receivers.remove(session)

    def _lost(self, session, reason):
        if session in self.connections:
            self.connections.remove(session)
        if session in self.sessions:
            self._log("connection lost: %s %s from %s: %s" % (
                session.mode, session.system_id, session._peer(),
                reason.getErrorMessage()))
        self._unbound(session)
        self.held = [h for h in self.held if h[0] is not session]
        pending, session.pending = session.pending, {}
        for out in pending.values():
            self.deliveries_lost += 1
            if self.retry_deliveries:
                self._retry_later(out)
            elif out.deferred is not None:
                out.deferred.errback(reason)

    # --- messages -------------------------------------------------------------

    def _message(self, session, pdu):
        self.message_count += 1
        self.last_message_at = time.time()
        if self.first_message_at is None:
            self.first_message_at = self.last_message_at
        if self.record:
            self.submits.append(pdu)
        if self._has_waiters:
            self._notify(pdu)
        if self._fail_count:
            self._fail_count -= 1
            self._refuse(session, pdu, self._fail_status)
            self.failures_sent += 1
        elif self._throttle_on and self._throttled():
            self._refuse(session, pdu, Status.ESME_RTHROTTLED)
            self.throttled_sent += 1
        elif self._hold:
            self.held.append((session, pdu))
        elif self.response_delay:
            self.reactor.callLater(self.response_delay, self._answer, session, pdu)
        else:
            self._answer(session, pdu)

    def _throttled(self) -> bool:
        ratio = self._throttle
        n = self._throttle_seen = self._throttle_seen + 1
        return (n * ratio.numerator) // ratio.denominator > \
            ((n - 1) * ratio.numerator) // ratio.denominator

    def _refuse(self, session, pdu, status):
        resp = SubmitSmResp if pdu.command_id == CommandId.submit_sm else DataSmResp
        session.send(resp(status, pdu.sequence_number))
        self._submit_answered(session)

    def _submit_answered(self, session):
        """After each submit's resp: drop the bind if drop_every says so."""
        every = self._drop_every
        session.submits_answered += 1
        if every and session.submits_answered % every == 0:
            self.drop(session)

    def drop(self, session):
        """Close a bind as a flapping SMSC does: no unbind, nothing more read from it."""
        if session.dropped or not session.connected:
            return
        session.dropped = True
        session.connected = False   # delayed and held answers for it are not sent
        self.binds_dropped += 1
        self._log("dropping bind: %s %s from %s" % (session.mode, session.system_id,
                                                    session._peer()))
        self._unbound(session)      # receipts and MOs go elsewhere from now on
        session.transport.loseConnection()

    @staticmethod
    def message_key(pdu):
        """(destination_addr, text) of a submit_sm / data_sm, as `seen` counts it."""
        text = pdu.short_message if pdu.command_id == CommandId.submit_sm else b""
        if not text:
            text = bytes(pdu.tlvs.get("message_payload", b""))
        return (pdu.destination_addr, text)

    def _answer(self, session, pdu):
        """The submit_sm_resp and, if asked for, the receipt."""
        if not session.connected:
            return
        number = self._next_id
        self._next_id = number + 1
        message_id = self._id_pattern % number
        rd = pdu.registered_delivery & 3
        receipt = None
        stat = self.receipt_stats.get(self.responses_sent + 1) if self.receipt_stats else None
        state = self.receipt_state if stat is None else stat_to_state(stat)
        if rd == 1 or (rd == 2 and state not in _SUCCESS_STATES) \
                or self.receipts_unasked:
            receipt_id = (message_id if self._receipt_id_pattern is None
                          else self._receipt_id_pattern % number)
            receipt = (self._make_receipt(pdu, receipt_id) if stat is None
                       else self._make_receipt(pdu, receipt_id, stat))
        resp_cls = SubmitSmResp if pdu.command_id == CommandId.submit_sm else DataSmResp
        resp = resp_cls(0, pdu.sequence_number, message_id)
        if receipt is not None and self.receipt_first:
            self._dispatch(_Outbound(receipt, session.system_id, None, session,
                                     self._receipt_bind))
            receipt = None
        session.transport.write(encode(resp, session.version))
        self.responses_sent += 1
        self.accepted[hash(self.message_key(pdu))] += 1
        self._submit_answered(session)   # before the receipt: it must not go to a dropped bind
        if receipt is not None:
            out = _Outbound(receipt, session.system_id, None, session, self._receipt_bind)
            if self.receipt_delay:
                self.reactor.callLater(self.receipt_delay, self._dispatch, out)
            else:
                self._dispatch(out)

    def _date(self):
        now = time.time()
        minute = int(now // 60)
        if minute != self._dates[0]:
            self._dates = (minute, _receipt_date(now))
        return self._dates[1]

    def _make_receipt(self, pdu, receipt_id, stat=None):
        self.receipts_generated += 1
        if pdu.command_id == CommandId.submit_sm:
            text = pdu.short_message
            if pdu.esm_class & 0x40 and text:   # as SMSCs do: the text, not its UDH
                text = text[1 + text[0]:]
            text = text[:TEXT_EXCERPT]
            if not text:
                text = bytes(pdu.tlvs.get("message_payload", b""))[:TEXT_EXCERPT]
        else:
            text = bytes(pdu.tlvs.get("message_payload", b""))[:TEXT_EXCERPT]
        date = self._date()
        if stat is None:
            stat, state = self._receipt_stat, self.receipt_state
        else:
            state = stat_to_state(stat)
        body = build_receipt(receipt_id, date, date, stat, err=self.receipt_err, text=text)
        return DeliverSm(
            source_addr_ton=pdu.dest_addr_ton, source_addr_npi=pdu.dest_addr_npi,
            source_addr=pdu.destination_addr[:DELIVER_ADDR_MAX],
            dest_addr_ton=pdu.source_addr_ton, dest_addr_npi=pdu.source_addr_npi,
            destination_addr=pdu.source_addr[:DELIVER_ADDR_MAX],
            esm_class=RECEIPT_ESM_CLASS, short_message=body,
            tlvs={"receipted_message_id": receipt_id,
                  "message_state": int(state)})

    def send_mo(self, source, destination, short_message, data_coding=0, *, system_id=None,
                esm_class=0, tlvs=None, source_ton=1, source_npi=1):
        """Send a mobile-originated deliver_sm on a receiver-capable bind.

        `system_id` defaults to the (first) configured account.  Fires with
        the deliver_sm_resp (or the generic_nack) the ESME answers with;
        fails if the connection closes first (unless retry_deliveries).
        With no receiver-capable bind the message waits for one.
        """
        if isinstance(short_message, str):
            short_message = short_message.encode("latin-1")
        pdu = DeliverSm(source_addr_ton=source_ton, source_addr_npi=source_npi,
                        source_addr=source, destination_addr=destination,
                        esm_class=esm_class, data_coding=data_coding,
                        short_message=short_message, tlvs=dict(tlvs or {}))
        self.mo_generated += 1
        d = defer.Deferred()
        self._dispatch(_Outbound(pdu, system_id or self.default_system_id, d))
        return d

    # --- deliveries -------------------------------------------------------------

    def _pick(self, out):
        candidates = self._receivers.get(out.system_id)
        if not candidates:
            return None
        origin = out.origin
        policy = out.policy
        if policy == "same" and origin in candidates:
            return origin
        if policy == "other" and len(candidates) > 1:
            candidates = [s for s in candidates if s is not origin]
        self._rr += 1
        return candidates[self._rr % len(candidates)]

    def _dispatch(self, out):
        session = self._pick(out)
        if session is None:
            self._queued[out.system_id].append(out)
            return
        seq = session.next_sequence()
        out.pdu.sequence_number = seq
        out.attempts += 1
        session.pending[seq] = out
        self.deliver_sm_sent += 1
        pdu = out.pdu
        if self.delivery_command == "data_sm" and session.version >= INTERFACE_V34:
            pdu = _as_data_sm(pdu)
        try:
            data = encode(pdu, session.version)
        except EncodeError as e:
            del session.pending[seq]
            if out.deferred is not None:
                out.deferred.errback(e)
            return
        session.transport.write(data)

    def _delivery_answered(self, session, out, status, resp):
        self.deliver_resp_statuses[status] += 1
        session.resp_statuses[status] += 1
        if status:
            self.deliveries_refused += 1
        if status and self.retry_deliveries:
            self._retry_later(out)
        elif out.deferred is not None:
            out.deferred.callback(resp if resp is not None
                                  else GenericNack(status, out.pdu.sequence_number))

    def _retry_later(self, out):
        self.reactor.callLater(self.retry_delay, self._dispatch, out)


def _as_data_sm(deliver):
    """The data_sm an SMSC would send instead of this deliver_sm: the text in
    message_payload (a data_sm has no short_message), the same TLVs."""
    tlvs = dict(deliver.tlvs)
    tlvs["message_payload"] = deliver.short_message
    return DataSm(sequence_number=deliver.sequence_number, service_type=deliver.service_type,
                  source_addr_ton=deliver.source_addr_ton,
                  source_addr_npi=deliver.source_addr_npi, source_addr=deliver.source_addr,
                  dest_addr_ton=deliver.dest_addr_ton, dest_addr_npi=deliver.dest_addr_npi,
                  destination_addr=deliver.destination_addr, esm_class=deliver.esm_class,
                  registered_delivery=deliver.registered_delivery,
                  data_coding=deliver.data_coding, tlvs=tlvs)


# --- the CLI ---------------------------------------------------------------------


def _stdout_log(text):
    sys.stdout.write("%s %s\n" % (time.strftime("%H:%M:%S"), text))
    sys.stdout.flush()


class _RateLine:
    """One line of rates every `interval` seconds, when anything moved."""

    def __init__(self, smsc, interval):
        self.smsc = smsc
        self.interval = interval
        self.last = (time.monotonic(), 0, 0, 0)

    def __call__(self):
        s = self.smsc
        now = time.monotonic()
        t0, messages0, receipts0, acks0 = self.last
        acks = sum(s.deliver_resp_statuses.values())
        self.last = (now, s.message_count, s.receipts_generated, acks)
        if (s.message_count, s.receipts_generated, acks) == (messages0, receipts0, acks0):
            return
        elapsed = max(now - t0, 1e-9)
        errors = acks - s.deliver_resp_statuses.get(0, 0)
        _stdout_log("rate: %.0f submit/s, %.0f receipts/s, %.0f deliver_sm_resp/s "
                    "(%d errors in all); %d bound, %d pending, %d queued, %d held" % (
                        (s.message_count - messages0) / elapsed,
                        (s.receipts_generated - receipts0) / elapsed,
                        (acks - acks0) / elapsed, errors, len(s.sessions),
                        s.deliveries_pending, s.deliveries_queued, len(s.held)))


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.smsc",
                                description="A simulated SMSC for tests and the bench.")
    p.add_argument("--port", type=int, default=2776)
    p.add_argument("--interface", default="127.0.0.1")
    p.add_argument("--system-id", default="router")
    p.add_argument("--password", default="secret")
    p.add_argument("--smsc-id", default="SIMSMSC", help="system_id in bind responses")
    p.add_argument("--id-format", choices=sorted(ID_FORMATS), default="hex")
    p.add_argument("--receipt-id-format", choices=sorted(ID_FORMATS), default=None,
                   help="receipt ids in another format than resp ids (default: the same)")
    p.add_argument("--receipt-bind", choices=RECEIPT_BINDS, default="any")
    p.add_argument("--stat", default="DELIVRD", help="receipt stat (DELIVRD, UNDELIV, ...)")
    p.add_argument("--err", default="000", help="receipt err field")
    p.add_argument("--response-delay", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--receipt-delay", type=float, default=0.0, metavar="SECONDS")
    p.add_argument("--receipt-first", action="store_true",
                   help="send the receipt before the submit_sm_resp")
    p.add_argument("--retry-deliveries", action="store_true",
                   help="resend deliver_sm answered with an error or left unanswered")
    p.add_argument("--retry-delay", type=float, default=1.0, metavar="SECONDS")
    p.add_argument("--throttle-ratio", type=float, default=0.0, metavar="RATIO",
                   help="answer this fraction of submits ESME_RTHROTTLED (0.5: every other)")
    p.add_argument("--drop-every", type=int, default=0, metavar="N",
                   help="close a bind (no unbind) after every N-th submit answered on it")
    p.add_argument("--stats-interval", type=float, default=5.0, metavar="SECONDS")
    return p.parse_args(argv)


def main(argv=None):
    from twisted.internet import reactor, task

    args = parse_args(argv)
    smsc = SimulatedSMSC(
        args.system_id, args.password, smsc_id=args.smsc_id, id_format=args.id_format,
        receipt_id_format=args.receipt_id_format, receipt_bind=args.receipt_bind,
        receipt_stat=args.stat, receipt_err=args.err, response_delay=args.response_delay,
        receipt_delay=args.receipt_delay, receipt_first=args.receipt_first,
        retry_deliveries=args.retry_deliveries, retry_delay=args.retry_delay,
        throttle_ratio=args.throttle_ratio, drop_every=args.drop_every, record=False,
        log=_stdout_log, reactor=reactor)
    port = smsc.listen(args.port, args.interface)
    _stdout_log("simulated SMSC on %s:%d, account %s, ids %s%s, receipts %s on %s binds" % (
        args.interface, port.getHost().port, args.system_id, args.id_format,
        "/" + args.receipt_id_format if args.receipt_id_format else "", args.stat,
        args.receipt_bind))
    if args.throttle_ratio or args.drop_every:
        _stdout_log("faults: throttling %g of submits, dropping a bind every %s submits" % (
            args.throttle_ratio, args.drop_every or "no"))
    if args.stats_interval > 0:
        task.LoopingCall(_RateLine(smsc, args.stats_interval)).start(
            args.stats_interval, now=False)
    reactor.run()
    _stdout_log("stopped: %s" % (smsc.stats(),))
    # For bench.e2e: the same figures and when the first and last submits came (time.time()).
    sys.stdout.write("stats json: %s\n" % json.dumps(dict(
        smsc.stats(), first_message_at=smsc.first_message_at,
        last_message_at=smsc.last_message_at), sort_keys=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
