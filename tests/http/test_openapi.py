"""The OpenAPI document is valid OpenAPI 3.1, and its schemas say what rest.py writes."""

from jsonschema import ValidationError
from openapi_spec_validator import validate
from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core.messages import Outcome
from smpprouter.http.rest import answer_of
from smpprouter.http.restparse import parse
from smpprouter.smpp.status import Status

from .openapi import DOCUMENT, check_answer

SEND = "/resources/v1/messaging"


class DocumentTests(SynchronousTestCase):
    def test_it_is_valid_openapi(self):
        validate(DOCUMENT)

    def test_answers_of_every_code_match_the_schema(self):
        import json
        body = json.dumps({"channels": {"sms": {"text": "x"}}, "correlationid": "c",
                           "destination": [{"msisdn": ["15551230001", "x", "15551230002",
                                                       "15551230003"]}]}).encode()
        parsed = parse(body)
        outcomes = [Outcome(Status.ESME_ROK, "1f"), Outcome(Status.ESME_RTHROTTLED),
                    Outcome(Status.ESME_RX_R_APPN)]
        status, answer = answer_of(outcomes, parsed)
        value = json.loads(answer)
        self.assertEqual(status, 200)
        self.assertEqual([e["code"] for e in value["response"]], ["1001", "2001", "3001", "2099"])
        check_answer(SEND, "POST", status, value)
        status, answer = answer_of([Outcome(Status.ESME_RTHROTTLED)] * 3, parsed)
        self.assertEqual(status, 200)   # the bad number is not temporary
        status, answer = answer_of([Outcome(Status.ESME_RMSGQFUL)], parse(
            json.dumps({"channels": {"sms": {"text": "x"}},
                        "destination": [{"msisdn": ["15551230001"]}]}).encode()))
        self.assertEqual(status, 503)
        check_answer(SEND, "POST", status, json.loads(answer))

    def test_the_schema_can_fail(self):
        with self.assertRaises(ValidationError):   # a queued entry needs its transid
            check_answer(SEND, "POST", 200, {"response": [{"code": "1001",
                                                           "description": "Queued"}]})
        with self.assertRaises(ValidationError):
            check_answer(SEND, "POST", 200, {"response": [{"code": "9999",
                                                           "description": "?"}]})
        with self.assertRaises(ValidationError):
            check_answer(SEND, "POST", 400, {"error": {"message": "no code"}})
        with self.assertRaises(AssertionError):
            check_answer(SEND, "POST", 418, {})
