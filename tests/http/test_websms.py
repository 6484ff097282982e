"""The /websmpp/ resources without sockets: a Door double and twisted.web's DummyRequest,
so that line assembly, HTTP status codes and the failure paths are checked in
milliseconds (the real thing: tests/integration/test_websms.py)."""

import calendar
from io import BytesIO

from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.test.requesthelper import DummyRequest

from smpprouter.config import HttpConfig, OutboundConfig
from smpprouter.core.messages import Outcome
from smpprouter.http.door import GSM7, UCS2, Login, MessageStatus
from smpprouter.http.websms import resources
from smpprouter.smpp.status import Status

NOW = calendar.timegm((2026, 12, 1, 12, 0, 0))


class Config:
    http = HttpConfig(websms_get_max=5, websms_post_max=10)
    outbound = OutboundConfig()


class FakeUser:
    name = "esme1"
    prepaid = True


class FakeDoor:
    def __init__(self):
        self.available = True
        self.sent = []
        self.send_result = None     # a Deferred the test fires, or a list
        self.status_result = None
        self.logins = []
        self.status_asked = []

    def login(self, name, password):
        self.logins.append((name, password))
        if name != "esme1":
            return defer.succeed(Login(Login.NO_USER))
        if password != "pw1":
            return defer.succeed(Login(Login.BAD_PASSWORD))
        return defer.succeed(Login(Login.OK, FakeUser()))

    def refusal(self, user, door, operation):
        return None

    def send(self, user, messages):
        self.sent.append(messages)
        if isinstance(self.send_result, defer.Deferred):
            return self.send_result
        if isinstance(self.send_result, Exception):
            return defer.fail(self.send_result)
        if self.send_result is not None:
            return defer.succeed(self.send_result)
        return defer.succeed([Outcome(Status.ESME_ROK, "id%d" % i)
                              for i in range(len(messages))])

    def status(self, user_name, message_id):
        self.status_asked.append((user_name, message_id))
        if isinstance(self.status_result, Exception):
            return defer.fail(self.status_result)
        return defer.succeed(self.status_result)

    def status_of_anyone(self, message_id):
        return self.status(None, message_id)

    balance_result = 12345

    def balance(self, user):
        if isinstance(self.balance_result, Exception):
            return defer.fail(self.balance_result)
        return defer.succeed(self.balance_result if user.prepaid else None)

    def coverage(self, user):
        from smpprouter.routing.coverage import CoverageRow
        return [CoverageRow("", False, None), CoverageRow("1", True, 35)]


