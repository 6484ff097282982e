"""Defects of issue 13, end to end: a test ESME, the router, the simulated SMSC, real Redis."""

from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.status import Status

from ..store.support import wait_for
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
