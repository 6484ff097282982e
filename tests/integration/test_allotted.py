"""A user's allotted REST templates end to end (seed 002's 453 INV-TEMPLATE):
a real router, the HTTP listener, the simulated SMSC."""

from ..store.support import wait_for
from .harness import run
from .test_rest import RestTestCase, message, user


class AllottedTests(RestTestCase):
    users = {"esme1": user("esme1", 'templates = ["welcome"]'), "esme2": user("esme2")}

    def test_a_template_not_allotted_is_refused_naming_the_field_and_not_sent(self):
        async def go():
            body = message(["15551234567"], message={"template": "1",
                                                      "parameters": {"code": "42"}})
            del body["channels"]["sms"]["text"]
            answer = await self.send(body)
            self.assertEqual(answer.status, 400, answer.json)
            self.assertEqual(answer.json["error"]["field"], "message.template")
            self.assertIn("not allotted", answer.json["error"]["message"])
            answer = await self.send(body, key="key-esme2")   # no allotment: all
            self.assertEqual(answer.codes(), ["1001"])
            # esme1's was answered before esme2's was sent: the SMSC gets esme2's only
            await wait_for(lambda: self.h.smsc.submits)
            self.assertEqual(len(self.h.smsc.submits), 1)
            self.assertIn(b"code is 42", self.h.smsc.submits[0].short_message)
        return run(go())