class ResourceTests(SynchronousTestCase):
    def setUp(self):
        self.door = FakeDoor()
        self.clock = task.Clock()
        self.clock.advance(NOW)
        self.root = resources(self.door, Config(), self.clock)["websmpp"]

    def request(self, path, query="", method=b"GET", body=b"", content_type=None):
        request = DummyRequest([])
        request.method = method
        request.uri = b"/websmpp/" + path + (b"?" + query if query else b"")
        request.path = b"/websmpp/" + path
        request.content = BytesIO(body)
        if content_type:
            request.requestHeaders.setRawHeaders(b"content-type", [content_type])
        names = path.split(b"/")
        resource = self.root.getChild(names[0], request)
        request.postpath = names[1:]
        request.render(resource)
        return request

    def body(self, request):
        self.assertEqual(request.finished, 1)
        return b"".join(request.written).decode()

    def test_lines_in_order_with_each_destinations_outcome(self):
        self.door.send_result = [Outcome(Status.ESME_ROK, "1a"), Outcome(Status.ESME_RTHROTTLED),
                                 Outcome(Status.ESME_RINVDSTADR)]
        r = self.request(b"websms", b"user=esme1&pass=pw1&sid=Shop&type=4&text=%D8%A7"
                         b"&mno=15551234567,x,15551234568,15551234569")
        self.assertEqual(self.body(r).split("\n"), [
            "Response: 1a", "ERROR - HTTP09 --> Invalid Destination Address",
            "ERROR - HTTP11 --> Requested service is unavailable",
            "ERROR - HTTP23 --> Routing Error"])
        self.assertEqual(r.responseCode, 200)
        [messages] = self.door.sent
        self.assertEqual([m.destination for m in messages],
                         ["15551234567", "15551234568", "15551234569"])
        self.assertEqual({(m.text, m.sender, m.coding, m.schedule, m.validity)
                          for m in messages}, {("ا", "Shop", UCS2, None, None)})

    def test_a_schedule_and_its_validity_from_then(self):
        r = self.request(b"websms", b"user=esme1&pass=pw1&sid=1&type=1&text=x&mno=15551234567"
                         b"&gmt=+0530&schtime=202612011830")
        self.assertEqual(self.body(r), "Response: id0")
        [[message]] = self.door.sent
        self.assertEqual((message.coding, message.schedule, message.validity),
                         (GSM7, NOW + 3600, NOW + 3600 + OutboundConfig().default_validity))

    def test_limits_by_method(self):
        numbers = b"mno=" + b",".join([b"15551234567"] * 6)
        r = self.request(b"websms", b"user=esme1&pass=pw1&sid=S&type=1&text=x&" + numbers)
        self.assertEqual(self.body(r), "ERROR - HTTP24 --> Exceeded number of Destination")
        r = self.request(b"websms", b"user=esme1&pass=pw1", b"POST",
                         b"sid=S&type=1&text=x&" + numbers,
                         b"application/x-www-form-urlencoded; charset=UTF-8")
        self.assertEqual(len(self.body(r).split("\n")), 6)

    def test_unavailable_before_anything_else(self):
        self.door.available = False
        for path in (b"websms", b"websmsstatus"):
            r = self.request(path, b"user=nobody")
            self.assertEqual((r.responseCode, self.body(r)),
                             (503, "ERROR - HTTP11 --> Requested service is unavailable"))
            self.assertEqual(r.responseHeaders.getRawHeaders(b"retry-after"), [b"1"])
        self.assertEqual(self.door.logins, [])

    def test_a_client_gone_before_the_answer_gets_nothing_written(self):
        self.door.send_result = defer.Deferred()
        r = self.request(b"websms", b"user=esme1&pass=pw1&sid=S&type=1&text=x&mno=15551234")
        r.processingFailed(Exception("connection lost"))   # notifyFinish errbacks
        self.door.send_result.callback([Outcome(Status.ESME_ROK, "1")])
        self.assertEqual(r.written, [])

    def test_an_unexpected_failure_is_message_submission_failed(self):
        self.door.send_result = RuntimeError("bug")
        r = self.request(b"websms", b"user=esme1&pass=pw1&sid=S&type=1&text=x&mno=15551234")
        self.assertEqual(self.body(r), "ERROR - HTTP03 --> Message Submission Failed")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_status_names_and_failures(self):
        self.door.status_result = MessageStatus("1f", "sending")
        r = self.request(b"websmsstatus", b"user=esme1&pass=pw1&respId=1f")
        self.assertEqual(self.body(r), "ATES")
        self.assertEqual(self.door.status_asked, [("esme1", "1f")])
        self.door.status_result = None
        r = self.request(b"websmsstatus", b"user=esme1&pass=pw1&respId=1f")
        self.assertEqual(self.body(r), "ERROR - HTTP25 --> No Record Found")
        self.door.status_result = ConnectionError("redis")
        r = self.request(b"websmsstatus", b"user=esme1&pass=pw1&respId=1f")
        self.assertEqual(self.body(r), "ERROR - HTTP13 --> Query request failed")
        self.assertEqual(len(self.flushLoggedErrors(ConnectionError)), 1)
        r = self.request(b"websmsstatus", b"user=esme2&pass=pw1&respId=1f")
        self.assertEqual(self.body(r), "ERROR - HTTP05 --> Invalid System ID")

    def test_the_option_reads_anyones_status(self):
        self.root = resources(self.door, type("C", (Config,), {
            "http": HttpConfig(status_without_credentials=True)})(), self.clock)["websmpp"]
        self.door.status_result = MessageStatus("1f", "delivered")
        r = self.request(b"websmsstatus", b"respId=1f")
        self.assertEqual(self.body(r), "DELIVRD")
        self.assertEqual(self.door.status_asked, [(None, "1f")])

    def test_codes_for_paths_and_methods(self):
        r = self.request(b"nothing")
        self.assertEqual((r.responseCode, self.body(r)),
                         (404, "ERROR - HTTP01 --> Invalid HTTP URL Format"))
        r = self.request(b"websms", method=b"DELETE")
        self.assertEqual((r.responseCode, self.body(r)),
                         (405, "ERROR - HTTP16 --> Invalid Request"))
        for path in (b"balanceReport", b" downloadcoverage"):
            r = self.request(path, b"userid=esme1&password=pw1", method=b"HEAD")
            self.assertEqual((r.responseCode, self.body(r)),
                             (405, "ERROR - HTTP16 --> Invalid Request"))
        self.assertEqual(self.door.logins, [])

    def test_balance_report(self):
        r = self.request(b"balanceReport", b"userid=esme1&password=pw1")
        self.assertEqual((r.responseCode, self.body(r)), (200, "Response: 12345"))
        r = self.request(b"balanceReport", b"", method=b"POST",
                         body=b"userid=esme1&password=pw1", content_type=b"application/"
                         b"x-www-form-urlencoded")
        self.assertEqual(self.body(r), "Response: 12345")
        for query, line in ((b"", "HTTP15"), (b"userid=esme1", "HTTP04"),
                            (b"password=pw1", "HTTP05"), (b"userid=esme1&password=no",
                                                          "HTTP04"),
                            (b"userid=nobody&password=pw1", "HTTP05"),
                            (b"user=esme1&pass=pw1", "HTTP15")):
            r = self.request(b"balanceReport", query)
            self.assertEqual((r.responseCode, self.body(r)[:14]), (200, "ERROR - " + line),
                             query)
        FakeUser.prepaid = False
        self.addCleanup(setattr, FakeUser, "prepaid", True)
        r = self.request(b"balanceReport", b"userid=esme1&password=pw1")
        self.assertEqual(self.body(r), "ERROR - HTTP15 --> Not Authorized for the request")
        self.assertIn(b"postpaid", r.responseHeaders.getRawHeaders(b"x-error-detail")[0])

    def test_balance_report_when_the_store_fails(self):
        self.door.balance_result = RuntimeError("redis")
        r = self.request(b"balanceReport", b"userid=esme1&password=pw1")
        self.assertEqual(self.body(r), "ERROR - HTTP13 --> Query request failed")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.door.available = False
        r = self.request(b"balanceReport", b"userid=esme1&password=pw1")
        self.assertEqual(r.responseCode, 503)

    def test_download_coverage_formats(self):
        r = self.request(b"downloadcoverage", b"userid=esme1&password=pw1&format=3")
        self.assertEqual(r.finished, 1)
        self.assertEqual(b"".join(r.written),
                         b"prefix,covered,price_per_part\r\nother,no,\r\n1,yes,35\r\n")
        self.assertEqual(r.responseHeaders.getRawHeaders(b"content-type"),
                         [b"text/csv; charset=utf-8"])
        self.assertEqual(r.responseHeaders.getRawHeaders(b"content-disposition"),
                         [b'attachment; filename="coverage-esme1.csv"'])
        for query in (b"userid=esme1&password=pw1", b"userid=esme1&password=pw1&format=1"):
            r = self.request(b"downloadcoverage", query)
            self.assertEqual(b"".join(r.written)[:2], b"PK")   # a zip: XLSX
            self.assertEqual(r.responseHeaders.getRawHeaders(b"content-disposition"),
                             [b'attachment; filename="coverage-esme1.xlsx"'])
        for query in (b"userid=esme1&password=pw1&format=2",
                      b"userid=esme1&password=pw1&format=xls"):
            r = self.request(b"downloadcoverage", query)
            self.assertEqual(self.body(r), "ERROR - HTTP16 --> Invalid Request")
        r = self.request(b"downloadcoverage", b"password=pw1&format=3")
        self.assertEqual(self.body(r), "ERROR - HTTP05 --> Invalid System ID")
