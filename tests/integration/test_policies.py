"""Account policies of issue 13, end to end: bind modes, system_type, receipts as
registered_delivery asked, accounts that expire, doors and operations."""

import time
from datetime import datetime, timezone

from twisted.internet import reactor, task

from smpprouter.http.websmscodes import LINES
from smpprouter.smpp.receipt import MessageState, parse_receipt
from smpprouter.smpp.status import Status, status_name
from tests.http.client import fetch

from ..store.support import wait_for
from .harness import PASSWORDS, run
from .test_rest import SEND, RestTestCase, message, user
from .test_router import MESSAGE, RouterTestCase

PAST = "expires = 2020-01-01T00:00:00Z"


def toml_time(unix_time):
    return datetime.fromtimestamp(unix_time, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class BindModeTests(RouterTestCase):
    """Seed 003: "only 1 TRx/Rx with multiple Tx Session": max_receivers = 1."""
    harness_args = dict(users={"esme1": "max_binds = 4\nmax_receivers = 1", "esme2": ""})

    async def try_bind(self, mode, user="esme1"):
        client = await self.h.connect()
        resp = await client.bind(mode, user, PASSWORDS[user])
        if resp.command_status != Status.ESME_ROK:
            await client.wait_closed()
        return client, status_name(resp.command_status)

    def test_one_receiver_and_many_transmitters(self):
        async def go():
            trx, status = await self.try_bind("transceiver")
            self.assertEqual(status, "ESME_ROK")
            for mode in ("receiver", "transceiver"):
                _, status = await self.try_bind(mode)
                self.assertEqual(status, "ESME_RBINDFAIL", mode)
            for _ in range(3):
                _, status = await self.try_bind("transmitter")
                self.assertEqual(status, "ESME_ROK")
            # max_binds still counts them all: a fifth session is one too many
            _, status = await self.try_bind("transmitter")
            self.assertEqual(status, "ESME_RBINDFAIL")
            # The receiver goes: its place can be taken (the release reaches
            # Redis just after the unbind_resp: a bounded retry).
            await trx.unbind()
            await trx.wait_closed()
            deadline = time.monotonic() + 5
            while True:
                rx, status = await self.try_bind("receiver")
                if status == "ESME_ROK" or time.monotonic() > deadline:
                    break
                await task.deferLater(reactor, 0.05, lambda: None)
            # max_binds 4 counts it: the three transmitters and this receiver
            self.assertEqual(status, "ESME_ROK")
            members = self.h.redis.command("ZRANGE", "sess:{esme1}", 0, -1)
            self.assertEqual(sorted(m.endswith(":rx") for m in members),
                             [False, False, False, True])
        return run(go())

    def test_without_max_receivers_receivers_are_only_bound_by_max_binds(self):
        async def go():
            for mode in ("receiver", "receiver", "transceiver"):
                _, status = await self.try_bind(mode, "esme2")
                self.assertEqual(status, "ESME_ROK")
        return run(go())


class SystemTypeTests(RouterTestCase):
    harness_args = dict(users={"esme1": 'system_type = "smpp"', "esme2": ""})

    async def bind_status(self, user, system_type):
        client = await self.h.connect()
        resp = await client.bind("transceiver", user, PASSWORDS[user], system_type=system_type)
        if resp.command_status == Status.ESME_ROK:
            await client.unbind()
        return status_name(resp.command_status)

    def test_any_system_type_unless_the_user_requires_one(self):
        async def go():
            # seed 002's ESMEs send "smpp", seed 003's nothing
            for sent in ("smpp", "", "VMA"):
                self.assertEqual(await self.bind_status("esme2", sent), "ESME_ROK", sent)
            self.assertEqual(await self.bind_status("esme1", "smpp"), "ESME_ROK")
            self.assertEqual(await self.bind_status("esme1", "SMPP"), "ESME_ROK")
            for sent in ("", "other"):
                self.assertEqual(await self.bind_status("esme1", sent), "ESME_RINVSYSTYP", sent)
        return run(go())


def receipts_of(client):
    return [parse_receipt(d.short_message) for d in client.deliveries]


class ReceiptTestCase(RouterTestCase):

    async def settle(self, client, answered, relayed):
        """Once the upstream has had `answered` deliver_sm_resp ESME_ROK (each
        given once its receipt was queued or dropped) and the client got
        `relayed` receipts, with nothing left in its queue."""
        smsc = self.h.smsc
        await wait_for(lambda: smsc.deliver_resp_statuses[Status.ESME_ROK] == answered
                       and len(client.deliveries) >= relayed
                       and self.h.redis.command("XLEN", "dlv:{esme1}") == 0, timeout=10)
        self.assertEqual(len(client.deliveries), relayed)


class ReceiptsAsAskedTests(ReceiptTestCase):
    """Whatever the upstream sends (this one a receipt for every message), the user
    gets only the receipts registered_delivery asked for."""
    harness_args = dict(smsc=dict(receipts_unasked=True))

    def test_failures_only_drops_a_delivered_receipt(self):
        async def go():
            client = await self.h.bind("transceiver")
            first = await client.submit(**dict(MESSAGE, registered_delivery=2))
            second = await client.submit(**dict(MESSAGE, registered_delivery=1))
            await self.settle(client, 2, 1)
            self.assertEqual([r.id for r in receipts_of(client)], [second.message_id])
            self.assertGreaterEqual(self.h.core.counters["receipts_unwanted"], 1)
            # a failure is what value 2 asks for
            self.h.smsc.receipt_stat = "UNDELIV"
            third = await client.submit(**dict(MESSAGE, registered_delivery=2))
            await self.settle(client, 3, 2)
            self.assertEqual((receipts_of(client)[1].id, receipts_of(client)[1].stat),
                             (third.message_id, "UNDELIV"))
            self.assertNotEqual(first.message_id, third.message_id)
        return run(go())


class SplitReceiptsAsAskedTests(ReceiptTestCase):
    """A message the router split has one receipt; with registered_delivery 2 and
    every part delivered, none."""
    harness_args = dict(smsc=dict(receipts_unasked=True))

    def test_a_split_message_delivered_gives_no_receipt_to_failures_only(self):
        async def go():
            client = await self.h.bind("transceiver")
            long = dict(MESSAGE, short_message=b"", tlvs={"message_payload": b"x" * 400})
            await client.submit(**dict(long, registered_delivery=2))
            await self.h.smsc.wait_submits(3)
            last = await client.submit(**dict(MESSAGE, registered_delivery=1))
            await self.settle(client, 4, 1)
            self.assertEqual([r.id for r in receipts_of(client)], [last.message_id])
        return run(go())


class IntermediateReceiptTests(ReceiptTestCase):
    harness_args = dict(smsc=dict(receipt_stat="ENROUTE"))

    def test_intermediate_notifications_only_when_asked(self):
        async def go():
            client = await self.h.bind("transceiver")
            await client.submit(**dict(MESSAGE, registered_delivery=1))
            asked = await client.submit(**dict(MESSAGE, registered_delivery=0x11))
            await self.settle(client, 2, 1)
            [receipt] = client.deliveries
            self.assertEqual((receipt.tlvs["receipted_message_id"],
                              receipt.tlvs["message_state"]),
                             (asked.message_id, MessageState.ENROUTE))
        return run(go())


class AccountTests(RestTestCase):
    """Accounts that expired (esme1), that may only query (esme2, not by the query
    string), or only submit (esme3), by SMPP, the REST API and the query string."""
    users = {"esme1": user("esme1", PAST),
             "esme2": user("esme2", 'doors = ["smpp", "rest"]\noperations = ["query"]'),
             "esme3": 'operations = ["submit"]'}

    async def bind_status(self, name):
        client = await self.h.connect()
        resp = await client.bind("transceiver", name, PASSWORDS[name])
        if resp.command_status != Status.ESME_ROK:
            await client.wait_closed()
            return status_name(resp.command_status), None
        return "ESME_ROK", client

    def websms(self, name, path="websms", **more):
        query = dict(user=name, sid="Test", type="1", text="hello", mno="15551234567",
                     **{"pass": PASSWORDS[name]})
        query.update(more)
        return fetch("%s/websmpp/%s?%s" % (self.h.http_url, path,
                                           "&".join("%s=%s" % kv for kv in query.items())))

    def test_an_expired_account(self):
        async def go():
            self.assertEqual((await self.bind_status("esme1"))[0], "ESME_RBINDFAIL")
            answer = await self.websms("esme1")
            self.assertEqual(answer.lines, [LINES["HTTP26"].decode()])
            answer = await self.send(message(["15551234567"]))
            self.assertEqual((answer.status, answer.json["error"]["message"]),
                             (403, "the account has expired"))
            answer = await self.call("GET", SEND + "/0123abcd")
            self.assertEqual(answer.status, 403)
            self.assertEqual(self.h.smsc.message_count, 0)
        return run(go())

    def test_a_user_that_may_only_query(self):
        async def go():
            status, client = await self.bind_status("esme2")
            self.assertEqual(status, "ESME_ROK")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(status_name(resp.command_status), "ESME_RPROHIBITED")
            resp = await client.query("0123abcd")
            self.assertEqual(status_name(resp.command_status), "ESME_RQUERYFAIL")   # allowed
            answer = await self.websms("esme2")   # not a door of esme2's
            self.assertEqual(answer.lines, [LINES["HTTP15"].decode()])
            answer = await self.send(message(["15551234567"]), key="key-esme2")
            self.assertEqual((answer.status, answer.json["error"]["message"]),
                             (403, "the account may not make this request"))
            answer = await self.call("GET", SEND + "/0123abcd", key="key-esme2")
            self.assertEqual(answer.status, 404)   # allowed: no such message
            self.assertEqual(self.h.smsc.message_count, 0)
        return run(go())

    def test_a_user_that_may_only_submit(self):
        async def go():
            status, client = await self.bind_status("esme3")
            self.assertEqual(status, "ESME_ROK")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            for answer in (await client.query(resp.message_id),
                           await client.cancel(resp.message_id)):
                self.assertEqual(status_name(answer.command_status), "ESME_RPROHIBITED")
            answer = await self.websms("esme3")
            self.assertTrue(answer.lines[0].startswith("Response: "), answer.lines)
            message_id = answer.lines[0].split(": ", 1)[1]
            answer = await self.websms("esme3", "websmsstatus", respId=message_id)
            self.assertEqual(answer.lines, [LINES["HTTP15"].decode()])
        return run(go())


class DoorTests(RouterTestCase):
    harness_args = dict(users={"esme1": 'doors = ["websms"]', "esme2": ""})

    def test_a_user_without_the_smpp_door_cannot_bind(self):
        async def go():
            client = await self.h.connect()
            resp = await client.bind("transmitter", "esme1", PASSWORDS["esme1"])
            self.assertEqual(status_name(resp.command_status), "ESME_RINVSYSID")
            await client.wait_closed()
        return run(go())


class ExpiryWhileBoundTests(RouterTestCase):
    def setUp(self):
        self.expires = int(time.time()) + 2
        self.harness_args = dict(users={"esme1": "expires = %s" % toml_time(self.expires),
                                        "esme2": ""})
        return super().setUp()

    def test_sessions_are_unbound_when_the_account_expires(self):
        async def go():
            client = await self.h.bind("transceiver")
            resp = await client.submit(**MESSAGE)
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            await client.wait_closed()
            self.assertGreaterEqual(time.time(), self.expires - 0.01)
            self.assertTrue(client.unbound_by_peer)
            again = await self.h.connect()
            resp = await again.bind("transceiver", "esme1", PASSWORDS["esme1"])
            self.assertEqual(status_name(resp.command_status), "ESME_RBINDFAIL")
        return run(go())
