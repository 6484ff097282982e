"""Defects of issue 13, end to end: a test ESME, the router, the simulated SMSC, real Redis."""

from smpprouter.smpp.commands import CommandId
from smpprouter.smpp.status import Status

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
