"""SMSCClientProtocol and Connector on StringTransports and a Clock, against a
fake ISMSCGateway."""

from types import SimpleNamespace

from twisted.internet import defer, error, task
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from smpprouter.core.messages import Inbound, Receipt, Submission
from smpprouter.protocol.base import ResponseTimeoutError
from smpprouter.protocol.gateway import ISMSCGateway
from smpprouter.protocol.smsc import (Connector, ConnectorBusy, ConnectorUnavailable,
                                      UpstreamNack, Unsendable, _BindFactory)
from smpprouter.smpp import pdu as P
from smpprouter.smpp.errors import StateError
from smpprouter.smpp.session import Mode, State
from smpprouter.smpp.status import Status

from .helpers import connect


@implementer(ISMSCGateway)
class FakeGateway:
    def __init__(self):
        self.deliveries = []
        self.broken = False

    def upstream_deliver(self, connector, delivery, answer):
        if self.broken:
            raise RuntimeError("core bug")
        d = defer.Deferred()
        self.deliveries.append((delivery, d))
        d.addCallback(answer)


def config(**kw):
    base = dict(name="up", host="127.0.0.1", port=1, window=2, binds=1, bind="transceiver",
                throughput=0, enquire_link_interval=60, response_timeout=30,
                reconnect_min=1.0, reconnect_max=2.0, hold_unbound=0, system_id="router",
                password="pw", system_type="", interface_version=0x34)
    base.update(kw)
    return SimpleNamespace(**base)


def message(dest="15551234567", body=b"hello", **kw):
    return Submission("u1", "Brand", dest, body, **kw)


