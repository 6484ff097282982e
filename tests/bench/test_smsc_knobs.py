"""The simulator's fault and accounting knobs, and the ESME client's request helpers.

Real TCP on 127.0.0.1 (port 0 listeners), bench.esme's client against
bench.smsc's simulator; every wait is on a Deferred, never a sleep.  To know
that the simulator has handled what a client sent (a deliver_sm_resp, say),
a test sends an enquire_link after it and waits for its resp: one
connection's PDUs are handled in order.
"""

from twisted.internet import defer, error, reactor

from bench.esme import connect
from bench.smsc import SimulatedSMSC
from tests.simulator import HOST, PASSWORD, SYSTEM_ID, SimulatorTestCase
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.pdu import DistributionList, SmeDest
from smpprouter.smpp.receipt import MessageState, parse_receipt
from smpprouter.smpp.status import Status


class _SimulatorTest(SimulatorTestCase):
    @defer.inlineCallbacks
    def connect(self, mode="transceiver", **kw):
        client = yield connect(HOST, self.port, mode, SYSTEM_ID, PASSWORD, **kw)
        self.clients.append(client)
        return client

    def submits(self, client, count, **fields):
        """`count` submits to distinct destinations; their resps, in order."""
        return defer.gatherResults([
            client.submit(destination_addr="1%03d" % i, short_message=b"m%d" % i, **fields)
            for i in range(count)])


class ThrottleTest(_SimulatorTest):

    @defer.inlineCallbacks
    def test_half_throttles_every_other_submit(self):
        self.smsc.throttle_ratio = 0.5
        client = yield self.connect(window=1)
        resps = yield self.submits(client, 6, registered_delivery=1)
        self.assertEqual([r.command_status for r in resps],
                         [0, Status.ESME_RTHROTTLED] * 3)
        self.assertEqual([bool(r.message_id) for r in resps], [True, False] * 3)
        self.assertEqual(self.smsc.throttled_sent, 3)
        self.assertEqual(self.smsc.responses_sent, 3)
        self.assertEqual(self.smsc.receipts_generated, 3)   # none for the throttled
        self.assertEqual(self.smsc.stats()["throttled"], 3)

    @defer.inlineCallbacks
    def test_ratio_set_at_construction_and_changed_at_run_time(self):
        yield self.smsc.close()
        self.smsc = SimulatedSMSC(SYSTEM_ID, PASSWORD, throttle_ratio=0.25, drop_every=0)
        self.port = self.smsc.listen(0).getHost().port
        client = yield self.connect(window=1)
        resps = yield self.submits(client, 8)
        self.assertEqual([r.command_status for r in resps],
                         [0, 0, 0, Status.ESME_RTHROTTLED] * 2)
        self.smsc.throttle_ratio = 1.0
        resps = yield self.submits(client, 3)
        self.assertEqual({r.command_status for r in resps}, {Status.ESME_RTHROTTLED})
        self.smsc.throttle_ratio = 0.0
        resps = yield self.submits(client, 3)
        self.assertEqual({r.command_status for r in resps}, {0})
        self.assertEqual(self.smsc.throttled_sent, 5)

    def test_ratio_out_of_range_refused(self):
        self.assertRaises(ValueError, setattr, self.smsc, "throttle_ratio", 1.5)
        self.assertRaises(ValueError, setattr, self.smsc, "throttle_ratio", -0.1)

    def test_default_off(self):
        self.assertEqual(self.smsc.throttle_ratio, 0.0)
        self.assertEqual(self.smsc.drop_every, 0)
        self.assertFalse(self.smsc.retry_deliveries)


