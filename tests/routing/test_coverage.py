"""Coverage from the routing table (exact under first-match, checked against routing
itself under Hypothesis), its CSV and XLSX files (read back with openpyxl), and
`route explain`."""

import csv
import io
import os

import openpyxl
from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from smpprouter import cli
from smpprouter.config import User
from smpprouter.http import sheets
from smpprouter.routing.coverage import CoverageRow
from smpprouter.routing.explain import explain
from smpprouter.routing.interface import MTReject
from smpprouter.routing.rules import MTRule, Routes, normalise
from smpprouter.routing.table import RoutingTable
from smpprouter.smpp.status import Status

from ..test_cli import CLITestCase
from ..test_config import MINIMAL
from .helpers import mt, table

TABLE = """
[[mt]]
name = "no-premium"
destination_prefix = ["1900"]
reject = "ESME_RINVDSTADR"

[[mt]]
name = "gold-uk"
groups = ["gold"]
destination_prefix = ["44"]
connectors = ["b"]
price = 20

[[mt]]
name = "by-sender"
source_prefix = ["MYBRAND"]
connectors = ["c"]

[[mt]]
name = "world"
destination_prefix = ["1", "44", "33"]
connectors = ["a"]
price = 30
prices = { "447" = 40, "1" = 0 }
"""


def user(name="esme1", **kw):
    defaults = dict(password="x", groups=frozenset(), max_binds=1, throughput=0, window=10,
                    message_id="hex")
    defaults.update(kw)
    return User(name=name, **defaults)


class CoverageTests(SynchronousTestCase):

    def test_rows_for_a_user_and_for_its_group(self):
        t = table(self, TABLE)
        self.assertEqual([(r.prefix, r.covered, r.price) for r in t.coverage("esme1")], [
            ("1", True, 0), ("1900", False, None), ("33", True, 30), ("44", True, 30),
            ("447", True, 40)])
        self.assertEqual([(r.prefix, r.covered, r.price, r.rule)
                          for r in t.coverage("esme1", {"gold"})][3:], [
            ("44", True, 20, "gold-uk"), ("447", True, 20, "gold-uk")])

    def test_a_catch_all_is_the_other_row(self):
        t = table(self, '[[mt]]\nname = "x"\nconnectors = ["a"]\nprice = 5\n')
        self.assertEqual(t.coverage("u"), [CoverageRow("", True, 5, "x")])
        self.assertEqual(table(self, '[[mt]]\nname = "x"\nusers = ["v"]\nconnectors = ["a"]\n')
                         .coverage("u"), [])

    @settings(max_examples=300, deadline=None)
    @given(rules=st.lists(st.tuples(
        st.none() | st.lists(st.text("0129", min_size=1, max_size=3), min_size=1, max_size=2),
        st.booleans(), st.none() | st.integers(0, 9),
        st.dictionaries(st.text("0129", min_size=1, max_size=3), st.integers(0, 9),
                        max_size=2)), min_size=1, max_size=5),
        destination=st.text("+0129", min_size=1, max_size=6))
    def test_the_row_of_a_destination_says_what_routing_does(self, rules, destination):
        mt_rules = tuple(MTRule(
            name="r%d" % i, index=i, users=None, groups=None,
            destination_prefix=tuple(p) if p else None, source_prefix=None,
            source_regex=None, service_type=None,
            connectors=None if reject else ("a",), strategy="failover",
            reject=Status.ESME_RINVDSTADR if reject else None,
            price=None if reject else price,
            prices=() if reject else tuple(sorted(prices.items())))
            for i, (p, reject, price, prices) in enumerate(rules))
        t = RoutingTable(Routes(no_route=Status.ESME_RINVDSTADR, mt=mt_rules, mo=()))
        rows = t.coverage("u")
        # the row of the longest listed prefix of the destination (as the table
        # compares it: a leading "+" or "00" dropped); unlisted: refused
        number = normalise(destination)
        row = max((r for r in rows if number.startswith(r.prefix)),
                  key=lambda r: len(r.prefix), default=None)
        decision = t.route_mt(mt(destination, user="u"))
        if row is None or not row.covered:
            self.assertIs(type(decision), MTReject, (rows, destination))
        else:
            self.assertNotIsInstance(decision, MTReject)
            self.assertEqual(decision.price if decision.price is not None else 0,
                             row.price or 0)


ROWS = [CoverageRow("", False, None), CoverageRow("1", True, 0),
        CoverageRow("1900", False, None), CoverageRow("447", True, 40)]


