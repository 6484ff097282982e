"""etc/grafana-dashboard.json and etc/prometheus-alerts.yml use only metrics
the router exports: checked against a scrape of a real running router."""

import json
import os
import re

import yaml
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from .integration.harness import RouterHarness, run

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "etc")
NAME = re.compile(r"\bsmpprouter_[a-z0-9_]+")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
             "gauge": ("",)}


def dashboard_exprs():
    with open(os.path.join(ETC, "grafana-dashboard.json")) as f:
        dashboard = json.load(f)
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_exprs():
    with open(os.path.join(ETC, "prometheus-alerts.yml")) as f:
        rules = yaml.safe_load(f)
    exprs = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["expr"], rule
            exprs.append(rule["expr"])
    return exprs


class EtcMetricsTests(TestCase):
    timeout = 30

    def setUp(self):
        self.h = RouterHarness(http="")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    async def exported(self):
        """Every series name the router's families give (even with no sample yet)."""
        response = await Agent(reactor).request(
            b"GET", (self.h.http_url + "/metrics").encode("ascii"))
        body = (await readBody(response)).decode("utf-8")
        names = set()
        for family in text_string_to_metric_families(body):
            names.update(family.name + suffix for suffix in _SUFFIXES[family.type])
        return names

    def check(self, exprs, what):
        async def go():
            exported = await self.exported()
            used = {name for expr in exprs for name in NAME.findall(expr)}
            self.assertTrue(used, "%s names no smpprouter_ metric" % what)
            self.assertEqual(sorted(used - exported), [],
                             "%s uses metrics the router does not export" % what)
        return run(go())

    def test_dashboard_uses_exported_metrics(self):
        return self.check(dashboard_exprs(), "etc/grafana-dashboard.json")

    def test_alert_rules_use_exported_metrics(self):
        return self.check(alert_exprs(), "etc/prometheus-alerts.yml")

    def test_alert_rules_cover_the_issue(self):
        names = set()
        with open(os.path.join(ETC, "prometheus-alerts.yml")) as f:
            for group in yaml.safe_load(f)["groups"]:
                names.update(rule["alert"] for rule in group["rules"])
        for needed in ("SmpprouterConnectorDown", "SmpprouterDeliveryQueueGrowing",
                       "SmpprouterReceiptsNotArriving", "SmpprouterSubmitErrorRatio"):
            self.assertIn(needed, names)