class DropEveryTest(_SimulatorTest):

    @defer.inlineCallbacks
    def test_bind_closed_after_nth_answer_without_unbind(self):
        self.smsc.drop_every = 3
        client = yield self.connect(window=1)
        resps = yield self.submits(client, 3)
        self.assertEqual([r.command_status for r in resps], [0, 0, 0])   # the 3rd answered
        reason = yield client.connection_lost
        self.assertIsInstance(reason, error.ConnectionDone)
        self.assertFalse(client.unbound_by_peer)
        self.assertEqual(self.smsc.binds_dropped, 1)
        self.assertEqual(self.smsc.stats()["binds_dropped"], 1)

    @defer.inlineCallbacks
    def test_what_follows_the_dropping_submit_is_not_answered(self):
        self.smsc.drop_every = 2
        client = yield self.connect(window=5)
        results = yield defer.DeferredList(
            [client.submit(destination_addr="1%d" % i, short_message=b"x") for i in range(5)],
            consumeErrors=True)
        answered = [r for ok, r in results if ok]
        self.assertEqual([r.command_status for r in answered], [0, 0])
        self.assertTrue(all(not ok for ok, _ in results[2:]))
        self.assertEqual(self.smsc.responses_sent, 2)
        self.assertEqual(self.smsc.binds_dropped, 1)

    @defer.inlineCallbacks
    def test_each_bind_counts_its_own_submits(self):
        self.smsc.drop_every = 2
        first = yield self.connect(window=1)
        second = yield self.connect(window=1)
        yield first.submit(destination_addr="11", short_message=b"a")
        yield second.submit(destination_addr="12", short_message=b"b")
        self.assertTrue(first.connected and second.connected)
        yield first.submit(destination_addr="13", short_message=b"c")
        yield first.connection_lost
        self.assertTrue(second.connected)
        self.assertEqual(self.smsc.binds_dropped, 1)

    @defer.inlineCallbacks
    def test_receipt_of_the_dropping_submit_goes_to_another_bind(self):
        self.smsc.drop_every = 1
        sender = yield self.connect("transceiver")
        receiver = yield self.connect("receiver")
        resp = yield sender.submit(destination_addr="11", short_message=b"a",
                                   registered_delivery=1)
        receipt = yield receiver.next_delivery()
        self.assertEqual(receipt.tlvs["receipted_message_id"], resp.message_id)
        yield sender.connection_lost
        self.assertEqual(sender.deliveries, [])
        self.assertEqual(self.smsc.deliveries_lost, 0)

    @defer.inlineCallbacks
    def test_with_no_other_bind_the_receipt_waits_for_the_next(self):
        self.smsc.drop_every = 1
        sender = yield self.connect()
        resp = yield sender.submit(destination_addr="11", short_message=b"a",
                                   registered_delivery=1)
        yield sender.connection_lost
        self.assertEqual(self.smsc.deliveries_queued, 1)
        again = yield self.connect()
        receipt = yield again.next_delivery()
        self.assertEqual(receipt.tlvs["receipted_message_id"], resp.message_id)


class RefusedReceiptTest(_SimulatorTest):

    @defer.inlineCallbacks
    def test_refused_receipt_is_counted_and_never_sent_again(self):
        client = yield self.connect(deliver_resp_status=Status.ESME_RX_T_APPN)
        yield client.submit(destination_addr="11", short_message=b"a", registered_delivery=1)
        yield client.next_delivery()
        yield client.enquire_link()          # the deliver_sm_resp was handled before it
        self.assertEqual(self.smsc.deliveries_refused, 1)
        self.assertEqual(self.smsc.stats()["refused"], 1)
        self.assertEqual(self.smsc.deliver_sm_sent, 1)
        self.assertEqual((self.smsc.deliveries_pending, self.smsc.deliveries_queued), (0, 0))
        retries = [c for c in reactor.getDelayedCalls()
                   if getattr(c.func, "__name__", None) == "_dispatch"]
        self.assertEqual(retries, [])        # nothing will send it again
        # A second bind sees nothing either: the receipt is gone.
        other = yield self.connect()
        yield other.enquire_link()
        self.assertEqual(other.deliveries, [])

    @defer.inlineCallbacks
    def test_with_retry_deliveries_it_comes_again(self):
        self.smsc.retry_deliveries = True
        self.smsc.retry_delay = 0.01
        answers = [Status.ESME_RX_T_APPN, Status.ESME_ROK]
        client = yield self.connect(deliver_resp_status=lambda pdu: answers.pop(0))
        yield client.submit(destination_addr="11", short_message=b"a", registered_delivery=1)
        first = yield client.next_delivery()
        second = yield client.next_delivery()
        self.assertEqual(first.short_message, second.short_message)
        yield client.enquire_link()
        self.assertEqual(self.smsc.deliveries_refused, 1)
        self.assertEqual(self.smsc.deliver_sm_sent, 2)