class FileTests(SynchronousTestCase):

    def test_csv(self):
        got = list(csv.reader(io.StringIO(sheets.coverage_csv(ROWS).decode("utf-8"))))
        self.assertEqual(got, [["prefix", "covered", "price_per_part"], ["other", "no", ""],
                               ["1", "yes", "0"], ["1900", "no", ""], ["447", "yes", "40"]])

    def test_xlsx_read_back(self):
        book = openpyxl.load_workbook(io.BytesIO(sheets.coverage_xlsx(ROWS, "esme1")))
        self.assertEqual(book.sheetnames, ["coverage"])
        cells = [[c.value for c in row] for row in book["coverage"].iter_rows()]
        self.assertEqual(cells, [["prefix", "covered", "price_per_part"],
                                 ["other", "no", None], ["1", "yes", 0],
                                 ["1900", "no", None], ["447", "yes", 40]])
        self.assertEqual(book["coverage"]["A5"].data_type, "s")   # digits kept as text
        self.assertEqual(book.properties.title, "coverage of esme1")

    def test_filename_is_safe(self):
        self.assertEqual(sheets.filename("esme1", "csv"), b"coverage-esme1.csv")
        self.assertEqual(sheets.filename('a"b/\u00e9', "xlsx"), b"coverage-a_b__.xlsx")


EXPLAINED = """
[[mt]]
name = "premium"
destination_prefix = ["1900"]
reject = "ESME_RINVDSTADR"

[[mt]]
name = "uk"
destination_prefix = ["44", "07"]
connectors = ["a", "b"]
e164 = { country_code = "44" }
prices = { "447" = 40 }
require_tlvs = ["pe_id"]
"""


class ExplainTests(SynchronousTestCase):

    def test_a_routed_message(self):
        out = explain(user(billing="prepaid"), table(self, EXPLAINED), "07700 900123", "S",
                      {"pe_id": "1"})
        self.assertEqual((out.status, out.connectors, out.price), (0, ("a", "b"), 40))
        text = "\n".join(out.lines)
        self.assertIn("rule premium (line 1): no: destination 07700 900123 does not start "
                      "with 1900", text)
        self.assertIn("rule uk (line 6) matches: destination prefix 07", text)
        self.assertIn("destination '07700 900123' -> '447700900123' (E.164)", text)
        self.assertIn("40 minor units per part (prepaid", text)

    def test_refusals_say_why(self):
        t = table(self, EXPLAINED)
        for dest, tlvs, status, said in (
                ("19005550100", {"pe_id": "1"}, Status.ESME_RINVDSTADR, "ESME_RINVDSTADR"),
                ("0770x", {"pe_id": "1"}, Status.ESME_RINVDSTADR, "cannot be normalised"),
                ("447700900123", {}, Status.ESME_RMISSINGTLV, "missing pe_id"),
                ("33612345678", {}, Status.ESME_RINVDSTADR, "no [[mt]] rule matches")):
            out = explain(user(), t, dest, "S", tlvs)
            self.assertEqual(out.status, status, dest)
            self.assertIn(said, "\n".join(out.lines), dest)

    def test_user_rules_come_first(self):
        t = table(self, EXPLAINED)
        out = explain(user(sender_ids=("ME",)), t, "447700900123", "YOU")
        self.assertEqual(out.status, Status.ESME_RINVSRCADR)
        out = explain(user(country_code="33"), t, "0612345678", "S", {"pe_id": "x"})
        self.assertIn("'0612345678' -> '33612345678' (E.164, user country_code 33)",
                      out.lines[1])
        self.assertEqual(out.status, Status.ESME_RINVDSTADR)   # no rule for 33


class ExplainCommandTests(CLITestCase):

    def test_the_command(self):
        path = self.write_config(MINIMAL)
        with open(os.path.join(os.path.dirname(path), "routes.toml"), "w") as f:
            f.write(EXPLAINED.replace('"a", "b"', '"smsc"'))
        self.assertEqual(cli.main(["route", "explain", "--config", path, "--user", "esme1",
                                   "--dest", "+447700900123", "--tlv", "PE_ID=12"]), 0)
        self.assertIn("connectors: smsc", self.stdout.getvalue())
        self.assertEqual(cli.main(["route", "explain", "--config", path, "--user", "esme1",
                                   "--dest", "447700900123"]), 2)
        self.assertIn("ESME_RMISSINGTLV", self.stdout.getvalue())
        self.assertEqual(cli.main(["route", "explain", "--config", path, "--user", "esme9",
                                   "--dest", "1"]), 1)
        self.assertIn("no user 'esme9'", self.stderr.getvalue())
        self.assertEqual(cli.main(["route", "explain", "--config", path, "--user", "esme1",
                                   "--dest", "1", "--tlv", "pe_idd=1"]), 1)
        self.assertIn("did you mean 'pe_id'", self.stderr.getvalue())
