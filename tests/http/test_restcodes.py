"""restcodes: every SMPP status the Door can answer has a code, and the
OpenAPI document lists the same codes."""

import json

from twisted.trial.unittest import SynchronousTestCase

from smpprouter.core import mt
from smpprouter.http import restcodes as rc
from smpprouter.http.rest import openapi_document
from smpprouter.smpp.status import Status


class CodeTableTests(SynchronousTestCase):
    def test_what_the_door_and_the_core_answer(self):
        expected = {
            Status.ESME_ROK: (rc.QUEUED, "Queued"),
            Status.ESME_RINVDSTADR: (rc.NO_ROUTE, "No route to this number"),
            Status.ESME_RTHROTTLED: (rc.THROTTLED, "Throttled: send again later"),
            mt.STORE_DOWN: (rc.THROTTLED, "Throttled: send again later"),
            Status.ESME_RMSGQFUL: (rc.QUEUE_FULL, "Queue full: send again later"),
            Status.ESME_RINVMSGLEN: (rc.TOO_LONG, "Message too long"),
            Status.ESME_RINVDCS: (rc.INVALID_CHARACTERS,
                                  "Text cannot be sent in the requested encoding"),
            Status.ESME_RINVEXPIRY: (rc.INVALID_EXPIRY, "Expiry already passed"),
            Status.ESME_RINVSCHED: (rc.INVALID_EXPIRY, "Expiry already passed"),
            Status.ESME_RINVBALANCE: (rc.NO_CREDIT, "Insufficient credit"),
            Status.ESME_RSYSERR: (rc.SYSTEM_ERROR, "System error: send again later"),
        }
        for status, entry in expected.items():
            self.assertEqual(rc.entry_of(status), entry, status.name)

    def test_the_seeds_one_code(self):
        self.assertEqual(rc.entry_of(0), ("1001", "Queued"))

    def test_any_other_status_is_rejected_with_its_name(self):
        self.assertEqual(rc.entry_of(Status.ESME_RX_R_APPN),
                         (rc.REJECTED, "Rejected (ESME_RX_R_APPN)"))
        self.assertEqual(rc.entry_of(0x4242), (rc.REJECTED, "Rejected (0x00004242)"))

    def test_every_status_maps_to_a_documented_code(self):
        for status in Status:
            code, description = rc.entry_of(status)
            self.assertIn(code, rc.DESCRIPTIONS)
            self.assertTrue(description)

    def test_temporary_codes_are_the_3xxx_and_5xxx(self):
        self.assertEqual(rc.TEMPORARY,
                         {c for c in rc.DESCRIPTIONS if c[0] in "35"})

    def test_the_openapi_document_lists_the_same_codes(self):
        document = json.loads(openapi_document())
        schema = document["components"]["schemas"]["ResponseEntry"]
        self.assertEqual(schema["properties"]["code"]["enum"], sorted(rc.DESCRIPTIONS))
        for code, description in rc.DESCRIPTIONS.items():
            self.assertIn("| %s | %s |" % (code, description), document["info"]["description"])
