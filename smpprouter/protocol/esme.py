"""ESME-facing server sessions: binds, submissions, and the deliveries we push.

Everything about *whether* a bind or a message is acceptable is asked of the
gateway (the router core); this module turns PDUs into core.messages values
(through smpp.adapt), the gateway's answers back into PDUs, and keeps the
per-session rules: the window the ESME may fill, v3.3 vs v3.4 replies.

Commands and what the gateway is asked:

    submit_sm, data_sm   submit(session, Submission) -> Outcome
    submit_multi         one submit() per SME destination (see below)
    query_sm             query(session, message_id) -> QueryAnswer
    cancel_sm            cancel(session, message_id) -> status; a cancel by
                         source/destination/service_type (no message_id) is
                         not carried out: ESME_RCANCELFAIL
    replace_sm           replace(session, message_id, short_message, schedule,
                         validity, registered_delivery) -> status; the times
                         as unix times (None when empty)

An SMPPError while adapting a PDU is answered with its status; a gateway
Deferred that fails is answered ESME_RSYSERR (and logged).

submit_multi: each SME destination is one Submission; a distribution list
gets ESME_RINVDLNAME (the router keeps none). The submit_multi_resp is sent
once every destination's outcome is in: unsuccess_smes lists each failed
destination with its status; message_id is the id of the first accepted
destination (in the PDU's order). If none was accepted, the response's
command_status is the first failed destination's status, and the
unsuccess_smes list still names them all.

The window (BindResult.window, `session.window`) bounds how many of the
ESME's requests are with the gateway at once. Beyond it, by
BindResult.window_policy:

  "refuse"  the request is answered ESME_RTHROTTLED at once (the old way).
  "pause"   the request is held, decoded, in a small queue and handed to the
            gateway as answers drain; while requests are held and nothing
            we sent is waiting for the ESME's answer, we stop reading from
            the socket (transport.pauseProducing), so a client with a larger
            window than ours sees latency, not errors, and TCP pushes back.

Why not simply pause whenever the window is full: the ESME's answers to our
requests (deliver_sm_resp, enquire_link_resp) queue in the socket behind its
submits, so a paused session would never read them; the response timers
would fire and deliveries be retried as duplicates, and a transceiver whose
submits wait on a receipt's delivery would deadlock. So reading pauses only
while nothing of ours is outstanding, and resumes the moment we send a
request (send_request): what arrives meanwhile is held, not refused. The
client's own window bounds the held queue; a client that ignores it gets
ESME_RTHROTTLED beyond MAX_HELD held requests. While paused, the base pump
counts the session as active, so neither the inactivity timer nor the
enquire_link timer fires on the silence we caused.
"""

from collections import deque
from functools import partial
from datetime import datetime, timezone

from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.python import failure

from ..ids import SHORT
from ..smpp import adapt, codec
from ..smpp import pdu as P
from ..smpp.commands import INTERFACE_V34, RESPONSE_BIT, CommandId
from ..smpp.errors import SMPPError
from ..smpp.reading import ESME_READERS, SubmitSmRead
from ..smpp.session import Mode, Role, State, bind_mode
from ..smpp.status import Status, status_name
from ..smpp.times import format_absolute, parse_schedule, parse_validity
from ..tls import peer_name
from .base import SMPPProtocol, response_for

_ROK = int(Status.ESME_ROK)   # per submission: an IntEnum member is a 0.1 us lookup on 3.11
_SUBMIT_SM = int(CommandId.submit_sm)

_BIND_RESP = {
    CommandId.bind_transmitter: P.BindTransmitterResp,
    CommandId.bind_receiver: P.BindReceiverResp,
    CommandId.bind_transceiver: P.BindTransceiverResp,
}
_RECEIVING = (State.BOUND_RX, State.BOUND_TRX)
_UTC = timezone.utc

PAUSE, REFUSE = "pause", "refuse"


def _datetime(now):
    return datetime.fromtimestamp(now, _UTC)


