"""The router end to end: a test ESME, the router, a simulated SMSC, real Redis."""

from twisted.trial.unittest import TestCase

from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status

from ..store.support import wait_for
from .harness import RouterHarness, run

MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)


class RouterTestCase(TestCase):
    timeout = 30
    harness_args = {}
    upstream_binds = 1   # wait for this many connector binds before the test runs

    def setUp(self):
        self.h = RouterHarness(**self.harness_args)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start(binds=self.upstream_binds))

    async def round_trip(self, tx, rx=None, **fields):
        """Submit on tx; the receipt comes back on rx (or tx) with the router's id."""
        resp = await tx.submit(**dict(MESSAGE, **fields))
        self.assertEqual(resp.command_status, Status.ESME_ROK)
        dlr = await (rx or tx).next_delivery()
        self.assertEqual(dlr.esm_class & 0x3C, 0x04)
        self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
        self.assertEqual(parse_receipt(dlr.short_message).id, resp.message_id)
        self.assertEqual(self.h.core.counters["receipts_unknown"], 0)
        return resp, dlr


class BindTests(RouterTestCase):
    def test_each_bind_mode(self):
        async def go():
            for mode in ("transmitter", "receiver", "transceiver"):
                client = await self.h.bind(mode)
                self.assertEqual(client.bind_resp.command_status, Status.ESME_ROK)
                self.assertEqual(client.bind_resp.system_id, "testrouter")
                self.assertEqual(client.bind_resp.tlvs.get("sc_interface_version"), 0x34)
        return run(go())

    def test_bad_password_and_unknown_user(self):
        async def go():
            client = await self.h.connect()
            resp = await client.bind("transceiver", "esme1", "wrong")
            self.assertEqual(resp.command_status, Status.ESME_RINVPASWD)
            await client.wait_closed()
            client = await self.h.connect()
            resp = await client.bind("transceiver", "nobody", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_RINVSYSID)
            self.assertEqual(resp.system_id, "")   # nothing else revealed
        return run(go())

    def test_second_bind_on_a_session(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.bind("transceiver", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_RALYBND)
        return run(go())


class MTTests(RouterTestCase):
    def test_submit_reaches_the_smsc_byte_exact_and_resp_carries_our_id(self):
        async def go():
            client = await self.h.bind("transceiver")
            tlvs = {"user_message_reference": 7, 0x1400: b"1201159100000012345",
                    0x1500: b"\x01\x02"}
            resp = await client.submit(tlvs=dict(tlvs), **MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            upstream = self.h.smsc.submits[-1]
            for field, value in MESSAGE.items():
                self.assertEqual(getattr(upstream, field), value, field)
            # Known TLVs by name, unknown ones byte-exact.
            self.assertEqual(upstream.tlvs["user_message_reference"], 7)
            self.assertEqual(upstream.tlvs["pe_id"], "1201159100000012345")
            self.assertEqual(upstream.tlvs[0x1500], b"\x01\x02")
            upstream_ids = {str(i) for i in self.h.smsc.stats().get("ids", ())}
            self.assertTrue(resp.message_id)
            self.assertNotIn(resp.message_id, upstream_ids)
            int(resp.message_id, 16)   # hex by default
        return run(go())

    def test_receipt_returns_with_our_id_on_the_same_trx_session(self):
        async def go():
            await self.round_trip(await self.h.bind("transceiver"))
        return run(go())

    def test_receipt_for_a_tx_submit_arrives_on_the_rx_session(self):
        async def go():
            tx = await self.h.bind("transmitter")
            rx = await self.h.bind("receiver")
            await self.round_trip(tx, rx)
            self.assertEqual(tx.deliveries, [])
        return run(go())

    def test_receipt_never_goes_to_another_user(self):
        async def go():
            other = await self.h.bind("receiver", "esme2")
            client = await self.h.bind("transceiver")
            resp = await client.submit(**MESSAGE)
            dlr = await client.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
            # esme2 got nothing: a round trip on its session proves nothing was in flight.
            await other.enquire_link()
            self.assertEqual(other.deliveries, [])
        return run(go())

    def test_reject_rule_and_no_route(self):
        async def go():
            client = await self.h.bind("transmitter")
            resp = await client.submit(**dict(MESSAGE, destination_addr="9990001"))
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            resp = await client.submit(**dict(MESSAGE, destination_addr="4477009"))
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())

    def test_upstream_error_status_is_passed_on(self):
        async def go():
            client = await self.h.bind("transmitter")
            self.h.smsc.fail_next(Status.ESME_RINVDSTADR)
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
        return run(go())


class EmptyUpstreamIdTests(RouterTestCase):
    def test_ok_without_an_id_is_not_passed_on_as_ok(self):
        async def go():
            client = await self.h.bind("transmitter")
            self.h.smsc._id_pattern = "%.0s"   # the upstream answers ESME_ROK with id ""
            self.h.smsc._make_receipt = lambda pdu, receipt_id: None   # and sends no receipt
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RSYSERR)
            self.assertEqual(self.h.smsc.responses_sent, 1)   # it did answer, with ESME_ROK
            self.assertTrue(self.h.core.connectors["smsc"].up)
            # Without a receipt asked for, there is nothing to correlate: ESME_ROK.
            resp = await client.submit(**dict(MESSAGE, registered_delivery=0))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
        return run(go())


