"""Defects of issue 13, end to end: a test ESME, the router, the simulated SMSC, real Redis."""

from twisted.internet import defer

from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status

from ..store.support import wait_for
from .harness import RouterHarness
from .test_router import MESSAGE, RouterTestCase, run


class DataSmFromUpstreamTests(RouterTestCase):
    """An upstream that sends receipts and MOs as data_sm (seed 002 allows it
    both ways): the router relays them, and answers the upstream ESME_ROK."""
    harness_args = dict(smsc=dict(delivery_command="data_sm"))

    def test_receipt_as_data_sm(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp, dlr = await self.round_trip(client)
            self.assertEqual(dlr.command_id, CommandId.deliver_sm)
            await self.h.smsc.wait_submits(1)
            # the receipt may reach the ESME before the SMSC reads its answer
            await wait_for(lambda: self.h.smsc.deliver_resp_statuses)
            self.assertEqual(self.h.smsc.deliver_resp_statuses, {Status.ESME_ROK: 1})
            answers = [pdu.command_id for session in self.h.smsc.sessions
                       for pdu in session.received if pdu.command_id & 0x80000000]
            self.assertEqual(answers, [CommandId.data_sm_resp])
        return run(go())

    def test_mo_as_data_sm(self):
        async def go():
            rx = await self.h.bind("receiver")
            resp = await self.h.smsc.send_mo("15550001111", "12345", b"hello by data_sm")
            self.assertEqual((resp.command_id, resp.command_status),
                             (CommandId.data_sm_resp, Status.ESME_ROK))
            mo = await rx.next_delivery()
            self.assertEqual((mo.source_addr, mo.destination_addr, mo.short_message),
                             ("15550001111", "12345", b"hello by data_sm"))
        return run(go())


class PermanentDeliveryRefusalTests(RouterTestCase):
    """An ESME answering a receipt's deliver_sm with a permanent error ends that
    delivery (acknowledged in Redis, counted, never sent again); a temporary one
    is sent again (test_router.OfflineUserTests.test_refused_delivery_is_sent_again)."""

    def refuse_with(self, status):
        async def go():
            rx = await self.h.bind("receiver", deliver_resp_status=status)
            tx = await self.h.bind("transmitter")
            resp = await tx.submit(**MESSAGE)
            dlr = await rx.next_delivery()
            self.assertEqual(dlr.tlvs["receipted_message_id"], resp.message_id)
            deliveries = self.h.core.deliveries
            await wait_for(lambda: deliveries.counters["ended"] == 1)
            # acknowledged: gone from the user's queue, pending entries included
            await wait_for(lambda: self.h.redis.command("XLEN", "dlv:{esme1}") == 0)
            self.assertEqual(self.h.redis.command("XPENDING", "dlv:{esme1}", "dlv")[0], 0)
            # not sent again: nothing held, no retry scheduled (the unit test
            # tests.core.test_delivery shows it on a clock); the next delivery is
            # the MO sent now
            user = deliveries._users["esme1"]
            self.assertEqual((user.held, [c for c in user.retries if c.active()]), (set(), []))
            rx.deliver_resp_status = Status.ESME_ROK
            await self.h.smsc.send_mo("15550001111", "12345", b"after")
            mo = await rx.next_delivery()
            self.assertEqual((mo.short_message, len(rx.deliveries)), (b"after", 2))
        return run(go())

    def test_permanent_application_error(self):
        return self.refuse_with(Status.ESME_RX_P_APPN)

    def test_reject_message_error(self):
        return self.refuse_with(Status.ESME_RX_R_APPN)


V33_ROUTES = """
[[mt]]
name = "with_fallback"
destination_prefix = ["1"]
connectors = ["smsc", "modern"]

[[mt]]
name = "v33_only"
destination_prefix = ["2"]
connectors = ["smsc"]
"""


class V33UpstreamTlvTests(RouterTestCase):
    """Towards a v3.3 upstream (`smsc`): SAR parts go with a concatenation UDH,
    DLT messages are refused there and go to the next route (`modern`, v3.4,
    the same simulator) or, with none, are answered ESME_RTLVNOTALLWD."""

    def setUp(self):
        # `modern` binds with an account of its own, so that each connector gets
        # the receipts of what it sent
        self.h = RouterHarness(routes=V33_ROUTES,
                               smsc=dict(accounts={"router": "secret", "modern": "secret2"}),
                               connector='interface_version = 0x33\n'
                                         'bind = "transmitter+receiver"')
        with open(self.h.config_path, "a") as f:
            f.write('\n[connectors.modern]\nhost = "127.0.0.1"\nport = %d\n'
                    'system_id = "modern"\npassword = "secret2"\n' % self.h.smsc_port)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.start())

    async def start(self):
        await self.h.start(binds=2)
        await self.h.core.connectors["modern"].when_up(1)

    def test_sar_parts_get_a_udh(self):
        async def go():
            client = await self.h.bind("transceiver")
            ids = []
            for seq, text in ((1, b"first part "), (2, b"second")):
                resp = await client.submit(**dict(
                    MESSAGE, destination_addr="25551234567", short_message=text,
                    tlvs={"sar_msg_ref_num": 0x42, "sar_total_segments": 2,
                          "sar_segment_seqnum": seq}))
                self.assertEqual(resp.command_status, Status.ESME_ROK)
                ids.append(resp.message_id)
            first, second = self.h.smsc.submits
            # the v3.3 connector's binds (`modern` binds too, in any order)
            self.assertEqual({s.version for s in self.h.smsc.sessions
                              if s.system_id == "router"}, {0x33})
            self.assertEqual((first.esm_class, first.short_message, first.tlvs),
                             (0x40, b"\x05\x00\x03\x42\x02\x01first part ", {}))
            self.assertEqual(second.short_message, b"\x05\x00\x03\x42\x02\x02second")
            # each part's receipt still correlates
            got = {(await client.next_delivery()).tlvs["receipted_message_id"]
                   for _ in ids}
            self.assertEqual(got, set(ids))
        return run(go())

    def test_dlt_goes_to_the_next_route_or_is_refused_precisely(self):
        dlt = {"pe_id": "1201159146", "template_id": "1207161234567890123"}

        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**dict(MESSAGE, tlvs=dlt))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            [upstream] = self.h.smsc.submits
            self.assertEqual((upstream.tlvs["pe_id"], upstream.tlvs["template_id"]),
                             (dlt["pe_id"], dlt["template_id"]))
            resp = await client.submit(**dict(MESSAGE, destination_addr="25551234567",
                                              tlvs=dlt))
            self.assertEqual(resp.command_status, Status.ESME_RTLVNOTALLWD)
            self.assertEqual(len(self.h.smsc.submits), 1)   # nothing reached the v3.3 bind
        return run(go())