class SMSCCase(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.gateway = FakeGateway()
        self.logged = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def make(self, **kw):
        self.connector = Connector(config(**kw), self.gateway, reactor=self.clock,
                                   endpoint=object())
        return self.connector

    def bind(self, mode=Mode.TRX, status=Status.ESME_ROK):
        proto = _BindFactory(self.connector, mode).buildProtocol(None)
        peer = connect(proto)
        bind = peer.read_one()
        self.assertEqual((bind.system_id, bind.password), ("router", "pw"))
        resp = {Mode.TRX: P.BindTransceiverResp, Mode.TX: P.BindTransmitterResp,
                Mode.RX: P.BindReceiverResp}[mode]
        peer.send(resp(status, bind.sequence_number, "smsc"))
        return proto, peer

    def lines(self, word):
        return [e["log_format"].format(**e) for e in self.logged
                if word in e.get("log_format", "").format(**e)]


class BindTests(SMSCCase):
    def test_bind_up(self):
        c = self.make()
        proto, peer = self.bind()
        self.assertTrue(c.up)
        self.assertEqual(proto.session.state, State.BOUND_TRX)
        self.assertEqual(len(self.lines("bind up")), 1)

    def test_bind_refused(self):
        c = self.make()
        proto, peer = self.bind(status=Status.ESME_RBINDFAIL)
        self.assertFalse(c.up)
        self.assertTrue(peer.closing)
        [line] = self.lines("refused")
        self.assertIn("ESME_RBINDFAIL", line)

    def test_peer_closed_is_logged_once(self):
        c = self.make()
        proto, peer = self.bind()
        peer.transport.loseConnection()
        self.assertFalse(c.up)
        [line] = self.lines("bind down")
        self.assertIn("peer closed", line)

    def test_enquire_link_timeout(self):
        c = self.make()
        proto, peer = self.bind()
        self.clock.advance(60)
        self.assertIsInstance(peer.read_one(), P.EnquireLink)
        self.clock.advance(30)
        self.assertTrue(peer.closing)
        self.assertFalse(c.up)
        [line] = self.lines("bind down")
        self.assertIn("enquire_link timeout", line)


class SubmitTests(SMSCCase):
    def test_submit_and_resp(self):
        c = self.make()
        proto, peer = self.bind()
        d = c.submit(message(registered_delivery=1))
        pdu = peer.read_one()
        self.assertEqual((type(pdu), pdu.destination_addr, pdu.short_message,
                          pdu.registered_delivery), (P.SubmitSm, "15551234567", b"hello", 1))
        peer.send(P.SubmitSmResp(0, pdu.sequence_number, "up-1"))
        self.assertEqual(self.successResultOf(d), (0, "up-1"))

    def test_error_resp_is_a_result(self):
        c = self.make()
        proto, peer = self.bind()
        d = c.submit(message())
        peer.send(P.SubmitSmResp(Status.ESME_RTHROTTLED, peer.read_one().sequence_number))
        self.assertEqual(self.successResultOf(d), (Status.ESME_RTHROTTLED, ""))

    def test_datagram_as_data_sm(self):
        c = self.make()
        proto, peer = self.bind()
        d = c.submit(message(datagram=True))
        pdu = peer.read_one()
        self.assertEqual((type(pdu), pdu.tlvs["message_payload"]), (P.DataSm, b"hello"))
        peer.send(P.DataSmResp(0, pdu.sequence_number, "up-2"))
        self.assertEqual(self.successResultOf(d), (0, "up-2"))

    def test_generic_nack(self):
        c = self.make()
        proto, peer = self.bind()
        d = c.submit(message())
        peer.send(P.GenericNack(Status.ESME_RINVCMDLEN, peer.read_one().sequence_number))
        f = self.failureResultOf(d, UpstreamNack)
        self.assertEqual(f.value.status, Status.ESME_RINVCMDLEN)
        self.assertTrue(proto.can_send())

    def test_response_timeout_frees_the_slot(self):
        c = self.make(window=1)
        proto, peer = self.bind()
        d1 = c.submit(message("1"))
        self.clock.advance(10)
        d2 = c.submit(message("2"))
        peer.read()
        self.clock.advance(20)
        self.failureResultOf(d1, ResponseTimeoutError)
        self.assertEqual([p.destination_addr for p in peer.read()], ["2"])
        self.assertNoResult(d2)

    def test_v33_upstream_cannot_take_a_long_body(self):
        c = self.make(interface_version=0x33)
        proto, peer = self.bind(Mode.TX)
        f = self.failureResultOf(c.submit(message(body=b"x" * 300)), Unsendable)
        self.assertEqual(f.value.status, Status.ESME_RINVMSGLEN)
        self.assertEqual(peer.read(), [])

    def test_unencodable_is_unsendable_not_raised(self):
        # A data_sm's 30-character address does not fit a submit_sm.
        c = self.make()
        proto, peer = self.bind()
        f = self.failureResultOf(c.submit(message("1" * 30)), Unsendable)
        self.assertEqual(f.value.status, Status.ESME_RINVDSTADR)
        self.assertTrue(proto.can_send())
        self.assertEqual(peer.read(), [])

    def test_no_bind(self):
        c = self.make()
        self.failureResultOf(c.submit(message()), ConnectorUnavailable)


class UnbindTests(SMSCCase):
    def test_unbind_received_leaves_the_rotation_at_once(self):
        """The defect: the unbound bind stayed selectable until its connection
        closed, and send_request raised StateError into the caller."""
        c = self.make()
        proto, peer = self.bind()
        peer.transport.loseConnection = lambda: None   # the close takes its time
        peer.send(P.Unbind())
        self.assertIsInstance(peer.read_one(), P.UnbindResp)
        self.assertEqual(proto.session.state, State.UNBINDING)
        self.assertFalse(c.up)
        self.failureResultOf(c.submit(message()), ConnectorUnavailable)
        self.assertEqual(peer.read(), [])
        [line] = self.lines("bind down") or [None]
        self.assertIsNone(line)   # logged once the connection is gone

    def test_unbind_received_moves_the_queue_to_the_other_bind(self):
        c = self.make(window=1, binds=2)
        a, peer_a = self.bind()
        b, peer_b = self.bind()
        sent = [c.submit(message(str(i))) for i in range(4)]
        first_a, first_b = peer_a.read_one(), peer_b.read_one()
        peer_a.send(P.Unbind())
        peer_a.read()
        self.failureResultOf(sent[0])      # lost with its bind
        peer_b.send(P.SubmitSmResp(0, first_b.sequence_number, "b1"))
        self.assertEqual(self.successResultOf(sent[1]), (0, "b1"))
        self.assertEqual(peer_b.read_one().destination_addr, "2")
        [line] = self.lines("bind down")
        self.assertIn("unbind received", line)

    def test_pump_fails_one_message_and_goes_on(self):
        c = self.make(window=1, binds=2)
        a, peer_a = self.bind()
        b, peer_b = self.bind()
        sent = [c.submit(message(str(i))) for i in range(2)]
        queued = [c.submit(message(str(i))) for i in range(2, 4)]
        [on_a], [on_b] = peer_a.read(), peer_b.read()

        def broken(pdu, deferred=None):
            raise StateError(Status.ESME_RINVBNDSTS, "broken bind")
        a.send_request = broken
        # b frees a slot: the pump may pick a, which raises; that one message
        # fails, the rest still goes out on b.
        c._next = 0
        peer_a.send(P.SubmitSmResp(0, on_a.sequence_number, "a1"))
        self.assertEqual(self.successResultOf(sent[0]), (0, "a1"))
        self.failureResultOf(queued[0], ConnectorUnavailable)
        self.assertNotIn(a, c._tx)
        self.assertNoResult(queued[1])
        peer_b.send(P.SubmitSmResp(0, on_b.sequence_number, "b1"))
        self.assertEqual(peer_b.read_one().destination_addr, "3")
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_stopping_unbinds(self):
        c = self.make()
        proto, peer = self.bind()
        d = c.stopService()
        unbind = peer.read_one()
        self.assertIsInstance(unbind, P.Unbind)
        peer.send(P.UnbindResp(0, unbind.sequence_number))
        self.successResultOf(d)
        self.assertTrue(peer.closing)
        [line] = self.lines("bind down")
        self.assertIn("connector stopping", line)


class UpstreamDeliveryTests(SMSCCase):
    def test_receipt_from_deliver_sm(self):
        c = self.make()
        proto, peer = self.bind()
        seq = peer.send(P.DeliverSm(source_addr="1555", destination_addr="Brand",
                                    esm_class=0x04, short_message=b"id:up-1 stat:DELIVRD",
                                    tlvs={"receipted_message_id": "up-1",
                                          "message_state": 2}))
        [(delivery, d)] = self.gateway.deliveries
        self.assertIsInstance(delivery, Receipt)
        self.assertEqual((delivery.message_id, delivery.state), ("up-1", 2))
        self.assertEqual(peer.read(), [])   # ESME_ROK only once it is safe
        d.callback(Status.ESME_ROK)
        resp = peer.read_one()
        self.assertEqual((type(resp), resp.command_status, resp.sequence_number),
                         (P.DeliverSmResp, 0, seq))

    def test_mo_from_data_sm(self):
        """Known defect: a data_sm has no short_message."""
        c = self.make()
        proto, peer = self.bind()
        peer.send(P.DataSm(source_addr="1555", destination_addr="Brand",
                           tlvs={"message_payload": b"hi there"}))
        [(delivery, d)] = self.gateway.deliveries
        self.assertIsInstance(delivery, Inbound)
        self.assertEqual((delivery.connector, delivery.body, delivery.tlvs),
                         ("up", b"hi there", {}))
        d.callback(Status.ESME_RX_T_APPN)
        resp = peer.read_one()
        self.assertEqual((type(resp), resp.command_status),
                         (P.DataSmResp, Status.ESME_RX_T_APPN))

    def test_receipt_from_data_sm(self):
        c = self.make()
        proto, peer = self.bind()
        peer.send(P.DataSm(esm_class=0x04, tlvs={"receipted_message_id": "up-9",
                                                 "message_state": 5}))
        [(delivery, d)] = self.gateway.deliveries
        self.assertEqual((type(delivery), delivery.message_id, delivery.state),
                         (Receipt, "up-9", 5))

    def test_gateway_failure_is_a_system_error(self):
        c = self.make()
        proto, peer = self.bind()
        self.gateway.broken = True
        peer.send(P.DeliverSm(short_message=b"x"))
        self.assertEqual(peer.read_one().command_status, Status.ESME_RSYSERR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class FakeEndpoint:
    """A client endpoint on StringTransports: each connect() is one attempt,
    refused while `refuse` is set; `peers` are the connections made."""

    def __init__(self, clock):
        self.clock = clock
        self.attempts = []
        self.peers = []
        self.refuse = False

    def connect(self, factory):
        self.attempts.append(self.clock.seconds())
        if self.refuse:
            return defer.fail(error.ConnectionRefusedError())
        proto = factory.buildProtocol(None)
        self.peers.append(connect(proto))
        return defer.succeed(proto)


def bound(peer, status=Status.ESME_ROK):
    """Answer the bind the peer's protocol sent."""
    bind = peer.read_one()
    peer.send(P.BindTransceiverResp(status, bind.sequence_number, "smsc"))
    return peer


class ReconnectTests(SMSCCase):
    """Each bind is a ClientService; only failed attempts back off."""

    def start(self, **kw):
        self.endpoint = FakeEndpoint(self.clock)
        self.connector = c = Connector(config(**kw), self.gateway, reactor=self.clock,
                                       endpoint=self.endpoint)
        c.startService()
        self.addCleanup(lambda: c.running and c.stopService())
        return c

    def test_a_bind_that_was_up_is_dialled_again_at_once(self):
        c = self.start(reconnect_min=1.0)
        peer = bound(self.endpoint.peers[0])
        self.assertTrue(c.up)
        self.clock.advance(3600)
        peer.transport.loseConnection()
        self.assertFalse(c.up)
        self.clock.advance(0)
        self.assertEqual(self.endpoint.attempts, [0, 3600])
        bound(self.endpoint.peers[1])
        self.assertTrue(c.up)
        self.assertEqual(c.counters["binds_up"], 2)
        self.assertEqual(c.counters["binds_down"], 1)
        [line] = self.lines("bind down")
        self.assertIn("peer closed", line)

    def test_failed_attempts_back_off_until_a_bind_is_up(self):
        c = self.start(reconnect_min=1.0, reconnect_max=4.0)
        bound(self.endpoint.peers[0]).transport.loseConnection()
        self.endpoint.refuse = True
        self.clock.advance(0)                  # at once: refused
        first = len(self.endpoint.attempts)
        while len(self.endpoint.attempts) < first + 4:
            self.clock.advance(0.01)
        # then reconnect_min doubling to reconnect_max, each plus up to 25% at random
        attempts = self.endpoint.attempts[first - 1:]
        gaps = [b - a for a, b in zip(attempts, attempts[1:])]
        for gap, delay in zip(gaps, (1.0, 2.0, 4.0, 4.0)):
            self.assertTrue(delay <= gap <= delay * 1.25 + 0.01, (gaps, delay))
        self.endpoint.refuse = False
        self.clock.advance(5)
        bound(self.endpoint.peers[-1]).transport.loseConnection()
        count = len(self.endpoint.attempts)
        self.clock.advance(0)                  # up again: the next loss is dialled at once
        self.assertEqual(len(self.endpoint.attempts), count + 1)

    def test_a_refused_bind_backs_off(self):
        """ClientService's own count restarts with each TCP connection: a bind
        refused each time used to be dialled again after the same delay."""
        c = self.start(reconnect_min=1.0, reconnect_max=8.0)
        times = []
        for _ in range(4):
            bound(self.endpoint.peers[-1], Status.ESME_RBINDFAIL)
            times.append(self.clock.seconds())
            count = len(self.endpoint.attempts)
            while len(self.endpoint.attempts) == count:
                self.clock.advance(0.05)
        gaps = [b - a for a, b in zip(times, self.endpoint.attempts[1:])]
        for gap, delay in zip(gaps, (1.0, 2.0, 4.0, 8.0)):
            self.assertTrue(delay <= gap <= delay * 1.25 + 0.05, (gaps, delay))
        self.assertFalse(c.up)
        self.assertEqual(c.counters["binds_up"], 0)

    def test_the_other_binds_serve_while_one_reconnects(self):
        c = self.start(binds=2, window=5)
        a, b = [bound(peer) for peer in self.endpoint.peers]
        self.endpoint.refuse = True
        a.transport.loseConnection()
        self.clock.advance(0)
        self.assertTrue(c.up)
        sent = [c.submit(message(str(i))) for i in range(3)]
        self.assertEqual([p.destination_addr for p in b.read()], ["0", "1", "2"])
        self.assertEqual(a.read(), [])
        self.assertEqual(c.counters["held"], 0)
        for d in sent:
            self.assertNoResult(d)

    def test_started_connector_holds_until_its_first_bind(self):
        c = self.start(hold_unbound=5)
        self.assertFalse(c.up)
        self.assertTrue(c.accepting)
        d = c.submit(message())
        self.assertNoResult(d)
        peer = bound(self.endpoint.peers[0])
        pdu = peer.read_one()
        peer.send(P.SubmitSmResp(0, pdu.sequence_number, "up-1"))
        self.assertEqual(self.successResultOf(d), (0, "up-1"))

    def test_stopped_connector_does_not_hold(self):
        c = self.start(hold_unbound=5)
        self.successResultOf(c.stopService())
        self.assertFalse(c.accepting)
        self.failureResultOf(c.submit(message()), ConnectorUnavailable)


class HoldTests(SMSCCase):
    """hold_unbound: with no bind up, submits wait in the queue for one."""

    def lose(self, peer):
        peer.transport.loseConnection()
        self.assertFalse(self.connector.up)

    def test_held_until_a_bind_is_up(self):
        c = self.make(hold_unbound=5)
        proto, peer = self.bind()
        self.lose(peer)
        self.assertTrue(c.accepting)
        d = c.submit(message())
        self.assertNoResult(d)
        self.clock.advance(4)
        proto, peer = self.bind()
        pdu = peer.read_one()
        peer.send(P.SubmitSmResp(0, pdu.sequence_number, "up-1"))
        self.assertEqual(self.successResultOf(d), (0, "up-1"))
        self.assertEqual(c.counters, {"binds_up": 2, "binds_down": 1, "held": 1,
                                      "held_expired": 0})

    def test_held_message_fails_unavailable_at_its_deadline(self):
        c = self.make(hold_unbound=5)
        proto, peer = self.bind()
        self.lose(peer)
        self.clock.advance(1)
        d = c.submit(message())
        self.clock.advance(4.9)
        self.assertNoResult(d)
        self.assertFalse(c.accepting)        # 5 s since the bind was lost
        self.failureResultOf(c.submit(message()), ConnectorUnavailable)
        self.clock.advance(0.1)              # 5 s since it was held
        self.failureResultOf(d, ConnectorUnavailable)
        self.assertEqual((c.counters["held"], c.counters["held_expired"]), (1, 1))
        proto, peer = self.bind()
        self.assertEqual(peer.read(), [])     # nothing late

    def test_hold_is_bounded_by_the_response_timer(self):
        c = self.make(hold_unbound=5, response_timeout=2)
        proto, peer = self.bind()
        self.lose(peer)
        d = c.submit(message())
        self.clock.advance(2)
        self.failureResultOf(d, ConnectorUnavailable)

    def test_queued_when_the_last_bind_drops_is_held_not_failed(self):
        c = self.make(hold_unbound=5, window=1)
        proto, peer = self.bind()
        first, second = c.submit(message("1")), c.submit(message("2"))
        self.assertEqual(peer.read_one().destination_addr, "1")
        self.lose(peer)
        self.failureResultOf(first)          # in flight: the upstream may have it
        self.assertNoResult(second)
        self.assertEqual(c.counters["held"], 1)
        proto, peer = self.bind()
        pdu = peer.read_one()
        self.assertEqual(pdu.destination_addr, "2")
        peer.send(P.SubmitSmResp(0, pdu.sequence_number, "up-2"))
        self.assertEqual(self.successResultOf(second), (0, "up-2"))

    def test_queued_when_the_last_bind_drops_waits_hold_unbound_at_most(self):
        c = self.make(hold_unbound=5, window=1, response_timeout=30)
        proto, peer = self.bind()
        first, second = c.submit(message("1")), c.submit(message("2"))
        self.lose(peer)
        self.failureResultOf(first)
        self.clock.advance(5)
        self.failureResultOf(second, ConnectorUnavailable)
        self.assertEqual(c.counters["held_expired"], 1)

    def test_the_queue_bound_stays(self):
        c = self.make(hold_unbound=5)
        proto, peer = self.bind()
        self.lose(peer)
        held = [c.submit(message(str(i))) for i in range(c._queue_limit)]
        self.failureResultOf(c.submit(message("x")), ConnectorBusy)
        self.assertEqual(c.counters["held"], len(held))
        self.clock.advance(5)
        for d in held:
            self.failureResultOf(d, ConnectorUnavailable)

    def test_zero_fails_at_once_and_fails_the_queue(self):
        c = self.make(hold_unbound=0, window=1)
        proto, peer = self.bind()
        first, second = c.submit(message("1")), c.submit(message("2"))
        self.lose(peer)
        self.failureResultOf(first)
        self.failureResultOf(second, ConnectorUnavailable)
        self.assertFalse(c.accepting)
        self.failureResultOf(c.submit(message()), ConnectorUnavailable)
        self.assertEqual(c.counters["held"], 0)

    def test_never_bound_and_not_started_does_not_hold(self):
        c = self.make(hold_unbound=5)
        self.assertFalse(c.accepting)
        self.failureResultOf(c.submit(message()), ConnectorUnavailable)

    def test_held_then_bound_with_a_full_window_is_busy_at_the_deadline(self):
        c = self.make(hold_unbound=5, window=1)
        proto, peer = self.bind()
        self.lose(peer)
        first, second = c.submit(message("1")), c.submit(message("2"))
        proto, peer = self.bind()
        self.assertEqual(peer.read_one().destination_addr, "1")
        self.clock.advance(5)
        peer.send(P.SubmitSmResp(0, 2, "up-1"))   # bind was seq 1
        self.successResultOf(first)
        self.failureResultOf(second, ConnectorBusy)
        self.assertEqual(c.counters["held_expired"], 0)