class MOTests(RouterTestCase):
    def test_mo_reaches_the_right_user(self):
        async def go():
            esme1 = await self.h.bind("receiver", "esme1")
            esme2 = await self.h.bind("receiver", "esme2")
            resp = await self.h.smsc.send_mo("15550001111", "12345", b"hello")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            mo = await esme1.next_delivery()
            self.assertEqual((mo.source_addr, mo.destination_addr, mo.short_message),
                             ("15550001111", "12345", b"hello"))
            resp = await self.h.smsc.send_mo("15550001111", "5555", b"join now")
            mo = await esme2.next_delivery()
            self.assertEqual(mo.short_message, b"join now")
            self.assertEqual(len(esme1.deliveries), 1)
        return run(go())

    def test_unrouted_mo_is_refused_upstream(self):
        async def go():
            resp = await self.h.smsc.send_mo("15550001111", "777", b"hi")
            self.assertEqual(resp.command_status, Status.ESME_RX_P_APPN)
        return run(go())


class HexAndDecimalIdTests(RouterTestCase):
    """An upstream with hex ids in submit_sm_resp and decimal ids in receipts."""
    harness_args = dict(smsc=dict(id_format="HEX", receipt_id_format="decimal"),
                        connector='resp_id = "hex"\nreceipt_id = "decimal"')

    def test_receipt_is_correlated(self):
        async def go():
            await self.round_trip(await self.h.bind("transceiver"))
        return run(go())


class ReceiptOnAnotherBindTests(RouterTestCase):
    harness_args = dict(smsc=dict(receipt_bind="other"), connector="binds = 2")
    upstream_binds = 2

    def test_receipts_from_any_upstream_bind_are_relayed(self):
        async def go():
            client = await self.h.bind("transceiver")
            ids = set()
            for i in range(20):
                resp = await client.submit(**MESSAGE)
                ids.add(resp.message_id)
            got = set()
            for i in range(20):
                dlr = await client.next_delivery()
                got.add(dlr.tlvs["receipted_message_id"])
            self.assertEqual(got, ids)
        return run(go())


class ReceiptBeforeMappingTests(RouterTestCase):
    """The upstream sends the receipt before its submit_sm_resp: the receipt
    is parked until the mapping exists, not dropped."""
    harness_args = dict(smsc=dict(receipt_first=True))

    def test_race(self):
        async def go():
            await self.round_trip(await self.h.bind("transceiver"))
        return run(go())


