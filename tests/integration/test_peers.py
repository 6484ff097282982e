"""The test peers against each other: bench.esme's client against bench.smsc's simulator.

Real TCP on 127.0.0.1 (port 0 listeners); every wait is on a Deferred,
never a sleep.  These peers judge the router, so they are checked here
first, against each other and against the codec's own reading of the bytes.

Measured on the development machine (2 cores, CPython 3.11, Twisted 26.10):
bench.load in one process against `python -m bench.smsc` in another, 4
sessions, window 50, every message with its receipt: 15,700-19,300 msg/s for
20,000 messages, about 21,000 msg/s for 100,000.  CPU per message: the
simulator about 22 us (submit_sm, resp, receipt, deliver_sm_resp), bench.load
about 16 us; neither process reaches a full core, the two alternate.  The
simulator alone (pre-encoded PDUs pushed through its session, no sockets)
does about 47,000 msg/s.
"""

from twisted.internet import defer, error

from bench import load
from bench.esme import BindFailed, ESMEClient, connect
from tests.simulator import HOST, PASSWORD, SYSTEM_ID, SimulatorTestCase
from smpprouter.smpp import codec
from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.pdu import DataSm, DeliverSmResp, GenericNack, SubmitSm
from smpprouter.smpp.receipt import MessageState, parse_receipt
from smpprouter.smpp.status import Status


