"""ESMEServerProtocol against a fake IESMEGateway, on a StringTransport and a Clock."""

from datetime import datetime, timezone

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from smpprouter.core.messages import Inbound, Outcome, QueryAnswer, Receipt
from smpprouter.protocol.esme import ESMEServerFactory
from smpprouter.protocol.gateway import BindResult, IESMEGateway
from smpprouter.smpp import adapt
from smpprouter.smpp import pdu as P
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.errors import SMPPError
from smpprouter.smpp.session import Mode, State, Timers
from smpprouter.smpp.status import Status

from .helpers import connect

UTC = timezone.utc
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC).timestamp()


@implementer(IESMEGateway)
class FakeGateway:
    """Records every call; each answer is a Deferred the test fires (or, with
    `sync`, fires at once with that value)."""

    system_id = "router"

    def __init__(self):
        self.result = BindResult(Status.ESME_ROK, user="u1", window=10)
        self.calls = []       # (name, args, deferred)
        self.bound = []
        self.closed = []
        self.sync = None
        self.broken = False   # submit raises, as a core with a bug might

    def _call(self, name, *args):
        if self.sync is not None:
            d = defer.succeed(self.sync)
        else:
            d = defer.Deferred()
        self.calls.append((name, args, d))
        return d

    def authenticate(self, system_id, password, mode, session):
        self.auth = (system_id, password, mode)
        return defer.succeed(self.result)

    def session_bound(self, session):
        self.bound.append(session)

    def session_closed(self, session):
        self.closed.append(session)

    def submit(self, session, submission, answer):
        if self.broken:
            raise RuntimeError("core bug")
        self._call("submit", submission).addCallback(answer)

    def query(self, session, message_id):
        return self._call("query", message_id)

    def cancel(self, session, message_id):
        return self._call("cancel", message_id)

    def replace(self, session, message_id, body, schedule, validity, registered_delivery):
        return self._call("replace", message_id, body, schedule, validity, registered_delivery)

    def pending(self, name="submit"):
        return [(args, d) for n, args, d in self.calls if n == name and not d.called]


def submit(dest="15551234567", text=b"hello", **kw):
    return P.SubmitSm(source_addr="Brand", destination_addr=dest, short_message=text, **kw)


class ESMECase(SynchronousTestCase):
    timers = Timers(session_init=10, enquire_link=60, inactivity=300, response=30)

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(T0)
        self.gateway = FakeGateway()
        self.factory = ESMEServerFactory(self.gateway, self.clock, self.timers, window=10)

    def connect(self):
        proto = self.factory.buildProtocol(None)
        return proto, connect(proto)

    def bound(self, bind=P.BindTransceiver, version=0x34, **result):
        if result:
            self.gateway.result = BindResult(Status.ESME_ROK, user="u1", **result)
        proto, peer = self.connect()
        peer.send(bind(system_id="esme1", password="pw", interface_version=version))
        resp = peer.read_one()
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        if version < 0x34:
            peer.version = version
        return proto, peer


class BindTests(ESMECase):
    def test_bind_ok(self):
        proto, peer = self.connect()
        peer.send(P.BindTransceiver(system_id="esme1", password="pw"))
        resp = peer.read_one()
        self.assertIsInstance(resp, P.BindTransceiverResp)
        self.assertEqual((resp.command_status, resp.system_id), (Status.ESME_ROK, "router"))
        self.assertEqual(resp.tlvs, {"sc_interface_version": 0x34})
        self.assertEqual(self.gateway.auth, ("esme1", "pw", Mode.TRX))
        self.assertEqual(self.gateway.bound, [proto])
        self.assertEqual(proto.session.state, State.BOUND_TRX)
        self.assertEqual(proto.user, "u1")

    def test_bind_refused_reveals_nothing_and_closes(self):
        self.gateway.result = BindResult(Status.ESME_RINVPASWD)
        proto, peer = self.connect()
        peer.send(P.BindTransmitter(system_id="esme1", password="bad"))
        resp = peer.read_one()
        self.assertEqual((resp.command_status, resp.system_id), (Status.ESME_RINVPASWD, ""))
        self.assertTrue(peer.closing)
        self.assertEqual(self.gateway.bound, [])
        self.assertEqual(self.gateway.closed, [])   # never bound: nothing to tell

    def test_v33_bind(self):
        proto, peer = self.bound(P.BindReceiver, version=0x33)
        self.assertEqual(proto.session.interface_version, 0x33)

    def test_session_init_timer_closes_an_unbound_connection(self):
        proto, peer = self.connect()
        self.clock.advance(9)
        self.assertFalse(peer.closing)
        self.clock.advance(1)
        self.assertTrue(peer.closing)