class OfflineUserTests(RouterTestCase):
    def test_receipt_waits_for_the_user_to_bind(self):
        async def go():
            tx = await self.h.bind("transmitter")
            resp = await tx.submit(**MESSAGE)
            # Nobody can receive: the receipt is queued in Redis.
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{esme1}") == 1)
            rx = await self.h.bind("receiver")
            dlr = await rx.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
        return run(go())

    def test_refused_delivery_is_sent_again(self):
        async def go():
            answers = [Status.ESME_RX_T_APPN, Status.ESME_ROK]
            rx = await self.h.bind("receiver", deliver_resp_status=lambda pdu: answers.pop(0))
            tx = await self.h.bind("transmitter")
            resp = await tx.submit(**MESSAGE)
            first = await rx.next_delivery()
            again = await rx.next_delivery()
            self.assertEqual(first.tlvs["receipted_message_id"], resp.message_id)
            self.assertEqual(again.tlvs["receipted_message_id"], resp.message_id)
            self.assertEqual(answers, [])
        return run(go())
    test_refused_delivery_is_sent_again.timeout = 15


class LimitTests(RouterTestCase):
    harness_args = dict(users={"esme1": "max_binds = 2\nthroughput = 5", "esme2": "",
                               "esme3": ""})

    def test_max_binds(self):
        async def go():
            await self.h.bind("transmitter")
            await self.h.bind("receiver")
            client = await self.h.connect()
            resp = await client.bind("transmitter", "esme1", "pw1")
            self.assertEqual(resp.command_status, Status.ESME_RBINDFAIL)
        return run(go())

    def test_throughput(self):
        async def go():
            client = await self.h.bind("transmitter")
            statuses = [(await client.submit(**MESSAGE)).command_status for _ in range(10)]
            self.assertIn(Status.ESME_RTHROTTLED, statuses)
            self.assertEqual(statuses[0], Status.ESME_ROK)
        return run(go())


