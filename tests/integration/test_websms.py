"""Seed 003's query-string API against a real router, Redis and simulated SMSC, through a
real HTTP client (tests/http/client.py: the URLs are quoted as a client sends what the
seed writes)."""

import time
from datetime import datetime, timedelta, timezone

from twisted.trial.unittest import TestCase

from smpprouter.http.websmscodes import LINES
from smpprouter.smpp.text import gsm7_encode
from tests.http.client import fetch
from tests.redis_server import RedisServer

from ..store.support import wait_for
from . import harness
from .harness import DEFAULT_ROUTES, PASSWORDS, RouterHarness, run

ROUTES = DEFAULT_ROUTES + """
[[mt]]
name = "lebanon"
destination_prefix = ["961"]
connectors = ["smsc"]
"""
FAST = """
[outbound]
retry_min = 0.05
retry_max = 0.2
schedule_interval = 0.1
"""
NUMBER = "96170123456"
HOST = "http://78.108.xxx.xxx"

# Seed 003's examples, as it prints them. Only the host and the placeholders
# (testUser / 12345 / 961xxxxx) are replaced: see seed().
SEED_EXAMPLES = [
    ("http://78.108.xxx.xxx/websmpp/websms? user=testUser&pass=12345&sid=Test&mno=961xxxxx"
     "&type=1&text=testing English message", 0x00, gsm7_encode("testing English message")),
    ("http://78.108.xxx.xxx/websmpp/websms?user=testUser&pass=12345&sid=Test&mno=961xxxxx"
     "&type=2&text=00740065007300740069006E006700200075006E00690063006F006400650020006D006500"
     "730073006100670065", 0x08, "testing unicode message".encode("utf-16-be")),
    ("http://78.108.xxx.xxx/websmpp/websms? user=testUser&pass=12345&sid=Test&mno=961xxxxx"
     "&type=3&text=testing $@ Character", 0x00, b"testing \x02\x00 Character"),
    ("http://78.108.xxx.xxx/websmpp/websms? user=testUser&pass=12345&sid=Test&mno=961xxxxx"
     "&type=4&text= اختبار رسالة عربية", 0x08, "اختبار رسالة عربية".encode("utf-16-be")),
    ("http://78.108.xxx.xxx/websmpp/websms? user=testUser&pass=12345&sid=Test&mno=961xxxxx"
     "&type=1&text=testing Schedule &gmt=+0530&schtime=201605101422", 0x00,
     gsm7_encode("testing Schedule")),
]


class WebSmsTestCase(TestCase):
    timeout = 60
    http = ""

    def setUp(self):
        self.h = RouterHarness(routes=ROUTES, extra=FAST, http=self.http)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def seed(self, url):
        """A seed URL for this router: its host, esme1 for the seed's testUser."""
        return (url.replace(HOST, self.h.http_url).replace("testUser", "esme1")
                .replace("pass=12345", "pass=" + PASSWORDS["esme1"])
                .replace("961xxxxx", NUMBER))

    def url(self, query, path="websms"):
        return "%s/websmpp/%s?%s" % (self.h.http_url, path, query)

    async def send(self, query="", **params):
        base = dict(user="esme1", sid="Test", type="1", text="hello", mno="15551234567",
                    **{"pass": PASSWORDS["esme1"]})
        base.update(params)
        query = query or "&".join("%s=%s" % kv for kv in base.items())
        return await fetch(self.url(query))

    def status(self, message_id, user="esme1"):
        credentials = "user=%s&pass=%s&" % (user, PASSWORDS[user]) if user else ""
        return fetch(self.url(credentials + "respId=" + message_id, "websmsstatus"))

    def assertAnswer(self, answer, *lines, code=200):
        self.assertEqual((answer.code, answer.lines), (code, list(lines)), answer.header(
            "x-error-detail"))
        self.assertEqual(answer.header("content-type"), "text/plain; charset=utf-8")


