"""Store and forward end to end: the outbound queue, schedules, validity,
query_sm / cancel_sm / replace_sm and submit_multi, against a real router,
Redis and simulated SMSC.

esme1 is synchronous (ESME_ROK after the upstream's), esme2 is a
store-and-forward user (ESME_ROK once its message is durable in Redis).
"""

import time

from twisted.trial.unittest import TestCase

from smpprouter.smpp.pdu import DistributionList
from smpprouter.smpp.receipt import MessageState, parse_receipt
from smpprouter.smpp.status import Status

from ..store.support import wait_for
from .harness import RouterHarness, run

ROK = Status.ESME_ROK
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)
FAST = """
[outbound]
retry_min = 0.05
retry_max = 0.2
schedule_interval = 0.1
"""


def relative(seconds):
    """An SMPP relative time, seconds from now."""
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return "000000%02d%02d%02d000R" % (hours, minutes, seconds)


class StoreForwardTestCase(TestCase):
    timeout = 30

    def setUp(self):
        self.h = RouterHarness(users={"esme1": "", "esme2": "store_and_forward = true",
                                      "esme3": ""}, extra=FAST)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def receipt(self, client, message_id, timeout=10):
        """The next delivery on client, checked to be the receipt of message_id."""
        dlr = await client.next_delivery()
        self.assertEqual(dlr.esm_class & 0x3C, 0x04)
        self.assertEqual(dlr.tlvs["receipted_message_id"], message_id)
        self.assertEqual(parse_receipt(dlr.short_message).id, message_id)
        return dlr