class SubmitTests(ESMECase):
    def test_submit_sm_becomes_a_submission_and_the_outcome_its_answer(self):
        proto, peer = self.bound()
        seq = peer.send(submit(registered_delivery=1, data_coding=8, text=b"\x00h"))
        [(args, d)] = self.gateway.pending()
        s = args[0]
        self.assertEqual((s.user, s.source, s.destination, s.body, s.data_coding,
                          s.registered_delivery, s.datagram),
                         ("u1", "Brand", "15551234567", b"\x00h", 8, 1, False))
        self.assertEqual(peer.read(), [])
        d.callback(Outcome(Status.ESME_ROK, "abc123"))
        resp = peer.read_one()
        self.assertEqual((type(resp), resp.command_status, resp.sequence_number,
                          resp.message_id), (P.SubmitSmResp, 0, seq, "abc123"))

    def test_an_error_outcome_carries_no_message_id(self):
        proto, peer = self.bound()
        peer.send(submit())
        self.gateway.pending()[0][1].callback(Outcome(Status.ESME_RINVDSTADR, "ignored"))
        resp = peer.read_one()
        self.assertEqual((resp.command_status, resp.message_id),
                         (Status.ESME_RINVDSTADR, ""))

    def test_data_sm(self):
        proto, peer = self.bound()
        peer.send(P.DataSm(source_addr="a", destination_addr="b",
                           tlvs={"message_payload": b"x" * 300}))
        [(args, d)] = self.gateway.pending()
        self.assertEqual((args[0].body, args[0].datagram), (b"x" * 300, True))
        d.callback(Outcome(Status.ESME_ROK, "m1"))
        resp = peer.read_one()
        self.assertEqual((type(resp), resp.message_id), (P.DataSmResp, "m1"))

    def test_adapt_error_is_the_status(self):
        proto, peer = self.bound()
        peer.send(submit(text=b"hi", tlvs={"message_payload": b"hi"}))
        self.assertEqual(peer.read_one().command_status, Status.ESME_RINVMSGLEN)
        # 13th month: well-formed for the codec, not a time.
        peer.send(submit(schedule_delivery_time="241301000000000+"))
        self.assertEqual(peer.read_one().command_status, Status.ESME_RINVSCHED)
        self.assertEqual(self.gateway.calls, [])
        self.assertEqual(proto.working, 0)

    def test_schedule_and_validity_as_unix_times(self):
        proto, peer = self.bound()
        peer.send(submit(schedule_delivery_time="000000010000000R",
                         validity_period="240301140000000+"))
        s = self.gateway.pending()[0][0][0]
        self.assertEqual((s.schedule, s.validity), (T0 + 3600, T0 + 7200))

    def test_gateway_failure_is_a_system_error(self):
        proto, peer = self.bound()
        self.gateway.broken = True
        peer.send(submit())
        self.assertEqual(peer.read_one().command_status, Status.ESME_RSYSERR)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_answer_after_the_connection_is_gone_is_dropped(self):
        proto, peer = self.bound()
        peer.send(submit())
        proto.transport.loseConnection()
        self.gateway.pending()[0][1].callback(Outcome(Status.ESME_ROK, "m"))
        self.assertEqual(self.gateway.closed, [proto])


