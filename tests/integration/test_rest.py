"""Seed 004's REST API end to end: a real router, Redis, simulated SMSC and an
HTTP client (twisted.web.client.Agent) on loopback; every answer is checked
against the OpenAPI document the router serves."""

import hashlib
import io
import json
import os
import re
import time

from twisted.internet import reactor, task
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from smpprouter.passwords import hash_service_key
from smpprouter.smpp.text import gsm7_decode
from smpprouter.store.idempotency import key as idempotency_key

from ..http.openapi import check_answer
from ..http.seed004 import EXAMPLES
from ..store.support import wait_for
from .harness import DEFAULT_ROUTES, RouterHarness, run

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "templates.toml")
LINKS = os.path.join(os.path.dirname(__file__), "..", "..", "etc", "links.toml")
SEND = "/resources/v1/messaging"
FAST = """
[outbound]
retry_min = 0.05
retry_max = 0.2
schedule_interval = 0.1
"""


def user(name, more=""):
    return 'service_key = "%s"\n%s' % (hash_service_key("key-" + name), more)


def message(numbers, text="hello", **fields):
    body = {"deliverychannel": "sms", "channels": {"sms": {"text": text, "senderid": "MYBRAND"}},
            "destination": [{"msisdn": list(numbers)}]}
    body.update(fields)
    return body


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.json = json.loads(body) if body else None

    def header(self, name):
        values = self.headers.getRawHeaders(name.encode())
        return values[0] if values else None

    def codes(self):
        return [e["code"] for e in self.json["response"]]