class ESMEServerProtocol(SMPPProtocol):
    log = Logger()
    role = Role.SMSC
    readers = ESME_READERS   # a submit_sm in its usual form read as its Submission
    MAX_HELD = 1000   # held requests beyond the window, whatever the client's window

    def __init__(self, gateway, clock, timers, window, max_pdu_length):
        super().__init__(clock, timers, window, max_pdu_length)
        self.gateway = gateway
        self.draining = False   # stopping: no new work in either direction
        self.user = None
        self.tls_peer = None    # the CN of the peer's verified certificate, at bind time
        self.session_id = ""
        self.system_type = ""
        self.mode = None
        self.message_id_format = "hex"
        self.window_policy = PAUSE
        self.working = 0        # the ESME's requests now with the gateway
        self.held = deque()     # requests beyond the window, oldest first
        self._releasing = False
        self._work = {
            CommandId.submit_sm: self._submit,
            CommandId.data_sm: self._submit,
            CommandId.submit_multi: self._submit_multi,
            CommandId.query_sm: self._query,
            CommandId.cancel_sm: self._cancel,
            CommandId.replace_sm: self._replace,
        }

    def about(self):
        """peer, and once bound the user and the session (its member of sess:{user},
        which `smpprouter status` lists)."""
        if self.user is None:
            return {"peer": self.peer}
        return {"peer": self.peer, "user": self.user, "session": self.session_id}

    @property
    def receiving(self) -> bool:
        """Bound in a mode that gets deliver_sm (receiver or transceiver)."""
        return (self.session is not None and self.session.state in _RECEIVING
                and not self.draining)

    def request_received(self, pdu):
        cid = pdu.command_id
        if (cid == _SUBMIT_SM and self.working < self.session.window and not self.held
                and not self.draining):
            # _admit and _start of the common request, inline (two calls less)
            self.working += 1
            try:
                self._submit(pdu)
            except SMPPError as e:
                self._answer(response_for(cid, pdu.sequence_number, e.status))
            except Exception:
                self._failed(failure.Failure(), pdu)
            return
        if cid in self._work:
            self._admit(pdu)
        elif cid in _BIND_RESP:
            self._bind(pdu)
        else:
            self.send_response(response_for(cid, pdu.sequence_number, Status.ESME_RINVCMDID))

    # -- bind ---------------------------------------------------------------

    def _bind(self, pdu):
        cid = pdu.command_id
        # Some ESMEs send interface_version 0 with a transceiver bind: a
        # transceiver bind is itself proof of v3.4.
        v34 = pdu.interface_version >= INTERFACE_V34 or cid == CommandId.bind_transceiver
        version = INTERFACE_V34 if v34 else pdu.interface_version
        mode = bind_mode(cid, version)
        self.tls_peer = peer_name(self.transport)
        self.system_type = pdu.system_type   # a user may require one (policy/accounts.py)
        d = self.gateway.authenticate(pdu.system_id, pdu.password, mode, self)
        d.addCallback(self._bound, pdu, mode, version)
        d.addErrback(self._bind_failed, pdu)

    def _bound(self, result, pdu, mode, version):
        if self.session.state is State.CLOSED:
            return
        cls = _BIND_RESP[pdu.command_id]
        if result.status != Status.ESME_ROK:
            # An error bind_resp has no body: nothing about the router is revealed.
            resp = cls(result.status, pdu.sequence_number)
            if not result.logged:
                    self.log.info("{peer}: bind as {system_id!r} refused: {status}",
                              peer=self.peer, system_id=pdu.system_id,
                              status=status_name(result.status))
            self.send_response(resp)
            self.close("bind refused")
            return
        resp = cls(result.status, pdu.sequence_number, self.gateway.system_id)
        if version >= INTERFACE_V34:
            resp.tlvs["sc_interface_version"] = INTERFACE_V34
        self.user = result.user
        self.session_id = result.session_id
        self.mode = mode
        # v3.3 allows 8 characters in a submit_sm_resp's message_id: ids.SHORT
        self.message_id_format = (result.message_id_format if version >= INTERFACE_V34
                                  else SHORT)
        self.window_policy = result.window_policy
        self.session.window = max(1, result.window)
        # The bind_resp goes out in the version the ESME spoke; the state
        # changes after, so it is written as the answer to a pending bind.
        self.send_response(resp)
        self.session.bound(mode, version)
        self.log.info("{peer}: bound {user} as {mode}", **self.about(), mode=mode.name)
        self.gateway.session_bound(self)

    def _bind_failed(self, failure, pdu):
        self.log.failure("bind of {system_id!r} failed", failure, system_id=pdu.system_id)
        if self.session.state is not State.CLOSED:
            self.send_response(_BIND_RESP[pdu.command_id](Status.ESME_RBINDFAIL,
                                                          pdu.sequence_number))
            self.close("bind failed")

    # -- the window -----------------------------------------------------------

    def _admit(self, pdu):
        """Start the request now, hold it, or refuse it (window_policy)."""
        if self.draining:
            self._refuse(pdu, Status.ESME_RTHROTTLED)
        elif self.working < self.session.window and not self.held:
            self._start(pdu)
        elif self.window_policy == REFUSE or len(self.held) >= self.MAX_HELD:
            self._refuse(pdu, Status.ESME_RTHROTTLED)
        else:
            self.held.append(pdu)
            self._flow()

    def _refuse(self, pdu, status):
        self.send_response(response_for(pdu.command_id, pdu.sequence_number, status))

    def _start(self, pdu):
        """Carry out a request; each handler ends in exactly one _answer, either
        by itself (the submit path: one callback pair, it is the hot one) or
        through the Deferred of the response it returns."""
        self.working += 1
        try:
            d = self._work[pdu.command_id](pdu)
        except SMPPError as e:
            self._answer(response_for(pdu.command_id, pdu.sequence_number, e.status))
            return
        except Exception:
            self._failed(failure.Failure(), pdu)
            return
        if d is not None:
            d.addCallbacks(self._answer, self._failed, None, None, (pdu,))

    def _failed(self, reason, pdu):
        self.log.failure("{peer}: {command} failed", reason, **self.about(),
                         command=CommandId(pdu.command_id).name)
        self._answer(response_for(pdu.command_id, pdu.sequence_number, Status.ESME_RSYSERR))

    def _answer(self, resp):
        self.working -= 1
        self.send_response(resp)
        self._answered()

    def _answered(self):
        """A slot of the window is free: start what is held."""
        if not self.held and not self.reading_paused:
            return   # the common case: nothing waits for this slot
        if self._releasing:
            return   # an answer given synchronously while held requests are started
        self._releasing = True
        try:
            held = self.held
            while held and self.working < self.session.window:
                if self.session.state is State.CLOSED:
                    held.clear()
                    break
                self._admit_held(held.popleft())
        finally:
            self._releasing = False
        self._flow()

    def _admit_held(self, pdu):
        if self.draining:
            self._refuse(pdu, Status.ESME_RTHROTTLED)
        else:
            self._start(pdu)

    def _flow(self):
        """Read unless requests are held and nothing of ours awaits the ESME's answer."""
        transport = self.transport
        if transport is None:
            return
        pause = (bool(self.held) and self.session.outstanding == 0
                 and self.session.state is not State.CLOSED)
        if pause and not self.reading_paused:
            self.reading_paused = True
            transport.pauseProducing()
        elif not pause and self.reading_paused:
            self.reading_paused = False
            transport.resumeProducing()

    def send_request(self, pdu, deferred=None):
        d = super().send_request(pdu, deferred)
        if self.reading_paused:
            self._flow()   # its answer is behind what we have not read
        return d

    def dataReceived(self, data):
        super().dataReceived(data)
        if self.held:
            self._flow()

    def _fire(self):
        super()._fire()
        if self.held:
            self._flow()   # a request that timed out no longer needs reading

    # -- submissions ----------------------------------------------------------

    def _submit(self, pdu):
        if type(pdu) is SubmitSmRead:   # read as its Submission, relay octets included
            submission = pdu.value
            submission.user = self.user
        else:
            frame = self.frame
            # the octets as received, when they can go upstream as they are (a
            # request held beyond the window is encoded anew: its frame is gone)
            wire = adapt.relay_form(*frame) if frame is not None and frame[0] is pdu else None
            submission = adapt.submission(pdu, self.user, self.clock.seconds())
            submission.wire = wire
        self.gateway.submit(self, submission, partial(self._submitted, pdu))

    def _submitted(self, pdu, outcome):
        try:
            status = outcome.status
            self.working -= 1
            self.send_id_response(pdu.command_id | RESPONSE_BIT, status, pdu.sequence_number,
                                  outcome.message_id if status == _ROK else "")
            if self.held or self.reading_paused:   # else _answered has nothing to do
                self._answered()
        except Exception:   # never into the core, which called us
            self.log.failure("{peer}: answering a submission failed", **self.about())

    def _submit_multi(self, pdu):
        now = self.clock.seconds()
        dests = pdu.dest_addresses
        if not dests:
            raise SMPPError(Status.ESME_RINVNUMDESTS, "submit_multi without destinations")
        outcomes = []
        for dest in dests:
            if type(dest) is not P.SmeDest:
                outcomes.append(defer.succeed(Status.ESME_RINVDLNAME))
                continue
            try:
                submission = adapt.submission(pdu, self.user, now,
                                              destination=(dest.ton, dest.npi, dest.addr))
            except SMPPError as e:
                outcomes.append(defer.succeed(e.status))
                continue
            d = defer.Deferred()
            outcomes.append(d)
            self.gateway.submit(self, submission, d.callback)
        return defer.gatherResults(outcomes).addCallback(self._multi_answer, pdu)

    def _multi_answer(self, results, pdu):
        message_id = ""
        failed = []
        first_status = None
        for dest, result in zip(pdu.dest_addresses, results):
            status = result if isinstance(result, int) else result.status
            if status == Status.ESME_ROK:
                if not message_id:
                    message_id = result.message_id
                continue
            if first_status is None:
                first_status = status
            if type(dest) is P.SmeDest:
                failed.append(P.UnsuccessSme(dest.ton, dest.npi, dest.addr, status))
            else:
                # A list has no address: it is named where the address goes.
                failed.append(P.UnsuccessSme(0, 0, dest.name, status))
        status = Status.ESME_ROK if message_id else first_status
        return P.SubmitMultiResp(status, pdu.sequence_number, message_id, tuple(failed))

    # -- message management ---------------------------------------------------

    def _query(self, pdu):
        seq = pdu.sequence_number
        d = self.gateway.query(self, pdu.message_id)
        return d.addCallback(self._query_answer, pdu.message_id, seq)

    def _query_answer(self, answer, message_id, seq):
        if answer.status != Status.ESME_ROK:
            return P.QuerySmResp(answer.status, seq)
        final = format_absolute(_datetime(answer.final_date)) if answer.final_date else ""
        return P.QuerySmResp(Status.ESME_ROK, seq, message_id, final, answer.state,
                             answer.error_code)

    def _cancel(self, pdu):
        seq = pdu.sequence_number
        if not pdu.message_id:
            raise SMPPError(Status.ESME_RCANCELFAIL,
                            "cancel_sm by source, destination or service_type")
        d = self.gateway.cancel(self, pdu.message_id)
        return d.addCallback(lambda status: P.CancelSmResp(status, seq))

    def _replace(self, pdu):
        seq = pdu.sequence_number
        now = _datetime(self.clock.seconds())
        schedule = parse_schedule(pdu.schedule_delivery_time, now)
        validity = parse_validity(pdu.validity_period, now)
        d = self.gateway.replace(self, pdu.message_id, pdu.short_message,
                                 None if schedule is None else schedule.timestamp(),
                                 None if validity is None else validity.timestamp(),
                                 pdu.registered_delivery)
        return d.addCallback(lambda status: P.ReplaceSmResp(status, seq))

    # -- graceful stop --------------------------------------------------------

    async def shutdown(self):
        """Let what is in flight finish, then unbind and close; the caller bounds
        the time.

        Drain first, unbind last: many ESMEs close the connection as soon as
        they answer an unbind, and answers still owed to them would be lost.
        While draining, a new submission gets ESME_RTHROTTLED (the ESME tries
        again, on another worker) and no new deliver_sm is sent.
        """
        self.draining = True
        await self.when_idle()
        session = self.session
        if session.state in (State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX):
            unbind = self.send_request(P.Unbind())
            session.unbinding()
            try:
                await unbind
            except Exception:
                pass   # no answer: we close all the same
        self.close("shutting down")

    # -- deliveries ---------------------------------------------------------

    def deliver(self, entry, reply=None):
        """Send a queued core.messages.Receipt or Inbound as a deliver_sm in the
        session's version; Deferred(response PDU), or `reply` (a Deferred or a
        Then) hears it.

        Raises SMPPError, nothing sent, when this session cannot carry the
        entry (a body beyond 254 octets to a v3.3 session). The caller checks
        can_send().
        """
        return self.send_request(adapt.deliver_pdu(entry, self.session.interface_version),
                                 reply)

    def deliver_rendered(self, data: bytes, reply=None):
        """Send a deliver_sm already rendered for SMPP v3.4 (the delivery queue
        keeps entries in that form): a v3.4 session gets the bytes with only the
        sequence number patched in; a v3.3 one gets it rendered anew through
        smpp.adapt (no TLVs, a message_payload moved into short_message)."""
        session = self.session
        if session.interface_version >= INTERFACE_V34:
            d = self.send_encoded_request(data, reply)
            if self.reading_paused:
                self._flow()   # its answer is behind what we have not read
            return d
        pdu, _ = codec.decode(data, checked=False)   # ours: stored as we encoded it
        return self.deliver(adapt.upstream_delivery(pdu, ""), reply)

    def connectionMade(self):
        super().connectionMade()
        self.factory.live.add(self)

    def session_closed(self, reason):
        self.held.clear()
        self.factory.live.discard(self)
        if self.user is not None:
            self.gateway.session_closed(self)


class ESMEServerFactory(protocol.Factory):
    noisy = False

    def __init__(self, gateway, clock, timers, window=10, max_pdu_length=70000):
        self.gateway = gateway
        self.clock = clock
        self.timers = timers
        self.window = window
        self.max_pdu_length = max_pdu_length
        self.live = set()   # connected sessions, bound or not, for a graceful stop

    def buildProtocol(self, addr):
        p = ESMEServerProtocol(self.gateway, self.clock, self.timers, self.window,
                               self.max_pdu_length)
        p.factory = self
        return p


__all__ = ["ESMEServerProtocol", "ESMEServerFactory", "Mode", "PAUSE", "REFUSE"]