class SeedExampleTests(WebSmsTestCase):
    def test_every_example_url_works_as_written(self):
        async def go():
            for count, (url, coding, octets) in enumerate(SEED_EXAMPLES, 1):
                answer = await fetch(self.seed(url))
                self.assertEqual(answer.code, 200)
                [line] = answer.lines
                self.assertRegex(line, r"^Response: [0-9a-f]+$", url)
                submits = await self.h.smsc.wait_submits(count)
                sent = submits[-1]
                self.assertEqual((sent.destination_addr, sent.source_addr, sent.data_coding,
                                  sent.short_message), (NUMBER, "Test", coding, octets), url)
                self.assertEqual(sent.source_addr_ton, 5)   # alphanumeric
                self.assertEqual(sent.registered_delivery & 1, 1)
        return run(go())

    def test_post_takes_the_body_and_the_query_string(self):
        async def go():
            body = ("sid=Test&mno=15551234567,15551234568&type=4&text=%D9%85%D8%B1%D8%AD%D8%A8"
                    "%D8%A7").encode()
            answer = await fetch(self.url("user=esme1&pass=pw1"), b"POST", body,
                                 {b"content-type": [b"application/x-www-form-urlencoded"]})
            self.assertEqual(len(answer.lines), 2)
            for line in answer.lines:
                self.assertRegex(line, r"^Response: [0-9a-f]+$")
            submits = await self.h.smsc.wait_submits(2)
            self.assertEqual({s.destination_addr for s in submits},
                             {"15551234567", "15551234568"})
            self.assertEqual({s.short_message for s in submits},
                             {"مرحبا".encode("utf-16-be")})
            answer = await fetch(self.url("user=esme1&pass=pw1"), b"POST", b"{}",
                                 {b"content-type": [b"application/json"]})
            self.assertAnswer(answer, "ERROR - HTTP16 --> Invalid Request")
        return run(go())

    def test_each_destination_has_its_line_in_order(self):
        async def go():
            answer = await self.send(mno="15551234567,12,99912345678,+15551234568")
            ok, bad, blocked, ok2 = answer.lines
            self.assertRegex(ok, "^Response: ")
            self.assertEqual(bad, "ERROR - HTTP09 --> Invalid Destination Address")
            self.assertEqual(blocked, "ERROR - HTTP23 --> Routing Error")
            self.assertRegex(ok2, "^Response: ")
            self.assertNotEqual(ok, ok2)
            submits = await self.h.smsc.wait_submits(2)
            self.assertEqual([s.destination_addr for s in submits],
                             ["15551234567", "15551234568"])
        return run(go())