class RestTestCase(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness(
            users=getattr(self, "users", None) or {
                "esme1": user("esme1"), "esme2": user("esme2"),
                "esme3": user("esme3", "throughput = 0.001")},
            http='templates = "%s"\nlinks = "%s"\nlink_base = "https://s.example.com/"\n'
                 % (os.path.abspath(TEMPLATES), os.path.abspath(LINKS)), extra=FAST,
            routes=getattr(self, "routes", DEFAULT_ROUTES))
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.agent = Agent(reactor, pool=self.pool)
        self.addCleanup(lambda: run(self.h.stop()))
        self.addCleanup(self.pool.closeCachedConnections)
        return run(self.h.start())

    async def call(self, method, path, body=None, key="key-esme1",
                   content_type="application/json", headers=None):
        """The answer, checked against the OpenAPI document."""
        sent = Headers()
        if key is not None:
            sent.addRawHeader("key", key)
        if content_type is not None:
            sent.addRawHeader("content-type", content_type)
        for name, value in (headers or {}).items():
            sent.addRawHeader(name, value)
        if body is not None and type(body) is not bytes:
            body = json.dumps(body).encode()
        producer = None if body is None else FileBodyProducer(io.BytesIO(body))
        response = await self.agent.request(method.encode(), (self.h.http_url + path).encode(),
                                            sent, producer)
        answer = Answer(response.code, response.headers, await readBody(response))
        check_answer(path, method, answer.status, answer.json)
        return answer

    def send(self, body, **kwargs):
        return self.call("POST", SEND, body, **kwargs)

    async def status_until(self, transid, state, timeout=10.0):
        """GET the message's status until it reads state (the receipt's outcome
        is recorded a moment after the receipt is queued)."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.call("GET", SEND + "/" + transid)
            if answer.json.get("status") == state or time.monotonic() > deadline:
                return answer
            await task.deferLater(reactor, 0.02, lambda: None)


class SendTests(RestTestCase):
    def test_every_seed_example_is_accepted(self):
        async def go():
            sent = 0
            for name, example in EXAMPLES.items():
                answer = await self.send(example)
                self.assertEqual(answer.status, 200, (name, answer.json))
                if name == "optional parameters":
                    # its expiry (2015-04-12T18:51:19, UTC) has passed: refused as such
                    self.assertEqual(answer.json["response"], [
                        {"code": "2006", "description": "Expiry already passed",
                         "correlationid": "sgh3tvkpert"}])
                    continue
                self.assertEqual(set(answer.codes()), {"1001"}, name)
                sent += len(answer.codes())
            # the same example with an expiry to come is queued
            later = dict(EXAMPLES["optional parameters"], expiry="2099-04-12T18:51:19")
            answer = await self.send(later)
            self.assertEqual(answer.codes(), ["1001"])
            self.assertEqual(answer.json["response"][0]["correlationid"], "sgh3tvkpert")
            sent += 1
            submits = await self.h.smsc.wait_submits(sent)
            texts = {gsm7_decode(s.short_message) for s in submits}
            self.assertIn("Sending first SMS using IMIconnect", texts)
            self.assertIn("$(name) $(email)", texts)   # no values: as written
            self.assertIn("Your verification code is $(code). It expires in 10 minutes.", texts)
            self.assertIn("Hi steve, Greetings from MNOP bank. ", texts)
            # the smart link example: {{link_5}} became this destination's own link
            self.assertTrue([t for t in texts if re.fullmatch(
                r"Sending first SMS with smart link using IMIconnect\. Click the link to get "
                r"surprise gift https://s\.example\.com/[0-9A-Za-z]{10}", t)], texts)
        return run(go())

    def test_a_batch_of_1000_gets_1000_ids_1000_messages_and_1000_receipts(self):
        async def go():
            receiver = await self.h.bind("receiver", "esme1")
            numbers = ["1555%07d" % i for i in range(1000)]
            answer = await self.send(message(numbers, correlationid="batch"))
            self.assertEqual(answer.status, 200)
            ids = [e["transid"] for e in answer.json["response"]]
            self.assertEqual(answer.codes(), ["1001"] * 1000)
            self.assertEqual(len(set(ids)), 1000)
            self.assertEqual({e["correlationid"] for e in answer.json["response"]}, {"batch"})
            submits = await self.h.smsc.wait_submits(1000)
            self.assertEqual(sorted(s.destination_addr for s in submits), numbers)
            await wait_for(lambda: len(receiver.deliveries) >= 1000, 30)
            self.assertEqual(sorted(d.tlvs["receipted_message_id"] for d in receiver.deliveries),
                             sorted(ids))
            status = await self.status_until(ids[0], "delivered")
            self.assertEqual(status.status, 200)
            self.assertEqual(status.json["transid"], ids[0])
            self.assertEqual(status.json["status"], "delivered")
            self.assertTrue(status.json["finaldate"].endswith("Z"))
            self.assertEqual(status.json["errorcode"], 0)
        return run(go())

    def test_a_bad_number_or_no_route_is_its_own_entry(self):
        async def go():
            answer = await self.send([
                message(["15551230001", "not-a-number"], correlationid="a"),
                message(["9990001234"], correlationid="b"),        # routes.toml rejects 999
                message(["447700900123"], correlationid="c")])     # no route for 44
            self.assertEqual(answer.status, 200)
            self.assertEqual(answer.codes(), ["1001", "2001", "2002", "2002"])
            self.assertEqual([e["correlationid"] for e in answer.json["response"]],
                             ["a", "a", "b", "c"])
            self.assertEqual(answer.json["response"][1]["description"], "Invalid number")
            await self.h.smsc.wait_submits(1)
        return run(go())

    def test_the_seeds_content_type_spelling_is_accepted(self):
        async def go():
            # Seed 004's request headers say "application/JSON"; media types
            # are case-insensitive (RFC 9110), with or without a charset.
            for content_type in ("application/JSON", "Application/Json; charset=UTF-8"):
                answer = await self.send(message(["15551230001"]), content_type=content_type)
                self.assertEqual((answer.status, answer.codes()), (200, ["1001"]), content_type)
            await self.h.smsc.wait_submits(2)
        return run(go())

    def test_a_text_gsm_cannot_carry_goes_as_ucs2_unless_type_1(self):
        async def go():
            answer = await self.send(message(["15551230001"], "\u0645\u0631\u062d\u0628\u0627"))
            self.assertEqual(answer.codes(), ["1001"])
            [submit] = await self.h.smsc.wait_submits(1)
            self.assertEqual(submit.data_coding, 8)
            self.assertEqual(submit.short_message, "\u0645\u0631\u062d\u0628\u0627".encode(
                "utf-16-be"))
            # with a placeholder the Door checks each destination's own text
            body = message(["15551230002"], "$(x)", destination=[
                {"msisdn": ["15551230002"], "parameters": {"x": "\u0645"}}])
            body["channels"]["sms"]["type"] = 1
            answer = await self.send(body)
            self.assertEqual(answer.codes(), ["2005"])
        return run(go())


class RequestErrorTests(RestTestCase):
    async def error(self, status, field, body=None, **kwargs):
        answer = await self.send(message(["15551230001"]) if body is None else body, **kwargs)
        self.assertEqual(answer.status, status, answer.json)
        self.assertEqual(answer.json["error"]["code"], status)
        self.assertEqual(answer.json["error"].get("field"), field)
        return answer

    def test_each_bad_request_gets_its_precise_error_and_nothing_is_sent(self):
        async def go():
            await self.error(401, "key", key=None)
            answer = await self.error(401, "key", key="key-nobody")
            self.assertIn("unknown", answer.json["error"]["message"])
            await self.error(415, "content-type", content_type="text/plain")
            await self.error(415, "content-type", content_type=None)
            await self.error(415, "content-type", content_type="application/json; charset=latin-1")
            answer = await self.error(400, None, b'{"destination": [')
            self.assertIn("not valid JSON", answer.json["error"]["message"])
            await self.error(400, "channels.sms.text", message(["15551230001"], 42))
            await self.error(400, "destination[0].msisdn[0]", message([{"n": 1}]))
            answer = await self.error(400, "destination[0].msisdn",
                                      message(["1555%07d" % i for i in range(1001)]))
            self.assertIn("at most 1000", answer.json["error"]["message"])
            answer = await self.error(400, "channels.sms.text",
                                      message(["15551230001"], "x" * 40000))
            self.assertIn("at most 255", answer.json["error"]["message"])
            await self.error(400, "notifyurl", message(["15551230001"],
                                                       notifyurl="http://10.0.0.1/hook"))
            await self.error(400, "message.template",
                             message(["15551230001"], "", message={"template": "missing"}))
            answer = await self.error(400, "Idempotency-Key",
                                      headers={"Idempotency-Key": "k" * 256})
            # a body of 50 MB: refused as soon as its length is known
            answer = await self.send(b"[" + b" " * (5 * 1024 * 1024) + b"]")
            self.assertEqual(answer.status, 413)
            answer = await self.call("GET", SEND)
            self.assertEqual((answer.status, answer.header("allow")), (405, b"POST"))
            self.assertEqual(self.h.smsc.message_count, 0)
            self.assertEqual(self.h.core.counters["submitted"], 0)
        return run(go())

    def test_503_before_parsing_while_the_store_is_away(self):
        async def go():
            self.patch(type(self.h.service.store), "available", property(lambda s: False))
            answer = await self.send(b"not even JSON")
            self.assertEqual(answer.status, 503)
            self.assertEqual(answer.header("retry-after"), b"1")
            self.assertEqual(self.h.core.counters["submitted"], 0)
        return run(go())


class StatusTests(RestTestCase):
    def test_another_users_or_an_unknown_id_is_404(self):
        async def go():
            answer = await self.send(message(["15551230001"]))
            [entry] = answer.json["response"]
            mine = await self.status_until(entry["transid"], "delivered")
            self.assertEqual(mine.status, 200)
            theirs = await self.call("GET", SEND + "/" + entry["transid"], key="key-esme2")
            self.assertEqual(theirs.status, 404)
            self.assertEqual(theirs.json["error"]["field"], "transid")
            for transid in ("ffffffffffff", "not-an-id", entry["transid"] + "/more"):
                answer = await self.call("GET", SEND + "/" + transid)
                self.assertEqual(answer.status, 404, transid)
            answer = await self.call("GET", SEND + "/" + entry["transid"], key=None)
            self.assertEqual(answer.status, 401)
        return run(go())

    def test_the_openapi_document_is_served(self):
        async def go():
            answer = await self.call("GET", "/openapi.json", key=None, content_type=None)
            self.assertEqual(answer.status, 200)
            self.assertEqual(answer.header("content-type"), b"application/json")
            self.assertEqual(answer.json["openapi"], "3.1.0")
        return run(go())


class IdempotencyTests(RestTestCase):
    def test_a_retry_gets_the_first_answer_and_sends_nothing_twice(self):
        async def go():
            body = message(["15551230001", "15551230002"], correlationid="once")
            first = await self.send(body, headers={"Idempotency-Key": "order-42"})
            self.assertEqual(first.status, 200)
            self.assertIsNone(first.header("idempotent-replayed"))
            again = await self.send(body, headers={"Idempotency-Key": "order-42"})
            self.assertEqual((again.status, again.body), (first.status, first.body))
            self.assertEqual(again.header("idempotent-replayed"), b"true")
            # the same key for another user is another key
            other = await self.send(body, key="key-esme2", headers={"Idempotency-Key": "order-42"})
            self.assertEqual(other.codes(), ["1001", "1001"])
            self.assertNotEqual(other.body, first.body)
            # a request sent after the retries: once it reaches the SMSC, any
            # duplicate queued before it would have too
            last = await self.send(message(["15551239999"]))
            self.assertEqual(last.codes(), ["1001"])
            submits = await self.h.smsc.wait_submits(5)
            await wait_for(lambda: any(s.destination_addr == "15551239999" for s in submits))
            self.assertEqual(self.h.smsc.message_count, 5)
            self.assertEqual(self.h.core.counters["submitted"], 5)
        return run(go())

    def test_the_same_key_with_another_body_is_422(self):
        async def go():
            await self.send(message(["15551230001"]), headers={"Idempotency-Key": "k"})
            answer = await self.send(message(["15551230002"]), headers={"Idempotency-Key": "k"})
            self.assertEqual(answer.status, 422)
            self.assertEqual(answer.json["error"]["field"], "Idempotency-Key")
        return run(go())

    def test_a_request_in_progress_elsewhere_is_409(self):
        async def go():
            body = json.dumps(message(["15551230001"])).encode()
            # another process holds the claim (it is still sending)
            claim = await self.h.service.store.claim_request(
                "esme1", "k", hashlib.sha256(body).hexdigest(), 60)
            self.assertEqual(claim.state, "new")
            answer = await self.send(body, headers={"Idempotency-Key": "k"})
            self.assertEqual(answer.status, 409)
            self.assertEqual(self.h.core.counters["submitted"], 0)
        return run(go())

    def test_a_request_that_queued_nothing_for_a_temporary_reason_frees_its_key(self):
        async def go():
            # esme3 may send one message in 1,000 s: the first request takes it
            first = await self.send(message(["15551230001"]), key="key-esme3")
            self.assertEqual(first.codes(), ["1001"])
            answer = await self.send(message(["15551230002", "15551230003"]), key="key-esme3",
                                     headers={"Idempotency-Key": "k"})
            self.assertEqual(answer.status, 503)
            self.assertEqual(answer.header("retry-after"), b"1")
            self.assertEqual(answer.codes(), ["3001", "3001"])
            self.assertEqual(self.h.redis.command("EXISTS", idempotency_key("esme3", "k")), 0)
            # a 4xx is kept like a 200
            bad = message(["15551230002"], 42)
            await self.send(bad, key="key-esme3", headers={"Idempotency-Key": "bad"})
            self.assertEqual(self.h.redis.command("HGET", idempotency_key("esme3", "bad"), "s"),
                             "400")
        return run(go())


class NotifyUrlTests(RestTestCase):
    """A message's own notifyurl: its receipt comes back as seed 004's
    deliveryInfoNotification with the request's ids, while the user's other
    receipts still go to its SMPP receivers."""

    def setUp(self):
        from bench.sink import WebhookSink
        self.sink = WebhookSink(reactor)
        self.sink.listen(0)
        self.addCleanup(self.sink.close)
        return super().setUp()

    def test_receipts_reach_each_messages_notifyurl_with_its_ids(self):
        async def go():
            body = message(["15551230001", "15551230002"], correlationid="top",
                           notifyurl=self.sink.url("/dr"), notifydata="nd-1",
                           callbackData="cb-1")
            body["destination"] = [{"msisdn": ["15551230001"], "correlationid": "d1"},
                                   {"msisdn": ["15551230002"]}]
            answer = await self.send(body)
            self.assertEqual(answer.codes(), ["1001", "1001"])
            transids = [e["transid"] for e in answer.json["response"]]
            # one without a notifyurl: its receipt goes to the SMPP receiver
            receiver = await self.h.bind("receiver")
            plain = await self.send(message(["15551230003"]))
            await self.sink.wait(lambda s: len(s.requests) >= 2)
            got = {}
            for request in self.sink.requests:
                self.assertEqual(request.path, "/dr")
                info = request.json()["deliveryInfoNotification"]
                got[info["transid"]] = info
            self.assertEqual(set(got), set(transids))
            first, second = got[transids[0]], got[transids[1]]
            self.assertEqual((first["correlationid"], second["correlationid"]), ("d1", "top"))
            for info in (first, second):
                self.assertEqual(info["callbackData"], "cb-1")
                self.assertEqual(info["notifydata"], "nd-1")
                self.assertEqual(info["deliveryInfo"]["deliveryStatus"], "Delivered")
            self.assertEqual(first["deliveryInfo"]["destination"], "15551230001")
            receipt = await receiver.next_delivery()
            self.assertIn(plain.json["response"][0]["transid"].encode(), receipt.short_message)
            self.assertEqual(len(self.sink.requests), 2)
        return run(go())


class DltTemplateTests(RestTestCase):
    """A route that requires seed 002's DLT ids: a REST template carries them, so an
    HTTP user meets the rule without TLVs of its own."""

    def setUp(self):
        self.routes = DEFAULT_ROUTES + (
            '\n[[mt]]\nname = "india-dlt"\ndestination_prefix = ["91"]\n'
            'connectors = ["smsc"]\nrequire_tlvs = ["pe_id", "template_id"]\n')
        return super().setUp()

    def test_a_template_with_its_dlt_ids_passes_a_text_without_them_is_refused(self):
        async def go():
            body = {"message": {"template": "otp-in", "parameters": {"code": "4711"}},
                    "destination": [{"msisdn": ["919812345678"]}]}
            answer = await self.send(body)
            self.assertEqual(answer.codes(), ["1001"])
            submit = (await self.h.smsc.wait_submits(1))[0]
            self.assertEqual(gsm7_decode(submit.short_message), "Your OTP is 4711.")
            self.assertEqual(submit.source_addr, "ACMEIN")
            self.assertEqual((submit.tlvs["pe_id"], submit.tlvs["template_id"]),
                             ("1201159100000000001", "1207161700000000002"))
            refused = await self.send(message(["919812345678"]))
            self.assertEqual(refused.json["response"][0]["code"], "2099")
            self.assertIn("ESME_RMISSINGTLV", refused.json["response"][0]["description"])
            self.assertEqual(len(self.h.smsc.submits), 1)
        return run(go())
