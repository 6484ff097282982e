"""Message hygiene end to end (issue 13; seed 002's refusal codes): number lists,
opt-in routes and duplicates, with a real router, real Redis, the simulated SMSC.

esme1 is synchronous, esme2 store and forward (refusals come as the router's
REJECTD receipt with seed 002's code), esme3 synchronous with a duplicate
window. The route "promo" (44...) requires opt-in. HoursTests has its own
routes with sending hours.
"""

import os
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from twisted.internet import utils
from twisted.trial.unittest import TestCase

from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status
from smpprouter.store import keys
from tests.redis_server import RedisServer

from ..store.support import wait_for
from . import harness
from .harness import RouterHarness, run
from .test_rest import RestTestCase, message
from .test_store_forward import FAST

ROK = Status.ESME_ROK
KOLKATA = ZoneInfo("Asia/Kolkata")
SMPPROUTER = os.path.join(os.path.dirname(sys.executable), "smpprouter")
ROUTES = """
[[mt]]
name = "us"
destination_prefix = ["1"]
connectors = ["smsc"]

[[mt]]
name = "promo"
destination_prefix = ["44"]
connectors = ["smsc"]
require_opt_in = true
"""
USERS = {"esme1": "", "esme2": "store_and_forward = true", "esme3": "duplicate_window = 60"}
SEED000 = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "receipt-maps",
                       "seed000.toml")
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)


class HygieneTestCase(TestCase):
    timeout = 60

    users = USERS

    def setUp(self):
        self.h = RouterHarness(routes=ROUTES, users=self.users, extra=FAST)
        self.redis = self.h.redis
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def listed(self, kind, numbers, user=""):
        await self.h.core.store.list_add(keys.number_list(kind, user), numbers)
        await self.h.core.hygiene.refresh()

    async def submit(self, client, **fields):
        return await client.submit(**dict(MESSAGE, **fields))

    async def refused_receipt(self, client, **fields):
        """A store-and-forward submission's ESME_ROK, then its receipt's (stat, err)."""
        resp = await self.submit(client, **fields)
        self.assertEqual(resp.command_status, ROK)
        dlr = await client.next_delivery()
        receipt = parse_receipt(dlr.short_message)
        self.assertEqual(receipt.id, resp.message_id)
        return receipt.stat, receipt.err