class RefusalTests(WebSmsTestCase):
    def test_credentials(self):
        async def go():
            self.assertAnswer(await self.send(**{"pass": "nope"}),
                              "ERROR - HTTP04 --> Invalid Password")
            self.assertAnswer(await self.send(user="nobody"),
                              "ERROR - HTTP05 --> Invalid System ID")
            self.assertEqual(self.h.core.counters["submitted"], 0)
        return run(go())

    def test_bad_fields_get_their_code_and_a_detail(self):
        async def go():
            for params, code in ((dict(type="9"), "HTTP07"), (dict(text="a%26b"), "HTTP02"),
                                 (dict(type="2", text="00G1"), "HTTP19"),
                                 (dict(type="1", text="%E6%97%A5"), "HTTP19"),
                                 (dict(sid="TooLongSender"), "HTTP06"),
                                 (dict(schtime="202613011200"), "HTTP22")):
                answer = await self.send(**params)
                self.assertEqual(answer.code, 200)
                self.assertEqual(answer.lines, [LINES[code].decode()], params)
                self.assertTrue(answer.header("x-error-detail"))
            # too long for a request line: a POST
            answer = await fetch(self.url("user=esme1&pass=pw1&sid=S&mno=15551234567&type=1"),
                                 b"POST", b"text=" + b"a" * (153 * 255 + 1),
                                 {b"content-type": [b"application/x-www-form-urlencoded"]})
            self.assertAnswer(answer, "ERROR - HTTP17 --> Invalid Message Length")
            self.assertEqual(self.h.core.counters["submitted"], 0)
        return run(go())

    def test_a_schedule_beyond_the_longest_validity_is_refused(self):
        async def go():
            later = datetime.now(timezone.utc) + timedelta(days=30)
            answer = await self.send(schtime=later.strftime("%Y%m%d%H%M"))
            self.assertAnswer(answer, "ERROR - HTTP22 --> Invalid Schedule Time")
        return run(go())

    def test_methods_and_paths(self):
        async def go():
            answer = await fetch(self.url("user=esme1"), b"PUT", b"")
            self.assertAnswer(answer, "ERROR - HTTP16 --> Invalid Request", code=405)
            self.assertEqual(answer.header("allow"), "GET, POST")
            answer = await fetch(self.url("user=esme1"), b"HEAD")
            self.assertEqual(answer.code, 405)
            for path in ("nothing", "websms/extra", ""):
                answer = await fetch(self.url("", path))
                self.assertAnswer(answer, "ERROR - HTTP01 --> Invalid HTTP URL Format",
                                  code=404)
            # the seed's own spelling, with its space, and the billing paths
            answer = await fetch("%s/websmpp/balanceReport?userid=esme1&password=%s"
                                 % (self.h.http_url, PASSWORDS["esme1"]))
            self.assertAnswer(answer, "ERROR - HTTP15 --> Not Authorized for the request")
            answer = await fetch("%s/websmpp/ downloadcoverage? userid=esme1&password=%s"
                                 "&format=1" % (self.h.http_url, PASSWORDS["esme1"]))
            self.assertEqual(answer.code, 200)
            self.assertEqual(answer.body[:2], b"PK")   # XLSX (tests/integration/test_rewriting)
        return run(go())


class VolumeTests(WebSmsTestCase):
    timeout = 120

    def numbers(self, count):
        return ",".join("1555%07d" % i for i in range(count))

    def test_a_post_of_10000_numbers_gets_10000_lines_and_10001_is_refused(self):
        async def go():
            form = {b"content-type": [b"application/x-www-form-urlencoded"]}
            body = "user=esme1&pass=pw1&sid=Test&type=1&text=bulk&mno=%s"
            answer = await fetch(self.url(""), b"POST", (body % self.numbers(10001)).encode(),
                                 form)
            self.assertAnswer(answer, "ERROR - HTTP24 --> Exceeded number of Destination")
            self.assertEqual(self.h.core.counters["submitted"], 0)
            answer = await fetch(self.url(""), b"POST", (body % self.numbers(10000)).encode(),
                                 form)
            self.assertEqual(answer.code, 200)
            lines = answer.lines
            self.assertEqual(len(lines), 10000)
            self.assertTrue(all(line.startswith("Response: ") for line in lines))
            self.assertEqual(len(set(lines)), 10000)
            submits = await self.h.smsc.wait_submits(10000)
            self.assertEqual(len({s.destination_addr for s in submits}), 10000)
        return run(go())

    def test_a_get_takes_100_numbers(self):
        async def go():
            answer = await self.send(mno=self.numbers(101))
            self.assertAnswer(answer, "ERROR - HTTP24 --> Exceeded number of Destination")
            answer = await self.send(mno=self.numbers(100))
            self.assertEqual(len(answer.lines), 100)
            await self.h.smsc.wait_submits(100)
        return run(go())