class WindowTests(ESMECase):
    def test_beyond_the_window_requests_wait_and_reading_pauses(self):
        proto, peer = self.bound(window=2)
        peer.send(submit("1"), submit("2"), submit("3"), submit("4"))
        self.assertEqual(len(self.gateway.pending()), 2)
        self.assertEqual(len(proto.held), 2)
        self.assertTrue(peer.paused)
        self.assertEqual(peer.read(), [])   # latency, not errors
        self.gateway.pending()[0][1].callback(Outcome(0, "a"))
        self.assertEqual([r.message_id for r in peer.read()], ["a"])
        self.assertEqual([a[0].destination for a, _ in self.gateway.pending()], ["2", "3"])
        self.assertTrue(peer.paused)   # one still held
        self.gateway.pending()[0][1].callback(Outcome(0, "b"))
        self.assertFalse(peer.paused)
        self.assertEqual(len(proto.held), 0)
        for _, d in self.gateway.pending():
            d.callback(Outcome(0, "c"))
        self.assertEqual(len(peer.read()), 3)
        self.assertEqual(proto.session.peer_outstanding, 0)

    def test_refuse_policy_throttles(self):
        proto, peer = self.bound(window=2, window_policy="refuse")
        peer.send(submit("1"), submit("2"), submit("3"))
        self.assertEqual([r.command_status for r in peer.read()], [Status.ESME_RTHROTTLED])
        self.assertFalse(peer.paused)
        self.assertEqual(len(self.gateway.pending()), 2)

    def test_held_beyond_max_held_are_throttled(self):
        proto, peer = self.bound(window=1)
        proto.MAX_HELD = 2
        peer.send(*[submit(str(i)) for i in range(5)])
        self.assertEqual([r.command_status for r in peer.read()], [Status.ESME_RTHROTTLED] * 2)
        self.assertEqual(len(proto.held), 2)

    def test_every_command_to_the_core_counts(self):
        proto, peer = self.bound(window=1)
        peer.send(P.QuerySm(message_id="1"), P.CancelSm(message_id="1"))
        self.assertEqual(len(self.gateway.pending("query")), 1)
        self.assertEqual(len(proto.held), 1)
        self.gateway.pending("query")[0][1].callback(QueryAnswer(Status.ESME_RQUERYFAIL))
        self.assertEqual(len(self.gateway.pending("cancel")), 1)

    def test_held_requests_answered_synchronously_do_not_recurse(self):
        proto, peer = self.bound(window=1)
        peer.send(*[submit(str(i)) for i in range(900)])
        self.assertEqual(len(proto.held), 899)
        self.gateway.sync = Outcome(0, "s")
        self.gateway.pending()[0][1].callback(Outcome(0, "first"))
        resps = peer.read()
        self.assertEqual(len(resps), 900)
        self.assertEqual([r.sequence_number for r in resps], list(range(2, 902)))
        self.assertFalse(peer.paused)

    def test_enquire_link_is_answered_while_requests_are_held(self):
        proto, peer = self.bound(window=1)
        peer.send(submit("1"), submit("2"), P.EnquireLink())
        [resp] = peer.read()
        self.assertIsInstance(resp, P.EnquireLinkResp)

    def test_a_paused_transceiver_still_reads_its_deliver_sm_resp(self):
        """The ESME's deliver_sm_resp sits behind its own submits: reading must
        resume while it is owed, or the delivery would time out and repeat."""
        proto, peer = self.bound(window=1)
        peer.send(submit("1"), submit("2"))
        self.assertTrue(peer.paused)
        d = proto.deliver(Receipt("m1", 2, b"id:m1 stat:DELIVRD", "1555", "Brand"))
        self.assertFalse(peer.paused)        # reading again: an answer is owed
        [deliver] = peer.read()
        self.assertIsInstance(deliver, P.DeliverSm)
        # What the ESME wrote meanwhile: another submit, then the answer.
        peer.send(submit("3"), P.DeliverSmResp(0, deliver.sequence_number))
        self.assertEqual(self.successResultOf(d).command_status, Status.ESME_ROK)
        self.assertEqual(len(proto.held), 2)
        self.assertTrue(peer.paused)         # nothing owed again
        self.clock.advance(31)               # the response timer has nothing to fire
        self.assertEqual(peer.read(), [])
        self.assertFalse(peer.closing)

    def test_paused_silence_is_not_inactivity(self):
        proto, peer = self.bound(window=1)
        peer.send(submit("1"), submit("2"))
        self.assertTrue(peer.paused)
        for _ in range(10):
            self.clock.advance(59)
        self.assertFalse(peer.closing)
        self.assertEqual(peer.read(), [])   # no enquire_link either
        self.assertEqual(proto.session.outstanding, 0)
        self.gateway.pending()[0][1].callback(Outcome(0, "a"))
        self.gateway.pending()[0][1].callback(Outcome(0, "b"))
        self.assertFalse(peer.paused)
        peer.read()
        # Reading again: silence counts once more.
        self.clock.advance(60)
        self.assertIsInstance(peer.read_one(), P.EnquireLink)


