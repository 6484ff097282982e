"""ESME-facing server sessions: binds, submissions, and the deliveries we push.

Everything about *whether* a bind or a message is acceptable is asked of the
gateway (the router core); this module turns the answers into PDUs and keeps
the per-session rules: the window the ESME may fill, v3.3 vs v3.4 replies,
and a precise status for every command we do not carry out yet.
"""

from twisted.internet import protocol
from twisted.logger import Logger

from ..smpp import codec
from ..smpp import pdu as P
from ..smpp.commands import INTERFACE_V34, CommandId
from ..smpp.session import Mode, Role, State, bind_mode
from ..smpp.status import Status
from .base import SMPPProtocol, response_for

_BIND_RESP = {
    CommandId.bind_transmitter: P.BindTransmitterResp,
    CommandId.bind_receiver: P.BindReceiverResp,
    CommandId.bind_transceiver: P.BindTransceiverResp,
}
# Commands we answer with a fixed status until they are implemented.
_NOT_CARRIED_OUT = {
    CommandId.query_sm: Status.ESME_RQUERYFAIL,
    CommandId.cancel_sm: Status.ESME_RCANCELFAIL,
    CommandId.replace_sm: Status.ESME_RREPLACEFAIL,
    CommandId.submit_multi: Status.ESME_RPROHIBITED,
}
_RECEIVING = (State.BOUND_RX, State.BOUND_TRX)


class ESMEServerProtocol(SMPPProtocol):
    log = Logger()
    role = Role.SMSC

    def __init__(self, gateway, clock, timers, window, max_pdu_length):
        super().__init__(clock, timers, window, max_pdu_length)
        self.gateway = gateway
        self.draining = False   # stopping: no new work in either direction
        self.user = None
        self.session_id = ""
        self.mode = None
        self.message_id_format = "hex"

    @property
    def receiving(self) -> bool:
        """Bound in a mode that gets deliver_sm (receiver or transceiver)."""
        return (self.session is not None and self.session.state in _RECEIVING
                and not self.draining)

    def request_received(self, pdu):
        cid = pdu.command_id
        if cid in (CommandId.submit_sm, CommandId.data_sm):
            self._submit(pdu)
        elif cid in _BIND_RESP:
            self._bind(pdu)
        else:
            status = _NOT_CARRIED_OUT.get(cid, Status.ESME_RINVCMDID)
            self.send_response(response_for(cid, pdu.sequence_number, status))

    # -- bind ---------------------------------------------------------------

    def _bind(self, pdu):
        cid = pdu.command_id
        # Some ESMEs send interface_version 0 with a transceiver bind: a
        # transceiver bind is itself proof of v3.4.
        v34 = pdu.interface_version >= INTERFACE_V34 or cid == CommandId.bind_transceiver
        version = INTERFACE_V34 if v34 else pdu.interface_version
        mode = bind_mode(cid, version)
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
            self.log.info("{peer}: bind as {system_id!r} refused: {status}", peer=self.peer,
                          system_id=pdu.system_id, status=Status(result.status).name)
            self.send_response(resp)
            self.close()
            return
        resp = cls(result.status, pdu.sequence_number, self.gateway.system_id)
        if version >= INTERFACE_V34:
            resp.tlvs["sc_interface_version"] = INTERFACE_V34
        self.user = result.user
        self.session_id = result.session_id
        self.mode = mode
        self.message_id_format = result.message_id_format
        self.session.window = max(1, result.window)
        # The bind_resp goes out in the version the ESME spoke; the state
        # changes after, so it is written as the answer to a pending bind.
        self.send_response(resp)
        self.session.bound(mode, version)
        self.log.info("{peer}: bound {user} as {mode}", peer=self.peer, user=self.user,
                      mode=mode.name)
        self.gateway.session_bound(self)

    def _bind_failed(self, failure, pdu):
        self.log.failure("bind of {system_id!r} failed", failure, system_id=pdu.system_id)
        if self.session.state is not State.CLOSED:
            self.send_response(_BIND_RESP[pdu.command_id](Status.ESME_RBINDFAIL,
                                                          pdu.sequence_number))
            self.close()

    # -- submissions ----------------------------------------------------------

    def _submit(self, pdu):
        seq = pdu.sequence_number
        cid = pdu.command_id
        if self.draining or self.session.peer_outstanding > self.session.window:
            self.send_response(response_for(cid, seq, Status.ESME_RTHROTTLED))
            return
        d = self.gateway.submit(self, pdu)
        d.addCallbacks(self._submitted, self._submit_failed, (cid, seq), None, (cid, seq))

    def _submitted(self, result, cid, seq):
        status, message_id = result
        cls = P.SubmitSmResp if cid == CommandId.submit_sm else P.DataSmResp
        self.send_response(cls(status, seq, message_id if status == Status.ESME_ROK else ""))

    def _submit_failed(self, failure, cid, seq):
        self.log.failure("submission failed", failure)
        self.send_response(response_for(cid, seq, Status.ESME_RSYSERR))

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
        self.close()

    # -- deliveries ---------------------------------------------------------

    def deliver(self, payload: bytes):
        """Send a queued deliver_sm (encoded, v3.4); Deferred(response).

        A v3.4 session gets the queued bytes as they are; a v3.3 one needs
        them re-encoded without optional parameters. The caller checks
        can_send().
        """
        if self.session.interface_version >= INTERFACE_V34:
            return self.send_encoded_request(payload)
        pdu, _ = codec.decode(payload)
        return self.send_request(pdu)

    def connectionMade(self):
        super().connectionMade()
        self.factory.live.add(self)

    def session_closed(self, reason):
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


__all__ = ["ESMEServerProtocol", "ESMEServerFactory", "Mode"]