class StatusTests(WebSmsTestCase):
    def test_pending_then_delivered_once_the_receipt_came(self):
        async def go():
            receiver = await self.h.bind("receiver", "esme1")
            self.h.smsc.hold_responses = True
            [line] = (await self.send()).lines
            message_id = line.split(": ")[1]
            await self.h.smsc.wait_submits(1)       # sent, its answer held
            self.assertAnswer(await self.status(message_id), "ATES")
            self.h.smsc.hold_responses = False
            receipt = await receiver.next_delivery()
            self.assertEqual(receipt.tlvs["receipted_message_id"], message_id)
            self.assertAnswer(await self.status(message_id), "DELIVRD")
            # another user's id is no record of theirs
            self.assertAnswer(await self.status(message_id, "esme2"),
                              "ERROR - HTTP25 --> No Record Found")
            self.assertAnswer(await self.status("123abc"), "ERROR - HTTP25 --> No Record Found")
        return run(go())

    def test_the_seed_url_without_credentials_is_refused(self):
        async def go():
            [line] = (await self.send()).lines
            answer = await self.status(line.split(": ")[1], user=None)
            self.assertAnswer(answer, "ERROR - HTTP15 --> Not Authorized for the request")
            answer = await fetch(self.url("user=esme1&pass=bad&respId=1", "websmsstatus"))
            self.assertAnswer(answer, "ERROR - HTTP04 --> Invalid Password")
            answer = await fetch(self.url("user=esme1&pass=pw1&respId=", "websmsstatus"))
            self.assertAnswer(answer, "ERROR - HTTP08 --> Invalid Message ID")
        return run(go())


class StatusWithoutCredentialsTests(WebSmsTestCase):
    http = "status_without_credentials = true"

    def test_the_seed_url_as_written(self):
        async def go():
            receiver = await self.h.bind("receiver", "esme1")
            [line] = (await self.send()).lines
            message_id = line.split(": ")[1]
            await receiver.next_delivery()
            answer = await fetch("%s/websmpp/websmsstatus?respId=%s"
                                 % (self.h.http_url, message_id))
            self.assertAnswer(answer, "DELIVRD")
        return run(go())


class ScheduleTests(WebSmsTestCase):
    timeout = 120

    def test_a_scheduled_websms_is_sent_at_its_time(self):
        """As the seed writes it (gmt=+0530, schtime to the minute): the next whole
        minute at least 3 s ahead, so this test takes up to a minute."""
        async def go():
            receiver = await self.h.bind("receiver", "esme1")
            due = (int(time.time()) + 3 + 59) // 60 * 60
            local = datetime.fromtimestamp(due, timezone(timedelta(hours=5, minutes=30)))
            [line] = (await self.send("user=esme1&pass=pw1&sid=Test&mno=%s&type=1&text="
                                      "testing Schedule &gmt=+0530&schtime=%s"
                                      % (NUMBER, local.strftime("%Y%m%d%H%M")))).lines
            message_id = line.split(": ")[1]
            self.assertAnswer(await self.status(message_id), "ATES")
            self.assertEqual(self.h.smsc.message_count, 0)
            [sent] = await self.h.smsc.wait_submits(1)
            self.assertGreaterEqual(time.time(), due)
            self.assertEqual(sent.short_message, b"testing Schedule")
            await receiver.next_delivery()
            self.assertAnswer(await self.status(message_id), "DELIVRD")
        return run(go())


class UnavailableTests(TestCase):
    """While the store cannot take a write: 503, Retry-After, HTTP11, nothing else done."""
    timeout = 60

    def setUp(self):
        self.redis = RedisServer()
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.patch(harness, "shared", lambda: self.redis)
        self.h = RouterHarness(routes=ROUTES, http="")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_503_before_anything_else(self):
        async def go():
            door = self.h.service.door
            self.redis.stop()
            await wait_for(lambda: not door.available)
            for url in ("websms?user=nobody", "websmsstatus?respId=1"):
                answer = await fetch("%s/websmpp/%s" % (self.h.http_url, url))
                self.assertEqual(answer.code, 503)
                self.assertEqual(answer.header("retry-after"), "1")
                self.assertEqual(answer.lines,
                                 ["ERROR - HTTP11 --> Requested service is unavailable"])
            self.redis.restart()
            await wait_for(lambda: door.available)
            answer = await fetch("%s/websmpp/websms?user=esme1&pass=pw1&sid=Test&mno=%s"
                                 "&type=1&text=back" % (self.h.http_url, NUMBER))
            self.assertRegex(answer.lines[0], "^Response: ")
        return run(go())