class TimerTests(ESMECase):
    def test_enquire_link_then_close_when_unanswered(self):
        proto, peer = self.bound()
        self.clock.advance(60)
        self.assertIsInstance(peer.read_one(), P.EnquireLink)
        self.clock.advance(30)
        self.assertTrue(peer.closing)
        self.assertEqual(proto.close_reason, "enquire_link timeout")

    def test_answered_enquire_link_keeps_the_session(self):
        proto, peer = self.bound()
        self.clock.advance(60)
        peer.send(P.EnquireLinkResp(0, peer.read_one().sequence_number))
        self.clock.advance(59)
        self.assertFalse(peer.closing)

    def test_inactivity(self):
        timers = Timers(session_init=10, enquire_link=None, inactivity=300, response=30)
        self.factory = ESMEServerFactory(self.gateway, self.clock, timers)
        proto, peer = self.bound()
        self.clock.advance(299)
        peer.send(P.EnquireLink())
        self.clock.advance(299)
        self.assertFalse(peer.closing)
        self.clock.advance(1)
        self.assertTrue(peer.closing)
        self.assertEqual(proto.close_reason, "inactivity timeout")

    def test_unanswered_delivery_fails_after_the_response_timer(self):
        proto, peer = self.bound()
        d = proto.deliver(Receipt("m1", 2, b"x"))
        peer.read()
        self.clock.advance(30)
        self.failureResultOf(d)
        self.assertTrue(proto.can_send())


class ManagementTests(ESMECase):
    def test_query_sm(self):
        proto, peer = self.bound()
        peer.send(P.QuerySm(message_id="m1"))
        [(args, d)] = self.gateway.pending("query")
        self.assertEqual(args, ("m1",))
        d.callback(QueryAnswer(Status.ESME_ROK, state=2, final_date=T0 + 61.5, error_code=3))
        resp = peer.read_one()
        self.assertEqual((resp.message_id, resp.final_date, resp.message_state,
                          resp.error_code), ("m1", "240301120101500+", 2, 3))

    def test_query_sm_not_final(self):
        proto, peer = self.bound()
        peer.send(P.QuerySm(message_id="m1"))
        self.gateway.pending("query")[0][1].callback(QueryAnswer(Status.ESME_ROK, state=1))
        resp = peer.read_one()
        self.assertEqual((resp.final_date, resp.message_state), ("", 1))

    def test_query_sm_unknown(self):
        proto, peer = self.bound()
        peer.send(P.QuerySm(message_id="other"))
        self.gateway.pending("query")[0][1].callback(QueryAnswer(Status.ESME_RQUERYFAIL))
        resp = peer.read_one()
        self.assertEqual((resp.command_status, resp.message_id), (Status.ESME_RQUERYFAIL, ""))

    def test_cancel_sm(self):
        proto, peer = self.bound()
        seq = peer.send(P.CancelSm(message_id="m1"))
        [(args, d)] = self.gateway.pending("cancel")
        self.assertEqual(args, ("m1",))
        d.callback(Status.ESME_ROK)
        resp = peer.read_one()
        self.assertEqual((type(resp), resp.command_status, resp.sequence_number),
                         (P.CancelSmResp, 0, seq))

    def test_cancel_sm_without_message_id_fails(self):
        proto, peer = self.bound()
        peer.send(P.CancelSm(source_addr="Brand", destination_addr="1555"))
        self.assertEqual(peer.read_one().command_status, Status.ESME_RCANCELFAIL)
        self.assertEqual(self.gateway.calls, [])

    def test_replace_sm(self):
        proto, peer = self.bound()
        peer.send(P.ReplaceSm(message_id="m1", short_message=b"new",
                              schedule_delivery_time="000000001000000R",
                              registered_delivery=1))
        [(args, d)] = self.gateway.pending("replace")
        self.assertEqual(args, ("m1", b"new", T0 + 600, None, 1))
        d.callback(Status.ESME_RREPLACEFAIL)
        resp = peer.read_one()
        self.assertEqual((type(resp), resp.command_status),
                         (P.ReplaceSmResp, Status.ESME_RREPLACEFAIL))

    def test_replace_sm_bad_times(self):
        proto, peer = self.bound()
        peer.send(P.ReplaceSm(message_id="m1", schedule_delivery_time="241301000000000+"))
        self.assertEqual(peer.read_one().command_status, Status.ESME_RINVSCHED)
        peer.send(P.ReplaceSm(message_id="m1", validity_period="240230000000000+"))
        self.assertEqual(peer.read_one().command_status, Status.ESME_RINVEXPIRY)
        self.assertEqual(self.gateway.calls, [])