class PerSecondThroughputTests(RouterTestCase):
    """A user licensed for 50 msg/s may send 50 at once (tests.core.test_admission
    shows the 51st refused on a clock)."""
    harness_args = dict(users={"esme1": "throughput = 50\nwindow = 200", "esme2": "",
                               "esme3": ""})

    def test_fifty_at_once_are_accepted(self):
        async def go():
            client = await self.h.bind("transmitter", window=200)
            sends = [client.submit(**dict(MESSAGE, registered_delivery=0))
                     for _ in range(150)]
            statuses = [resp.command_status for resp in await defer.gatherResults(sends)]
            self.assertEqual(statuses[:50], [Status.ESME_ROK] * 50)
            # 150 at once is more than a second's worth plus what refills meanwhile
            self.assertIn(Status.ESME_RTHROTTLED, statuses[50:])
        return run(go())


class V33SessionIdTests(RouterTestCase):
    """A v3.3 ESME gets message ids of at most 8 characters (v3.3's limit in
    submit_sm_resp), which its receipt and query_sm still carry."""
    harness_args = dict(users={"esme1": "", "esme2": 'message_id = "decimal"', "esme3": ""})

    def test_ids_fit_and_correlate(self):
        async def go():
            for user in ("esme1", "esme2"):
                rx = await self.h.bind("receiver", user, interface_version=0x33)
                tx = await self.h.bind("transmitter", user, interface_version=0x33)
                resp = await tx.submit(**MESSAGE)
                self.assertEqual(resp.command_status, Status.ESME_ROK)
                self.assertLessEqual(len(resp.message_id), 8)
                dlr = await rx.next_delivery()
                self.assertEqual(parse_receipt(dlr.short_message).id, resp.message_id)
                answer = await tx.query(resp.message_id, source_addr="MyBrand")
                self.assertEqual((answer.command_status, answer.message_state),
                                 (Status.ESME_ROK, 2))   # DELIVERED
                # a v3.4 session of the same user keeps the user's own form
                v34 = await self.h.bind("transmitter", user)
                resp = await v34.submit(**MESSAGE)
                self.assertGreater(len(resp.message_id), 8)
        return run(go())


class UnaskedReceiptTests(RouterTestCase):
    """An upstream that sends receipts for messages sent with registered_delivery
    0: the router answers them at once instead of holding a window slot for
    receipt_wait (2 s here), waiting for a mapping it never stored."""
    harness_args = dict(smsc=dict(receipts_unasked=True), connector="receipt_wait = 2")

    def test_answered_at_once(self):
        smsc = self.h.smsc

        async def go():
            client = await self.h.bind("transceiver")
            counters = self.h.core.counters
            unasked = dict(MESSAGE, registered_delivery=0)
            await client.submit(**unasked)
            # the first one of this connector parks (nothing was armed yet), and
            # arms the connector once its lookup found nothing
            await wait_for(lambda: "smsc" in self.h.core.receipts.unasked.armed)
            self.assertEqual(smsc.deliveries_pending, 1)
            for n in (1, 2, 3):
                resp = await client.submit(**unasked)
                self.assertEqual(resp.command_status, Status.ESME_ROK)
                await wait_for(lambda: smsc.deliver_resp_statuses[Status.ESME_ROK] == n,
                               timeout=1.0)
                self.assertEqual(smsc.deliveries_pending, 1)   # only the first still waits
            self.assertEqual(counters["receipts_unwanted"], 3)
            # from the first hit on, receipt-less messages also leave a marker in
            # Redis, for receipts that reach another process's bind
            markers = self.h.redis.command("KEYS", "map:{smsc}:*")
            self.assertEqual(len(markers), 2)
            # a receipt asked for is still relayed with the router's id
            await self.round_trip(client)
            self.assertEqual(len(client.deliveries), 1)
            # the first, parked, ends after receipt_wait as it always did
            await wait_for(lambda: smsc.deliveries_pending == 0)
            self.assertEqual(counters["receipts_unknown"], 1)
        return run(go())
