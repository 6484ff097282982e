"""SMSC-facing connectors: our own binds to an upstream SMSC.

A Connector keeps N binds (transceivers, or transmitter+receiver pairs),
each a ClientService: a bind that was up and drops is dialled again at once;
only failed attempts back off (reconnect_min doubling to reconnect_max). It
picks a bind with room in its window and its msg/s rate for each message,
and queues briefly (bounded, and never longer than the response timer) when
all are full. When a bind is lost, the base protocol fails every request in
flight on it.

With no bind up, the connector holds submissions for `hold_unbound` seconds
(0: fails them at once) in the same bounded queue, so a flap of the upstream
costs latency, not errors:
  - it holds while `accepting`: no bind is up, but the connector started or
    lost its last bind less than hold_unbound seconds ago;
  - a held message waits at most min(hold_unbound, response timer) from the
    moment it was held (submitted, or queued when the last bind dropped);
  - the first bind up sends the queue; at its deadline a message fails with
    ConnectorUnavailable if no bind is up then (ConnectorBusy if binds are up
    but had no room), and the core tries its next route.
Nothing is held that was already sent: a message in flight on a lost bind
fails with it (the upstream may have it).

The contract with the core (beyond protocol.gateway):

  Connector.submit(Submission) -> Deferred((status, upstream_message_id)) for
  the upstream's submit_sm_resp or data_sm_resp, whatever its status. It
  fails, never raises, with:
    Unsendable(status)     the message cannot go to this upstream as it is
                           (adapt.submit_pdu or the codec refused it): try
                           another route or answer `status`
    UpstreamNack(status)   the upstream answered generic_nack
    ConnectorUnavailable   no bind is up (or the chosen one could not send)
    ConnectorBusy          no room in time
    ResponseTimeoutError, SessionClosed, DecodeError   sent, no usable answer

A bind that receives (or sends) unbind leaves the rotation at once, before
its connection is gone, so nothing is sent on a session that may no longer
carry it. Bind up and bind down are logged at info, once each, with why, and
counted in Connector.counters (see there).
"""

import random
from collections import deque
from functools import partial

from twisted.application import internet, service
from twisted.internet import defer, endpoints, error, protocol, ssl
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..metrics.histogram import Latency
from ..smpp import adapt
from ..smpp import pdu as P
from ..smpp.commands import INTERFACE_V34, RESPONSE_BIT, CommandId
from ..smpp.errors import EncodeError, SMPPError, StateError
from ..smpp.reading import UPSTREAM_READERS, ReceiptRead
from ..smpp.session import Mode, Role, State, Timers
from ..smpp.status import Status, status_name
from ..throttle import TokenBucket
from ..tls import client_tls_options
from .base import SMPPProtocol, response_for

_KNOWN_STATUS = frozenset(Status)
_GENERIC_NACK = int(CommandId.generic_nack)
_BINDS = {Mode.TRX: P.BindTransceiver, Mode.TX: P.BindTransmitter, Mode.RX: P.BindReceiver}
_DELIVERIES = (CommandId.deliver_sm, CommandId.data_sm)
_TRANSMITTING = (State.BOUND_TX, State.BOUND_TRX)
_BOUND = (State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX)


class ConnectorUnavailable(Exception):
    """No bind of the connector is up: try another route."""


class ConnectorBusy(Exception):
    """Every bind's window and rate is taken and the queue is full or timed out."""


class Unsendable(Exception):
    """This upstream cannot carry the message as it is; `status` says why."""

    def __init__(self, status, reason=""):
        super().__init__(reason or status_name(status))
        self.status = status


class UpstreamNack(Exception):
    """The upstream answered the submission with generic_nack `status`."""

    def __init__(self, status):
        super().__init__("generic_nack %s" % status_name(status))
        self.status = status


