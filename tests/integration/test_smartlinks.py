"""Smart links end to end: a real router, Redis, simulated SMSC, an HTTP client
and a webhook receiver on loopback. A REST message's {{link_5}} reaches the
SMSC as a short link of its own per destination; following it redirects to
the target, counts the click in the message's status and sends a signed click
webhook; an expired or unknown token is 404; the links file reloads."""

import os
import re
import time

from twisted.internet import reactor
from twisted.web.client import readBody
from twisted.web.http_headers import Headers

from bench.sink import WebhookSink
from smpprouter.http.linktable import load_links
from smpprouter.http.signing import verify
from smpprouter.smpp.text import gsm7_decode
from smpprouter.tomlfile import ConfigError

from ..http.openapi import check_media
from . import test_rest as rest
from .harness import PASSWORDS, RouterHarness, run
from .test_websms import fetch

BASE = "https://s.example.com/"
LINK = re.compile(re.escape(BASE) + r"([0-9A-Za-z]{10})")
SECRET = "s3cret"
LINKS = """
[links.5]
url = "https://shop.example.com/gift?from=sms"
validity = 30

[links.sale]
url = "https://shop.example.com/sale"
validity = 7
"""


def gift(numbers, text="Your gift: {{link_5}}", links=({"linkid": 5, "validity": 2},),
         **fields):
    body = rest.message(numbers, text, **fields)
    body["channels"]["smartlinks"] = list(links)
    return body


class SmartlinkTestCase(rest.RestTestCase):
    link_base = BASE

    def setUp(self):
        self.sink = WebhookSink(reactor)
        port = self.sink.listen(0)
        self.addCleanup(self.sink.close)
        directory = self.mktemp()
        os.makedirs(directory)
        self.links_path = os.path.abspath(os.path.join(directory, "links.toml"))
        with open(self.links_path, "w") as f:
            f.write(LINKS)
        self.h = RouterHarness(
            users={"esme1": rest.user("esme1", 'click_url = "http://127.0.0.1:%d/click"\n'
                                      'webhook_secret = "%s"\n' % (port, SECRET)),
                   "esme2": rest.user("esme2")},
            http='links = "%s"\nlink_base = "%s"\n' % (self.links_path, self.link_base),
            extra=rest.FAST)
        self.pool = rest.HTTPConnectionPool(reactor, persistent=True)
        self.agent = rest.Agent(reactor, pool=self.pool)
        self.addCleanup(lambda: run(self.h.stop()))
        self.addCleanup(self.pool.closeCachedConnections)
        return run(self.h.start())

    async def follow(self, token, method="GET"):
        """(status, headers, body) of the short link; the router's listener stands
        for link_base's host."""
        path = "/" + self.link_base.split("/", 3)[3] + token
        response = await self.agent.request(method.encode(),
                                            (self.h.http_url + path).encode(), Headers())
        body = await readBody(response)
        if response.code != 302:
            check_media("/{token}", "GET", response.code,
                        response.headers.getRawHeaders("content-type")[0])
        return response.code, response.headers, body

    async def sent_links(self, count):
        """{destination: (text, token)} of the first count messages the SMSC got."""
        submits = await self.h.smsc.wait_submits(count)
        out = {}
        for s in submits[:count]:
            text = gsm7_decode(s.short_message)
            out[s.destination_addr] = (text, LINK.search(text).group(1))
        return out