class SubmitMultiTests(ESMECase):
    def multi(self, *dests):
        return P.SubmitMulti(source_addr="Brand", dest_addresses=dests, short_message=b"hi")

    def test_fan_out(self):
        proto, peer = self.bound()
        peer.send(self.multi(P.SmeDest(1, 1, "111"), P.DistributionList("friends"),
                             P.SmeDest(1, 1, "222"), P.SmeDest(1, 1, "333")))
        pending = self.gateway.pending()
        self.assertEqual([(a[0].dest_ton, a[0].destination) for a, _ in pending],
                         [(1, "111"), (1, "222"), (1, "333")])
        pending[1][1].callback(Outcome(Status.ESME_RINVDSTADR))
        pending[2][1].callback(Outcome(Status.ESME_ROK, "m3"))
        self.assertEqual(peer.read(), [])   # once all outcomes are in
        pending[0][1].callback(Outcome(Status.ESME_ROK, "m1"))
        resp = peer.read_one()
        self.assertEqual((resp.command_status, resp.message_id), (Status.ESME_ROK, "m1"))
        self.assertEqual(resp.unsuccess_smes, (
            P.UnsuccessSme(0, 0, "friends", Status.ESME_RINVDLNAME),
            P.UnsuccessSme(1, 1, "222", Status.ESME_RINVDSTADR)))

    def test_none_accepted_is_the_first_failure(self):
        proto, peer = self.bound()
        peer.send(self.multi(P.SmeDest(1, 1, "111"), P.SmeDest(1, 1, "222")))
        pending = self.gateway.pending()
        pending[0][1].callback(Outcome(Status.ESME_RX_R_APPN))
        pending[1][1].callback(Outcome(Status.ESME_RSYSERR))
        resp = peer.read_one()
        self.assertEqual(resp.command_status, Status.ESME_RX_R_APPN)
        self.assertEqual([u.error_status for u in resp.unsuccess_smes],
                         [Status.ESME_RX_R_APPN, Status.ESME_RSYSERR])

    def test_only_lists(self):
        proto, peer = self.bound()
        peer.send(self.multi(P.DistributionList("a")))
        resp = peer.read_one()
        self.assertEqual(resp.command_status, Status.ESME_RINVDLNAME)
        self.assertEqual(self.gateway.calls, [])

    def test_adapt_error_for_every_destination(self):
        proto, peer = self.bound()
        m = self.multi(P.SmeDest(1, 1, "111"), P.SmeDest(1, 1, "222"))
        m.tlvs = {"message_payload": b"also"}
        peer.send(m)
        resp = peer.read_one()
        self.assertEqual(resp.command_status, Status.ESME_RINVMSGLEN)
        self.assertEqual(len(resp.unsuccess_smes), 2)