class SMSCClientProtocol(SMPPProtocol):
    log = Logger()
    role = Role.ESME
    readers = UPSTREAM_READERS   # a receipt in its usual form read as its Receipt

    def __init__(self, connector, mode, clock, timers, window):
        super().__init__(clock, timers, window)
        self.connector = connector
        self.mode = mode
        self.bucket = TokenBucket(connector.config.throughput, clock.seconds())
        self.was_up = False

    def about(self):
        return {"peer": self.peer, "connector": self.connector.name}

    def connectionMade(self):
        super().connectionMade()
        c = self.connector.config
        bind = _BINDS[self.mode](system_id=c.system_id, password=c.password,
                                 system_type=c.system_type,
                                 interface_version=c.interface_version)
        self.send_request(bind).addCallbacks(self._bind_answered, self._bind_failed)

    def _bind_answered(self, resp):
        if resp.command_status != Status.ESME_ROK:
            self.log.info("{connector}: bind as {mode} to {peer} refused: {status}",
                          connector=self.connector.name, mode=self.mode.name, peer=self.peer,
                          status=status_name(resp.command_status))
            self.close("bind refused")
            return
        if self.session.state is not State.OPEN:
            return   # closed (or unbound) while the bind was in flight
        self.session.bound(self.mode, self.connector.config.interface_version)
        self.was_up = True
        factory = getattr(self, "factory", None)
        if factory is not None:
            factory.bound()
        self.log.info("{connector}: bind up as {mode} to {peer}",
                      connector=self.connector.name, mode=self.mode.name, peer=self.peer)
        self.connector.bind_up(self)

    def _bind_failed(self, failure):
        self.log.info("{connector}: bind as {mode} to {peer} failed: {error}",
                      connector=self.connector.name, mode=self.mode.name, peer=self.peer,
                      error=failure.getErrorMessage())
        self.close("bind failed")

    def closing(self, reason):
        pass   # the bind-down line says why

    def unbind_received(self):
        self.connector.bind_down(self)

    @property
    def transmitting(self):
        return self.session is not None and self.session.state in _TRANSMITTING

    def request_received(self, pdu):
        cid = pdu.command_id
        if cid not in _DELIVERIES:
            super().request_received(pdu)
            return
        seq = pdu.sequence_number
        try:
            delivery = (pdu.value if type(pdu) is ReceiptRead   # read as its Receipt
                        else adapt.upstream_delivery(pdu, self.connector.name, self.frame))
            self.connector.gateway.upstream_deliver(self.connector, delivery,
                                                    partial(self._delivered, cid, seq))
        except SMPPError as e:
            self._delivered(cid, seq, e.status)
        except Exception:
            self.log.failure("{connector}: handling an upstream delivery failed",
                             connector=self.connector.name)
            self.send_response(response_for(cid, seq, Status.ESME_RSYSERR))

    def _delivered(self, cid, seq, status):
        self.send_id_response(cid | RESPONSE_BIT, status, seq)

    def session_closed(self, reason):
        self.connector.bind_down(self)
        if self.was_up:
            why = self.close_reason
            if why is None:
                why = ("peer closed" if reason.check(error.ConnectionDone)
                       else reason.getErrorMessage())
            self.log.info("{connector}: bind down as {mode} to {peer}: {reason}",
                          connector=self.connector.name, mode=self.mode.name, peer=self.peer,
                          reason=why)


class _BindFactory(protocol.Factory):
    """One bind's protocols, and its reconnect policy (`retry_delay`).

    ClientService's own count of failed attempts restarts at every TCP
    connection, so it cannot tell a bind that was up for an hour from one
    refused at once; the factory keeps its own: a bind that was up is dialled
    again at once, each failure after that (refused, unreachable, bind
    refused) waits reconnect_min doubling to reconnect_max, plus up to a
    quarter of it at random so that binds do not dial in step.
    """

    noisy = False   # one log line per bind is ours, not Twisted's "Starting factory"

    def __init__(self, connector, mode, jitter=random.random):
        self.connector = connector
        self.mode = mode
        self.jitter = jitter
        self.was_up = False    # the last connection was a bind that came up
        self.failures = 0      # attempts failed since the last bind up

    def bound(self):
        self.was_up = True
        self.failures = 0

    def retry_delay(self, attempt):
        """ClientService's retryPolicy (its `attempt` is not used: see above)."""
        if self.was_up:
            self.was_up = False
            return 0.0
        self.failures += 1
        c = self.connector.config
        delay = min(c.reconnect_min * 2.0 ** min(self.failures - 1, 64), c.reconnect_max)
        return delay * (1 + self.jitter() / 4)

    def buildProtocol(self, addr):
        c = self.connector
        p = SMSCClientProtocol(c, self.mode, c.clock, c.timers, c.config.window)
        p.factory = self
        return p