class SmartlinkTests(SmartlinkTestCase):
    def test_each_destination_gets_its_own_link_its_clicks_and_their_webhooks(self):
        async def go():
            answer = await self.send(gift(["15551230001", "15551230002"], correlationid="c-1",
                                          callbackData="cb"))
            self.assertEqual(answer.codes(), ["1001", "1001"])
            ids = [e["transid"] for e in answer.json["response"]]
            sent = await self.sent_links(2)
            (text1, token1), (text2, token2) = sent["15551230001"], sent["15551230002"]
            self.assertEqual(text1, "Your gift: " + BASE + token1)
            self.assertNotEqual(token1, token2)
            # the record lives for the request's validity: 2 days, not the link's 30
            ttl = int(self.h.redis.command("TTL", "lnk:{%s}" % token1))
            self.assertTrue(2 * 86400 - 60 <= ttl <= 2 * 86400, ttl)
            # status before any click: the link, at 0
            status = await self.call("GET", rest.SEND + "/" + ids[0])
            self.assertEqual((status.json["clicks"], status.json["smartlinks"]),
                             (0, [{"linkid": "5", "clicks": 0}]))
            for _ in range(2):
                code, headers, body = await self.follow(token1)
                self.assertEqual(code, 302)
                self.assertEqual(headers.getRawHeaders("location"),
                                 ["https://shop.example.com/gift?from=sms"])
                self.assertEqual(headers.getRawHeaders("cache-control"), ["no-store"])
            code, headers, _ = await self.follow(token1, "HEAD")   # a preview: not counted
            self.assertEqual(code, 302)
            code, _, _ = await self.follow(token2)
            self.assertEqual(code, 302)
            # counted before the redirect was answered
            first = await self.call("GET", rest.SEND + "/" + ids[0])
            second = await self.call("GET", rest.SEND + "/" + ids[1])
            self.assertEqual((first.json["clicks"], first.json["smartlinks"]),
                             (2, [{"linkid": "5", "clicks": 2}]))
            self.assertEqual(second.json["clicks"], 1)
            await self.sink.wait(lambda s: len(s.requests) >= 3)
            clicks = sorted((r.json()["clickNotification"] for r in self.sink.requests),
                            key=lambda c: (c["transid"] != ids[0], c["clicks"]))
            self.assertEqual([(c["transid"], c["clicks"], c["destination"]) for c in clicks],
                             [(ids[0], 1, "15551230001"), (ids[0], 2, "15551230001"),
                              (ids[1], 1, "15551230002")])
            for c in clicks:
                self.assertEqual((c["linkid"], c["url"], c["correlationid"], c["callbackData"]),
                                 ("5", "https://shop.example.com/gift?from=sms", "c-1", "cb"))
                self.assertRegex(c["timeStamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
            for request in self.sink.requests:
                self.assertEqual(request.path, "/click")
                headers = request.headers
                self.assertTrue(verify(SECRET.encode(),
                                       headers[b"x-smpprouter-timestamp"].decode(),
                                       request.body,
                                       headers[b"x-smpprouter-signature"].decode(),
                                       time.time()))
            self.assertEqual(len({r.event for r in self.sink.requests}), 3)
            # another user's key does not see the message at all
            other = await self.call("GET", rest.SEND + "/" + ids[0], key="key-esme2")
            self.assertEqual(other.status, 404)
        return run(go())

    def test_the_text_is_split_and_counted_with_its_link_in(self):
        async def go():
            # 150 characters fit one SMS; with the 32-character link in they do not
            answer = await self.send(gift(["15551230001"], "x" * 139 + " {{link_5}}"))
            self.assertEqual(answer.codes(), ["1001"])
            submits = await self.h.smsc.wait_submits(2)
            self.assertEqual([s.esm_class & 0x40 for s in submits], [0x40, 0x40])
            text = "".join(gsm7_decode(s.short_message[6:]) for s in submits)
            self.assertRegex(text, "^x{139} " + re.escape(BASE) + "[0-9A-Za-z]{10}$")
        return run(go())

    def test_two_links_and_a_plain_message_in_one_request(self):
        async def go():
            both = gift(["15551230001"], "{{link_5}} or {{link_sale}}, again {{link_5}}",
                        [{"linkid": "sale"}, {"linkid": 5}])
            answer = await self.send([both, rest.message(["15551230002"], "no link")])
            self.assertEqual(answer.codes(), ["1001", "1001"])
            submits = await self.h.smsc.wait_submits(2)
            texts = {s.destination_addr: gsm7_decode(s.short_message) for s in submits}
            self.assertEqual(texts["15551230002"], "no link")
            tokens = LINK.findall(texts["15551230001"])
            self.assertEqual(len(tokens), 3)
            self.assertEqual(tokens[0], tokens[2])   # one link per id and destination
            ttl = int(self.h.redis.command("TTL", "lnk:{%s}" % tokens[1]))
            self.assertTrue(7 * 86400 - 60 <= ttl <= 7 * 86400, ttl)   # the link's own
            code, headers, _ = await self.follow(tokens[1])
            self.assertEqual(headers.getRawHeaders("location"),
                             ["https://shop.example.com/sale"])
            status = await self.call("GET", rest.SEND + "/" + answer.json["response"][0]
                                     ["transid"])
            self.assertEqual(status.json["smartlinks"], [{"linkid": "5", "clicks": 0},
                                                         {"linkid": "sale", "clicks": 1}])
            plain = await self.call("GET", rest.SEND + "/" + answer.json["response"][1]
                                    ["transid"])
            self.assertNotIn("clicks", plain.json)
        return run(go())

    def test_a_refused_destinations_links_are_dropped(self):
        async def go():
            answer = await self.send(gift(["15551230001", "9990001234"]))   # 999: rejected
            self.assertEqual(answer.codes(), ["1001", "2002"])
            [(_, token)] = (await self.sent_links(1)).values()
            self.assertEqual(self.h.redis.command("KEYS", "lnk:*"), ["lnk:{%s}" % token])
        return run(go())

    def test_seed_003s_door_sends_a_placeholder_as_written(self):
        async def go():
            answer = await fetch("%s/websmpp/websms?user=esme1&pass=%s&sid=Test&type=1"
                                 "&mno=15551230001&text=Gift%%20%%7B%%7Blink_5%%7D%%7D"
                                 % (self.h.http_url, PASSWORDS["esme1"]))
            self.assertRegex(answer.lines[0], "^Response: ")
            [submit] = await self.h.smsc.wait_submits(1)
            self.assertEqual(gsm7_decode(submit.short_message), "Gift {{link_5}}")
        return run(go())

    def test_unknown_expired_and_malformed_tokens_are_404(self):
        async def go():
            answer = await self.send(gift(["15551230001"]))
            transid = answer.json["response"][0]["transid"]
            [(_, token)] = (await self.sent_links(1)).values()
            self.assertEqual((await self.follow(token))[0], 302)
            # its validity passes: Redis drops the record
            self.h.redis.command("EXPIREAT", "lnk:{%s}" % token, int(time.time()) - 1)
            code, headers, body = await self.follow(token)
            self.assertEqual(code, 404)
            self.assertIn(b"expired", body)
            for name in ("AAAAAAAAAA", "short", "AAAAAAAAAA/more", "AAAAAAAAA%C3%A9",
                         ""):
                self.assertEqual((await self.follow(name))[0], 404, name)
            status = await self.call("GET", rest.SEND + "/" + transid)
            self.assertEqual(status.json["clicks"], 1)   # the 404s counted nothing
            await self.sink.wait(lambda s: s.requests)
            self.assertEqual([r.json()["clickNotification"]["clicks"]
                              for r in self.sink.requests], [1])
            # the other resources at the root are still themselves
            document = await self.call("GET", "/openapi.json", key=None, content_type=None)
            self.assertEqual(document.status, 200)
        return run(go())

    def test_a_request_naming_a_link_the_router_lacks_is_400_and_sends_nothing(self):
        async def go():
            cases = [
                (gift(["15551230001"], links=[{"linkid": 9}]), "channels.smartlinks[0].linkid"),
                (gift(["15551230001"], links=[]), "channels.smartlinks"),
                (gift(["15551230001"], links=[{"linkid": 5, "validity": 400}]),
                 "channels.smartlinks[0].validity"),
            ]
            for body, field in cases:
                answer = await self.send(body)
                self.assertEqual(answer.status, 400)
                self.assertEqual(answer.json["error"]["field"], field)
            self.assertEqual(self.h.redis.command("KEYS", "lnk:*"), [])
        return run(go())

    def test_the_links_file_reloads_with_the_routing_table_and_a_broken_one_is_kept_out(self):
        async def go():
            with open(self.links_path, "w") as f:
                f.write(LINKS.replace("gift?from=sms", "gift-2") +
                        '[links.new]\nurl = "https://new.example.com/"\n')
            self.assertTrue(self.h.service.reload())
            answer = await self.send(gift(["15551230001"], "{{link_new}} {{link_5}}",
                                          [{"linkid": "new"}, {"linkid": 5}]))
            self.assertEqual(answer.codes(), ["1001"])
            [(text, _)] = (await self.sent_links(1)).values()
            new, five = LINK.findall(text)
            self.assertEqual((await self.follow(new))[1].getRawHeaders("location"),
                             ["https://new.example.com/"])
            self.assertEqual((await self.follow(five))[1].getRawHeaders("location"),
                             ["https://shop.example.com/gift-2"])
            with open(self.links_path, "w") as f:
                f.write('[links.new]\nurl = "ftp://nowhere/"\n')
            self.h.service.reload()
            self.assertIn("new", self.h.service.door.links.table)   # the old ones stay
            self.assertEqual(self.h.service.door.links.table["new"].url,
                             "https://new.example.com/")
            self.assertRaises(ConfigError, load_links, self.links_path)
        return run(go())


class LinkBasePathTests(SmartlinkTestCase):
    """A link_base with a path: the tokens are served under it, the root is as before."""
    link_base = "https://example.com/l/"

    def test_the_links_live_under_the_path(self):
        async def go():
            answer = await self.send(gift(["15551230001"]))
            self.assertEqual(answer.codes(), ["1001"])
            [submit] = await self.h.smsc.wait_submits(1)
            token = re.search(r"https://example\.com/l/([0-9A-Za-z]{10})$",
                              gsm7_decode(submit.short_message)).group(1)
            code, headers, _ = await self.follow(token)
            self.assertEqual((code, headers.getRawHeaders("location")),
                             (302, ["https://shop.example.com/gift?from=sms"]))
            response = await self.agent.request(b"GET", (self.h.http_url + "/" + token)
                                                .encode(), Headers())
            await readBody(response)
            self.assertEqual(response.code, 404)   # not at the root
        return run(go())