class ListTests(HygieneTestCase):

    def test_a_number_on_the_global_dnd_list_is_refused_and_never_sent(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            await self.listed("dnd", ["15551234567"])
            resp = await self.submit(client)
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            resp = await self.submit(client, destination_addr="+15550000000")
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual([p.destination_addr for p in self.h.smsc.submits],
                             ["+15550000000"])
            self.assertEqual(self.h.core.counters["refused_dnd"], 1)
        return run(go())

    def test_international_forms_of_a_listed_number_are_the_same_number(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            await self.listed("block", ["15551234567"])
            for form in ("+15551234567", "0015551234567"):
                resp = await self.submit(client, destination_addr=form)
                self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())

    def test_a_users_list_applies_to_that_user_only(self):
        async def go():
            one = await self.h.bind("transceiver", "esme1")
            three = await self.h.bind("transceiver", "esme3")
            await self.listed("optout", ["15551234567"], "esme1")
            self.assertEqual((await self.submit(one)).command_status, Status.ESME_RINVDSTADR)
            self.assertEqual((await self.submit(three)).command_status, ROK)
        return run(go())

    def test_store_and_forward_gets_the_routers_receipt_with_the_seeds_code(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            await self.listed("dnd", ["15551111111"])
            await self.listed("block", ["15552222222"])
            await self.listed("optout", ["15553333333"], "esme2")
            for number, err in (("15551111111", "408"), ("15552222222", "450"),
                                ("15553333333", "456"), ("447700900001", "455")):
                self.assertEqual(await self.refused_receipt(client, destination_addr=number),
                                 ("REJECTD", err))
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())

    def test_dnd_is_checked_before_the_blocklist(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            await self.listed("block", ["15551111111"])
            await self.listed("dnd", ["15551111111"], "esme2")
            self.assertEqual(await self.refused_receipt(client, destination_addr="15551111111"),
                             ("REJECTD", "408"))
        return run(go())

    def test_an_opt_in_route_takes_only_opted_in_numbers(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            promo = dict(destination_addr="447700900001")
            # no opt-in list at all: refused without asking Redis
            self.assertEqual((await self.submit(client, **promo)).command_status,
                             Status.ESME_RINVDSTADR)
            await self.listed("optin", ["447700900001"], "esme1")
            self.assertEqual((await self.submit(client, **promo)).command_status, ROK)
            resp = await self.submit(client, destination_addr="447700900002")
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            await self.listed("optin", ["447700900002"])   # the global list counts too
            resp = await self.submit(client, destination_addr="447700900002")
            self.assertEqual(resp.command_status, ROK)
            # routes without require_opt_in do not care
            self.assertEqual((await self.submit(client)).command_status, ROK)
            self.assertEqual(self.h.core.counters["refused_optin"], 2)
        return run(go())

    def test_a_listed_number_removed_by_the_cli_is_sent_again(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            path = os.path.join(self.h.dir, "dnd.csv")
            with open(path, "w") as f:
                f.write("number,reason\n+1 555 123 4567,asked\n15559999999,asked\n")
            self.assertEqual((await self.cli("import", "dnd", path))[:2],
                             (0, "dnd (global): 2 of 2 added (the rest were there)\n"))
            self.assertEqual((await self.cli("count", "dnd"))[:2],
                             (0, "dnd (global): 2 numbers\n"))
            await self.h.core.hygiene.refresh()
            self.assertEqual((await self.submit(client)).command_status,
                             Status.ESME_RINVDSTADR)
            self.assertEqual((await self.cli("remove", "dnd", "15551234567", "15559999999"))[0], 0)
            self.assertEqual(self.redis.command("SMEMBERS", keys.LIST_INDEX.decode()), [])
            await self.h.core.hygiene.refresh()
            self.assertFalse(self.h.core.hygiene.active)
            self.assertEqual((await self.submit(client)).command_status, ROK)
        return run(go())

    def test_the_cli_names_what_is_wrong(self):
        async def go():
            code, _, err = await self.cli("add", "dnd", "12x4")
            self.assertEqual(code, 1)
            self.assertIn("'12x4' is not a phone number", err)
            code, _, err = await self.cli("count", "optin", "--user", "esme9")
            self.assertEqual(code, 1)
            self.assertIn("no user 'esme9'", err)
            path = os.path.join(self.h.dir, "bad.csv")
            with open(path, "w") as f:
                f.write("15551234567\nnot a number\n")
            code, _, err = await self.cli("import", "block", path)
            self.assertEqual((code, "line 2" in err), (1, True))
            self.assertEqual(self.redis.command("EXISTS", "lst:{block}"), 0)
        return run(go())

    async def cli(self, *argv):
        """The operator's CLI, run without blocking the reactor the router in
        this process runs on (a blocking call longer than the store's timeout
        would fail the router's own Redis commands)."""
        out, err, code = await utils.getProcessOutputAndValue(
            SMPPROUTER, ["lists", "--config", self.h.config_path] + list(argv), env=os.environ)
        return code, out.decode(), err.decode()


class SenderListTests(HygieneTestCase):
    """Seed 002's 451 SNDR-BLOCK: blocked sender ids, on the source as the ESME sent it."""

    def test_a_blocked_sender_is_refused_in_any_case_and_never_sent(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            self.assertEqual((await self.cli("add", "sender", "SpamCo", "+447700900001"))[:2],
                             (0, "sender (global): 2 of 2 added (the rest were there)\n"))
            await self.h.core.hygiene.refresh()
            for source, ton in (("SPAMCO", 5), ("spamco", 5), ("447700900001", 1),
                                ("00447700900001", 1)):
                resp = await self.submit(client, source_addr=source, source_addr_ton=ton)
                self.assertEqual(resp.command_status, Status.ESME_RINVSRCADR, source)
            self.assertEqual((await self.submit(client)).command_status, ROK)   # MyBrand
            self.assertEqual([p.source_addr for p in self.h.smsc.submits], ["MyBrand"])
            self.assertEqual(self.h.core.counters["refused_sender"], 4)
        return run(go())

    def test_a_users_sender_list_applies_to_that_user_only(self):
        async def go():
            one = await self.h.bind("transceiver", "esme1")
            three = await self.h.bind("transceiver", "esme3")
            await self.listed("sender", ["mybrand"], "esme1")
            self.assertEqual((await self.submit(one)).command_status, Status.ESME_RINVSRCADR)
            self.assertEqual((await self.submit(three)).command_status, ROK)
        return run(go())

    def test_store_and_forward_gets_rejectd_with_451_before_the_number_lists(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            await self.listed("sender", ["mybrand"], "esme2")
            await self.listed("dnd", ["15551234567"])
            self.assertEqual(await self.refused_receipt(client), ("REJECTD", "451"))
            self.assertEqual(await self.refused_receipt(client, source_addr="Other"),
                             ("REJECTD", "408"))
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())

    def test_the_cli_names_a_bad_sender_id(self):
        async def go():
            code, _, err = await self.cli("add", "sender", "A" * 21)
            self.assertEqual(code, 1)
            self.assertIn("is not a sender id", err)
            code, _, err = await self.cli("remove", "sender")
            self.assertEqual(code, 1)
            self.assertIn("remove: give the sender ids", err)
            path = os.path.join(self.h.dir, "senders.csv")
            with open(path, "w") as f:
                f.write("sender id,why\nSpamCo,complaints\nMYBRAND\n")
            self.assertEqual((await self.cli("import", "sender", path, "--user", "esme1"))[:2],
                             (0, "sender of esme1: 2 of 2 added (the rest were there)\n"))
            self.assertEqual((await self.cli("count", "sender", "--user", "esme1"))[:2],
                             (0, "sender of esme1: 2 sender ids\n"))
            self.assertEqual(sorted(self.redis.command("SMEMBERS", "lst:{sender:esme1}")),
                             ["mybrand", "spamco"])
        return run(go())

    cli = ListTests.cli


class Seed000SenderTests(HygieneTestCase):
    users = dict(USERS, esme2='store_and_forward = true\nreceipt_codes = "%s"' % SEED000)

    def test_a_seed_000_user_hears_invalid_originator(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            await self.listed("sender", ["mybrand"])
            self.assertEqual(await self.refused_receipt(client), ("REJECTD", "015"))
        return run(go())


class DuplicateTests(HygieneTestCase):

    def test_the_same_message_again_within_the_window_is_refused(self):
        async def go():
            client = await self.h.bind("transceiver", "esme3")
            self.assertEqual((await self.submit(client)).command_status, ROK)
            self.assertEqual((await self.submit(client)).command_status,
                             Status.ESME_RSUBMITFAIL)
            # another text, another destination: not the same message
            self.assertEqual((await self.submit(client, short_message=b"hello")).command_status,
                             ROK)
            resp = await self.submit(client, destination_addr="15550000000")
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual(len(self.h.smsc.submits), 3)
            ttl = [self.redis.command("TTL", k) for k in
                   self.redis.command("KEYS", "dup:{esme3}:*")]
            self.assertEqual(len(ttl), 3)
            self.assertTrue(all(0 < t <= 60 for t in ttl), ttl)
        return run(go())

    def test_users_without_a_window_may_repeat(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            for _ in range(2):
                self.assertEqual((await self.submit(client)).command_status, ROK)
            self.assertEqual(self.redis.command("KEYS", "dup:*"), [])
        return run(go())

    def test_a_message_not_accepted_may_be_sent_again(self):
        async def go():
            client = await self.h.bind("transceiver", "esme3")
            self.h.smsc.fail_next(Status.ESME_RSUBMITFAIL)
            self.assertEqual((await self.submit(client)).command_status,
                             Status.ESME_RSUBMITFAIL)
            self.assertEqual((await self.submit(client)).command_status, ROK)
        return run(go())


class StoreForwardDuplicateTests(TestCase):
    timeout = 60

    def setUp(self):
        users = dict(USERS, esme2="store_and_forward = true\nduplicate_window = 60")
        self.h = RouterHarness(routes=ROUTES, users=users, extra=FAST)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_a_duplicate_gets_a_rejectd_receipt_with_460(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            first = await client.submit(**MESSAGE)
            second = await client.submit(**MESSAGE)
            self.assertEqual((first.command_status, second.command_status), (ROK, ROK))
            receipts = {}
            for _ in range(2):
                r = parse_receipt((await client.next_delivery()).short_message)
                receipts[r.id] = (r.stat, r.err)
            self.assertEqual(receipts[second.message_id], ("REJECTD", "460"))
            self.assertNotEqual(receipts[first.message_id][0], "REJECTD")
            self.assertEqual(len(self.h.smsc.submits), 1)
        return run(go())


class RestSenderTests(RestTestCase):
    """An HTTP user's blocked sender id: accepted with its id (1001), then the
    router's REJECTD receipt with 451, as a store-and-forward user gets it."""

    def test_a_blocked_senderid_gets_a_rejectd_receipt_with_451(self):
        async def go():
            receiver = await self.h.bind("receiver", "esme1")
            await self.h.core.store.list_add(keys.number_list("sender"), ["mybrand"])
            await self.h.core.hygiene.refresh()
            answer = await self.send(message(["15551230001"]))   # senderid MYBRAND
            self.assertEqual(answer.codes(), ["1001"])
            transid = answer.json["response"][0]["transid"]
            await wait_for(lambda: receiver.deliveries)
            receipt = parse_receipt(receiver.deliveries[0].short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err), (transid, "REJECTD", "451"))
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())


class PartTests(HygieneTestCase):
    """A part the ESME split itself (UDHI) must be one SMS: checked at submit."""

    UDH = b"\x05\x00\x03\x07\x02\x01"

    def test_parts_that_are_no_sms_are_refused_before_the_upstream(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            cases = (
                (dict(short_message=self.UDH + b"a" * 153), ROK),
                (dict(short_message=self.UDH + b"a" * 154), Status.ESME_RINVMSGLEN),
                (dict(short_message=self.UDH + b"\x00a" * 67, data_coding=8), ROK),
                (dict(short_message=self.UDH + b"\x00a" * 68, data_coding=8),
                 Status.ESME_RINVMSGLEN),
                (dict(short_message=b"\x0b\x00\x03\x07\x02\x01hello"),
                 Status.ESME_RINVESMCLASS),   # UDHL past the message
                (dict(short_message=b"hello there"), Status.ESME_RINVESMCLASS),
            )
            for fields, status in cases:
                resp = await self.submit(client, esm_class=0x40, **fields)
                self.assertEqual(resp.command_status, status, fields)
            self.assertEqual(len(self.h.smsc.submits), 2)
            # without UDHI the same octets are text, and a long text is not a part
            resp = await self.submit(client, short_message=b"hello there" * 20)
            self.assertEqual(resp.command_status, ROK)
        return run(go())


def _hours_routes():
    """Routes whose hours (Asia/Kolkata) are closed now: 9111... waits, 9122...
    refuses; 9133... is open now."""
    hour = datetime.now(KOLKATA).hour
    closed = "%02d:00-%02d:00" % ((hour + 2) % 24, (hour + 3) % 24)
    opened = "%02d:00-%02d:00" % ((hour - 1) % 24, (hour + 2) % 24)
    rule = ('[[mt]]\nname = "%s"\ndestination_prefix = ["%s"]\nconnectors = ["smsc"]\n'
            'hours = "%s"\ntimezone = "Asia/Kolkata"\noutside_hours = "%s"\n')
    return (rule % ("wait", "9111", closed, "wait") + rule % ("refuse", "9122", closed, "refuse")
            + rule % ("open", "9133", opened, "refuse")), closed


class HoursTests(TestCase):
    """Promotional traffic keeps a route's hours in the destination's time zone."""
    timeout = 60

    def setUp(self):
        routes, self.closed = _hours_routes()
        self.h = RouterHarness(routes=routes, extra=FAST, users={
            "esme1": "", "esme2": "store_and_forward = true",
            "esme3": 'traffic = "promotional"'})
        self.redis = self.h.redis
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def opening(self):
        start = int(self.closed[:2])
        now = datetime.now(KOLKATA)
        opening = now.replace(hour=start, minute=0, second=0, microsecond=0)
        if opening <= now:
            opening += timedelta(days=1)
        return opening.timestamp()

    def test_outside_hours_a_promotional_message_waits_for_the_opening(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            resp = await client.submit(**dict(MESSAGE, destination_addr="911100000001",
                                              service_type="PROMO"))
            self.assertEqual(resp.command_status, ROK)
            due = self.redis.command("ZSCORE", "sched:{smsc}", resp.message_id)
            self.assertEqual(float(due), self.opening() * 1000)
            self.assertEqual(self.h.smsc.submits, [])
            # the same message, transactional: goes now
            resp = await client.submit(**dict(MESSAGE, destination_addr="911100000001"))
            self.assertEqual(resp.command_status, ROK)
            self.assertEqual(len(self.h.smsc.submits), 1)
            self.assertEqual(self.redis.command("ZCARD", "sched:{smsc}"), 1)
        return run(go())

    def test_a_promotional_user_waits_without_marking_its_messages(self):
        async def go():
            client = await self.h.bind("transceiver", "esme3")
            resp = await client.submit(**dict(MESSAGE, destination_addr="911100000001"))
            self.assertEqual(resp.command_status, ROK)
            self.assertIsNotNone(self.redis.command("ZSCORE", "sched:{smsc}",
                                                    resp.message_id))
            resp = await client.submit(**dict(MESSAGE, destination_addr="913300000001"))
            self.assertEqual(resp.command_status, ROK)    # open now: sent
            self.assertEqual(len(self.h.smsc.submits), 1)
        return run(go())

    def test_outside_hours_a_refusing_route_answers_457(self):
        async def go():
            sync = await self.h.bind("transceiver", "esme1")
            promo = dict(MESSAGE, destination_addr="912200000001", service_type="PROMO")
            self.assertEqual((await sync.submit(**promo)).command_status,
                             Status.ESME_RSUBMITFAIL)
            stored = await self.h.bind("transceiver", "esme2")
            resp = await stored.submit(**promo)
            self.assertEqual(resp.command_status, ROK)
            receipt = parse_receipt((await stored.next_delivery()).short_message)
            self.assertEqual((receipt.id, receipt.stat, receipt.err),
                             (resp.message_id, "REJECTD", "457"))
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())

    def test_a_message_that_expires_before_the_opening_is_refused(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            resp = await client.submit(**dict(MESSAGE, destination_addr="911100000001",
                                              service_type="PROMO",
                                              validity_period="000000003000000R"))
            self.assertEqual(resp.command_status, Status.ESME_RSUBMITFAIL)
        return run(go())


class ListsUnreadableTests(TestCase):
    """A number the lists might forbid is never sent unchecked."""
    timeout = 60

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.patch(harness, "shared", lambda: self.redis)
        self.h = RouterHarness(routes=ROUTES, users=USERS, extra=FAST)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_while_redis_is_away_a_listed_users_message_waits(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            await self.h.core.store.list_add(keys.number_list("dnd"), ["15550000000"])
            await self.h.core.hygiene.refresh()
            self.redis.stop()
            await wait_for(lambda: not self.h.core.store.available)
            # no receipt asked for: without lists it would need no Redis at all
            resp = await client.submit(**dict(MESSAGE, registered_delivery=0))
            self.assertEqual(resp.command_status, Status.ESME_RTHROTTLED)
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())