def client_endpoint(reactor, config):
    """The TCP (or TLS, verifying the upstream's certificate) endpoint of a connector."""
    tcp = endpoints.HostnameEndpoint(reactor, config.host, config.port)
    if not config.tls:
        return tcp
    if config.tls_ca:
        with open(config.tls_ca, "rb") as f:
            trust = ssl.Certificate.loadPEM(f.read())
    else:
        trust = ssl.platformTrust()
    options = client_tls_options(config.tls_hostname or config.host, trust,
                                 config.tls_min_version)
    return endpoints.wrapClientTLS(options, tcp)


class _Pending:
    """A submit_sm's context in its bind's session: the connector's accounting
    first (round trip, the queue's next message), then the sender's reply. Only
    the sender waits, so no Deferred (protocol/base.py)."""
    __slots__ = ("connector", "reply", "sent")

    def __init__(self, connector, reply, sent):
        self.connector = connector
        self.reply = reply
        self.sent = sent

    def callback(self, resp):
        """A submit_sm's answer decoded in full (see id_answered)."""
        try:
            message_id = None if resp.command_id == _GENERIC_NACK else resp.message_id
        except Exception:   # never into the protocol that called us
            self.reply.errback(Failure())
            return
        self.id_answered(resp.command_status, message_id)

    def id_answered(self, status, message_id):
        """A submit_sm's answer: its status and message_id (None: a generic_nack),
        the connector's accounting first. A submit_sm_resp read without its PDU
        (base._id_response) comes here straight."""
        try:
            connector = self.connector
            rtt = connector.rtt
            if rtt is not None:
                rtt.observe(connector.clock.seconds() - self.sent)
                label = status if status in _KNOWN_STATUS else -1   # no upstream grows the labels
                responses = connector.responses
                responses[label] = responses.get(label, 0) + 1
            if connector._queue:   # a slot is free: the next queued message goes out now
                connector._pump()
            if message_id is None:
                self.reply.errback(UpstreamNack(status))
            else:
                self.reply.callback((status, message_id))
        except Exception:   # never into the protocol that called us
            self.reply.errback(Failure())

    def errback(self, reason):
        self.connector._lost(reason, self.reply)


