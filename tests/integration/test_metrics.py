"""/metrics of a real router after real SMPP traffic, read with Prometheus's
own text parser (prometheus_client.parser)."""

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody

from smpprouter.smpp.status import Status

from .harness import RouterHarness, run

MESSAGE = dict(source_addr="MyBrand", source_addr_ton=5, destination_addr="15551234567",
               dest_addr_ton=1, dest_addr_npi=1, short_message=b"hello there",
               registered_delivery=1)


async def scrape(url):
    """{(sample name, frozenset of labels): value} and the families' names."""
    response = await Agent(reactor).request(b"GET", url.encode("ascii"))
    body = (await readBody(response)).decode("utf-8")
    if response.code != 200:
        raise AssertionError("GET %s: %d %s" % (url, response.code, body))
    samples, families = {}, set()
    for family in text_string_to_metric_families(body):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples, families, response


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class MetricsScrapeTests(TestCase):
    timeout = 30

    def setUp(self):
        self.h = RouterHarness(http="")
        self.addCleanup(lambda: run(self.h.stop()))
        return run(self.h.start())

    def test_counts_after_traffic(self):
        async def go():
            client = await self.h.bind()
            for _ in range(5):
                resp = await client.submit(**MESSAGE)
                self.assertEqual(resp.command_status, Status.ESME_ROK)
            refused = await client.submit(**dict(MESSAGE, destination_addr="9991234"))
            self.assertEqual(refused.command_status, Status.ESME_RINVDSTADR)
            for _ in range(5):
                await client.next_delivery()
            samples, families, response = await scrape(self.h.http_url + "/metrics")
            self.assertTrue(response.headers.getRawHeaders(b"content-type")[0]
                            .startswith(b"text/plain"))
            s = "smpprouter_submits_total"
            self.assertEqual(value(samples, s, user="esme1", connector="smsc",
                                   status="ESME_ROK"), 5)
            self.assertEqual(value(samples, s, user="esme1", connector="",
                                   status="ESME_RINVDSTADR"), 1)
            self.assertEqual(value(samples, "smpprouter_upstream_responses_total",
                                   connector="smsc", status="ESME_ROK"), 5)
            self.assertEqual(value(samples, "smpprouter_receipts_total", connector="smsc",
                                   stat="DELIVRD"), 5)
            self.assertEqual(value(samples, "smpprouter_submit_duration_seconds_count"), 6)
            self.assertEqual(value(samples, "smpprouter_upstream_rtt_seconds_count",
                                   connector="smsc"), 5)
            self.assertEqual(value(samples, "smpprouter_receipt_delay_seconds_count"), 5)
            self.assertEqual(value(samples, "smpprouter_submit_duration_seconds_bucket",
                                   le="+Inf"), 6)
            self.assertEqual(value(samples, "smpprouter_binds", user="esme1",
                                   mode="transceiver"), 1)
            self.assertEqual(value(samples, "smpprouter_connector_binds", connector="smsc",
                                   state="up"), 1)
            self.assertEqual(value(samples, "smpprouter_connector_binds", connector="smsc",
                                   state="down"), 0)
            self.assertEqual(value(samples, "smpprouter_events_total", event="accepted"), 5)
            self.assertEqual(value(samples, "smpprouter_deliveries_total", outcome="sent"), 5)
            self.assertEqual(value(samples, "smpprouter_delivery_queue_depth", user="esme1",
                                   queue="smpp"), 0)
            self.assertEqual(value(samples, "smpprouter_outbound_queue_depth",
                                   connector="smsc", queue="normal"), 0)
            self.assertEqual(value(samples, "smpprouter_workers", state="live"), 1)
            self.assertEqual(value(samples, "smpprouter_metrics_merged"), 1)
        return run(go())