class PeersTest(SimulatorTestCase):
    def _track(self, client):
        self.clients.append(client)
        return client

    def connect(self, mode="transceiver", system_id=SYSTEM_ID, password=PASSWORD, **kw):
        return connect(HOST, self.port, mode, system_id, password, **kw).addCallback(self._track)

    def connect_unbound(self, **kw):
        return connect(HOST, self.port, **kw).addCallback(self._track)

    # --- binds --------------------------------------------------------------

    @defer.inlineCallbacks
    def test_each_bind_mode(self):
        for mode in ("transmitter", "receiver", "transceiver"):
            client = yield self.connect_unbound()
            resp = yield client.bind(mode, SYSTEM_ID, PASSWORD)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual(resp.command_id, CommandId["bind_%s_resp" % mode])
            self.assertEqual(resp.system_id, "SIMSMSC")
            self.assertEqual(resp.tlvs.get("sc_interface_version"), 0x34)
            self.assertEqual(client.mode, mode)
        self.assertEqual([s.mode for s in self.smsc.sessions],
                         ["transmitter", "receiver", "transceiver"])
        self.assertEqual([s.system_id for s in self.smsc.sessions], [SYSTEM_ID] * 3)

    @defer.inlineCallbacks
    def test_bad_credentials(self):
        client = yield self.connect_unbound()
        resp = yield client.bind("transceiver", SYSTEM_ID, "wrong")
        self.assertEqual(resp.command_status, Status.ESME_RINVPASWD)
        resp = yield client.bind("transmitter", "nobody", PASSWORD)
        self.assertEqual(resp.command_status, Status.ESME_RINVSYSID)
        self.assertIsNone(client.mode)
        self.assertEqual(self.smsc.sessions, [])
        e = yield self.assertFailure(self.connect(password="wrong"), BindFailed)
        self.assertEqual(e.status, Status.ESME_RINVPASWD)

    @defer.inlineCallbacks
    def test_second_bind_and_unbound_submit_are_refused(self):
        client = yield self.connect_unbound()
        resp = yield client.submit(destination_addr="123", short_message=b"x")
        self.assertEqual(resp.command_status, Status.ESME_RINVBNDSTS)
        yield client.bind("receiver", SYSTEM_ID, PASSWORD)
        resp = yield client.bind("transmitter", SYSTEM_ID, PASSWORD)
        self.assertEqual(resp.command_status, Status.ESME_RALYBND)
        resp = yield client.submit(destination_addr="123", short_message=b"x")
        self.assertEqual(resp.command_status, Status.ESME_RINVBNDSTS)

    @defer.inlineCallbacks
    def test_enquire_link_garbage_and_unbind(self):
        client = yield self.connect()
        resp = yield client.enquire_link()
        self.assertEqual(resp.command_id, CommandId.enquire_link_resp)
        # An unknown command_id: a generic_nack, and the session goes on.
        client.send_raw(bytes.fromhex("00000010" "00000777" "00000000" "00000042"))
        yield client.enquire_link()  # answered after the nack, in order
        self.assertEqual(len(client.generic_nacks), 1)
        nack = client.generic_nacks[0]
        self.assertEqual((nack.command_status, nack.sequence_number),
                         (Status.ESME_RINVCMDID, 0x42))
        # A submit_sm with a bad field gets its own resp with the field's status.
        bad = bytearray(codec.encode(SubmitSm(sequence_number=0x43, destination_addr="1")))
        bad[16 + 1 + 2 + 1 + 2 + 2 + 1 + 1] = 0x0B  # priority_flag 11
        client.send_raw(bytes(bad))
        yield client.enquire_link()
        self.assertEqual(self.smsc.connections[0].decode_errors[-1].status,
                         Status.ESME_RINVPRTFLG)
        resp = yield client.unbind()
        self.assertEqual(resp.command_id, CommandId.unbind_resp)
        yield client.wait_closed()
        self.assertEqual(self.smsc.sessions, [])

    # --- submit and receipts ---------------------------------------------------

    def check_receipt(self, receipt, message_id, submit_text=b"hello"):
        self.assertEqual(receipt.command_id, CommandId.deliver_sm)
        self.assertEqual(receipt.esm_class, 0x04)
        self.assertEqual(receipt.tlvs["receipted_message_id"], message_id)
        self.assertEqual(receipt.tlvs["message_state"], MessageState.DELIVERED)
        parsed = parse_receipt(receipt.short_message)
        self.assertEqual(parsed.id, message_id)
        self.assertEqual(parsed.stat, "DELIVRD")
        self.assertEqual(parsed.text, submit_text.decode())
        # What went over the wire decodes the same with the codec.
        wire = codec.encode(receipt)
        self.assertEqual(codec.decode(wire)[0], receipt)

    @defer.inlineCallbacks
    def test_receipt_on_the_same_transceiver(self):
        client = yield self.connect()
        resp = yield client.submit(source_addr="Brand", destination_addr="447700900123",
                                   registered_delivery=1, short_message=b"hello")
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        self.assertEqual(resp.message_id, "%x" % 1000)
        receipt = yield client.next_delivery()
        self.check_receipt(receipt, resp.message_id)
        self.assertEqual((receipt.source_addr, receipt.destination_addr),
                         ("447700900123", "Brand"))
        submit = self.smsc.submits[0]
        self.assertEqual(submit.destination_addr, "447700900123")
        yield client.enquire_link()  # the deliver_sm_resp went before it
        self.assertEqual([p.command_id for p in self.smsc.sessions[0].received],
                         [CommandId.bind_transceiver, CommandId.submit_sm,
                          CommandId.deliver_sm_resp, CommandId.enquire_link])
        self.assertEqual(self.smsc.deliver_resp_statuses[Status.ESME_ROK], 1)
        self.assertEqual(self.smsc.deliveries_pending, 0)

    @defer.inlineCallbacks
    def test_no_receipt_unless_asked(self):
        client = yield self.connect()
        yield client.submit(destination_addr="1", short_message=b"a")
        yield client.submit(destination_addr="1", short_message=b"b", registered_delivery=2)
        resp = yield client.submit(destination_addr="1", short_message=b"hello",
                                   registered_delivery=1)
        receipt = yield client.next_delivery()
        self.check_receipt(receipt, resp.message_id)
        self.assertEqual(self.smsc.receipts_generated, 1)

    @defer.inlineCallbacks
    def test_failure_receipt_only_when_asked_for_failures(self):
        self.smsc.receipt_stat = "UNDELIV"
        client = yield self.connect()
        resp = yield client.submit(destination_addr="1", short_message=b"hello",
                                   registered_delivery=2)
        receipt = yield client.next_delivery()
        self.assertEqual(receipt.tlvs["receipted_message_id"], resp.message_id)
        self.assertEqual(receipt.tlvs["message_state"], MessageState.UNDELIVERABLE)
        self.assertEqual(parse_receipt(receipt.short_message).stat, "UNDELIV")

    @defer.inlineCallbacks
    def test_receipt_on_the_receiver_when_submitted_on_a_transmitter(self):
        tx = yield self.connect("transmitter")
        rx = yield self.connect("receiver")
        resp = yield tx.submit(destination_addr="123", registered_delivery=1,
                               short_message=b"hello")
        receipt = yield rx.next_delivery()
        self.check_receipt(receipt, resp.message_id)
        self.assertEqual(tx.deliveries, [])

    @defer.inlineCallbacks
    def test_receipt_bind_other(self):
        self.smsc.receipt_bind = "other"
        a = yield self.connect()
        b = yield self.connect()
        for sender, receiver in ((a, b), (b, a), (a, b), (a, b)):
            resp = yield sender.submit(destination_addr="123", registered_delivery=1,
                                       short_message=b"hello")
            receipt = yield receiver.next_delivery()
            self.check_receipt(receipt, resp.message_id)
        self.assertEqual((len(a.deliveries), len(b.deliveries)), (1, 3))

    @defer.inlineCallbacks
    def test_receipt_bind_same_and_round_robin(self):
        a = yield self.connect()
        b = yield self.connect()
        self.smsc.receipt_bind = "same"
        for _ in range(3):
            resp = yield a.submit(destination_addr="1", registered_delivery=1,
                                  short_message=b"hello")
            self.check_receipt((yield a.next_delivery()), resp.message_id)
        self.assertEqual(b.deliveries, [])
        self.smsc.receipt_bind = "any"
        for _ in range(4):
            yield a.submit(destination_addr="1", registered_delivery=1, short_message=b"x")
        yield self.smsc.wait_submits(7)
        yield defer.gatherResults([a.next_delivery(), a.next_delivery(),
                                   b.next_delivery(), b.next_delivery()])
        self.assertEqual((len(a.deliveries), len(b.deliveries)), (5, 2))

    @defer.inlineCallbacks
    def test_hex_resp_ids_and_decimal_receipt_ids(self):
        self.smsc.id_format = "HEX"
        self.smsc.receipt_id_format = "decimal"
        client = yield self.connect()
        ids = set()
        for _ in range(3):
            resp = yield client.submit(destination_addr="1", registered_delivery=1,
                                       short_message=b"hello")
            receipt = yield client.next_delivery()
            self.assertEqual(resp.message_id, resp.message_id.upper())
            rid = receipt.tlvs["receipted_message_id"]
            self.assertEqual(parse_receipt(receipt.short_message).id, rid)
            self.assertTrue(rid.isdigit())
            self.assertEqual(int(rid), int(resp.message_id, 16))
            ids.add(resp.message_id)
        self.assertEqual(len(ids), 3)

    @defer.inlineCallbacks
    def test_receipt_before_the_resp(self):
        self.smsc.receipt_first = True
        client = yield self.connect()
        seen_at_resp = []
        d = client.submit(destination_addr="1", registered_delivery=1, short_message=b"hello")
        d.addCallback(lambda resp: seen_at_resp.append(list(client.deliveries)) or resp)
        resp = yield d
        self.assertEqual(len(seen_at_resp[0]), 1)
        self.check_receipt(seen_at_resp[0][0], resp.message_id)

    @defer.inlineCallbacks
    def test_receipt_waits_for_a_receiver(self):
        tx = yield self.connect("transmitter")
        resp = yield tx.submit(destination_addr="1", registered_delivery=1,
                               short_message=b"hello")
        self.assertEqual(self.smsc.deliveries_queued, 1)
        rx = yield self.connect("receiver")
        self.check_receipt((yield rx.next_delivery()), resp.message_id)
        self.assertEqual(self.smsc.deliveries_queued, 0)

    @defer.inlineCallbacks
    def test_data_sm(self):
        client = yield self.connect()
        resp = yield client.send_pdu(DataSm(destination_addr="1", registered_delivery=1,
                                            tlvs={"message_payload": b"hello"}))
        self.assertEqual(resp.command_id, CommandId.data_sm_resp)
        self.check_receipt((yield client.next_delivery()), resp.message_id)

    @defer.inlineCallbacks
    def test_v33_receiver_gets_the_id_in_the_text_only(self):
        tx = yield self.connect("transmitter")
        rx = yield self.connect_unbound()
        resp = yield rx.bind("receiver", SYSTEM_ID, PASSWORD, interface_version=0x33)
        self.assertEqual(resp.tlvs, {})
        self.assertEqual(self.smsc.sessions[-1].version, 0x33)
        resp = yield tx.submit(destination_addr="1", registered_delivery=1,
                               short_message=b"hello")
        receipt = yield rx.next_delivery()
        self.assertEqual(receipt.tlvs, {})
        self.assertEqual(parse_receipt(receipt.short_message).id, resp.message_id)
        self.assertEqual(load.receipt_id(receipt), resp.message_id)

    @defer.inlineCallbacks
    def test_response_and_receipt_delays(self):
        self.smsc.response_delay = 0.02
        self.smsc.receipt_delay = 0.02
        client = yield self.connect()
        resp = yield client.submit(destination_addr="1", registered_delivery=1,
                                   short_message=b"hello")
        self.assertEqual(client.deliveries, [])
        self.check_receipt((yield client.next_delivery()), resp.message_id)

    @defer.inlineCallbacks
    def test_smsc_asks_to_unbind(self):
        client = yield self.connect()
        self.smsc.sessions[0].send_unbind()
        reason = yield client.connection_lost
        self.assertIsInstance(reason, error.ConnectionDone)
        self.assertTrue(client.unbound_by_peer)

    # --- hooks --------------------------------------------------------------

    @defer.inlineCallbacks
    def test_hold_responses_fills_the_window_then_releases(self):
        self.smsc.hold_responses = True
        client = yield self.connect(window=5)
        resps = [client.submit(destination_addr="1%d" % i, short_message=b"x")
                 for i in range(7)]
        submits = yield self.smsc.wait_submits(5)
        self.assertEqual([s.destination_addr for s in submits], ["1%d" % i for i in range(5)])
        # The peer answers the enquire_link: the window, not the wire, held the rest back.
        yield client.enquire_link()
        self.assertEqual(self.smsc.message_count, 5)
        self.assertEqual(len(self.smsc.held), 5)
        self.assertEqual(client.outstanding, 5)
        self.assertFalse(any(d.called for d in resps))
        self.smsc.hold_responses = False
        results = yield defer.gatherResults(resps)
        self.assertEqual([r.command_status for r in results], [0] * 7)
        self.assertEqual(len({r.message_id for r in results}), 7)
        self.assertEqual(self.smsc.message_count, 7)

    @defer.inlineCallbacks
    def test_next_submit(self):
        client = yield self.connect()
        waiting = self.smsc.next_submit()
        resp = client.submit(destination_addr="42", short_message=b"x")
        submit = yield waiting
        self.assertEqual(submit.destination_addr, "42")
        self.assertEqual((yield resp).command_status, Status.ESME_ROK)

    @defer.inlineCallbacks
    def test_fail_next(self):
        self.smsc.fail_next(Status.ESME_RTHROTTLED, 2)
        client = yield self.connect()
        statuses = []
        for _ in range(3):
            resp = yield client.submit(destination_addr="1", registered_delivery=1,
                                       short_message=b"hello")
            statuses.append(resp.command_status)
        self.assertEqual(statuses, [Status.ESME_RTHROTTLED] * 2 + [Status.ESME_ROK])
        self.check_receipt((yield client.next_delivery()), resp.message_id)
        self.assertEqual(self.smsc.receipts_generated, 1)

    @defer.inlineCallbacks
    def test_send_mo_reaches_a_receiver(self):
        tx = yield self.connect("transmitter")
        rx = yield self.connect("receiver")
        resp = yield self.smsc.send_mo("447700900123", "1234", b"STOP", data_coding=0)
        self.assertIsInstance(resp, DeliverSmResp)
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        [mo] = rx.deliveries
        self.assertEqual((mo.source_addr, mo.destination_addr, mo.short_message, mo.esm_class),
                         ("447700900123", "1234", b"STOP", 0))
        self.assertEqual(tx.deliveries, [])

    @defer.inlineCallbacks
    def test_deliver_resp_statuses_and_retry(self):
        self.smsc.retry_deliveries = True
        self.smsc.retry_delay = 0
        answers = [Status.ESME_RX_T_APPN, Status.ESME_ROK]
        client = yield self.connect("receiver", deliver_resp_status=lambda pdu: answers.pop(0))
        resp = yield self.smsc.send_mo("447700900123", "1234", b"hi")
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        self.assertEqual(len(client.deliveries), 2)
        self.assertEqual(dict(self.smsc.deliver_resp_statuses),
                         {Status.ESME_RX_T_APPN: 1, Status.ESME_ROK: 1})

    @defer.inlineCallbacks
    def test_generic_nack_settles_a_deliver_sm(self):
        client = yield self.connect("receiver", deliver_resp_status=None)
        d = self.smsc.send_mo("447700900123", "1234", b"hi")
        mo = yield client.next_delivery()
        self.assertEqual(self.smsc.deliveries_pending, 1)
        client.send_raw(codec.encode(GenericNack(Status.ESME_RSYSERR, mo.sequence_number)))
        resp = yield d
        self.assertEqual(resp.command_status, Status.ESME_RSYSERR)
        self.assertEqual(self.smsc.deliveries_pending, 0)

    @defer.inlineCallbacks
    def test_disconnect_all_fires_connection_lost(self):
        a = yield self.connect("transmitter")
        b = yield self.connect("receiver", deliver_resp_status=None)
        unanswered = self.smsc.send_mo("1", "2", b"x")  # b never answers: lost with it
        self.smsc.hold_responses = True
        held = a.submit(destination_addr="1", short_message=b"x")
        yield self.smsc.wait_submits(1)
        yield b.next_delivery()
        yield self.smsc.disconnect_all()
        reasons = yield defer.gatherResults([a.connection_lost, b.connection_lost])
        for reason in reasons:
            self.assertIsInstance(reason, error.ConnectionLost)
        yield self.assertFailure(held, error.ConnectionLost)
        yield self.assertFailure(unanswered, error.ConnectionLost)
        self.assertEqual(self.smsc.deliveries_lost, 1)
        self.assertEqual(self.smsc.connections, [])
        self.assertEqual(self.smsc.sessions, [])
        self.assertEqual(self.smsc.held, [])

    @defer.inlineCallbacks
    def test_unbound_esme_client_constructor(self):
        # ESMEClient also works on its own (for tests driving a transport by hand).
        client = ESMEClient(window=3)
        self.assertEqual(client.window_free, 3)
        self.assertFalse(client.connected)
        yield self.assertFailure(client.enquire_link(), error.ConnectionDone)

    # --- bench.load -----------------------------------------------------------

    @defer.inlineCallbacks
    def test_load_generator_matches_every_receipt(self):
        self.smsc.accounts["esme1"] = "pw1"
        self.smsc.receipt_bind = "other"
        args = load.parse_args(["--host", HOST, "--port", str(self.port), "--system-id", "esme1",
                                "--password", "pw1", "--sessions", "3", "--window", "20",
                                "--count", "400", "--drain-timeout", "10"])
        summary = yield defer.ensureDeferred(load.run(args))
        self.assertEqual((summary["sent"], summary["ok"], summary["lost"]), (400, 400, 0))
        self.assertEqual(summary["errors"], {})
        self.assertEqual(summary["receipts"], 400)
        self.assertEqual(summary["receipts_matched"], 400)
        self.assertEqual(summary["receipts_unmatched"], 0)
        self.assertEqual(summary["receipts_missing"], 0)
        self.assertGreater(summary["msg_per_s"], 0)
        self.assertTrue(all(s.destination_addr.startswith("1") for s in self.smsc.submits))
        self.assertEqual(self.smsc.deliver_resp_statuses[Status.ESME_ROK], 400)
        self.assertEqual(self.smsc.sessions, [])  # it unbound

    @defer.inlineCallbacks
    def test_load_generator_rate_limited_with_receipts_first(self):
        self.smsc.receipt_first = True
        args = load.parse_args(["--port", str(self.port), "--system-id", SYSTEM_ID,
                                "--password", PASSWORD, "--sessions", "2", "--count", "50",
                                "--rate", "2000"])
        summary = yield defer.ensureDeferred(load.run(args))
        self.assertEqual((summary["ok"], summary["receipts_matched"]), (50, 50))

    @defer.inlineCallbacks
    def test_load_generator_bind_failure(self):
        args = load.parse_args(["--port", str(self.port), "--system-id", SYSTEM_ID,
                                "--password", "nope", "--sessions", "2", "--count", "5"])
        yield self.assertFailure(defer.ensureDeferred(load.run(args)), BindFailed)
