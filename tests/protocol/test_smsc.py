"""SMSCClientProtocol and Connector on StringTransports and a Clock, against a
fake ISMSCGateway."""

from types import SimpleNamespace

from twisted.internet import defer, task
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from smpprouter.core.messages import Inbound, Receipt, Submission
from smpprouter.protocol.base import ResponseTimeoutError
from smpprouter.protocol.gateway import ISMSCGateway
from smpprouter.protocol.smsc import (Connector, ConnectorUnavailable, UpstreamNack,
                                      Unsendable, _BindFactory)
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