class Connector(service.MultiService):
    """One upstream SMSC: its binds, and the choice of bind for each message."""

    log = Logger()

    def __init__(self, config, gateway, reactor, endpoint=None, metrics=True):
        super().__init__()
        self.config = config
        self.name = config.name
        self.gateway = gateway
        self.clock = reactor
        self.timers = Timers(session_init=None,
                             enquire_link=config.enquire_link_interval or None,
                             inactivity=None,
                             response=config.response_timeout or None)
        self._tx = []          # bound protocols that can transmit, in rotation order
        self._rx = []
        self._next = 0
        self._queue = deque()  # (pdu, deferred, deadline)
        self._queue_limit = max(100, config.window * config.binds * 4)
        self._pump_call = None
        self._pumping = False
        self._up_waiters = []
        self._hold = config.hold_unbound
        self._hold_until = None   # holding while no bind is up, until then
        # Plain counts for the metrics: binds that came up and went down;
        # messages held with no bind up, and those that then failed for it.
        self.counters = {"binds_up": 0, "binds_down": 0, "held": 0, "held_expired": 0}
        # For the metrics only (None when they are off): responses by
        # command_status, and the round trip from request to response.
        self.responses = {} if metrics else None
        self.rtt = Latency() if metrics else None
        endpoint = endpoint or client_endpoint(reactor, config)
        modes = [Mode.TRX] if config.bind == "transceiver" else [Mode.TX, Mode.RX]
        for _ in range(config.binds):
            for mode in modes:
                factory = _BindFactory(self, mode)
                internet.ClientService(endpoint, factory, retryPolicy=factory.retry_delay,
                                       clock=reactor).setServiceParent(self)

    def startService(self):
        super().startService()
        if self._hold and not self._tx:
            self._hold_until = self.clock.seconds() + self._hold   # the first binds

    # -- binds --------------------------------------------------------------

    def bind_up(self, proto):
        self.counters["binds_up"] += 1
        if proto.mode in (Mode.TX, Mode.TRX):
            self._tx.append(proto)
            self._pump()
        if proto.mode in (Mode.RX, Mode.TRX):
            self._rx.append(proto)
        waiters, self._up_waiters = self._up_waiters, []
        for count, d in waiters:
            if self.binds_up >= count:
                d.callback(self)
            else:
                self._up_waiters.append((count, d))

    def when_up(self, binds=1):
        """Deferred firing once at least `binds` binds are up."""
        if self.binds_up >= binds:
            return defer.succeed(self)
        d = defer.Deferred()
        self._up_waiters.append((binds, d))
        return d

    def bind_down(self, proto):
        """proto left the rotation (unbind, loss, or it could not send); called
        again when its connection is gone, which changes nothing then."""
        was_in = False
        for binds in (self._tx, self._rx):
            if proto in binds:
                binds.remove(proto)
                was_in = True
        if not was_in:
            return
        self.counters["binds_down"] += 1
        if self._tx or proto.mode is Mode.RX:
            return
        if not self._hold:
            self._fail_queue(ConnectorUnavailable("connector %s has no bind up" % self.name))
            return
        # The last transmitting bind is gone: hold what is queued (it was never
        # sent) for hold_unbound at most, and what comes meanwhile.
        now = self.clock.seconds()
        self._hold_until = until = now + self._hold
        queue = self._queue
        for i in range(len(queue)):
            pdu, d, deadline = queue[i]
            if deadline > until:
                queue[i] = (pdu, d, until)
        self.counters["held"] += len(queue)
        if queue:
            self._schedule(max(0.0, queue[0][2] - now))

    @property
    def up(self) -> bool:
        """A bind that can transmit is up now."""
        return bool(self._tx)

    @property
    def accepting(self) -> bool:
        """submit() may succeed: a bind is up, or none is but the connector
        holds submissions (it started or lost its last bind less than
        hold_unbound seconds ago). False: submit() fails at once with
        ConnectorUnavailable."""
        if self._tx:
            return True
        until = self._hold_until
        return until is not None and self.clock.seconds() < until

    @property
    def binds_up(self) -> int:
        return len(set(self._tx) | set(self._rx))

    # -- submission ---------------------------------------------------------

    def submit(self, submission):
        """Deferred((status, upstream message_id)) for a core.messages.Submission.

        Never raises: fails with Unsendable, UpstreamNack, ConnectorUnavailable,
        ConnectorBusy, ResponseTimeoutError, SessionClosed or DecodeError (see
        the module docstring).
        """
        d = defer.Deferred()
        self.send(submission, d)
        return d

    def send(self, submission, reply):
        """submit() for a caller that waits with its own reply (a Deferred, or
        a Then: no Deferred on the path every message takes): its
        callback((status, upstream message_id)) or its errback(one of submit's
        failures), once, maybe before send returns."""
        config = self.config
        try:
            pdu = submission.wire   # the ESME's octets, when they need no change
            if pdu is None or config.interface_version < INTERFACE_V34:
                pdu = adapt.submit_pdu(submission, config.interface_version,
                                       self.clock.seconds())
        except SMPPError as e:
            reply.errback(Unsendable(e.status, str(e)))
            return
        except Exception:
            reply.errback(Failure())   # a bug, but the caller still hears
            return
        if self._tx and not self._queue:   # the common case: a bind has room now
            now = self.clock.seconds()   # one clock read for the rate and the round trip
            proto = self._pick(now)
            if proto is not None:
                self._send(proto, pdu, reply, now)
                return
        wait = config.response_timeout or 30
        if not self._tx:
            if not self.accepting:
                reply.errback(ConnectorUnavailable("connector %s has no bind up" % self.name))
                return
            wait = min(wait, self._hold)
        if len(self._queue) >= self._queue_limit:
            reply.errback(ConnectorBusy("connector %s queue is full" % self.name))
            return
        self._queue.append((pdu, reply, self.clock.seconds() + wait))
        if self._tx:
            self._schedule(0)
        else:
            self.counters["held"] += 1
            self._schedule(wait)   # expiry (the first bind up pumps before it)

    def _send(self, proto, pdu, reply, now):
        """Send pdu on proto (now: the clock, read by the caller); reply hears its
        answer, or why it could not be sent."""
        pending = _Pending(self, reply, now)
        try:
            if type(pdu) is bytes:   # relayed as received (Submission.wire)
                proto.send_encoded_request(pdu, pending)
            else:
                proto.send_request(pdu, pending)
        except EncodeError as e:
            reply.errback(Unsendable(e.status, str(e)))
        except StateError as e:
            # Should not happen (a bind leaves the rotation when it unbinds):
            # take the bind out and fail this one message.
            self.log.warn("{connector}: bind to {peer} cannot send: {error}",
                          connector=self.name, peer=getattr(proto, "peer", "?"), error=e)
            self.bind_down(proto)
            reply.errback(ConnectorUnavailable("connector %s: %s" % (self.name, e)))

    def _lost(self, reason, reply):
        if self._queue:
            self._pump()
        reply.errback(reason)

    def _pick(self, now):
        """A transmitting bind with room in its window and its rate, round-robin."""
        binds = self._tx
        count = len(binds)
        for i in range(count):
            proto = binds[(self._next + i) % count]
            if proto.can_send() and proto.bucket.take(now):
                self._next = (self._next + i + 1) % count
                return proto
        return None

    def _schedule(self, delay):
        call = self._pump_call
        if call is not None and call.active():
            if call.getTime() <= self.clock.seconds() + delay:
                return
            call.cancel()
        self._pump_call = self.clock.callLater(delay, self._pump)

    def _pump(self):
        if self._pumping:
            return   # a message failed synchronously inside the loop below
        self._pumping = True
        try:
            self._pump_queue()
        finally:
            self._pumping = False

    def _pump_queue(self):
        now = self.clock.seconds()
        while self._queue:
            queue = self._queue   # _fail_queue may replace it meanwhile
            pdu, d, deadline = queue[0]
            if deadline <= now:
                queue.popleft()
                if self._tx:
                    d.errback(ConnectorBusy("connector %s could not send in time" % self.name))
                else:
                    self.counters["held_expired"] += 1
                    d.errback(ConnectorUnavailable(
                        "connector %s had no bind up in time" % self.name))
                continue
            proto = self._pick(now)
            if proto is None:
                break
            queue.popleft()
            self._send(proto, pdu, d, now)
        queue = self._queue
        if queue and not self._tx:
            self._schedule(max(0.0, queue[0][2] - now))   # held: wake at the deadline
        elif queue:
            # Binds with room are waiting for a rate token: wake when it is due.
            # Binds with full windows need no timer: every request ends (its
            # response, its timeout or the bind's loss) and _resp/_lost pump then.
            waits = [p.bucket.wait(now) for p in self._tx if p.can_send()]
            if waits:
                self._schedule(min(waits))

    def _fail_queue(self, reason):
        queue, self._queue = self._queue, deque()
        while queue:
            queue.popleft()[1].errback(reason)

    def stopService(self):
        self._hold_until = None
        self._fail_queue(ConnectorUnavailable("connector %s is stopping" % self.name))
        if self._pump_call is not None and self._pump_call.active():
            self._pump_call.cancel()
        d = defer.Deferred.fromCoroutine(self._unbind_all())
        return d.addCallback(lambda _: service.MultiService.stopService(self))

    async def _unbind_all(self, timeout=2.0):
        """Unbind every bind politely (bounded by timeout), then let them close."""
        binds = set(self._tx) | set(self._rx)
        self._tx, self._rx = [], []
        self.counters["binds_down"] += len(binds)
        waits = []
        for proto in binds:
            if proto.session.state not in _BOUND:
                continue
            proto.close_reason = "connector stopping"
            d = proto.send_request(P.Unbind())
            proto.session.unbinding()
            d.addTimeout(timeout, self.clock)
            d.addBoth(lambda _, proto=proto: proto.close())
            waits.append(d)
        await defer.DeferredList(waits)