class ReceiptTLVTest(_SimulatorTest):

    @defer.inlineCallbacks
    def test_receipt_carries_message_state_and_receipted_message_id(self):
        client = yield self.connect()
        resp = yield client.submit(destination_addr="11", short_message=b"hello",
                                   registered_delivery=1)
        receipt = yield client.next_delivery()
        self.assertEqual(receipt.tlvs["receipted_message_id"], resp.message_id)
        self.assertEqual(receipt.tlvs["message_state"], MessageState.DELIVERED)
        parsed = parse_receipt(receipt.short_message)
        self.assertEqual((parsed.id, parsed.stat), (resp.message_id, "DELIVRD"))

    @defer.inlineCallbacks
    def test_message_state_follows_receipt_stat(self):
        self.smsc.receipt_stat = "UNDELIV"
        client = yield self.connect()
        yield client.submit(destination_addr="11", short_message=b"hello",
                            registered_delivery=1)
        receipt = yield client.next_delivery()
        self.assertEqual(receipt.tlvs["message_state"], MessageState.UNDELIVERABLE)
        self.assertEqual(parse_receipt(receipt.short_message).stat, "UNDELIV")

    @defer.inlineCallbacks
    def test_v33_bind_gets_the_text_only(self):
        client = yield self.connect(interface_version=0x33)
        resp = yield client.submit(destination_addr="11", short_message=b"hello",
                                   registered_delivery=1)
        receipt = yield client.next_delivery()
        self.assertEqual(receipt.tlvs, {})
        self.assertEqual(parse_receipt(receipt.short_message).id, resp.message_id)


class DuplicateAccountingTest(_SimulatorTest):

    @defer.inlineCallbacks
    def test_unique_and_duplicate_submits(self):
        client = yield self.connect(window=1)
        yield client.submit(destination_addr="11", short_message=b"hi")
        yield client.submit(destination_addr="11", short_message=b"hi")
        yield client.submit(destination_addr="11", short_message=b"other")
        yield client.submit(destination_addr="12", short_message=b"hi")
        yield client.submit(destination_addr="13", tlvs={"message_payload": b"long"})
        yield client.data_sm(destination_addr="13", message_payload=b"long")
        stats = self.smsc.stats()
        self.assertEqual((stats["unique_submits"], stats["duplicate_submits"]), (4, 2))
        self.assertEqual(self.smsc.seen(("11", b"hi")), 2)
        self.assertEqual(self.smsc.seen(("11", "other")), 1)
        self.assertEqual(self.smsc.seen(("13", b"long")), 2)
        self.assertEqual(self.smsc.seen(("99", b"never")), 0)

    @defer.inlineCallbacks
    def test_refused_submits_are_not_counted(self):
        client = yield self.connect(window=1)
        self.smsc.throttle_ratio = 1.0
        yield client.submit(destination_addr="11", short_message=b"hi")
        self.smsc.throttle_ratio = 0.0
        self.smsc.fail_next(Status.ESME_RSYSERR)
        yield client.submit(destination_addr="11", short_message=b"hi")
        self.assertEqual(self.smsc.seen(("11", b"hi")), 0)
        yield client.submit(destination_addr="11", short_message=b"hi")
        self.assertEqual(self.smsc.seen(("11", b"hi")), 1)
        self.assertEqual(self.smsc.stats()["duplicate_submits"], 0)


