"""Content rules end to end (seed 002's 407 SPAM): a real router started with
[router] content, real Redis, the simulated SMSC, SMPP and REST.

esme1 is synchronous, esme2 store and forward; the rule "spam" applies to
everyone, "loans" to esme2 only.
"""

import os

from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool

from bench.sink import WebhookSink
from smpprouter.smpp.receipt import parse_receipt
from smpprouter.smpp.status import Status
from smpprouter.smpp.text import encode_text

from smpprouter.service import make_service
from smpprouter.tomlfile import ConfigError

from .harness import RouterHarness, run
from .test_rest import FAST, RestTestCase, message, user

RULES = """
[rules.spam]
words = ["free money"]

[rules.loans]
patterns = ['loan\\s*\\d+']
users = ["esme2"]
"""
MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, registered_delivery=1)


def with_content(h, rules=RULES):
    """The harness's config, given [router] content (written before it starts)."""
    with open(os.path.join(h.dir, "content.toml"), "w") as f:
        f.write(rules)
    with open(h.config_path) as f:
        text = f.read()
    with open(h.config_path, "w") as f:
        f.write(text.replace('var_dir = "var"\n', 'var_dir = "var"\ncontent = "content.toml"\n',
                             1))


class SmppTests(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness(users={"esme1": user("esme1"),
                                      "esme2": user("esme2", "store_and_forward = true")},
                               extra=FAST, http="")
        with_content(self.h)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_a_synchronous_user_hears_a_final_status_and_nothing_is_sent(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            resp = await client.submit(**dict(MESSAGE, short_message=b"FREE  money today"))
            self.assertEqual(resp.command_status, Status.ESME_RX_R_APPN)
            # a rule for another user does not apply; UCS2 text is judged decoded
            resp = await client.submit(**dict(MESSAGE, short_message=b"loan 500"))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            resp = await client.submit(**dict(MESSAGE, data_coding=8,
                                              short_message=encode_text("Free money €", 8)))
            self.assertEqual(resp.command_status, Status.ESME_RX_R_APPN)
            self.assertEqual([p.short_message for p in self.h.smsc.submits], [b"loan 500"])
            self.assertEqual(self.h.core.counters["refused_content"], 2)
            self.assertEqual(self.h.core.mt._content.refused, {"spam": 2})
        return run(go())

    def test_store_and_forward_gets_a_rejectd_receipt_with_err_407(self):
        async def go():
            client = await self.h.bind("transceiver", "esme2")
            for text in (b"free money", b"LOAN500"):
                resp = await client.submit(**dict(MESSAGE, short_message=text))
                self.assertEqual(resp.command_status, Status.ESME_ROK)
                receipt = parse_receipt((await client.next_delivery()).short_message)
                self.assertEqual((receipt.id, receipt.stat, receipt.err),
                                 (resp.message_id, "REJECTD", "407"))
            self.assertEqual(self.h.smsc.submits, [])
        return run(go())

    def test_reload_swaps_the_rules_and_a_bad_file_keeps_the_old_ones(self):
        async def go():
            client = await self.h.bind("transceiver", "esme1")
            path = os.path.join(self.h.dir, "content.toml")
            with open(path, "w") as f:
                f.write('[rules.hello]\nwords = ["hello"]\n')
            self.h.service.reload()
            resp = await client.submit(**dict(MESSAGE, short_message=b"free money"))
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            resp = await client.submit(**dict(MESSAGE, short_message=b"Hello!"))
            self.assertEqual(resp.command_status, Status.ESME_RX_R_APPN)
            with open(path, "w") as f:
                f.write('[rules.hello]\npatterns = ["(bad"]\n')
            self.h.service.reload()
            resp = await client.submit(**dict(MESSAGE, short_message=b"Hello!"))
            self.assertEqual(resp.command_status, Status.ESME_RX_R_APPN)
        return run(go())


class RestTests(RestTestCase):
    """A REST message is store and forward: accepted (1001), never sent, and the
    user's webhook gets the router's REJECTD receipt with err 407."""

    def setUp(self):
        # RestTestCase's, with a webhook sink and the rules written before the router starts
        self.sink = WebhookSink(reactor)
        port = self.sink.listen(0)
        self.addCleanup(self.sink.close)
        self.h = RouterHarness(users={
            "esme1": user("esme1", 'dlr_url = "http://127.0.0.1:%d/dlr"' % port),
            "esme2": user("esme2")}, http="", extra=FAST)
        with_content(self.h)
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.agent = Agent(reactor, pool=self.pool)
        self.addCleanup(lambda: run(self.h.stop()))
        self.addCleanup(self.pool.closeCachedConnections)
        return run(self.h.start())

    def test_a_rest_message_matching_a_rule_is_rejected_with_407_and_not_sent(self):
        async def go():
            answer = await self.send(message(["15551234567"], text="Free money for you"))
            self.assertEqual(answer.codes(), ["1001"])
            transid = answer.json["response"][0]["transid"]
            await self.sink.wait(lambda s: len(s.requests) >= 1)
            info = self.sink.requests[0].json()["deliveryInfoNotification"]
            self.assertEqual(info["transid"], transid)
            self.assertIn("err 407", info["deliveryInfo"]["Description"])
            self.assertEqual(self.h.smsc.submits, [])
            self.assertEqual(self.h.core.counters["refused_content"], 1)
        return run(go())


class StartTests(TestCase):
    def test_a_bad_file_stops_the_start_naming_file_line_and_key(self):
        h = RouterHarness(users={"esme1": "", "esme2": ""})
        self.addCleanup(lambda: run(h.stop()))
        with_content(h, '[rules.spam]\nwords = ["x"]\nusers = ["nobody"]\n')
        e = self.assertRaises(ConfigError, make_service, h.config_path)
        self.assertEqual(str(e).split(": ")[:2],
                         [os.path.join(h.dir, "content.toml") + ":3", "rules.spam.users"])