class QueueTests(StoreForwardTestCase):
    def test_stored_then_sent_and_its_receipt_carries_our_id(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, ROK)
            self.assertTrue(resp.message_id)
            dlr = await self.receipt(client, resp.message_id)
            self.assertEqual(parse_receipt(dlr.short_message).stat, "DELIVRD")
            upstream = self.h.smsc.submits[-1]
            self.assertEqual(upstream.destination_addr, MESSAGE["destination_addr"])
            self.assertEqual(upstream.short_message, MESSAGE["short_message"])
            self.assertEqual(self.h.smsc.message_count, 1)
            # Nothing is left in the queue once the upstream answered.
            self.assertEqual(self.h.redis.command("XLEN", "out:{smsc}"), 0)
        return run(go())

    def test_an_upstream_that_throttles_half_the_traffic_still_gets_everything(self):
        async def go():
            self.h.smsc.throttle_ratio = 0.5
            client = await self.h.bind("transceiver", "esme2")
            resps = [await client.submit(**dict(MESSAGE, short_message=b"m%d" % i))
                     for i in range(200)]
            self.assertEqual({r.command_status for r in resps}, {ROK})
            await wait_for(lambda: len(client.deliveries) >= 200, 20)
            got = sorted(d.tlvs["receipted_message_id"] for d in client.deliveries)
            self.assertEqual(got, sorted(r.message_id for r in resps))
            stats = self.h.smsc.stats()
            self.assertEqual(stats["unique_submits"], 200)
            self.assertGreaterEqual(self.h.smsc.throttled_sent, 100)
            self.assertGreaterEqual(self.h.core.counters["outbound_throttled"], 100)
        return run(go())

    def test_a_permanent_upstream_error_ends_in_a_rejectd_receipt(self):
        async def go():
            self.h.smsc.fail_next(Status.ESME_RINVDSTADR)
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, ROK)
            dlr = await self.receipt(client, resp.message_id)
            receipt = parse_receipt(dlr.short_message)
            self.assertEqual(receipt.stat, "REJECTD")
            self.assertEqual(int(receipt.err), Status.ESME_RINVDSTADR)
            self.assertEqual(dlr.tlvs["message_state"], MessageState.REJECTED)
            answer = await client.query(resp.message_id)
            self.assertEqual(answer.message_state, MessageState.REJECTED)
        return run(go())

    def test_validity_passed_while_queued_gives_an_expired_receipt(self):
        async def go():
            self.h.smsc.fail_next(Status.ESME_RTHROTTLED, 10 ** 6)   # never takes it
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(validity_period=relative(1), **MESSAGE)
            self.assertEqual(resp.command_status, ROK)
            dlr = await self.receipt(client, resp.message_id)
            self.assertEqual(parse_receipt(dlr.short_message).stat, "EXPIRED")
            self.assertEqual(parse_receipt(dlr.short_message).err, "016")  # seed 000: at gateway
            self.assertEqual(dlr.tlvs["message_state"], MessageState.EXPIRED)
            answer = await client.query(resp.message_id)
            self.assertEqual(answer.command_status, ROK)
            self.assertEqual((answer.message_state, answer.error_code),
                             (MessageState.EXPIRED, 16))
            self.assertTrue(answer.final_date)
        return run(go())

    def test_validity_passes_while_the_upstream_is_away_everywhere(self):
        async def go():
            connector = self.h.core.connectors["smsc"]
            client = await self.h.bind("transceiver", "esme2")
            self.h.smsc.accounts["router"] = "changed"    # its binds are refused now
            self.h.smsc.disconnect_all()
            await wait_for(lambda: not connector.up, 5)
            resp = await client.submit(validity_period=relative(1), **MESSAGE)
            self.assertEqual(resp.command_status, ROK)
            dlr = await self.receipt(client, resp.message_id)
            self.assertEqual(parse_receipt(dlr.short_message).stat, "EXPIRED")
            self.assertEqual(parse_receipt(dlr.short_message).err, "016")
            self.assertEqual(self.h.smsc.message_count, 0)
            answer = await client.query(resp.message_id)
            self.assertEqual((answer.message_state, answer.error_code),
                             (MessageState.EXPIRED, 16))
        return run(go())

    def test_a_validity_already_past_is_refused(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(validity_period="200101000000000+", **MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_RINVEXPIRY)
        return run(go())


class QueueFullTests(StoreForwardTestCase):
    def setUp(self):
        self.h = RouterHarness(users={"esme1": "", "esme2": "store_and_forward = true"},
                               extra=FAST + "max_queue = 2\n")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_beyond_the_connectors_bound_is_esme_rmsgqful(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            later = dict(MESSAGE, schedule_delivery_time=relative(3600))
            resps = [await client.submit(**dict(later, short_message=b"m%d" % i))
                     for i in range(3)]
            # Scheduled messages count: two held, the third refused as queue full.
            self.assertEqual([r.command_status for r in resps],
                             [ROK, ROK, Status.ESME_RMSGQFUL])
            self.assertEqual(self.h.redis.command("ZCARD", "sched:{smsc}"), 2)
            # Room again once one is cancelled.
            resp = await client.cancel(message_id=resps[0].message_id,
                                       source_addr=MESSAGE["source_addr"],
                                       source_addr_ton=5)
            self.assertEqual(resp.command_status, ROK)
            resp = await client.submit(**later)
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual(self.h.smsc.message_count, 0)
        return run(go())


class ScheduleTests(StoreForwardTestCase):
    def test_a_scheduled_message_of_a_synchronous_user_waits_for_its_time(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            asked = time.time()
            resp = await client.submit(schedule_delivery_time=relative(2), **MESSAGE)
            self.assertEqual(resp.command_status, ROK)   # stored, not sent
            self.assertEqual(self.h.smsc.message_count, 0)
            self.assertEqual((await client.query(resp.message_id)).message_state,
                             MessageState.ENROUTE)
            await self.h.smsc.wait_submits(1)
            self.assertGreaterEqual(time.time() - asked, 1.0)
            await self.receipt(client, resp.message_id)
        return run(go())

    def test_cancel_while_scheduled(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            doomed = await client.submit(schedule_delivery_time=relative(1),
                                         **dict(MESSAGE, short_message=b"doomed"))
            later = await client.submit(schedule_delivery_time=relative(2),
                                        **dict(MESSAGE, short_message=b"later"))
            self.assertEqual((await client.cancel(doomed.message_id)).command_status, ROK)
            answer = await client.query(doomed.message_id)
            self.assertEqual(answer.message_state, MessageState.DELETED)
            self.assertEqual((await client.cancel(doomed.message_id)).command_status,
                             Status.ESME_RCANCELFAIL)
            await self.receipt(client, later.message_id)
            self.assertEqual([s.short_message for s in self.h.smsc.submits], [b"later"])
        return run(go())

    def test_replace_while_scheduled_sends_the_new_text(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            resp = await client.submit(schedule_delivery_time=relative(1), **MESSAGE)
            answer = await client.replace(resp.message_id, b"replaced",
                                          registered_delivery=1)
            self.assertEqual(answer.command_status, ROK)
            await self.receipt(client, resp.message_id)
            self.assertEqual([s.short_message for s in self.h.smsc.submits], [b"replaced"])
            # Sent: too late to replace or cancel.
            answer = await client.replace(resp.message_id, b"again")
            self.assertEqual(answer.command_status, Status.ESME_RREPLACEFAIL)
            answer = await client.cancel(resp.message_id)
            self.assertEqual(answer.command_status, Status.ESME_RCANCELFAIL)
        return run(go())


class QueryTests(StoreForwardTestCase):
    def test_query_after_delivrd_gives_state_2_for_both_modes(self):
        async def go():
            for user in ("esme1", "esme2"):
                client = await self.h.bind("transceiver", user)
                resp = await client.submit(**MESSAGE)
                await self.receipt(client, resp.message_id)
                answer = await wait_for_state(client, resp.message_id,
                                              MessageState.DELIVERED)
                self.assertEqual(answer.command_status, ROK)
                self.assertEqual(answer.message_id, resp.message_id)
                self.assertTrue(answer.final_date)
        return run(go())

    def test_another_users_message_is_not_found(self):
        async def go():
            owner = await self.h.bind("transceiver", "esme2")
            resp = await owner.submit(**MESSAGE)
            other = await self.h.bind("transceiver", "esme3")
            answer = await other.query(resp.message_id)
            self.assertEqual(answer.command_status, Status.ESME_RQUERYFAIL)
            answer = await other.cancel(resp.message_id)
            self.assertEqual(answer.command_status, Status.ESME_RCANCELFAIL)
            answer = await other.query("ffffffffffff")
            self.assertEqual(answer.command_status, Status.ESME_RQUERYFAIL)
        return run(go())


class SubmitMultiTests(StoreForwardTestCase):
    def test_fans_out_and_lists_each_failure(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            resp = await client.submit_multi(
                ["15550000001", (1, 1, "9990001"), DistributionList("friends"),
                 "15550000002"],
                source_addr="MyBrand", short_message=b"to many", registered_delivery=1)
            self.assertEqual(resp.command_status, ROK)
            self.assertTrue(resp.message_id)
            failed = {u.addr: u.error_status for u in resp.unsuccess_smes}
            self.assertEqual(failed, {"9990001": Status.ESME_RINVDSTADR,
                                      "friends": Status.ESME_RINVDLNAME})
            await wait_for(lambda: self.h.smsc.message_count >= 2, 10)
            self.assertEqual(sorted(s.destination_addr for s in self.h.smsc.submits),
                             ["15550000001", "15550000002"])
        return run(go())


async def wait_for_state(client, message_id, state, timeout=5.0):
    """query_sm until the message reaches state (its receipt's outcome is
    recorded a moment after the receipt is queued)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.query(message_id)
        if answer.message_state == state or time.monotonic() > deadline:
            return answer
        await client.enquire_link()