class ClientHelperTest(_SimulatorTest):
    """What the helpers send, as the simulator decoded it (it records every PDU)."""

    def received(self, command_id):
        return [pdu for session in self.smsc.connections for pdu in session.received
                if pdu.command_id == command_id]

    @defer.inlineCallbacks
    def test_submit_passes_times_through(self):
        client = yield self.connect()
        yield client.submit(destination_addr="11", short_message="hé",
                            schedule_delivery_time="000000001000000R",
                            validity_period="261231235959000+")
        pdu = self.smsc.submits[-1]
        self.assertEqual(pdu.schedule_delivery_time, "000000001000000R")
        self.assertEqual(pdu.validity_period, "261231235959000+")
        self.assertEqual(pdu.short_message, "hé".encode("latin-1"))

    @defer.inlineCallbacks
    def test_query(self):
        client = yield self.connect()
        resp = yield client.query("abc123", source_addr="4477", source_addr_ton=1)
        self.assertEqual(resp.command_id, CommandId.query_sm_resp)
        (pdu,) = self.received(CommandId.query_sm)
        self.assertEqual((pdu.message_id, pdu.source_addr, pdu.source_addr_ton),
                         ("abc123", "4477", 1))

    @defer.inlineCallbacks
    def test_cancel(self):
        client = yield self.connect()
        resp = yield client.cancel("abc123", source_addr="4477", destination_addr="11")
        self.assertEqual(resp.command_id, CommandId.cancel_sm_resp)
        (pdu,) = self.received(CommandId.cancel_sm)
        self.assertEqual((pdu.message_id, pdu.source_addr, pdu.destination_addr),
                         ("abc123", "4477", "11"))

    @defer.inlineCallbacks
    def test_replace(self):
        client = yield self.connect()
        resp = yield client.replace("abc123", "new text", schedule_delivery_time="000000000500000R",
                                    validity_period="000001000000000R", registered_delivery=1,
                                    source_addr="4477")
        self.assertEqual(resp.command_id, CommandId.replace_sm_resp)
        (pdu,) = self.received(CommandId.replace_sm)
        self.assertEqual((pdu.message_id, pdu.short_message, pdu.schedule_delivery_time,
                          pdu.validity_period, pdu.registered_delivery, pdu.source_addr),
                         ("abc123", b"new text", "000000000500000R", "000001000000000R", 1,
                          "4477"))

    @defer.inlineCallbacks
    def test_replace_defaults(self):
        client = yield self.connect()
        yield client.replace("abc123", b"t")
        (pdu,) = self.received(CommandId.replace_sm)
        self.assertEqual((pdu.schedule_delivery_time, pdu.validity_period,
                          pdu.registered_delivery), ("", "", 0))

    @defer.inlineCallbacks
    def test_submit_multi(self):
        client = yield self.connect()
        resp = yield client.submit_multi(
            ["111", (1, 1, "222"), SmeDest(5, 0, "Brand"), DistributionList("friends")],
            dest_addr_ton=2, dest_addr_npi=1, source_addr="4477", short_message="hi",
            registered_delivery=1)
        self.assertEqual(resp.command_id, CommandId.submit_multi_resp)
        (pdu,) = self.received(CommandId.submit_multi)
        self.assertEqual(pdu.dest_addresses, (SmeDest(2, 1, "111"), SmeDest(1, 1, "222"),
                                              SmeDest(5, 0, "Brand"),
                                              DistributionList("friends")))
        self.assertEqual((pdu.source_addr, pdu.short_message, pdu.registered_delivery),
                         ("4477", b"hi", 1))

    @defer.inlineCallbacks
    def test_data_sm(self):
        client = yield self.connect()
        resp = yield client.data_sm(destination_addr="11", source_addr="4477",
                                    registered_delivery=1, message_payload="payload",
                                    tlvs={"user_message_reference": 7})
        self.assertEqual((resp.command_id, resp.command_status), (CommandId.data_sm_resp, 0))
        pdu = self.smsc.submits[-1]
        self.assertEqual(pdu.command_id, CommandId.data_sm)
        self.assertEqual(bytes(pdu.tlvs["message_payload"]), b"payload")
        self.assertEqual(pdu.tlvs["user_message_reference"], 7)
        self.assertEqual(pdu.registered_delivery, 1)

    @defer.inlineCallbacks
    def test_connect_window(self):
        self.smsc.hold_responses = True
        client = yield self.connect(window=3)
        self.assertEqual(client.window, 3)
        resps = self.submits(client, 5)
        yield self.smsc.wait_submits(3)
        yield client.enquire_link()       # not windowed: the 4th and 5th were not sent
        self.assertEqual(self.smsc.message_count, 3)
        self.assertEqual(client.outstanding, 3)
        self.smsc.hold_responses = False
        resps = yield resps
        self.assertEqual([r.command_status for r in resps], [0] * 5)