class DeliveryTests(ESMECase):
    def deliver(self, proto, peer, entry):
        d = proto.deliver(entry)
        pdu = peer.read_one()
        peer.send(P.DeliverSmResp(0, pdu.sequence_number))
        self.assertEqual(self.successResultOf(d).command_status, 0)
        return pdu

    def test_receipt_to_v34(self):
        proto, peer = self.bound()
        pdu = self.deliver(proto, peer, Receipt(
            "m1", 2, b"id:m1 stat:DELIVRD", "1555", "Brand",
            tlvs={"receipted_message_id": "m1", "message_state": 2}))
        self.assertEqual((pdu.esm_class, pdu.short_message, pdu.source_addr,
                          pdu.tlvs["receipted_message_id"]),
                         (0x04, b"id:m1 stat:DELIVRD", "1555", "m1"))

    def test_receipt_to_v33_has_no_tlvs(self):
        proto, peer = self.bound(P.BindReceiver, version=0x33)
        pdu = self.deliver(proto, peer, Receipt(
            "m1", 2, b"id:m1 stat:DELIVRD", tlvs={"receipted_message_id": "m1"}))
        self.assertEqual((pdu.short_message, pdu.tlvs), (b"id:m1 stat:DELIVRD", {}))

    def test_long_mo_to_v34_in_message_payload(self):
        proto, peer = self.bound()
        pdu = self.deliver(proto, peer, Inbound("up", "1555", "Brand", b"y" * 300))
        self.assertEqual((pdu.short_message, pdu.tlvs["message_payload"]), (b"", b"y" * 300))

    def test_mo_from_message_payload_reaches_v33_with_its_text(self):
        """Known defect: the text arrived in message_payload and a v3.3 ESME got
        an empty deliver_sm."""
        upstream = P.DeliverSm(source_addr="1555", destination_addr="Brand",
                               tlvs={"message_payload": b"hello from a phone"})
        entry = adapt.upstream_delivery(upstream, "up")
        proto, peer = self.bound(P.BindReceiver, version=0x33)
        pdu = self.deliver(proto, peer, entry)
        self.assertEqual((pdu.short_message, pdu.tlvs), (b"hello from a phone", {}))

    def test_mo_from_data_sm_reaches_v33_as_deliver_sm(self):
        """Known defect: a queued data_sm to a v3.3 session raised StateError and
        stayed held forever."""
        upstream = P.DataSm(source_addr="1555", destination_addr="Brand",
                            tlvs={"message_payload": b"via data_sm"})
        entry = adapt.upstream_delivery(upstream, "up")
        proto, peer = self.bound(P.BindReceiver, version=0x33)
        pdu = self.deliver(proto, peer, entry)
        self.assertEqual((type(pdu), pdu.short_message), (P.DeliverSm, b"via data_sm"))

    def test_too_long_for_v33_raises_and_sends_nothing(self):
        proto, peer = self.bound(P.BindReceiver, version=0x33)
        with self.assertRaises(SMPPError) as e:
            proto.deliver(Inbound("up", "1555", "Brand", b"z" * 300))
        self.assertEqual(e.exception.status, Status.ESME_RINVMSGLEN)
        self.assertEqual(peer.read(), [])
        self.assertEqual(proto.session.in_window, 0)

    def test_refused_delivery_is_the_response(self):
        proto, peer = self.bound()
        d = proto.deliver(Inbound("up", "1555", "Brand", b"x"))
        peer.send(P.DeliverSmResp(Status.ESME_RX_T_APPN, peer.read_one().sequence_number))
        self.assertEqual(self.successResultOf(d).command_status, Status.ESME_RX_T_APPN)

    def test_transmitter_is_not_receiving(self):
        proto, peer = self.bound(P.BindTransmitter)
        self.assertFalse(proto.receiving)
        proto2, peer2 = self.bound(P.BindReceiver)
        self.assertTrue(proto2.receiving)


class ShutdownTests(ESMECase):
    def test_drain_then_unbind(self):
        proto, peer = self.bound(window=1)
        peer.send(submit("1"), submit("2"))
        done = defer.Deferred.fromCoroutine(proto.shutdown())
        # What was held is answered (throttled: we are stopping), what is with
        # the core is awaited.
        self.assertEqual([r.command_status for r in peer.read()], [])
        self.gateway.pending()[0][1].callback(Outcome(0, "a"))
        resps = peer.read()
        self.assertEqual([(r.command_id, r.command_status) for r in resps],
                         [(CommandId.submit_sm_resp, 0),
                          (CommandId.submit_sm_resp, Status.ESME_RTHROTTLED),
                          (CommandId.unbind, 0)])
        peer.send(P.UnbindResp(0, resps[-1].sequence_number))
        self.successResultOf(done)
        self.assertTrue(peer.closing)