class ProtocolTests(RouterTestCase):
    def test_unknown_message_ids_get_a_precise_status(self):
        from smpprouter.smpp import pdu as P
        async def go():
            client = await self.h.bind("transceiver")
            for pdu, status in ((P.QuerySm(message_id="1"), Status.ESME_RQUERYFAIL),
                                (P.CancelSm(message_id="1"), Status.ESME_RCANCELFAIL),
                                (P.ReplaceSm(message_id="1"), Status.ESME_RREPLACEFAIL)):
                resp = await client.send_pdu(pdu)
                self.assertEqual(resp.command_status, status, type(pdu).__name__)
            self.assertTrue(client.connected)
        return run(go())

    def test_garbage_gets_generic_nack_and_session_lives(self):
        async def go():
            client = await self.h.bind("transceiver")
            client.send_raw(bytes.fromhex("00000010" "000000ff" "00000000" "00000063"))
            resp = await client.enquire_link()
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual([(n.command_status, n.sequence_number) for n in client.generic_nacks],
                             [(Status.ESME_RINVCMDID, 0x63)])
        return run(go())

    def test_malformed_submit_gets_its_status(self):
        async def go():
            client = await self.h.bind("transmitter")
            resp = await client.submit(**dict(MESSAGE, esm_class=0x04))
            self.assertEqual(resp.command_status, Status.ESME_RINVESMCLASS)
        return run(go())

    def test_submit_before_bind(self):
        async def go():
            client = await self.h.connect()
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RINVBNDSTS)
        return run(go())

    def test_submit_on_a_receiver(self):
        async def go():
            client = await self.h.bind("receiver")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RINVBNDSTS)
        return run(go())

    def test_unbind(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.unbind()
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            await client.wait_closed()
        return run(go())


class UpstreamLossTests(RouterTestCase):
    harness_args = dict(connector="window = 5")

    def test_disconnect_with_a_full_window_answers_every_message(self):
        async def go():
            client = await self.h.bind("transmitter", window=10)
            self.h.smsc.hold_responses = True
            # 5 fill the router's window upstream, 5 wait in the connector's queue.
            pending = [client.submit(**MESSAGE) for _ in range(10)]
            await self.h.smsc.wait_submits(5)
            self.h.smsc.disconnect_all()
            statuses = [(await d).command_status for d in pending]
            self.assertEqual(len(statuses), 10)
            self.assertNotIn(Status.ESME_ROK, statuses)
            self.assertTrue(all(s in (Status.ESME_RSYSERR, Status.ESME_RMSGQFUL)
                                for s in statuses), statuses)
        return run(go())


class ReloadTests(RouterTestCase):
    def test_broken_table_keeps_the_old_routes(self):
        async def go():
            client = await self.h.bind("transmitter")
            with open(self.h.routes_path, "w") as f:
                f.write('[[mt]]\nname = "x"\nconnectors = ["nosuch"]\n')
            self.assertFalse(self.h.service.reload())
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            with open(self.h.routes_path, "w") as f:
                f.write('[[mt]]\nname = "all"\nreject = "ESME_RINVDSTADR"\n')
            self.assertTrue(self.h.service.reload())
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            self.assertTrue(client.connected)
        return run(go())


class SocketOptionTests(RouterTestCase):
    def test_sessions_have_nagle_off(self):
        # Small request/response PDUs behind Nagle wait ~40 ms for delayed
        # ACKs: that once capped the router at ~200 msg/s.
        import socket
        async def go():
            await self.h.bind("transceiver")
            sessions = [s for ss in self.h.core.admission.sessions.values() for s in ss]
            binds = self.h.core.connectors["smsc"]._tx
            for proto in sessions + binds:
                sock = proto.transport.getHandle()
                self.assertTrue(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        return run(go())


class V33Tests(RouterTestCase):
    def test_v33_receiver_gets_receipts_without_tlvs(self):
        async def go():
            rx = await self.h.bind("receiver", interface_version=0x33)
            self.assertNotIn("sc_interface_version", rx.bind_resp.tlvs)
            tx = await self.h.bind("transmitter", interface_version=0x33)
            resp = await tx.submit(**MESSAGE)
            dlr = await rx.next_delivery()
            self.assertEqual(dlr.tlvs, {})
            self.assertEqual(parse_receipt(dlr.short_message).id, resp.message_id)
        return run(go())

    def test_v33_cannot_bind_transceiver_semantics(self):
        async def go():
            client = await self.h.connect()
            resp = await client.bind("transmitter", "esme1", "pw1", interface_version=0x33)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            from smpprouter.smpp import pdu as P
            resp = await client.send_pdu(P.DataSm(source_addr="1", destination_addr="1555"))
            self.assertEqual(resp.command_id, 0x80000000)   # generic_nack: no data_sm in v3.3
            self.assertEqual(resp.command_status, Status.ESME_RINVCMDID)
        return run(go())


class ReconnectTests(RouterTestCase):
    def test_a_submit_while_the_bind_is_away_is_held_until_it_is_back(self):
        async def go():
            connector = self.h.core.connectors["smsc"]
            client = await self.h.bind("transmitter")
            self.h.smsc.accounts["router"] = "changed"     # rebinds are refused for now
            self.h.smsc.disconnect_all()
            submitted = client.submit(**MESSAGE)
            await self.wait_held(connector)
            self.h.smsc.accounts["router"] = "secret"      # the next attempt binds
            resp = await submitted
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertTrue(connector.up)
            self.assertEqual(connector.counters["held_expired"], 0)
        return run(go())

    async def wait_held(self, connector):
        await wait_for(lambda: connector.counters["held"] >= 1, 5)


class NoHoldReconnectTests(ReconnectTests):
    harness_args = dict(connector="hold_unbound = 0")

    def test_a_submit_while_the_bind_is_away_is_held_until_it_is_back(self):
        async def go():
            connector = self.h.core.connectors["smsc"]
            client = await self.h.bind("transmitter")
            self.h.smsc.accounts["router"] = "changed"
            self.h.smsc.disconnect_all()
            await wait_for(lambda: not connector.up, 5)
            # hold_unbound = 0: refused at once while no bind is up...
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RSYSERR)
            # ...and ClientService brings one back by itself.
            self.h.smsc.accounts["router"] = "secret"
            await connector.when_up()
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
        return run(go())


class DecimalIdTests(RouterTestCase):
    harness_args = dict(users={"esme1": 'message_id = "decimal"', "esme2": "", "esme3": ""})

    def test_decimal_ids_in_resp_and_receipt(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**MESSAGE)
            self.assertTrue(resp.message_id.isdigit())
            dlr = await client.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
            self.assertEqual(parse_receipt(dlr.short_message).id, resp.message_id)
        return run(go())


class TimerTests(RouterTestCase):
    harness_args = dict(smpp="session_init_timeout = 1\nenquire_link_interval = 1")

    def test_a_connection_that_never_binds_is_closed(self):
        async def go():
            client = await self.h.connect()
            await client.wait_closed()   # by the router, after session_init_timeout
            self.assertFalse(client.connected)
        return run(go())

    def test_router_probes_a_silent_session(self):
        from twisted.internet import defer
        async def go():
            client = await self.h.bind("transceiver")
            probed = defer.Deferred()
            original = client.dataReceived

            def spy(data):
                if data[4:8] == b"\x00\x00\x00\x15" and not probed.called:
                    probed.callback(data)   # an enquire_link from the router
                original(data)
            client.dataReceived = spy
            await probed
            await client.enquire_link()     # and the session is still alive
            self.assertTrue(client.connected)
        return run(go())
    test_router_probes_a_silent_session.timeout = 10


FAILOVER_ROUTES = """
[[mt]]
name = "failover"
destination_prefix = ["1"]
connectors = ["dead", "smsc"]

[[mt]]
name = "only-dead"
destination_prefix = ["2"]
connectors = ["dead"]
"""


class FailoverTests(RouterTestCase):
    # "dead" points at a port where nothing listens: it never binds.
    harness_args = dict(routes=FAILOVER_ROUTES, extra="""
[connectors.dead]
host = "127.0.0.1"
port = 1
system_id = "router"
reconnect_min = 5
reconnect_max = 5
""")

    def test_message_goes_to_the_next_connector(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual(len(self.h.smsc.submits), 1)
            dlr = await client.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
        return run(go())

    def test_retryable_upstream_status_fails_over_and_final_status_is_kept(self):
        async def go():
            client = await self.h.bind("transmitter")
            resp = await client.submit(**dict(MESSAGE, destination_addr="2555"))
            self.assertEqual(resp.command_status, Status.ESME_RSYSERR)
            self.h.smsc.fail_next(Status.ESME_RTHROTTLED)
            resp = await client.submit(**MESSAGE)
            # dead is down and smsc throttled: the upstream's own status reaches the ESME.
            self.assertEqual(resp.command_status, Status.ESME_RTHROTTLED)
        return run(go())


class GracefulStopTests(RouterTestCase):
    def test_stop_unbinds_and_answers_everything_in_flight(self):
        async def go():
            client = await self.h.bind("transceiver")
            self.h.smsc.hold_responses = True
            pending = [client.submit(**MESSAGE) for _ in range(5)]
            await self.h.smsc.wait_submits(5)
            stopping = self.h.service.stopService()
            # New work is refused while the stop drains what is in flight...
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RTHROTTLED)
            self.assertFalse(client.unbound_by_peer)
            # ...the answers still owed keep flowing, and only then the unbind comes.
            self.h.smsc.hold_responses = False
            statuses = [(await d).command_status for d in pending]
            self.assertEqual(statuses, [Status.ESME_ROK] * 5)
            await stopping
            await client.wait_closed()
            self.assertTrue(client.unbound_by_peer)
            # A session that is unbinding may not submit: nothing new was accepted.
            self.assertEqual(len(self.h.smsc.submits), 5)
        return run(go())


class QueueBoundTests(RouterTestCase):
    harness_args = dict(redis="max_queue = 2", smsc=dict(retry_deliveries=True, retry_delay=0.2))

    def test_full_queue_refuses_upstream_and_counts(self):
        async def go():
            tx = await self.h.bind("transmitter")
            ids = [(await tx.submit(**MESSAGE)).message_id for _ in range(3)]
            # Two receipts fit; the third is refused upstream (temporary error), counted.
            await wait_for(
                lambda: self.h.smsc.deliver_resp_statuses[Status.ESME_RX_T_APPN] >= 1)
            self.assertGreaterEqual(self.h.core.counters["queue_full"], 1)
            self.assertEqual(self.h.redis.command("XLEN", "dlv:{esme1}"), 2)
            # The upstream keeps it and sends it again: once the user drains the
            # queue, all three arrive.
            rx = await self.h.bind("receiver")
            got = {(await rx.next_delivery()).tlvs["receipted_message_id"] for _ in range(3)}
            self.assertEqual(got, set(ids))
        return run(go())


class UnknownReceiptTests(RouterTestCase):
    # Receipts for ids the router never mapped (from before a dlr_expiry, say).
    harness_args = dict(connector="window = 4\nreceipt_wait = 2")

    def test_unknown_receipts_hold_at_most_half_the_window(self):
        async def go():
            answers = [self.h.smsc.send_mo(
                "15550001111", "MyBrand", b"id:nosuch%d stat:DELIVRD" % i, esm_class=0x04,
                tlvs={"receipted_message_id": "nosuch%d" % i}) for i in range(5)]
            statuses = [(await d).command_status for d in answers]
            # After a second, two may go on waiting (half the window) for a mapping
            # that never comes, then are dropped as unknown (ESME_ROK); three are
            # handed back to the upstream.
            self.assertEqual(sorted(statuses),
                             [Status.ESME_ROK] * 2 + [Status.ESME_RX_T_APPN] * 3)
            self.assertEqual(self.h.core.counters["receipts_deferred"], 3)
            self.assertEqual(self.h.core.counters["receipts_unknown"], 2)
        return run(go())


class V33UpstreamTests(RouterTestCase):
    harness_args = dict(connector='interface_version = 0x33\nbind = "transmitter+receiver"')
    upstream_binds = 2   # the transmitter and the receiver

    def test_payload_moves_into_short_message_and_receipt_correlates(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp, dlr = await self.round_trip(client, short_message=b"",
                                              tlvs={"message_payload": b"hello over v3.3"})
            upstream = self.h.smsc.submits[-1]
            self.assertEqual(upstream.short_message, b"hello over v3.3")
            self.assertEqual(upstream.tlvs, {})
        return run(go())

    def test_what_v33_cannot_carry_is_refused_precisely(self):
        from smpprouter.smpp import pdu as P
        async def go():
            client = await self.h.bind("transceiver")
            # A long message goes as the UDH parts v3.3 can carry (core/multipart.py).
            resp = await client.submit(**dict(MESSAGE, short_message=b"",
                                              tlvs={"message_payload": b"x" * 300}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            self.assertEqual([(p.esm_class & 0x40, p.tlvs) for p in self.h.smsc.submits],
                             [(0x40, {}), (0x40, {})])
            # What does not fit 255 parts is refused precisely, nothing sent.
            del self.h.smsc.submits[:]
            resp = await client.data_sm(source_addr="MyBrand", dest_addr_ton=1,
                                        destination_addr="15551234567",
                                        message_payload=b"x" * (255 * 153 + 1))
            self.assertEqual(resp.command_status, Status.ESME_RINVMSGLEN)
            self.assertEqual(self.h.smsc.submits, [])
            # A data_sm goes to a v3.3 upstream as the submit_sm it can take.
            resp = await client.send_pdu(P.DataSm(source_addr="MyBrand", dest_addr_ton=1,
                                                  destination_addr="15551234567",
                                                  tlvs={"message_payload": b"hi"}))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            upstream = self.h.smsc.submits[-1]
            self.assertEqual((upstream.command_id, upstream.short_message, upstream.tlvs),
                             (P.SubmitSm.command_id, b"hi", {}))
        return run(go())
