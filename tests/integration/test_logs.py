"""The router's log as JSON lines, from a real router: binds, a REST request,
an MO; fields name the user, session and connector; no password or service key
appears anywhere in it; a message's text only with [log] message_text."""

import io
import json

from twisted.internet import reactor
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from smpprouter.logs import json_observer
from smpprouter.passwords import hash_service_key
from smpprouter.smpp.status import Status

from .harness import PASSWORDS, RouterHarness, run

WRONG_PASSWORD = "Wr0ng!pw"
SERVICE_KEY = "sk-Zq8yVtR2LwP4"
WRONG_KEY = "sk-Nope7Hx3Kd9M"
SECRET_TEXT = "UNROUTED-Xq71 my message"


class LogTestCase(TestCase):
    timeout = 60
    extra = ""

    def setUp(self):
        self.out = io.StringIO()
        observer = json_observer(self.out)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.h = RouterHarness(users={"esme1": 'service_key = "%s"\n'
                                      % hash_service_key(SERVICE_KEY), "esme2": ""},
                               http="", extra=self.extra)
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def events(self):
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def logged(self, fragment):
        return [e for e in self.events() if fragment in e["log_text"]]

    async def rest(self, key):
        agent = Agent(reactor)
        body = json.dumps({"deliverychannel": "sms", "channels": {"sms": {"text": "hi"}},
                           "destination": [{"msisdn": ["15551234567"]}]}).encode()
        response = await agent.request(
            b"POST", (self.h.http_url + "/resources/v1/messaging").encode(),
            Headers({"key": [key], "content-type": ["application/json"]}),
            FileBodyProducer(io.BytesIO(body)))
        await readBody(response)
        return response.code


class SecretsTests(LogTestCase):

    def test_no_password_or_service_key_is_ever_logged(self):
        async def go():
            client = await self.h.connect()
            resp = await client.bind("transceiver", "esme1", WRONG_PASSWORD)
            self.assertEqual(resp.command_status, Status.ESME_RINVPASWD)
            bound = await self.h.bind(user="esme1")
            self.assertEqual(await self.rest(SERVICE_KEY), 200)
            self.assertEqual(await self.rest(WRONG_KEY), 401)
            await bound.unbind()
            text = self.out.getvalue()
            # The log did see all of it ...
            self.assertTrue(self.logged("bind as 'esme1' refused: ESME_RINVPASWD"))
            self.assertTrue(self.logged("bound esme1 as TRX"))
            # ... and holds none of the secrets, in any field.
            for secret in (WRONG_PASSWORD, PASSWORDS["esme1"] + '"', SERVICE_KEY, WRONG_KEY,
                           "secret"):   # "secret": the connector's upstream password
                self.assertNotIn(secret, text)
        return run(go())

    def test_session_lines_carry_user_session_and_connector(self):
        async def go():
            client = await self.h.bind(user="esme2")
            await client.unbind()
            [bound] = self.logged("bound esme2")
            self.assertEqual(bound["user"], "esme2")
            self.assertRegex(bound["session"], r"^testrouter@.+/\d+(:rx)?$")
            self.assertEqual(bound["log_namespace"], "smpprouter.protocol.esme.ESMEServerProtocol")
            ups = self.logged("bind up as TRX")
            self.assertTrue(ups)
            self.assertEqual({e["connector"] for e in ups}, {"smsc"})
        return run(go())

    def test_a_message_text_is_not_logged_by_default(self):
        async def go():
            resp = await self.h.smsc.send_mo("15550001111", "777", SECRET_TEXT.encode())
            self.assertEqual(resp.command_status, Status.ESME_RX_P_APPN)
            [line] = self.logged("matches no MO rule")
            self.assertEqual(line["connector"], "smsc")
            self.assertNotIn("text", line)
            self.assertNotIn("Xq71", self.out.getvalue())
        return run(go())


class MessageTextTests(LogTestCase):
    extra = "[log]\nmessage_text = true\n"

    def test_message_text_on_shows_it(self):
        async def go():
            resp = await self.h.smsc.send_mo("15550001111", "777", SECRET_TEXT.encode())
            self.assertEqual(resp.command_status, Status.ESME_RX_P_APPN)
            [line] = self.logged("matches no MO rule")
            self.assertEqual(line["text"], SECRET_TEXT)
        return run(go())
