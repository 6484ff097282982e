"""Number rewriting, coverage and balance against a real router, Redis and simulated
SMSC: what the SMSC receives is the rewritten message; seed 003's balanceReport and
downloadcoverage and REST's /balance and /coverage answer with real data (the XLSX
opened with openpyxl, the REST answers checked against the OpenAPI document)."""

import csv
import io
import json

import openpyxl
from twisted.trial.unittest import TestCase

from smpprouter.passwords import hash_service_key
from smpprouter.smpp.status import Status
from tests.http.client import fetch

from ..http.openapi import check_answer, check_media
from .harness import PASSWORDS, RouterHarness, run

ROUTES = """
[[mt]]
name = "blocked"
destination_prefix = ["1900"]
reject = "ESME_RINVDSTADR"

[[mt]]
name = "uk"
destination_prefix = ["44", "07"]
connectors = ["smsc"]
e164 = { country_code = "44", source = true }
rewrite = [{ field = "destination", prefix = "447700", replace = "447711" }]
set_tlvs = { pe_id = "1201159100000000001" }
prices = { "447" = 40, "44" = 30 }

[[mt]]
name = "us"
destination_prefix = ["1"]
connectors = ["smsc"]
price = 35
"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def key(name):
    return 'service_key = "%s"\n' % hash_service_key("key-" + name)


USERS = {"esme1": key("esme1"),
         "esme2": key("esme2") + 'billing = "prepaid"\n',
         "esme3": key("esme3") + 'country_code = "1"\n'}


class RewritingTests(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness(routes=ROUTES, users=USERS, http="")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_what_the_smsc_receives_is_rewritten(self):
        async def go():
            client = await self.h.bind("transmitter", "esme1")
            resp = await client.submit(source_addr="07700 900999", destination_addr="07700900123",
                                       short_message=b"hi", tlvs={"pe_id": "mine"})
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            resp = await client.submit(source_addr="MyBrand", source_addr_ton=5,
                                       destination_addr="+44 7800 900123", short_message=b"x")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            first, second = await self.h.smsc.wait_submits(2)
            self.assertEqual((first.destination_addr, first.dest_addr_ton, first.dest_addr_npi),
                             ("447711900123", 1, 1))
            self.assertEqual((first.source_addr, first.source_addr_ton), ("447700900999", 1))
            self.assertEqual(first.tlvs["pe_id"], "1201159100000000001")
            self.assertEqual((second.destination_addr, second.source_addr),
                             ("447800900123", "MyBrand"))
            # cannot be normalised: refused, nothing sent
            resp = await client.submit(source_addr="MyBrand", destination_addr="07x",
                                       short_message=b"x")
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
            self.assertEqual(len(self.h.smsc.submits), 2)
        return run(go())

    def test_a_users_country_code_normalises_before_routing(self):
        async def go():
            client = await self.h.bind("transmitter", "esme3")
            resp = await client.submit(source_addr="S", destination_addr="+1 555 123 4567",
                                       short_message=b"x")
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            [submit] = await self.h.smsc.wait_submits(1)
            self.assertEqual((submit.destination_addr, submit.dest_addr_ton), ("15551234567", 1))
            resp = await client.submit(source_addr="S", destination_addr="05551234567",
                                       short_message=b"x")   # national "0": 1 + 5551234567
            self.assertEqual(resp.command_status, Status.ESME_ROK)
            resp = await client.submit(source_addr="S", destination_addr="12345",
                                       short_message=b"x")   # too short for E.164
            self.assertEqual(resp.command_status, Status.ESME_RINVDSTADR)
        return run(go())

    def test_http_gets_its_apis_codes_for_a_number_that_cannot_be_normalised(self):
        async def go():
            answer = await fetch(self.h.http_url + "/websmpp/websms?user=esme1&pass=%s&sid=S"
                                 "&mno=0770,447700900123&type=1&text=hi" % PASSWORDS["esme1"])
            lines = answer.lines
            self.assertEqual(lines[0], "ERROR - HTTP09 --> Invalid Destination Address")
            self.assertTrue(lines[1].startswith("Response: "), lines)
            answer = await fetch(self.h.http_url + "/resources/v1/messaging", b"POST", json.dumps(
                {"channels": {"sms": {"text": "hi"}},
                 "destination": [{"msisdn": ["0770", "19005550100"]}]}).encode(),
                {"key": ["key-esme1"], "content-type": ["application/json"]})
            body = json.loads(answer.body)
            check_answer("/resources/v1/messaging", "POST", answer.code, body)
            self.assertEqual([e["code"] for e in body["response"]], ["2001", "2002"])
        return run(go())


class AccountTests(TestCase):
    timeout = 60

    def setUp(self):
        self.h = RouterHarness(routes=ROUTES, users=USERS, http="")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def websmpp(self, path, query):
        return fetch("%s/websmpp/%s?%s" % (self.h.http_url, path, query))

    async def rest(self, path, key="key-esme1"):
        answer = await fetch(self.h.http_url + path, headers={"key": [key]} if key else None)
        kind = answer.header("content-type")
        if kind.startswith("application/json"):
            check_answer(path.partition("?")[0], "GET", answer.code, json.loads(answer.body))
        else:
            check_media(path.partition("?")[0], "GET", answer.code, kind)
        return answer

    def test_balance_report(self):
        async def go():
            await self.h.core.store.credit("esme2", 12345, "test", "top-up")
            answer = await self.websmpp("balanceReport", "userid=esme2&password=%s"
                                        % PASSWORDS["esme2"])
            self.assertEqual((answer.code, answer.body), (200, b"Response: 12345"))
            answer = await self.websmpp("balanceReport", "userid=esme1&password=%s"
                                        % PASSWORDS["esme1"])
            self.assertEqual(answer.body, b"ERROR - HTTP15 --> Not Authorized for the request")
            answer = await self.websmpp("balanceReport", "userid=esme2")
            self.assertEqual(answer.body, b"ERROR - HTTP04 --> Invalid Password")
            answer = await self.websmpp("balanceReport", "userid=esme2&password=wrong")
            self.assertEqual(answer.body, b"ERROR - HTTP04 --> Invalid Password")
        return run(go())

    def test_rest_balance(self):
        async def go():
            await self.h.core.store.credit("esme2", 500, "test", "top-up")
            answer = await self.rest("/resources/v1/balance", "key-esme2")
            self.assertEqual(json.loads(answer.body),
                             {"billing": "prepaid", "balance": 500, "unit": "minor"})
            answer = await self.rest("/resources/v1/balance")
            self.assertEqual(json.loads(answer.body), {"billing": "postpaid", "balance": None})
            answer = await self.rest("/resources/v1/balance", None)
            self.assertEqual(answer.code, 401)
        return run(go())

    def test_download_coverage(self):
        async def go():
            query = "userid=esme1&password=%s" % PASSWORDS["esme1"]
            answer = await self.websmpp("downloadcoverage", query + "&format=3")
            self.assertEqual(answer.header("content-type"), "text/csv; charset=utf-8")
            self.assertEqual(answer.header("content-disposition"),
                             'attachment; filename="coverage-esme1.csv"')
            rows = list(csv.reader(io.StringIO(answer.body.decode())))
            self.assertEqual(rows, [["prefix", "covered", "price_per_part"],
                                    ["1", "yes", "35"], ["1900", "no", ""],
                                    ["44", "yes", "30"], ["447", "yes", "40"]])
            for extra in ("", "&format=1"):   # XLSX, the default
                answer = await self.websmpp(" downloadcoverage", query + extra)
                self.assertEqual(answer.header("content-type"), XLSX)
                sheet = openpyxl.load_workbook(io.BytesIO(answer.body))["coverage"]
                self.assertEqual([[c.value for c in row] for row in sheet.iter_rows()][-2:],
                                 [["44", "yes", 30], ["447", "yes", 40]])
            answer = await self.websmpp("downloadcoverage", query + "&format=2")
            self.assertEqual(answer.body, b"ERROR - HTTP16 --> Invalid Request")
        return run(go())

    def test_rest_coverage(self):
        async def go():
            answer = await self.rest("/resources/v1/coverage")
            self.assertEqual(answer.code, 200)
            self.assertTrue(answer.body.startswith(b"prefix,covered,price_per_part\r\n1,yes,35"))
            answer = await self.rest("/resources/v1/coverage?format=xlsx", "key-esme2")
            self.assertEqual(answer.header("content-disposition"),
                             'attachment; filename="coverage-esme2.xlsx"')
            sheet = openpyxl.load_workbook(io.BytesIO(answer.body))["coverage"]
            self.assertEqual(sheet["A2"].value, "1")
            self.assertEqual(sheet["C2"].value, 35)
            answer = await self.rest("/resources/v1/coverage?format=xls")
            self.assertEqual((answer.code, json.loads(answer.body)["error"]["field"]),
                             (400, "format"))
            answer = await self.rest("/resources/v1/coverage", "key-nobody")
            self.assertEqual(answer.code, 401)
        return run(go())
